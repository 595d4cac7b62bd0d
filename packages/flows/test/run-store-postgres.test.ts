/**
 * The journal contract on both backends (one run per event id, trigger state, the conditional
 * begin a worker uses, claims, a loop source's pages), then what only a shared PostgreSQL journal has: a run held under
 * a lease that a live owner keeps and a dead one loses, concurrent begins from separate
 * processes' pools, and a schema created once when several processes open it at the same time.
 */
import { describe, expect, it } from 'vitest';
import { PostgresRunStore, RunBusyError, UnknownRunError, type RunStore } from '../src/index.js';
import type { LoopPage } from '../src/engine/run-store.js';
import { backends, openPostgresStore, postgresCluster, useBackends } from './support/backends.js';
import { fixture, holdRuns, recorded, waitFor } from './triggers-fixture.js';

useBackends();

const run = (id: string, extra: { trigger?: { type: string; id?: string }; owner?: string } = {}) => ({
  id,
  flow: 'f',
  flowHash: 'h',
  source: 'name: f',
  baseDir: '/',
  trigger: extra.trigger ?? { type: 'manual' },
  inputs: { n: 1 },
  ...(extra.owner ? { owner: extra.owner } : {}),
});

describe.each(backends)('the $name journal', (backend) => {
  it('holds one run per flow and event id; runs without an id are not limited; trigger state round-trips', async () => {
    const store = await backend.open();
    await store.createRun(run('r-1', { trigger: { type: 'dam.events', id: 'event:e1' } }));
    await expect(Promise.resolve().then(() => store.createRun(run('r-2', { trigger: { type: 'dam.events', id: 'event:e1' } })))).rejects.toThrow(/unique|duplicate/i);
    await store.createRun(run('r-3'));
    await store.createRun(run('r-4'));
    expect((await store.listRuns()).map((r) => r.id).sort()).toEqual(['r-1', 'r-3', 'r-4']);
    expect((await store.findRunByTrigger('f', 'event:e1'))?.id).toBe('r-1');
    expect(await store.findRunByTrigger('f', 'event:e2')).toBeUndefined();
    expect(await store.getTriggerState('f', 'poll')).toBeUndefined();
    await store.setTriggerState('f', 'poll', '{"watermark":"a"}');
    await store.setTriggerState('f', 'poll', '{"watermark":"b"}');
    expect(await store.getTriggerState('f', 'poll')).toBe('{"watermark":"b"}');
  });

  it('tryBeginItem begins a new item, reports an unfinished one, and leaves a finished one alone unless asked to redo it', async () => {
    const store = await backend.open();
    await store.createRun(run('r'));
    await store.startStep('r', 's');
    expect(await store.tryBeginItem('r', 's', 0, { a: 1 })).toEqual({ began: true });
    const again = await store.tryBeginItem('r', 's', 0, { a: 1 });
    expect(again).toMatchObject({ began: true, previous: { status: 'started', attempts: 1 } });
    await store.finishItem('r', 's', 0, 'succeeded', { output: { ok: true } });
    const done = await store.tryBeginItem('r', 's', 0, { a: 1 });
    expect(done).toMatchObject({ began: false, previous: { status: 'succeeded', output: { ok: true } } });
    expect((await store.getItem('r', 's', 0))?.status).toBe('succeeded');
    await store.finishItem('r', 's', 1, 'failed', { error: { message: 'boom' }, item: 'x' });
    expect(await store.tryBeginItem('r', 's', 1, 'x')).toMatchObject({ began: false });
    expect(await store.tryBeginItem('r', 's', 1, 'x', { redo: ['failed'] })).toMatchObject({ began: true, previous: { status: 'failed' } });
    expect(await store.getItem('r', 's', 1)).toMatchObject({ status: 'started', attempts: 1, item: 'x' });
  });

  it('pages the runs list by keyset (ties on the start time included) and counts the items of a page of runs in one call', async () => {
    const store = await backend.open();
    // Twelve runs over four start times, three runs each: a page boundary falls inside a tie.
    for (let i = 0; i < 12; i++) await store.createRun({ ...run(`r-${String(i).padStart(2, '0')}`), startedAt: 1000 + Math.floor(i / 3) });
    const seen: string[] = [];
    let before: { startedAt: number; id: string } | undefined;
    for (;;) {
      const page = await store.listRuns({ limit: 5, ...(before ? { before } : {}) });
      if (page.length === 0) break;
      seen.push(...page.map((r) => r.id));
      before = { startedAt: page.at(-1)!.startedAt, id: page.at(-1)!.id };
    }
    const newestFirst = (await store.listRuns({ limit: 100 })).map((r) => r.id);
    expect(seen).toEqual(newestFirst);
    expect(new Set(seen).size).toBe(12);
    expect(seen.slice(0, 3)).toEqual(['r-11', 'r-10', 'r-09']);

    await store.finishItem('r-01', 'each', 0, 'succeeded', {});
    await store.finishItem('r-01', 'each', 1, 'failed', { error: { message: 'boom' } });
    await store.finishItem('r-01', 'each', 2, 'succeeded', {});
    await store.finishItem('r-01', 'single', 0, 'skipped', {});
    await store.beginItem('r-02', 'each', 0, 'x');
    const counts = await store.runItemCounts(['r-01', 'r-02', 'r-03']);
    expect(counts.get('r-01')).toEqual(
      new Map([
        ['each', { succeeded: 2, failed: 1, skipped: 0, started: 0 }],
        ['single', { succeeded: 0, failed: 0, skipped: 1, started: 0 }],
      ]),
    );
    expect(counts.get('r-02')).toEqual(new Map([['each', { succeeded: 0, failed: 0, skipped: 0, started: 1 }]]));
    expect(counts.has('r-03')).toBe(false);
    expect((await store.runItemCounts([])).size).toBe(0);
  });

  it('a started item held under a live lease is not taken by another delivery; once the lease runs out it is, and the old owner cannot renew', async () => {
    let now = 5_000_000;
    const store = await backend.open({ clock: () => now });
    await store.createRun(run('r'));
    await store.startStep('r', 's');
    const a = { owner: 'worker-a:1:token-a', ms: 2_000 };
    const b = { owner: 'worker-b:1:token-b', ms: 2_000 };
    expect(await store.tryBeginItem('r', 's', 0, undefined, { lease: a })).toEqual({ began: true });
    expect(await store.getItem('r', 's', 0)).toMatchObject({ status: 'started', attempts: 1, owner: a.owner, leaseUntil: now + 2_000 });

    // A second delivery while the first still runs it: left alone, told until when.
    now += 1_500;
    expect(await store.tryBeginItem('r', 's', 0, undefined, { lease: b })).toMatchObject({ began: false, heldUntil: 5_002_000, previous: { status: 'started', owner: a.owner } });
    // The first renews it (it is alive): the second is refused past the first lease's end too.
    expect(await store.renewItemLease('r', 's', 0, a)).toBe(true);
    now += 1_000;
    expect(await store.tryBeginItem('r', 's', 0, undefined, { lease: b })).toMatchObject({ began: false, heldUntil: 5_003_500 });
    expect(await store.getItem('r', 's', 0)).toMatchObject({ attempts: 1, owner: a.owner });

    // The first stops renewing (paused, or dead): after its lease, the next delivery takes over and reconciles.
    now += 1_001;
    expect(await store.tryBeginItem('r', 's', 0, undefined, { lease: b })).toMatchObject({ began: true, previous: { status: 'started', owner: a.owner } });
    expect(await store.getItem('r', 's', 0)).toMatchObject({ status: 'started', attempts: 2, owner: b.owner });
    expect(await store.renewItemLease('r', 's', 0, a)).toBe(false);
    expect(await store.renewItemLease('r', 's', 0, b)).toBe(true);

    // Finished, the item has no owner; an item begun without a lease (a single process) is never held.
    await store.finishItem('r', 's', 0, 'succeeded', { output: 1 });
    expect(await store.getItem('r', 's', 0)).not.toHaveProperty('owner');
    expect(await store.renewItemLease('r', 's', 0, b)).toBe(false);
    await store.beginItem('r', 's', 1, undefined);
    expect(await store.tryBeginItem('r', 's', 1, undefined, { lease: b })).toMatchObject({ began: true, previous: { status: 'started' } });
  });

  it('refuses to claim a run another machine holds, and an unknown run', async () => {
    const store = await backend.open();
    await store.createRun(run('r', { owner: 'other-machine:42' }));
    await expect(Promise.resolve().then(() => store.claimRun('r', 'this-machine:1'))).rejects.toBeInstanceOf(RunBusyError);
    await expect(Promise.resolve().then(() => store.claimRun('nope', 'this-machine:1'))).rejects.toBeInstanceOf(UnknownRunError);
    await store.finishRun('r', 'interrupted');
    await store.claimRun('r', 'this-machine:1');
    expect(await store.getRun('r')).toMatchObject({ status: 'running', owner: 'this-machine:1' });
  });

  it("journals a loop source's pages: the first save stands, a page is found by any index it holds, and pages are dropped once their items lie below a bound", async () => {
    const store = await backend.open();
    await store.createRun(run('r'));
    await store.startStep('r', 'each');
    await store.startStep('r', 'other');
    const first: LoopPage = {
      firstIndex: 0,
      items: [
        { item: { id: 'a', tags: ['x', 'y'], meta: { nested: { n: 1.5, none: null } } }, cursor: 'c1' },
        { item: 'plain string', cursor: 'c2' },
        { item: null, cursor: '{"offset":3}' },
      ],
      end: false,
    };
    const second: LoopPage = { firstIndex: 3, items: [{ item: 42, cursor: 'c4' }, { item: [1, [2, 'three']], cursor: 'c5' }], end: false };
    const failed: LoopPage = { firstIndex: 10, items: [{ item: { id: 'k' }, cursor: 'c11' }], end: false, error: { message: 'HTTP 503', code: 'SOURCE_FAILED', status: 503 } };
    const last: LoopPage = { firstIndex: 20, items: [], end: true };

    expect(await store.savePage('r', 'each', first)).toBe(true);
    // Read again (a redelivered page job, or a source that changed): the first read stands.
    expect(await store.savePage('r', 'each', { firstIndex: 0, items: [{ item: 'changed', cursor: 'z' }], end: true })).toBe(false);
    expect(await store.savePage('r', 'each', second)).toBe(true);
    expect(await store.savePage('r', 'each', failed)).toBe(true);
    expect(await store.savePage('r', 'each', last)).toBe(true);
    expect(await store.savePage('r', 'other', second)).toBe(true);

    for (const index of [0, 1, 2]) expect(await store.getPage('r', 'each', index)).toEqual(first);
    for (const index of [3, 4]) expect(await store.getPage('r', 'each', index)).toEqual(second);
    const withError = await store.getPage('r', 'each', 10);
    expect(withError).toEqual(failed);
    expect(await store.getPage('r', 'each', 0)).not.toHaveProperty('error');
    // Between pages, past one that ended early, and past the empty last page: no page holds them.
    for (const index of [5, 9, 11, 21]) expect(await store.getPage('r', 'each', index)).toBeUndefined();
    expect(await store.getPage('r', 'each', 20)).toEqual(last);
    expect(await store.getPage('r', 'nope', 0)).toBeUndefined();

    // Bound 4: the first page (0..2) lies wholly below it and goes; the second (3..4) straddles it and stays.
    await store.dropPages('r', 'each', 4);
    expect(await store.getPage('r', 'each', 0)).toBeUndefined();
    expect(await store.getPage('r', 'each', 3)).toEqual(second);
    // Bound 20: the empty last page starting at 20 holds nothing below it and stays too.
    await store.dropPages('r', 'each', 20);
    expect(await store.getPage('r', 'each', 3)).toBeUndefined();
    expect(await store.getPage('r', 'each', 10)).toBeUndefined();
    expect(await store.getPage('r', 'each', 20)).toEqual(last);
    await store.dropPages('r', 'each', 21);
    expect(await store.getPage('r', 'each', 20)).toBeUndefined();

    // Without a bound, every page of the step goes; another step's pages stay.
    expect(await store.savePage('r', 'each', first)).toBe(true);
    expect(await store.savePage('r', 'each', second)).toBe(true);
    await store.dropPages('r', 'each');
    for (const index of [0, 3]) expect(await store.getPage('r', 'each', index)).toBeUndefined();
    expect(await store.getPage('r', 'other', 4)).toEqual(second);
  });
});

