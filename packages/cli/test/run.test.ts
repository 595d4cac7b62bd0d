/**
 * `sfx run`, `sfx describe` and `sfx poll`, run as a user runs them: the built binary, a config
 * folder of its own with stored connections, and a local server started here.
 */
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCatalog, getAction, openConnection, PollStateSchema } from '@sfx/connector';
import { startServer, type RunningServer } from '@sfx/server';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/sfx.js');
const ROOT_KEY = 'cli-run-test-root-key-7c2e91b4d0';
const SEEDED = ['alpha-report.txt', 'beta-poster.txt', 'gamma-notes.txt'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Everything any command printed, to check that no secret ever shows. */
const transcript: string[] = [];

function sfx(
  args: string[],
  options: { config: string; env?: Record<string, string>; stdin?: string; cwd?: string },
): Promise<Run> {
  return new Promise((done, fail) => {
    const env: NodeJS.ProcessEnv = { ...process.env, SFX_CONFIG_DIR: options.config };
    delete env.SFX_CONNECTION;
    delete env.SFX_RO_KEY;
    Object.assign(env, options.env);
    const child = spawn(process.execPath, [BIN, ...args], {
      env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      transcript.push(stdout, stderr);
      done({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

let server: RunningServer;
let root: string;
/** One stored connection (secret in the secrets file): the default one. */
let config: string;
/** A root connection and a read-only one (secret from the environment). */
let twoConfigs: string;
let roSecret: string;
let client: ReturnType<typeof openConnection>;

async function names(folder: string): Promise<string[]> {
  const page = (await getAction('files.list').run({ client }, { folder, recursive: true, limit: 1000 })) as {
    files: Array<{ name: string }>;
  };
  return page.files.map((f) => f.name).sort();
}

beforeAll(async () => {
  server = await startServer({ port: 0, data: ':memory:', rootKey: ROOT_KEY, logLevel: 'silent' });
  root = await mkdtemp(join(tmpdir(), 'sfx-cli-run-'));
  const endpoint = `${server.url}/${server.token}`;
  client = openConnection({
    name: 'seed',
    connector: 'scaleflex@0.1.0',
    endpointUrl: endpoint,
    authentication: 'apikey',
    apiKey: ROOT_KEY,
  });
  for (const name of SEEDED)
    await getAction('upload-asset').run(
      { client },
      { source: { base64: Buffer.from(`content of ${name}`).toString('base64') }, name, folder: '/seeded' },
    );
  const created = (await getAction('access.keys.create').run(
    { client },
    { description: 'fetch only', permissions: ['OBJECTS_FETCH'] },
  )) as { key: { secret: string } };
  roSecret = created.key.secret;

  config = join(root, 'one');
  const add = await sfx(['connection', 'add', 'local', '--endpoint', endpoint, '--api-key-stdin'], {
    config,
    stdin: ROOT_KEY,
  });
  expect(add.code, add.stderr).toBe(0);
  twoConfigs = join(root, 'two');
  for (const [name, stdin] of [['local', ROOT_KEY]] as const)
    expect((await sfx(['connection', 'add', name, '--endpoint', endpoint, '--api-key-stdin'], { config: twoConfigs, stdin })).code).toBe(0);
  expect(
    (await sfx(['connection', 'add', 'readonly', '--endpoint', endpoint, '--api-key', 'env:SFX_RO_KEY', '--no-verify'], { config: twoConfigs }))
      .code,
  ).toBe(0);
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('sfx run', () => {
  it('runs files.list on the only stored connection and prints the files as a table', async () => {
    const run = await sfx(['run', 'files.list', '--set', 'folder=/seeded'], { config });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.split('\n');
    const header = lines.findIndex((l) => /^UUID\s+NAME\s+SIZE\s+FOLDER\s+MODIFIED_AT$/.test(l));
    expect(header, run.stdout).toBeGreaterThanOrEqual(0);
    for (const name of SEEDED) {
      const row = lines.find((l) => l.split(/\s+/)[1] === name);
      expect(row, name).toMatch(/^[0-9a-f-]{36}\s+\S+\s+\d+ B\s+\/seeded\s+\d{4}-\d\d-\d\dT/);
    }
    expect(lines).toContain('files (3):');
    expect(run.stdout).toMatch(/^total:\s+3$/m);
    expect(run.stdout.trimStart().startsWith('{')).toBe(false);
  });

  it('--json prints the output as JSON matching the output schema; - reads the input from stdin', async () => {
    const run = await sfx(['run', 'files.list', '-', '--json'], { config, stdin: '{"folder": "/seeded", "limit": 2}' });
    expect(run.code, run.stderr).toBe(0);
    const output = getAction('files.list').output.parse(JSON.parse(run.stdout)) as {
      files: Array<{ name: string }>;
      limit: number;
      total?: number;
    };
    expect(output.limit).toBe(2);
    expect(output.total).toBe(3);
    expect(output.files).toHaveLength(2);
    for (const file of output.files) expect(SEEDED).toContain(file.name);
  });

  it('uploads a local file with --set fields over --input, tags included', async () => {
    const work = join(root, 'work');
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    await writeFile(join(work, 'local-hero.txt'), 'a local file to upload');
    const run = await sfx(
      [
        'run',
        'upload-asset',
        '--input',
        '{"folder": "/ignored", "source": {"path": "./local-hero.txt"}}',
        '--set',
        'folder=/uploads',
        '--set',
        'tags=["summer","hero"]',
        '--set',
        'meta.title.en=Hero shot',
      ],
      { config, cwd: work },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^file\.name:\s+local-hero\.txt$/m);
    expect(run.stdout).toMatch(/^file\.folder:\s+\/uploads$/m);
    expect(run.stdout).toMatch(/^changed:\s+content, meta, tags$/m);
    expect(run.stdout).toMatch(/^via:\s+path$/m);
    const page = (await getAction('files.list').run({ client }, { folder: '/uploads' })) as {
      files: Array<{ name: string; tags?: Record<string, Array<{ label: string }>>; meta?: Record<string, unknown> }>;
    };
    expect(page.files.map((f) => f.name)).toEqual(['local-hero.txt']);
    const labels = Object.values(page.files[0]!.tags ?? {}).flatMap((tags) => tags.map((t) => t.label));
    expect(labels.sort()).toEqual(['hero', 'summer']);
    expect(page.files[0]!.meta).toMatchObject({ title: { en: 'Hero shot' } });
    expect(await names('/ignored')).toEqual([]);
  });

  it('refuses bad input with exit code 2, naming each field, before any request', async () => {
    const before = await names('/');
    const run = await sfx(
      ['run', 'upload-asset', '--set', 'source.pth=./nope.txt', '--set', 'folder=no-slash', '--set', 'bogus=1'],
      { config },
    );
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('invalid input for upload-asset:');
    expect(run.stderr).toMatch(/^ {2}source\.path: is required/m);
    expect(run.stderr).toMatch(/^ {2}folder: must start with "\/"/m);
    expect(run.stderr).toMatch(/unknown field "bogus"/);
    expect(run.stderr).toContain('sfx describe upload-asset');
    const json = await sfx(['run', 'files.list', '--input', '{"folder": '], { config });
    expect(json.code).toBe(2);
    expect(json.stderr).toContain('--input is not valid JSON');
    const set = await sfx(['run', 'files.list', '--set', 'folder'], { config });
    expect(set.code).toBe(2);
    expect(set.stderr).toContain('--set takes key=value');
    const missing = await sfx(['run', 'files.list', '--input', '@no-such-file.json'], { config });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--input @no-such-file.json: no such file');
    expect(await names('/')).toEqual(before);
  });

  it('names near ids for an unknown action id (exit code 2), and points triggers to sfx poll', async () => {
    const run = await sfx(['run', 'files.lst'], { config });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/No action "files\.lst"\. Did you mean files\.list\b/);
    const trigger = await sfx(['run', 'assets.new'], { config });
    expect(trigger.code).toBe(2);
    expect(trigger.stderr).toContain('sfx poll assets.new');
  });

  it('chooses the connection: --connection, $SFX_CONNECTION, else refuses naming the stored ones', async () => {
    const ambiguous = await sfx(['run', 'files.list'], { config: twoConfigs });
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toMatch(/2 connections are stored \(local, readonly\): choose one with --connection NAME/);
    const byFlag = await sfx(['run', 'files.list', '--connection', 'local', '--set', 'folder=/seeded'], {
      config: twoConfigs,
    });
    expect(byFlag.code, byFlag.stderr).toBe(0);
    expect(byFlag.stdout).toContain('alpha-report.txt');
    const byEnv = await sfx(['run', 'files.list', '--set', 'folder=/seeded'], {
      config: twoConfigs,
      env: { SFX_CONNECTION: 'local' },
    });
    expect(byEnv.code, byEnv.stderr).toBe(0);
    const unknown = await sfx(['run', 'files.list', '--connection', 'nope'], { config: twoConfigs });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No connection "nope" .*the stored ones are local, readonly/);
    const unset = await sfx(['run', 'files.list', '--connection', 'readonly'], { config: twoConfigs });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toMatch(/SFX_RO_KEY, which is not set/);
  });

  it('a key lacking a permission fails with exit code 1, naming the permission', async () => {
    const run = await sfx(['run', 'files.list', '--connection', 'readonly'], {
      config: twoConfigs,
      env: { SFX_RO_KEY: roSecret },
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^sfx: files\.list failed: .*403.*OBJECTS_LIST/);
  });

  it('hides secrets in the readable output; --json is the explicit way to get them', async () => {
    const run = await sfx(
      ['run', 'access.keys.create', '--set', 'description=made by the CLI test', '--set', 'permissions=["OBJECTS_LIST"]'],
      { config },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^key\.secret:\s+\(hidden; --json prints it\)$/m);
    expect(run.stdout).toMatch(/^key\.permissions:\s+OBJECTS_LIST$/m);
  });

  it('--describe (and sfx describe) print kind, permissions, input fields and the example input', async () => {
    const run = await sfx(['run', '--describe', 'upload-asset'], { config });
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out.split('\n')[0]).toBe('upload-asset: Upload an asset with metadata');
    expect(out).toMatch(/^kind:\s+write, not idempotent$/m);
    expect(out).toMatch(/^endpoint:\s+documented$/m);
    expect(out).toMatch(/^permissions:\s+FILE_UPLOAD$/m);
    expect(out).toMatch(/^also needs:\s+FILE_PRODUCT_CHANGE when /m);
    expect(out).toMatch(/^ {2}FIELD\s+TYPE\s+REQUIRED\s+DESCRIPTION$/m);
    expect(out).toMatch(/^ {2}source\s+.*\s+yes\s+/m);
    expect(out).toMatch(/^ {2}folder\s+string\s+no\s+/m);
    const example = exportCatalog().actions.find((a) => a.id === 'upload-asset')!.example;
    const block = out.slice(out.indexOf('Example input:\n') + 'Example input:\n'.length, out.indexOf('\n\nRun it:'));
    expect(JSON.parse(block)).toEqual(example);
    const same = await sfx(['describe', 'upload-asset'], { config });
    expect(same.stdout).toBe(out);
    const trigger = await sfx(['describe', 'assets.new'], { config });
    expect(trigger.stdout).toMatch(/^kind:\s+polling trigger$/m);
    expect(trigger.stdout).toContain('Configuration:');
    expect(trigger.stdout).toContain('sfx poll assets.new');
    const near = await sfx(['describe', 'upload-aset'], { config });
    expect(near.code).toBe(2);
    expect(near.stderr).toContain('Did you mean upload-asset');
  });
});

describe('sfx poll', () => {
  it('polls assets.new with a state file: first from now, then each new asset once', async () => {
    const work = join(root, 'poll');
    await mkdir(work, { recursive: true });
    const state = join(work, 'incoming.state.json');
    const args = ['poll', 'assets.new', '--config', '{"folder": "/incoming"}', '--state', state];
    await getAction('upload-asset').run(
      { client },
      { source: { base64: Buffer.from('old').toString('base64') }, name: 'before-first-poll.txt', folder: '/incoming' },
    );

    const first = await sfx(args, { config });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^No new items: a first poll starts from now/);
    expect(first.stdout).not.toContain('before-first-poll.txt');
    const saved = PollStateSchema.parse(JSON.parse(await readFile(state, 'utf8')));
    expect(saved.trigger).toBe('assets.new');
    expect(saved.watermark).not.toBeNull();

    // Past the watermark's second, so the new asset is not in the one the first poll started from.
    await new Promise((r) => setTimeout(r, 1100));
    const upload = await sfx(
      ['run', 'upload-asset', '--input', JSON.stringify({ source: { base64: Buffer.from('new').toString('base64') }, name: 'arrived.txt', folder: '/incoming' })],
      { config },
    );
    expect(upload.code, upload.stderr).toBe(0);

    const second = await sfx(args, { config });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^1 new item:$/m);
    expect(second.stdout).toMatch(/^UUID\s+NAME\s+SIZE\s+FOLDER\s+MODIFIED_AT$/m);
    expect(second.stdout.match(/arrived\.txt/g)).toHaveLength(1);
    expect(second.stdout).not.toContain('before-first-poll.txt');
    expect(second.stdout).toContain(`State saved to ${state}.`);

    const third = await sfx(args, { config });
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toMatch(/^No new items\.$/m);
    expect(third.stdout).not.toContain('arrived.txt');

    // --json: JSON lines on stdout, the summary on stderr; the state is replaced, no temp file left.
    await getAction('upload-asset').run(
      { client },
      { source: { base64: Buffer.from('later').toString('base64') }, name: 'later.txt', folder: '/incoming' },
    );
    const json = await sfx([...args, '--json'], { config });
    expect(json.code, json.stderr).toBe(0);
    const items = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { name: string });
    expect(items.map((i) => i.name)).toEqual(['later.txt']);
    expect(json.stderr).toContain('State saved to');
    expect(await readdir(work)).toEqual(['incoming.state.json']);
  });

  it('--test prints samples without reading or writing a state', async () => {
    const state = join(root, 'never-written.json');
    const run = await sfx(['poll', 'assets.new', '--test', '--config', '{"folder": "/seeded"}', '--state', state], {
      config,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^3 samples of assets\.new \(test mode: no state read or written\):$/m);
    for (const name of SEEDED) expect(run.stdout).toContain(name);
    expect(run.stderr).toContain('--test reads and writes no state');
    await expect(access(state)).rejects.toThrow();
    const json = await sfx(['poll', 'assets.new', '--test', '--json', '--config', '{"folder": "/seeded"}'], { config });
    expect(json.code).toBe(0);
    const samples = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { name: string });
    expect(samples.map((s) => s.name).sort()).toEqual(SEEDED);
  });

  it('refuses a webhook trigger, a bad config and a damaged state file with exit code 2', async () => {
    const webhook = await sfx(['poll', 'dam.events'], { config });
    expect(webhook.code).toBe(2);
    expect(webhook.stderr).toMatch(/dam\.events is a webhook trigger: .*receiver.*docs\/connector.md/);
    const bad = await sfx(['poll', 'assets.new', '--config', '{"folder": "incoming", "extra": 1}'], { config });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^ {2}folder: must start with "\/"/m);
    const damaged = join(root, 'damaged.json');
    await writeFile(damaged, '{"v": 1, "trigger": "assets.updated", "watermark": null, "seen": [], "truncated": false}');
    const other = await sfx(['poll', 'assets.new', '--state', damaged], { config });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('was written by trigger "assets.updated"');
    const unknown = await sfx(['poll', 'assets.nwe'], { config });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Did you mean assets.new');
  });
});

describe('secrets', () => {
  it('no key ever appeared in anything sfx printed', () => {
    expect(transcript.length).toBeGreaterThan(20);
    for (const output of transcript) {
      expect(output).not.toContain(ROOT_KEY);
      expect(output).not.toContain(roSecret);
    }
  });
});
