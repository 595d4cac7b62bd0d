/**
 * `sfx flow ...` and `sfx runs`, run as a user runs them: the built binary against a local
 * server, a config folder and a run journal of their own. The crash test kills `sfx flow run`
 * with SIGKILL at random points and resumes until done, then counts assets and checks every sha1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filerobot } from '@sfx/client';
import { startServer, type RunningServer } from '@sfx/server';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/sfx.js');
const EXAMPLES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples');
const ROOT_KEY = 'cli-flows-test-root-key-3b9d1f';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let server: RunningServer;
let root: string;
let config: string;
let client: Filerobot;

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, SFX_CONFIG_DIR: config, SFX_TEST_KEY: ROOT_KEY, SFX_JOURNAL: join(root, 'runs.db'), ...extra };
  delete e.SFX_CONNECTION;
  return e;
}

function sfx(args: string[], options: { env?: Record<string, string>; onStdout?: (text: string, child: ChildProcess) => void } = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: env(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      options.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sfx-cli-flows-'));
  // Duplicates allowed: a re-sent upload shows as a second asset, so the crash test can see one.
  server = await startServer({ port: 0, data: join(root, 'server'), rootKey: ROOT_KEY, durability: 'relaxed', logLevel: 'silent', duplicatePolicy: 'allow' });
  config = join(root, 'config');
  const added = await sfx(['connection', 'add', 'local', '--endpoint', `${server.url}/${server.token}`, '--api-key', 'env:SFX_TEST_KEY', '--no-verify']);
  if (added.code !== 0) {
    // Older `connection add` has no --no-verify: add without it.
    const again = await sfx(['connection', 'add', 'local', '--endpoint', `${server.url}/${server.token}`, '--api-key', 'env:SFX_TEST_KEY']);
    expect(again.code, again.stderr).toBe(0);
  }
  client = new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: ROOT_KEY });
});

afterAll(async () => {
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('sfx flow validate', () => {
  it('reports every problem at its line and column, with what to do, and exits 2', async () => {
    const file = join(root, 'broken.yaml');
    await writeFile(
      file,
      [
        'name: broken', // 1
        'connections: { dam: null }', // 2
        'inputs:', // 3
        '  folder: { type: string, default: /in }', // 4
        'steps:', // 5
        '  - id: list', // 6
        '    uses: dam.files.lst', // 7
        '  - id: up', // 8
        '    uses: dam.upload-asset', // 9
        '    with:', // 10
        '      folder: "{% $inputs.fodler %}"', // 11
        '      source: { path: "{% $steps.later.path %}" }', // 12
        '      colour: red', // 13
        '  - id: later', // 14
        '    uses: csv.read', // 15
        '    with: { path: "{% $item %}" }', // 16
        '  - id: bad-expr', // 17
        '    uses: log.info', // 18
        '    with: { message: "{% 1 + %}" }', // 19
      ].join('\n'),
    );
    const r = await sfx(['flow', 'validate', file]);
    expect(r.code).toBe(2);
    const out = r.stderr;
    expect(out).toContain(`${file}:7:11: steps[0].uses: the Scaleflex connector has no action "files.lst". Did you mean dam.files.list`);
    expect(out).toContain(`${file}:11:19: steps[1].with.folder: $inputs.fodler is not an input of this flow`);
    expect(out).toContain(`${file}:12:27: steps[1].with.source.path: $steps.later runs later (step 3)`);
    expect(out).toMatch(new RegExp(`${file}:13:\\d+: steps\\[1\\]\\.with\\.colour: upload-asset has no input "colour"`));
    expect(out).toContain(`${file}:16:23: steps[2].with.path: $item is only defined in a step with forEach`);
    expect(out).toMatch(new RegExp(`${file}:19:\\d+: steps\\[3\\]\\.with\\.message: invalid JSONata`));
  });

  it('points at the YAML syntax error, and says to quote an expression', async () => {
    const file = join(root, 'unquoted.yaml');
    await writeFile(file, 'name: x\nsteps:\n  - id: a\n    uses: log.info\n    with:\n      message: {% $inputs %}\n');
    const r = await sfx(['flow', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file}:6:\\d+: YAML: .*Quote values that hold \\{% %\\} expressions`));
  });

  it('accepts every example flow', async () => {
    const r = await sfx(['flow', 'validate', join(EXAMPLES, 'flows/import-products.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('import-products is valid (5 steps, 2 loops, trigger manual)');
  });
});

describe('sfx flow run and sfx runs', () => {
  it('runs the import example end to end: assets with metadata, tags and products, and a report of CDN URLs that answer', async () => {
    const report = join(root, 'report.csv');
    const r = await sfx(['flow', 'run', join(EXAMPLES, 'flows/import-products.yaml'), '--input', `report=${report}`, '--input', 'folder=/cli-import']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/upload\s+succeeded\s+6\s+6\s+0\s+0/);
    expect(r.stderr).toContain('Imported 6 products');
    const rows = (await readFile(report, 'utf8')).trim().split('\n');
    expect(rows[0]).toBe('sku,asset,cdn_url');
    expect(rows).toHaveLength(7);
    const [sku, , url] = rows[1]!.split(',');
    const image = await fetch(url!);
    expect([image.status, image.headers.get('content-type')]).toEqual([200, 'image/webp']);
    const page = await client.files.list({ folder: '/cli-import', recursive: true, q: `sku:${sku}` });
    expect(page.files).toHaveLength(1);
    const asset = page.files[0] as unknown as { tags: Record<string, Array<{ label: string }>>; meta: Record<string, unknown>; product: { ref: string } };
    expect(Object.values(asset.tags).flat().map((t) => t.label)).toEqual(['running', 'outdoor', 'summer']);
    expect(asset.meta).toMatchObject({ sku, price: 129.9, color: 'red' });
    expect(asset.product.ref).toBe(sku);
    const runs = await sfx(['runs', '--json']);
    const listed = JSON.parse(runs.stdout) as Array<{ flow: string; status: string; succeeded: number }>;
    expect(listed[0]).toMatchObject({ flow: 'import-products', status: 'succeeded', succeeded: 12 });
  });

  it('refuses an unknown input and a wrong type before running, exit 2', async () => {
    const unknown = await sfx(['flow', 'run', join(EXAMPLES, 'flows/import-products.yaml'), '--input', 'colour=red']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('"colour" is not an input of import-products');
    const wrong = await sfx(['flow', 'run', join(EXAMPLES, 'flows/import-products.yaml'), '--input', 'width=wide']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('the input "width" must be of type integer');
  });
});

describe('kill -9 at random points, then resume', () => {
  it('ends with every file uploaded exactly once (count and sha1), whatever the kill points', async () => {
    const dir = join(root, 'crash');
    await mkdir(join(dir, 'files'), { recursive: true });
    const count = 120;
    const expected = new Map<string, string>();
    const lines = ['name'];
    for (let i = 0; i < count; i++) {
      const name = `f-${String(i).padStart(4, '0')}.bin`;
      const bytes = randomBytes(2048 + i);
      await writeFile(join(dir, 'files', name), bytes);
      expected.set(name, createHash('sha1').update(bytes).digest('hex'));
      lines.push(name);
    }
    await writeFile(join(dir, 'list.csv'), `${lines.join('\n')}\n`);
    const flowFile = join(dir, 'crash.yaml');
    await writeFile(
      flowFile,
      `name: crash-import
connections: { local: local }
steps:
  - id: rows
    uses: csv.read
    with: { path: list.csv }
  - id: upload
    forEach: "{% $steps.rows %}"
    concurrency: 4
    uses: local.upload-asset
    with:
      source: { path: "{% 'files/' & $item.name %}" }
      folder: /crash
`,
    );
    const journal = { SFX_JOURNAL: join(dir, 'runs.db') };
    // Kill after a random number of finished items, three times, then let it finish.
    const killAfter = [5 + Math.floor(Math.random() * 20), 1 + Math.floor(Math.random() * 30), 1 + Math.floor(Math.random() * 30)];
    let runId: string | undefined;
    for (const [round, after] of killAfter.entries()) {
      const args = round === 0 ? ['flow', 'run', flowFile, '--json'] : ['flow', 'resume', runId!, '--json'];
      let items = 0;
      const r = await sfx(args, {
        env: journal,
        onStdout: (text, child) => {
          runId ??= /"runId":"([^"]+)"/.exec(text)?.[1];
          items = (text.match(/"type":"item"/g) ?? []).length;
          if (items >= after && child.exitCode === null && !child.killed) child.kill('SIGKILL');
        },
      });
      expect(runId).toBeDefined();
      // It may have finished before the kill landed; it must never have failed.
      if (r.signal !== 'SIGKILL') expect(r.code, r.stderr).toBe(0);
    }
    const last = await sfx(['flow', 'resume', runId!, '--json'], { env: journal });
    if (last.code !== 0) expect(last.stderr).toContain('nothing to resume');
    const show = await sfx(['runs', 'show', runId!, '--json'], { env: journal });
    const summary = JSON.parse(show.stdout) as { status: string; steps: Array<{ id: string; total?: number; succeeded?: number; failed?: number }> };
    expect(summary.status).toBe('succeeded');
    expect(summary.steps.find((s) => s.id === 'upload')).toMatchObject({ total: count, succeeded: count, failed: 0 });

    const files = [];
    for await (const f of client.files.list({ folder: '/crash', recursive: true })) files.push(f);
    expect(files).toHaveLength(count);
    const got = new Map(files.map((f) => [f.name, f.hash?.sha1]));
    expect(got).toEqual(expected);
  });
});
