/**
 * `sfx serve` run as a user runs it: the built binary, a stored connection to a local server, a
 * flows folder with a webhook flow (and a broken one), requests over HTTP, then SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filerobot } from '@sfx/client';
import { signBody } from '@sfx/connector';
import { SqliteRunStore } from '@sfx/flows';
import { startServer, type RunningServer } from '@sfx/server';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/sfx.js');
const ROOT_KEY = 'cli-serve-test-root-key-81c4e2';
const HOOK_SECRET = 'cli-serve-hook-secret-0f3a';

let server: RunningServer;
let root: string;
let client: Filerobot;

beforeAll(async () => {
  server = await startServer({ port: 0, data: ':memory:', rootKey: ROOT_KEY, logLevel: 'silent' });
  client = new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: ROOT_KEY });
  root = await mkdtemp(join(tmpdir(), 'sfx-cli-serve-'));
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    SFX_CONFIG_DIR: join(root, 'config'),
    SFX_TEST_KEY: ROOT_KEY,
    HOOK_SECRET,
  };
  delete e.SFX_CONNECTION;
  delete e.SFX_JOURNAL;
  return e;
}

function sfxOnce(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: env(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stderr }));
  });
}

interface LogLine {
  msg: string;
  [field: string]: unknown;
}

describe('sfx serve', () => {
  it('serves a webhook flow over a stored connection, answers /health, and exits 0 on SIGTERM', async () => {
    const add = await sfxOnce([
      'connection',
      'add',
      'local',
      '--endpoint',
      `${server.url}/${server.token}`,
      '--api-key',
      'env:SFX_TEST_KEY',
    ]);
    expect(add.code, add.stderr).toBe(0);
    const flows = join(root, 'flows');
    await mkdir(flows);
    await writeFile(
      join(flows, 'new-folder.yaml'),
      `name: new-folder
connections: { dam: null }
secrets: [HOOK_SECRET]
trigger: { type: webhook, path: /new-folder, secret: "{% $secrets.HOOK_SECRET %}" }
steps:
  - id: say
    uses: log.info
    with: { message: "creating {% $trigger.body.name %}" }
  - id: create
    uses: dam.folders.ensure
    with: { path: "/from-hook/{% $trigger.body.name %}" }
`,
    );
    await writeFile(
      join(flows, 'broken.yaml'),
      'name: broken\nsteps:\n  - id: x\n    uses: log.shout\n    with: { message: hi }\n',
    );
    const journal = join(root, 'runs.db');

    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--flows', flows, '--port', '0', '--journal', journal],
      { env: env(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const logs: LogLine[] = [];
    let stderr = '';
    let partial = '';
    const waiters: Array<() => void> = [];
    child.stdout.on('data', (d: Buffer) => {
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) if (line.trim()) logs.push(JSON.parse(line) as LogLine);
      for (const w of waiters.splice(0)) w();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.on('close', (code, signal) => done({ code, signal })),
    );
    const logged = async (what: string, test: (l: LogLine) => boolean): Promise<LogLine> => {
      for (;;) {
        const found = logs.find(test);
        if (found) return found;
        if (child.exitCode !== null)
          throw new Error(`sfx serve exited before ${what}:\n${stderr}\n${JSON.stringify(logs)}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    };

    try {
      const ready = await logged('ready', (l) => l.msg === 'sfx serve ready');
      const url = String(ready.url);
      expect(ready.flows).toEqual(['new-folder']);
      const skipped = logs.find((l) => l.msg === 'flow skipped');
      expect(String(skipped?.problem)).toMatch(/broken\.yaml:4:11: steps\[0\]\.uses: .*log/);

      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect((await fetch(`${url}/ready`)).status).toBe(200);

      const body = JSON.stringify({ name: 'spring-drop' });
      const refused = await fetch(`${url}/hooks/new-folder`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-sfx-signature': signBody('another-secret', body) },
      });
      expect(refused.status).toBe(401);
      const res = await fetch(`${url}/hooks/new-folder`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-sfx-signature': signBody(HOOK_SECRET, body) },
      });
      expect(res.status).toBe(202);
      const { runId } = (await res.json()) as { runId: string };
      const finished = await logged(
        'the run to finish',
        (l) => l.msg === 'run finished' && l.runId === runId,
      );
      expect(finished).toMatchObject({ flow: 'new-folder', trigger: 'webhook', status: 'succeeded' });
      // A step's log line names its run, flow and trigger.
      expect(logs.find((l) => l.msg === 'creating spring-drop')).toMatchObject({
        runId,
        flow: 'new-folder',
        trigger: 'webhook',
        step: 'say',
      });
      expect(await client.folders.findByPath('/from-hook/spring-drop')).toBeDefined();

      child.kill('SIGTERM');
      const exit = await exited;
      expect(exit, stderr).toEqual({ code: 0, signal: null });
      expect(logs.at(-1)?.msg).toBe('stopped');
      expect(stderr + JSON.stringify(logs)).not.toContain(HOOK_SECRET);
      expect(stderr + JSON.stringify(logs)).not.toContain(ROOT_KEY);

      const store = new SqliteRunStore(journal);
      const run = store.getRun(runId)!;
      store.close();
      expect(run.status).toBe('succeeded');
      expect((run.trigger.event as { body: unknown }).body).toEqual({ name: 'spring-drop' });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses a folder with no flow it can serve (exit 2), naming the problems', async () => {
    const flows = join(root, 'only-broken');
    await mkdir(flows);
    await writeFile(join(flows, 'broken.yaml'), 'name: broken\nsteps: []\n');
    const run = await sfxOnce([
      'serve',
      '--flows',
      flows,
      '--port',
      '0',
      '--journal',
      join(root, 'other.db'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no flow to serve .*1 problem/);
    const missing = await sfxOnce(['serve', '--flows', join(root, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--flows .*no such folder/);
  });

  it('refuses cluster options without --queue, and each on the role it does not apply to (exit 2)', async () => {
    for (const [args, said] of [
      [['--page-size', '50'], /--page-size is for a cluster: give --queue/],
      [['--lock-ms', '5000'], /--lock-ms is for a cluster: give --queue/],
      [['--queue', 'redis://127.0.0.1:1', '--role', 'worker', '--page-size', '50'], /--page-size applies to the coordinators/],
      [['--queue', 'redis://127.0.0.1:1', '--role', 'coordinator', '--tps', '5'], /--tps applies to the workers/],
      [['--queue', 'redis://127.0.0.1:1', '--page-size', '0'], /--page-size/],
    ] as const) {
      const run = await sfxOnce(['serve', '--flows', root, '--port', '0', ...args]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(said);
    }
  });
});