describe('the PostgreSQL journal', () => {
  it('a run is held under a lease: refused before it runs out, claimed after, and the old owner learns it lost it', async () => {
    let now = 1_000_000;
    const lost: string[] = [];
    const a = await openPostgresStore({ leaseMs: 10_000, clock: () => now, onLeaseLost: (id) => lost.push(id) });
    const b = await PostgresRunStore.open((await postgresCluster()).url, { schema: a.schema, leaseMs: 10_000, clock: () => now });
    try {
      await a.createRun(run('r', { owner: 'machine-a:1' }));
      now += 9_999;
      await expect(b.claimRun('r', 'machine-b:1')).rejects.toBeInstanceOf(RunBusyError);
      now += 2;
      await b.claimRun('r', 'machine-b:1');
      expect((await b.getRun('r'))?.owner).toBe('machine-b:1');
      // A wakes up (a long pause, a partition): its renewal finds the run taken.
      await a.renewLeases();
      expect(lost).toEqual(['r']);
      // What A still writes as it winds down does not end B's run.
      await a.finishRun('r', 'interrupted', { message: 'stopped' });
      expect(await a.getRun('r')).toMatchObject({ status: 'running', owner: 'machine-b:1' });
      await b.finishRun('r', 'succeeded');
      expect(await a.getRun('r')).toMatchObject({ status: 'succeeded' });
    } finally {
      await b.close();
    }
  });

  it('a live owner keeps its run past the lease by renewing it; once it stops, another process takes the run over', async () => {
    const a = await openPostgresStore({ leaseMs: 1500 });
    const b = await PostgresRunStore.open((await postgresCluster()).url, { schema: a.schema, leaseMs: 1500 });
    try {
      await a.createRun(run('r', { owner: 'machine-a:1' }));
      await new Promise((r) => setTimeout(r, 3500));
      await expect(b.claimRun('r', 'machine-b:1')).rejects.toBeInstanceOf(RunBusyError);
      // A dies: nothing renews its lease any more.
      await a.close();
      await waitFor('the lease to run out', async () => {
        try {
          await b.claimRun('r', 'machine-b:1');
          return true;
        } catch (error) {
          if (error instanceof RunBusyError) return false;
          throw error;
        }
      });
      expect((await b.getRun('r'))?.owner).toBe('machine-b:1');
    } finally {
      await b.close();
    }
  });

  it('concurrent begins of one item from separate pools: exactly one finds it new; none begins it once it succeeded', async () => {
    const first = await openPostgresStore();
    const url = (await postgresCluster()).url;
    const others = await Promise.all([1, 2, 3].map(() => PostgresRunStore.open(url, { schema: first.schema })));
    const workers: RunStore[] = [first, ...others];
    try {
      await first.createRun(run('r'));
      await first.startStep('r', 'each');
      for (let index = 0; index < 20; index++) {
        const results = await Promise.all(workers.map((w) => w.tryBeginItem('r', 'each', index, { index })));
        expect(results.filter((r) => r.began && r.previous === undefined)).toHaveLength(1);
        expect(results.filter((r) => r.previous?.status === 'started')).toHaveLength(workers.length - 1);
        expect((await first.getItem('r', 'each', index))?.attempts).toBe(workers.length);
        await first.finishItem('r', 'each', index, 'succeeded', { output: index });
        const redelivered = await Promise.all(workers.map((w) => w.tryBeginItem('r', 'each', index, { index })));
        expect(redelivered.every((r) => !r.began && r.previous?.status === 'succeeded')).toBe(true);
      }
      expect(await first.counts('r', 'each')).toEqual({ succeeded: 20, failed: 0, skipped: 0, started: 0 });
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
  });

  it('migrates a version 1 journal: its items stay, and gain an owner and a lease', async () => {
    const old = await openPostgresStore();
    await old.createRun(run('r'));
    await old.startStep('r', 's');
    await old.finishItem('r', 's', 0, 'succeeded', { output: 'kept' });
    // Back to the version 1 layout: what versions 2 and 3 added, gone.
    await old.pool.query('ALTER TABLE items DROP COLUMN owner, DROP COLUMN lease_until');
    await old.pool.query('DROP TABLE loop_pages');
    await old.pool.query('UPDATE journal_version SET version = 1');
    const migrated = await PostgresRunStore.open((await postgresCluster()).url, { schema: old.schema });
    try {
      expect((await migrated.pool.query<{ version: number }>('SELECT version FROM journal_version')).rows).toEqual([{ version: 3 }]);
      expect(await migrated.getItem('r', 's', 0)).toMatchObject({ status: 'succeeded', output: 'kept' });
      expect(await migrated.tryBeginItem('r', 's', 1, undefined, { lease: { owner: 'w:1:t', ms: 60_000 } })).toEqual({ began: true });
      expect(await migrated.getItem('r', 's', 1)).toMatchObject({ status: 'started', owner: 'w:1:t' });
      expect(await migrated.savePage('r', 's', { firstIndex: 0, items: [{ item: 'a', cursor: 'c1' }], end: true })).toBe(true);
    } finally {
      await migrated.close();
    }
  });

  it('migrates a version 2 journal: its runs and items stay, and it gains the loop pages, which go with their run', async () => {
    const old = await openPostgresStore();
    await old.createRun(run('r'));
    await old.startStep('r', 's');
    await old.tryBeginItem('r', 's', 0, 'x', { lease: { owner: 'w:1:t', ms: 60_000 } });
    await old.pool.query('DROP TABLE loop_pages');
    await old.pool.query('UPDATE journal_version SET version = 2');
    const migrated = await PostgresRunStore.open((await postgresCluster()).url, { schema: old.schema });
    try {
      expect((await migrated.pool.query<{ version: number }>('SELECT version FROM journal_version')).rows).toEqual([{ version: 3 }]);
      expect(await migrated.getItem('r', 's', 0)).toMatchObject({ status: 'started', item: 'x', owner: 'w:1:t' });
      const page = { firstIndex: 0, items: [{ item: { id: 1 }, cursor: 'c1' }], end: false };
      expect(await migrated.savePage('r', 's', page)).toBe(true);
      expect(await migrated.getPage('r', 's', 0)).toEqual(page);
      await migrated.pool.query('DELETE FROM runs');
      expect(await migrated.getPage('r', 's', 0)).toBeUndefined();
    } finally {
      await migrated.close();
    }
  });

  it('is created once when several processes open an empty schema at once, refuses one written by a newer sfx, and takes its schema from the URL', async () => {
    const { url } = await postgresCluster();
    const stores = await Promise.all([1, 2, 3, 4].map(() => PostgresRunStore.open(url, { schema: 'opened_at_once' })));
    await stores[0]!.createRun(run('r'));
    expect((await stores[3]!.getRun('r'))?.id).toBe('r');
    await stores[0]!.pool.query('UPDATE journal_version SET version = 99');
    await Promise.all(stores.map((s) => s.close()));
    await expect(PostgresRunStore.open(url, { schema: 'opened_at_once' })).rejects.toThrow(/newer sfx \(schema 99\)/);
    await expect(PostgresRunStore.open(url, { schema: 'Robert"); DROP TABLE runs;--' })).rejects.toThrow(/not a plain name/);
    const fromUrl = await PostgresRunStore.open(`${url}?schema=named_in_url`);
    const byDefault = await PostgresRunStore.open(url);
    try {
      await fromUrl.createRun(run('in-url'));
      expect(fromUrl.schema).toBe('named_in_url');
      expect(byDefault.schema).toBe('sfx');
      expect(await byDefault.getRun('in-url')).toBeUndefined();
      const [where] = (await fromUrl.pool.query<{ schema: string }>("SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'runs' AND table_schema = 'named_in_url'")).rows;
      expect(where?.schema).toBe('named_in_url');
    } finally {
      await Promise.all([fromUrl.close(), byDefault.close()]);
    }
  });
});

describe('sfx serve on the PostgreSQL journal', () => {
  it('stops driving a run another process took over (its lease ran out), leaving the run to that process', async () => {
    let now = Date.parse('2026-05-04T10:00:30Z');
    const a = await openPostgresStore({ leaseMs: 30_000, clock: () => now });
    const b = await PostgresRunStore.open((await postgresCluster()).url, { schema: a.schema, clock: () => now });
    const f = await fixture('lease-lost', '2026-05-04T10:00:30Z');
    try {
      await f.write(
        'held.yaml',
        `
name: held
trigger: { type: schedule, cron: "* * * * *", timezone: UTC }
steps:
  - id: wait
    uses: t.hold
`,
      );
      holdRuns();
      await f.start({ journal: a });
      await f.clock.advanceTo(Date.parse('2026-05-04T10:01:00Z'));
      const [run] = await waitFor('the run to start', async () => {
        const runs = await a.listRuns({ status: 'running' });
        return runs.length ? runs : undefined;
      });
      // The service's process stalls past its lease; another coordinator takes the run.
      now += 31_000;
      await b.claimRun(run!.id, 'machine-b:1');
      await a.renewLeases();
      await waitFor('the service to let go', () => f.logs.find((l) => l.msg === 'run finished' && l.runId === run!.id));
      expect(f.logs.find((l) => l.msg === 'another process took this run over; stopping it here')).toMatchObject({ runId: run!.id, flow: 'held' });
      expect(await b.getRun(run!.id)).toMatchObject({ status: 'running', owner: 'machine-b:1' });
    } finally {
      await f.close();
      await b.close();
    }
  });
});

describe('two coordinators on one PostgreSQL journal', () => {
  it('run each schedule tick once: the journal holds one run per tick, the other coordinator sees it there', async () => {
    const a = await openPostgresStore();
    const b = await PostgresRunStore.open((await postgresCluster()).url, { schema: a.schema });
    const f = await fixture('two-coordinators', '2026-05-04T10:00:30Z');
    recorded.length = 0;
    try {
      await f.write(
        'minutely.yaml',
        `
name: minutely
trigger: { type: schedule, cron: "* * * * *", timezone: UTC }
steps:
  - id: note
    uses: t.record
    with: { value: "{% $trigger.scheduledAt %}" }
`,
      );
      await f.start({ journal: a });
      await f.start({ journal: b });
      for (let minute = 1; minute <= 5; minute++) {
        await f.clock.advanceTo(Date.parse(`2026-05-04T10:0${minute}:00Z`));
        await waitFor(`the run of tick ${minute}`, async () => (await a.listRuns({ status: 'succeeded' })).length === minute);
      }
      const runs = await b.listRuns();
      expect(runs.map((r) => r.trigger.id).sort()).toEqual([1, 2, 3, 4, 5].map((m) => `schedule:2026-05-04T10:0${m}:00.000Z`));
      expect([...recorded].sort()).toEqual([1, 2, 3, 4, 5].map((m) => `2026-05-04T10:0${m}:00.000Z`));
      expect(f.logs.filter((l) => l.msg === 'run started')).toHaveLength(5);
      expect(f.logs.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      await f.close();
      recorded.length = 0;
    }
  });
});
