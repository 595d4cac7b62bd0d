/**
 * `sfx serve` keeps its DAM clients between runs: a stored connection changed meanwhile (its key
 * replaced with `sfx connection add --force`, or the connection removed) is seen by the next run
 * without a restart, in-process and through `--queue` workers, against a real local DAM.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filerobot } from '@sfx/client';
import { defaultRegistry, FlowService, type ConnectionOpener, type RunResult } from '@sfx/flows';
import { startServer, type RunningServer } from '@sfx/server';
import { startRedis, type TestRedis } from '../../flows/test/support/redis.js';
import { ConnectionStore } from '../src/connections-store.js';
import { connectionOpener } from '../src/flows.js';

const ROOT_KEY = 'serve-connection-change-root-key-3b7d';

let server: RunningServer;
let admin: Filerobot;
let root: string;
let endpoint: string;
let store: ConnectionStore;
/** Lists assets only; the flows below also list folders (OBJECTS_LIST), so the DAM refuses them. */
let uploadOnlyKey: string;
let deactivatedKey: string;

/** A local HTTP endpoint a flow's `http.request` step waits on until the test lets it answer. */
let gateServer: Server;
let gateUrl: string;
let gate: Promise<void> = Promise.resolve();
let atGate: (() => void) | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sfx-serve-connection-change-'));
  process.env.SFX_CONFIG_DIR = join(root, 'config');
  delete process.env.SFX_CONNECTION;
  server = await startServer({ port: 0, data: ':memory:', rootKey: ROOT_KEY, logLevel: 'silent' });
  endpoint = `${server.url}/${server.token}`;
  admin = new Filerobot({ endpoint, apiKey: ROOT_KEY });
  uploadOnlyKey = (await admin.access.keys.create({ description: 'uploads only', permissions: ['FILE_UPLOAD'] })).secret!;
  const lister = await admin.access.keys.create({ description: 'deactivated', permissions: ['OBJECTS_LIST'] });
  await admin.access.keys.update(lister.uuid, { active: false });
  deactivatedKey = lister.secret!;
  store = new ConnectionStore();
  gateServer = createServer((_request, response) => {
    atGate?.();
    void gate.then(() => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((ready) => gateServer.listen(0, '127.0.0.1', ready));
  gateUrl = `http://127.0.0.1:${(gateServer.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await admin?.close();
  await server?.close();
  await new Promise((closed) => gateServer?.close(closed));
  if (root) await rm(root, { recursive: true, force: true });
});

/** What `sfx connection add local --api-key-stdin [--force]` stores. */
async function storeKey(key: string): Promise<void> {
  await store.add({ name: 'local', endpointUrl: endpoint, authentication: 'apikey', apiKey: { value: key } }, { replace: true });
}

async function flowsFolder(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
  return dir;
}

/** The clients the opener opened, each with whether it was closed: the service's client cache observed from outside. */
function observedOpener(): { opener: ConnectionOpener; opened: Array<{ client: Filerobot; closed: boolean }> } {
  const base = connectionOpener(undefined);
  const opened: Array<{ client: Filerobot; closed: boolean }> = [];
  const opener: ConnectionOpener = async (name, spec, heldUntil) => {
    const client = await base(name, spec, heldUntil);
    const entry = { client, closed: false };
    const close = client.close.bind(client);
    client.close = async () => {
      entry.closed = true;
      await close();
    };
    opened.push(entry);
    return client;
  };
  opener.fingerprint = base.fingerprint!;
  return { opener, opened };
}

async function runOnce(service: FlowService, flow: string): Promise<RunResult> {
  const started = await service.startRun(service.flows.get(flow)!.flow, { type: 'manual' });
  if (started.duplicate) throw new Error('a run without an event id is never a duplicate');
  return started.done;
}

const LIST_FLOW = `name: list
connections: { dam: local }
steps:
  - id: folders
    uses: dam.folders.list
    with: {}
`;

describe('sfx serve after a stored connection changes', () => {
  it('uses a replaced key on the next run, fails with the clear error once the connection is removed, and closes the old client only after the run holding it', async () => {
    await storeKey(ROOT_KEY);
    const flows = await flowsFolder('in-process', {
      'list.yaml': LIST_FLOW,
      'slow.yaml': `name: slow
connections: { dam: local }
steps:
  - id: before
    uses: dam.folders.list
    with: {}
  - id: wait
    uses: http.request
    with: { url: "${gateUrl}" }
  - id: after
    uses: dam.folders.list
    with: {}
`,
    });
    const { opener, opened } = observedOpener();
    const service = new FlowService({ flowsDir: flows, journal: join(root, 'in-process.db'), registry: defaultRegistry(), openConnection: opener, write: () => {} });
    await service.start();
    try {
      expect((await runOnce(service, 'list')).status).toBe('succeeded');
      expect((await runOnce(service, 'list')).status).toBe('succeeded');
      expect(opened).toHaveLength(1);

      // A key without the permission the step needs: the DAM's refusal, not the old key's success.
      await storeKey(uploadOnlyKey);
      const refused = await runOnce(service, 'list');
      expect(refused.status).toBe('failed');
      expect(refused.error?.message).toMatch(/OBJECTS_LIST|permission|forbidden/i);
      expect(opened).toHaveLength(2);
      expect(opened[0]!.closed).toBe(true);

      await storeKey(deactivatedKey);
      const inactive = await runOnce(service, 'list');
      expect(inactive.status).toBe('failed');
      expect(inactive.error?.message).toMatch(/inactive|deactivated|unauthori[sz]ed|401/i);

      await storeKey(ROOT_KEY);
      expect((await runOnce(service, 'list')).status).toBe('succeeded');

      // A run in flight keeps its client until it ends, even once a later run has replaced it.
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      const reached = new Promise<void>((r) => (atGate = r));
      const slow = await service.startRun(service.flows.get('slow')!.flow, { type: 'manual' });
      await reached;
      const held = opened.at(-1)!;
      await storeKey(uploadOnlyKey);
      expect((await runOnce(service, 'list')).status).toBe('failed');
      expect(opened.at(-1)).not.toBe(held);
      expect(held.closed).toBe(false);
      release();
      expect(slow.duplicate || (await slow.done).status).toBe('succeeded');
      await expect.poll(() => held.closed).toBe(true);

      // Removed: the step fails with the store's error, which names the fix.
      expect(await store.remove('local')).toBe(true);
      const removed = await runOnce(service, 'list');
      expect(removed.status).toBe('failed');
      expect(removed.error?.message).toMatch(/No connection "local" in .*sfx connection add local/s);
      expect(JSON.stringify(removed)).not.toContain(ROOT_KEY);
      expect(JSON.stringify(removed)).not.toContain(uploadOnlyKey);

      // Added back: the next run opens it again.
      await storeKey(ROOT_KEY);
      expect((await runOnce(service, 'list')).status).toBe('succeeded');
    } finally {
      gate = Promise.resolve();
      await service.stop('test done');
    }
    expect(opened.every((o) => o.closed)).toBe(true);
  });

  describe('with --queue', () => {
    let redis: TestRedis;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('workers open each item with the current key too', async () => {
      await storeKey(ROOT_KEY);
      const flows = await flowsFolder('queued', {
        'loop.yaml': `name: loop
connections: { dam: local }
steps:
  - id: each
    forEach: [1, 2]
    uses: dam.folders.list
    with: {}
`,
      });
      const service = new FlowService({
        flowsDir: flows,
        journal: join(root, 'queued.db'),
        registry: defaultRegistry(),
        openConnection: connectionOpener(undefined),
        queue: { url: redis.url, name: 'connection-change' },
        write: () => {},
      });
      await service.start();
      try {
        const ok = await runOnce(service, 'loop');
        expect(ok.status).toBe('succeeded');
        expect(ok.steps.find((s) => s.id === 'each')).toMatchObject({ succeeded: 2, failed: 0 });

        await storeKey(uploadOnlyKey);
        const refused = await runOnce(service, 'loop');
        expect(refused.status).toBe('failed');
        expect(refused.steps.find((s) => s.id === 'each')).toMatchObject({ succeeded: 0, failed: 2 });

        await store.remove('local');
        const removed = await runOnce(service, 'loop');
        expect(removed.status).toBe('failed');
        const items = await service.store.items(removed.runId, 'each');
        expect(items.map((i) => i.error?.message)).toEqual([
          expect.stringMatching(/No connection "local" in .*sfx connection add local/s),
          expect.stringMatching(/No connection "local" in .*sfx connection add local/s),
        ]);
      } finally {
        await service.stop('test done');
      }
    });
  });
});
