/**
 * `sfx catalog` and `sfx connection ...`, run as a user runs them: the built binary, a config
 * folder of its own, and a local server started here.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filerobot } from '@sfx/client';
import { manifest, type CatalogJson } from '@sfx/connector';
import { startServer, type RunningServer } from '@sfx/server';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/sfx.js');
const GOOD_KEY = 'cli-test-root-key-5f1c9e7a2b';
const WRONG_KEY = 'cli-test-wrong-key-0d3a8c4e6f';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Everything any command printed, to check no secret ever shows. */
const transcript: string[] = [];

function sfx(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; config: string },
): Promise<Run> {
  return new Promise((done, fail) => {
    const env: NodeJS.ProcessEnv = { ...process.env, SFX_CONFIG_DIR: options.config };
    delete env.SFX_TEST_KEY;
    Object.assign(env, options.env);
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
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
beforeAll(async () => {
  server = await startServer({ port: 0, data: ':memory:', rootKey: GOOD_KEY, logLevel: 'silent' });
  root = await mkdtemp(join(tmpdir(), 'sfx-cli-conn-'));
});
afterAll(async () => {
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('sfx catalog', () => {
  it('prints every action in a table, grouped, with kind, endpoint kind, permissions and title', async () => {
    const run = await sfx(['catalog'], { config: join(root, 'unused') });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.split('\n');
    for (const action of manifest.actions) {
      const line = lines.find((l) => l.trim().split(/\s+/)[0] === action.id);
      expect(line, action.id).toBeDefined();
      expect(line).toContain(` ${action.kind} `);
      expect(line).toContain(` ${action.endpoint} `);
      for (const permission of action.permissions) expect(line).toContain(permission);
      expect(line!.trimEnd().endsWith(action.title)).toBe(true);
    }
    for (const group of new Set(manifest.actions.map((a) => a.group))) {
      const n = manifest.actions.filter((a) => a.group === group).length;
      expect(lines).toContain(`${group} (${n} action${n === 1 ? '' : 's'})`);
    }
    // Then the triggers, after every action.
    const triggersAt = lines.indexOf(`Triggers (${manifest.triggers.length})`);
    expect(triggersAt).toBeGreaterThan(lines.findIndex((l) => l.includes(manifest.actions.at(-1)!.id)));
    for (const trigger of manifest.triggers) {
      const at = lines.findIndex((l) => l.trim().split(/\s+/)[0] === trigger.id);
      expect(at, trigger.id).toBeGreaterThan(triggersAt);
      expect(lines[at]).toContain(` ${trigger.kind} `);
      expect(lines[at]!.trimEnd().endsWith(trigger.title)).toBe(true);
    }
    // Not a JSON dump.
    expect(run.stdout.trimStart().startsWith('{')).toBe(false);
  });

  it('--group shows one group; an unknown group is refused naming the groups there are', async () => {
    const run = await sfx(['catalog', '--group', 'tasks'], { config: join(root, 'unused') });
    expect(run.code).toBe(0);
    const tasks = manifest.actions.filter((a) => a.group === 'tasks');
    for (const action of tasks) expect(run.stdout).toContain(action.id);
    expect(run.stdout).not.toContain('files.list');
    const bad = await sfx(['catalog', '--group', 'nope'], { config: join(root, 'unused') });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--group "nope" is not a group of this catalogue: use one of files, .*tasks/);
  });

  it('--json exports the manifest, the connection schema, and every action with input and output JSON Schemas and an example', async () => {
    const run = await sfx(['catalog', '--json'], { config: join(root, 'unused') });
    expect(run.code).toBe(0);
    const catalog = JSON.parse(run.stdout) as CatalogJson;
    expect(catalog.manifest).toMatchObject({ id: 'scaleflex', version: manifest.version });
    expect(catalog.connection.properties).toHaveProperty('endpointUrl');
    expect(catalog.actions.map((a) => a.id)).toEqual(manifest.actions.map((a) => a.id));
    for (const action of catalog.actions) {
      expect(action.input, action.id).toMatchObject({ type: 'object' });
      expect(Object.keys(action.output).length, action.id).toBeGreaterThan(0);
      expect(action.example, action.id).toBeDefined();
    }
    expect(Array.isArray(catalog.triggers)).toBe(true);
    const only = JSON.parse(
      (await sfx(['catalog', '--json', '--group', 'folders'], { config: join(root, 'unused') })).stdout,
    ) as CatalogJson;
    expect(new Set(only.actions.map((a) => a.group))).toEqual(new Set(['folders']));
  });
});

describe('sfx connection', () => {
  it('adds, lists, shows, tests and removes connections, never printing or storing a secret in clear', async () => {
    const config = join(root, 'flow');
    const endpoint = `${server.url}/${server.token}`;
    const env = { SFX_TEST_KEY: GOOD_KEY };

    // A key on the command line is refused, without repeating it.
    const literal = await sfx(['connection', 'add', 'typed', '--endpoint', endpoint, '--api-key', GOOD_KEY], {
      config,
    });
    expect(literal.code).toBe(1);
    expect(literal.stderr).toMatch(/--api-key takes env:NAME/);
    expect(literal.stderr).toContain('--api-key-stdin');

    const byEnv = await sfx(
      ['connection', 'add', 'by-env', '--endpoint', endpoint, '--api-key', 'env:SFX_TEST_KEY'],
      { config, env },
    );
    expect(byEnv.code, byEnv.stderr).toBe(0);
    expect(byEnv.stdout).toContain('Saved connection "by-env"');
    const byStdin = await sfx(['connection', 'add', 'by-stdin', '--endpoint', endpoint, '--api-key-stdin'], {
      config,
      stdin: `${GOOD_KEY}\n`,
    });
    expect(byStdin.code, byStdin.stderr).toBe(0);
    const wrong = await sfx(
      ['connection', 'add', 'wrong', '--endpoint', `${endpoint}/v4`, '--api-key-stdin', '--no-verify'],
      { config, stdin: WRONG_KEY },
    );
    expect(wrong.code, wrong.stderr).toBe(0);
    expect(wrong.stdout).toContain('Not checked (--no-verify)');

    // Bad input names the flag and the fix.
    const badUrl = await sfx(
      ['connection', 'add', 'bad', '--endpoint', 'ftp://example.com/acme', '--api-key', 'env:X'],
      { config },
    );
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toMatch(/cannot save connection "bad":\n {2}- --endpoint \(endpointUrl\): .*http/);
    const empty = await sfx(['connection', 'add', 'empty', '--endpoint', endpoint, '--api-key-stdin'], {
      config,
      stdin: '',
    });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('--api-key-stdin read nothing from stdin');
    const taken = await sfx(
      ['connection', 'add', 'by-env', '--endpoint', endpoint, '--api-key', 'env:OTHER'],
      { config },
    );
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('already exists');

    const list = await sfx(['connection', 'list'], { config });
    expect(list.code).toBe(0);
    const rows = list.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^NAME\s+ENDPOINT\s+TOKEN\s+AUTH\s+SECRET FROM\s+API VERSION$/);
    expect(rows.find((r) => r.startsWith('by-env '))).toMatch(/apikey\s+env:SFX_TEST_KEY/);
    expect(rows.find((r) => r.startsWith('by-stdin '))).toMatch(/apikey\s+secrets file/);
    expect(rows).toHaveLength(4);
    const listJson = JSON.parse((await sfx(['connection', 'list', '--json'], { config })).stdout) as Array<
      Record<string, string>
    >;
    expect(listJson.map((c) => [c.name, c.apiKey])).toEqual([
      ['by-env', 'env:SFX_TEST_KEY'],
      ['by-stdin', 'secrets file'],
      ['wrong', 'secrets file'],
    ]);

    const show = await sfx(['connection', 'show', 'by-env'], { config, env });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/API key:\s+env:SFX_TEST_KEY \(set in this shell\)/);
    expect(show.stdout).toContain(`endpoint:        ${endpoint}`);
    const showStored = await sfx(['connection', 'show', 'by-stdin', '--json'], { config });
    expect(JSON.parse(showStored.stdout)).toMatchObject({
      name: 'by-stdin',
      apiKey: 'secrets file',
      authentication: 'apikey',
    });
    const none = await sfx(['connection', 'show', 'nope'], { config });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/No connection "nope" .*the stored ones are by-env, by-stdin, wrong/);

    // A good key works, by either route.
    const okEnv = await sfx(['connection', 'test', 'by-env'], { config, env });
    expect(okEnv.code, okEnv.stderr).toBe(0);
    expect(okEnv.stdout).toMatch(/^ok: connection "by-env" works: project "demo" at .*\/demo\/v5 \(API v5\)/);
    const okStored = await sfx(['connection', 'test', 'by-stdin', '--json'], { config });
    expect(okStored.code).toBe(0);
    expect(JSON.parse(okStored.stdout)).toMatchObject({
      name: 'by-stdin',
      ok: true,
      project: { token: 'demo', apiVersion: 'v5' },
    });

    // A wrong key, or a variable that is not set, fails with the reason and a non-zero exit code.
    const refused = await sfx(['connection', 'test', 'wrong'], { config });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /connection "wrong" failed the test \(unauthorized\): The API key was refused \(401/,
    );
    const refusedJson = await sfx(['connection', 'test', 'wrong', '--json'], { config });
    expect(refusedJson.code).toBe(1);
    expect(JSON.parse(refusedJson.stdout)).toMatchObject({
      ok: false,
      code: 'unauthorized',
      project: { apiVersion: 'v4' },
    });
    const unset = await sfx(['connection', 'test', 'by-env'], { config });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toMatch(/invalid_connection.*\n.*SFX_TEST_KEY, which is not set/);

    const removed = await sfx(['connection', 'remove', 'by-stdin'], { config });
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('Removed connection "by-stdin" and its stored secret.');
    expect((await sfx(['connection', 'remove', 'by-stdin'], { config })).code).toBe(1);
    expect((await sfx(['connection', 'list'], { config })).stdout).not.toContain('by-stdin');
    const secrets = await readFile(join(config, 'secrets.json'), 'utf8');
    expect(secrets).not.toContain(GOOD_KEY);
    expect(secrets).toContain(WRONG_KEY);

    // The keys never appeared in anything printed, nor in connections.json.
    const connections = await readFile(join(config, 'connections.json'), 'utf8');
    for (const key of [GOOD_KEY, WRONG_KEY]) {
      expect(connections).not.toContain(key);
      for (const output of transcript) expect(output).not.toContain(key);
    }
    expect((await readdir(config)).sort()).toEqual(['connections.json', 'secrets.json']);
  });

  it('add tries the key first: a bad one is not saved, an upload-only one is, with what it can and cannot do', async () => {
    const config = join(root, 'verify');
    const endpoint = `${server.url}/${server.token}`;
    const admin = new Filerobot({ endpoint, apiKey: GOOD_KEY });
    const uploader = await admin.access.keys.create({ description: 'uploads only', permissions: ['FILE_UPLOAD'] });
    await admin.close();

    const refused = await sfx(['connection', 'add', 'bad', '--endpoint', endpoint, '--api-key-stdin'], { config, stdin: WRONG_KEY });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/connection "bad" was not saved: it failed the test \(unauthorized\).*\n.*--no-verify/);
    const unset = await sfx(['connection', 'add', 'unset', '--endpoint', endpoint, '--api-key', 'env:SFX_TEST_KEY'], { config });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toMatch(/was not saved: .*\(invalid_connection\)[\s\S]*SFX_TEST_KEY, which is not set/);
    expect((await sfx(['connection', 'list', '--json'], { config })).stdout.trim()).toBe('[]');

    const upload = await sfx(['connection', 'add', 'drop', '--endpoint', endpoint, '--api-key-stdin'], { config, stdin: uploader.secret! });
    expect(upload.code, upload.stderr).toBe(0);
    expect(upload.stdout).toContain('Saved connection "drop"');
    expect(upload.stdout).toMatch(/ok: connection "drop" works: project "demo"/);
    expect(upload.stdout).toMatch(/can: +upload \(FILE_UPLOAD\)\n/);
    expect(upload.stdout).toMatch(/cannot: list and search assets \(OBJECTS_LIST\), read asset details \(OBJECTS_FETCH\)/);
    expect(upload.stdout).toContain('lacks OBJECTS_LIST');
    const tested = await sfx(['connection', 'test', 'drop', '--json'], { config });
    expect(tested.code, tested.stderr).toBe(0);
    expect(JSON.parse(tested.stdout)).toMatchObject({ ok: true, grantedPermissions: ['FILE_UPLOAD'] });
    for (const output of transcript) expect(output).not.toContain(uploader.secret!);
  });

  it('refuses a secrets file others may read, and says to chmod 600 it', async () => {
    const config = join(root, 'perms');
    const endpoint = `${server.url}/${server.token}`;
    expect(
      (
        await sfx(['connection', 'add', 'stored', '--endpoint', endpoint, '--api-key-stdin'], {
          config,
          stdin: GOOD_KEY,
        })
      ).code,
    ).toBe(0);
    const secrets = join(config, 'secrets.json');
    await chmod(secrets, 0o644);
    const run = await sfx(['connection', 'test', 'stored'], { config });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `${secrets} may be read by other users (mode 0644), so sfx will not use it: run chmod 600 ${secrets}`,
    );
    expect(run.stdout + run.stderr).not.toContain(GOOD_KEY);
    await chmod(secrets, 0o600);
    expect((await sfx(['connection', 'test', 'stored'], { config })).code).toBe(0);
  });
});
