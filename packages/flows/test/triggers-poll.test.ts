/**
 * Poll triggers against a real local server, polls driven by a manual clock: a new asset starts
 * exactly one run; restarts (plain, or after a crash between the run and the saved state) never
 * start it again; assets already there, or in another folder, start none.
 */
import { Filerobot, type FileObject } from '@sfx/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/src/index.js';
import { SqliteRunStore, type FlowService } from '../src/index.js';
import { fixture, recorded, waitFor, type Fixture } from './triggers-fixture.js';

let server: RunningServer;
let dam: Filerobot;
let f: Fixture;

beforeAll(async () => {
  server = await startServer({
    port: 0,
    data: ':memory:',
    rootKey: 'root-key-for-poll-trigger-tests',
    logLevel: 'silent',
  });
  dam = new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: server.rootKey });
  f = await fixture('poll', new Date().toISOString());
});

afterAll(async () => {
  await f?.close();
  await dam?.close();
  await server?.close();
});

async function upload(folder: string, name: string): Promise<FileObject> {
  const { file } = await dam.files.upload(
    { data: Buffer.from(`${name} ${Math.random()}`), name },
    { folder },
  );
  return file;
}

const polls = (): number => f.logs.filter((l) => l.msg === 'polled').length;

/** Moves the clock to the next poll and waits for it to finish. */
async function nextPoll(): Promise<void> {
  const before = polls();
  await f.clock.advanceTo(f.clock.nextTimer()!);
  await waitFor('the poll', () => polls() > before);
}

async function startService(): Promise<FlowService> {
  return f.start({
    openConnection: () =>
      new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: server.rootKey }),
  });
}

describe('poll trigger', () => {
  it('starts one run per new asset, once, across restarts and a crash before the state was saved', async () => {
    await f.write(
      'incoming.yaml',
      `
name: incoming
connections: { dam: null }
trigger: { type: poll, uses: dam.assets.new, with: { folder: /incoming }, every: 1m }
steps:
  - id: note
    uses: t.record
    with: { value: "{% $trigger.uuid %}" }
`,
    );
    await upload('/incoming', 'already-there.txt');
    let service = await startService();
    await nextPoll(); // the first poll: starts from now
    const key = ['incoming', 'poll:dam.assets.new'] as const;
    const before = await service.store.getTriggerState(...key);
    expect(before).toBeDefined();
    expect(await service.store.listRuns()).toEqual([]);

    const fresh = await upload('/incoming', 'fresh.txt');
    await upload('/elsewhere', 'not-watched.txt');
    await nextPoll();
    await waitFor('the run to end', async () => (await service.store.listRuns())[0]?.status === 'succeeded');
    const runs = await service.store.listRuns();
    expect(runs.length).toBe(1);
    expect(runs[0]!.trigger).toMatchObject({ type: 'poll', id: `assets.new:${fresh.uuid}` });
    expect((runs[0]!.trigger.event as FileObject).uuid).toBe(fresh.uuid);
    expect(recorded).toEqual([fresh.uuid]);
    await nextPoll();
    expect((await service.store.listRuns()).length).toBe(1);

    // A plain restart: the saved state says the asset was seen.
    await service.stop();
    service = await startService();
    await nextPoll();
    expect((await service.store.listRuns()).length).toBe(1);
    await service.stop();

    // A crash after the run was journaled but before the state was saved: the state is older.
    const store = new SqliteRunStore(f.journal);
    store.setTriggerState(...key, before!);
    store.close();
    service = await startService();
    await nextPoll();
    expect(
      f.logs.some((l) => l.msg === 'event already has a run' && l.event === `assets.new:${fresh.uuid}`),
    ).toBe(true);
    expect((await service.store.listRuns()).length).toBe(1);
    expect(recorded).toEqual([fresh.uuid]);
    // The state moved past the asset again.
    expect(await service.store.getTriggerState(...key)).not.toBe(before);
  });

  it('skips a flow whose trigger configuration does not suit the trigger, saying which field', async () => {
    const g = await fixture('poll-bad', new Date().toISOString());
    try {
      await g.write(
        'bad.yaml',
        `
name: bad
connections: { dam: null }
trigger: { type: poll, uses: dam.assets.new, with: { folder: incoming, recursive: maybe } }
steps:
  - { id: note, uses: t.record, with: { value: 1 } }
`,
      );
      const service = await g.start({
        openConnection: () =>
          new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: server.rootKey }),
      });
      expect(service.flows.size).toBe(0);
      const line = g.logs.find((l) => l.msg === 'trigger could not start; the flow is skipped');
      expect(line).toMatchObject({ flow: 'bad', trigger: 'poll' });
      expect(String(line?.error)).toMatch(/with\.folder: .*with\.recursive: /);
      expect(g.clock.nextTimer()).toBeUndefined();
    } finally {
      await g.close();
    }
  });
});
