/**
 * Stopping a run on a cluster (real Redis, PostgreSQL journal): the console of any coordinator
 * can stop a run another coordinator drives; the request goes over Redis pub/sub and the run
 * ends `interrupted`, resumable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock, type FlowService } from '../src/index.js';
import { openPostgresStore, useBackends } from './support/backends.js';
import { useRedis } from './support/redis.js';
import { fixture, gate, holdRuns, recorded, waitFor, type Fixture } from './triggers-fixture.js';

useBackends();

const redis = useRedis();
let f: Fixture | undefined;

afterEach(async () => {
  await f?.close();
  f = undefined;
  recorded.length = 0;
});

const HELD = `name: held
steps:
  - id: wait
    uses: t.hold
  - id: after
    uses: t.record
    with: { value: done }
`;

describe('stopping a run on a cluster', () => {
  it('a run driven by coordinator A, stopped from coordinator B, ends interrupted and resumes', { timeout: 60_000 }, async () => {
    f = await fixture('stop-cluster', '2026-01-01T00:00:00Z');
    await f.write('held.yaml', HELD);
    holdRuns();
    const schema = `stop_cluster_${process.pid}`;
    const start = async (): Promise<FlowService> =>
      f!.start({
        clock: systemClock,
        graceMs: 300,
        journal: await openPostgresStore({ schema }),
        // Both coordinators live in this one process, so they share its journal owner: neither may
        // take the other's run over, as two processes never would while both live.
        queue: { url: redis.url, name: `stop-${process.pid}`, takeoverMs: 3_600_000 },
        role: 'coordinator',
      });
    const a = await start();
    const b = await start();
    const runId = await a.startManualRun('held', {});
    await waitFor('the step held', async () => (await a.store.getStep(runId, 'wait'))?.status === 'running');
    expect([a.isRunLive(runId), b.isRunLive(runId)]).toEqual([true, false]);

    expect(await b.stopRun(runId, 'console')).toBe('interrupted');
    expect(a.isRunLive(runId)).toBe(false);
    expect((await a.store.getRun(runId))?.status).toBe('interrupted');
    // The held action was cut off: its step is not done, and its item's outcome is left to the resume.
    expect((await a.store.getStep(runId, 'wait'))?.status).toBe('running');
    expect((await a.store.getItem(runId, 'wait', 0))?.status).toBe('started');
    expect(recorded).toEqual([]);
    expect(f.logs.find((l) => l.msg === 'run stop requested')).toMatchObject({ runId, by: 'console' });
    expect(f.logs.find((l) => l.msg === 'stopping a run at the request of another coordinator')).toMatchObject({ runId, flow: 'held' });

    gate.release();
    await b.resumeRun(runId);
    await waitFor('the resumed run to succeed', async () => (await b.store.getRun(runId))?.status === 'succeeded', 30_000);
    expect(recorded).toEqual(['done']);
    expect(await b.store.getItem(runId, 'wait', 0)).toMatchObject({ status: 'succeeded', output: { held: true }, attempts: 2 });
  });

  it('a running run no coordinator drives (a sfx flow run --queue in a terminal) is refused, not reported stopped', { timeout: 60_000 }, async () => {
    f = await fixture('stop-cluster-nobody', '2026-01-01T00:00:00Z');
    await f.write('held.yaml', HELD);
    const service = await f.start({
      clock: systemClock,
      journal: await openPostgresStore({ schema: `stop_nobody_${process.pid}` }),
      queue: { url: redis.url, name: `stop-nobody-${process.pid}`, takeoverMs: 3_600_000 },
      role: 'coordinator',
    });
    // As `sfx flow run --queue` on another machine journals it: running, owned by that process.
    await service.store.createRun({ id: 'r-terminal', flow: 'held', flowHash: 'h', source: HELD, baseDir: f.dir, trigger: { type: 'manual' }, inputs: {}, owner: 'laptop:4242' });
    const error = await service.stopRun('r-terminal').then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string; hint?: string },
    );
    expect(error).toMatchObject({ code: 'RUN_ELSEWHERE' });
    expect(error?.message).toContain('laptop:4242');
    expect(error?.hint).toContain('Ctrl-C');
    expect((await service.store.getRun('r-terminal'))?.status).toBe('running');
  });
});
