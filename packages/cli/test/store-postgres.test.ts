/**
 * `--store postgres://...`: sfx flow run, sfx runs (list, show, retry) and sfx serve on a run
 * journal in PostgreSQL (a private cluster started for this file), with the URL's password never
 * printed, not even when the journal cannot be reached.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '@sfx/connector';
import { PostgresRunStore } from '@sfx/flows';
import { startPostgres, type PostgresCluster } from '../../flows/test/support/postgres.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/sfx.js');
const PASSWORD = 'pg-url-secret-7f3e91';
const HOOK_SECRET = 'store-test-hook-secret-55d0';

let cluster: PostgresCluster;
let root: string;
/** The journal's URL, with a password (the test cluster trusts local connections, so any will do). */
let storeUrl: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sfx-cli-store-'));
  cluster = await startPostgres();
  const db = new URL(await cluster.createDatabase('sfx_cli'));
  db.password = PASSWORD;
  storeUrl = db.toString();
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, SFX_CONFIG_DIR: join(root, 'config'), SFX_JOURNAL: join(root, 'local-runs.db'), HOOK_SECRET };
  delete e.SFX_STORE;
  delete e.SFX_CONNECTION;
  return e;
}

function sfx(args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('sfx with --store postgres://', () => {
  it('runs a flow into the PostgreSQL journal, lists and shows it, and retries its failed item there', async () => {
    const notes = join(root, 'notes');
    await mkdir(notes);
    for (const n of [1, 2, 4, 5]) await writeFile(join(notes, `note-${n}.txt`), `note ${n}`);
    const flow = join(root, 'read-notes.yaml');
    await writeFile(
      flow,
      `name: read-notes
inputs:
  dir: { type: string }
steps:
  - id: each
    forEach: "{% [1..5] %}"
    uses: fs.read
    with: { path: "{% $inputs.dir & '/note-' & $item & '.txt' %}" }
    output: "{% $result.content %}"
    onError: continue
`,
    );
    const first = await sfx(['flow', 'run', flow, '--input', `dir=${notes}`, '--store', storeUrl]);
    expect(first.code, first.stderr).toBe(1);
    const runId = /sfx runs show (r\d{14}-[0-9a-f]+)/.exec(first.stdout)?.[1];
    expect(runId, first.stdout).toBeDefined();

    const listed = await sfx(['runs', '--store', storeUrl, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: runId, flow: 'read-notes', status: 'failed', succeeded: 4, failed: 1 })]);
    // The SQLite journal of this folder knows nothing of it.
    expect((await sfx(['runs'])).stdout).toMatch(/No runs in .*local-runs\.db/);

    await writeFile(join(notes, 'note-3.txt'), 'note 3');
    const retried = await sfx(['runs', 'retry', runId!, '--failed', '--store', storeUrl]);
    expect(retried.code, retried.stderr + retried.stdout).toBe(0);
    const shown = await sfx(['runs', 'show', runId!, '--store', storeUrl, '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ runId, status: 'succeeded', steps: [{ id: 'each', total: 5, succeeded: 5, failed: 0 }] });

    const store = await PostgresRunStore.open(storeUrl);
    try {
      expect((await store.items(runId!, 'each')).map((i) => i.output)).toEqual(['note 1', 'note 2', 'note 3', 'note 4', 'note 5']);
    } finally {
      await store.close();
    }
    for (const out of [first, listed, retried, shown]) expect(out.stdout + out.stderr).not.toContain(PASSWORD);
  });

  it('never prints the password: an unreachable journal, and --store with --journal', async () => {
    const unreachable = new URL(storeUrl);
    unreachable.port = '1';
    const failed = await sfx(['runs', '--store', unreachable.toString()]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('cannot open the run journal at postgres://postgres:***@127.0.0.1:1/');
    expect(failed.stdout + failed.stderr).not.toContain(PASSWORD);
    const both = await sfx(['runs', '--store', storeUrl, '--journal', join(root, 'x.db')]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/either --store or --journal/);
    const other = await sfx(['runs', '--store', `mysql://root:${PASSWORD}@localhost/db`]);
    expect(other.code).toBe(2);
    expect(other.stderr + other.stdout).not.toContain(PASSWORD);
  });

  it('sfx serve journals webhook runs in PostgreSQL and resumes a run a dead process left running there', async () => {
    const flows = join(root, 'flows');
    await mkdir(flows);
    const source = `name: hook-notes
secrets: [HOOK_SECRET]
trigger: { type: webhook, path: /notes, secret: "{% $secrets.HOOK_SECRET %}" }
steps:
  - id: say
    uses: log.info
    with: { message: "note {% $trigger.body.n %}" }
`;
    await writeFile(join(flows, 'hook-notes.yaml'), source);
    // What a coordinator killed on this machine leaves: its run running, owned by a process now gone.
    const seed = await PostgresRunStore.open(storeUrl);
    await seed.createRun({
      id: 'r-left-running',
      flow: 'hook-notes',
      flowHash: 'x',
      flowFile: join(flows, 'hook-notes.yaml'),
      source,
      baseDir: flows,
      trigger: { type: 'webhook', id: 'left', event: { body: { n: 0 } } },
      inputs: {},
      owner: `${hostname()}:999999999`,
    });
    await seed.close();

    const child = spawn(process.execPath, [BIN, 'serve', '--flows', flows, '--port', '0', '--store', storeUrl], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    const logLine = async (test: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
      for (;;) {
        const found = stdout
          .split('\n')
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find(test);
        if (found) return found;
        if (child.exitCode !== null) throw new Error(`sfx serve exited:\n${stderr}\n${stdout}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      const ready = await logLine((l) => l.msg === 'sfx serve ready');
      await logLine((l) => l.msg === 'run finished' && l.runId === 'r-left-running');
      const body = JSON.stringify({ n: 7 });
      const res = await fetch(`${String(ready.url)}/hooks/notes`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-sfx-signature': signBody(HOOK_SECRET, body) },
      });
      expect(res.status).toBe(202);
      const { runId } = (await res.json()) as { runId: string };
      expect(await logLine((l) => l.msg === 'run finished' && l.runId === runId)).toMatchObject({ status: 'succeeded' });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(stdout + stderr).not.toContain(PASSWORD);
    const store = await PostgresRunStore.open(storeUrl);
    try {
      expect(await store.getRun('r-left-running')).toMatchObject({ status: 'succeeded' });
      expect((await store.listRuns({ flow: 'hook-notes' })).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    } finally {
      await store.close();
    }
  });
});
