/**
 * Schedules on a cluster: coordinators share one BullMQ job scheduler per schedule flow (real
 * Redis, PostgreSQL journal, real time). Each tick is one job taken by one coordinator; the rules of
 * a schedule in one process (no overlap, the on/off switch, no replay of missed ticks) hold across
 * coordinators.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ScheduleQueue, systemClock, type FlowService, type FlowServiceOptions } from '../src/index.js';
import { openPostgresStore, useBackends } from './support/backends.js';
import { useRedis } from './support/redis.js';
import { fixture, gate, holdRuns, recorded, waitFor, type Fixture } from './triggers-fixture.js';

useBackends();

const redis = useRedis();
let f: Fixture | undefined;
let clusters = 0;

afterEach(async () => {
  await f?.close();
  f = undefined;
  recorded.length = 0;
});

/** `count` coordinators of one new cluster over the fixture's flows folder: one queue, one journal schema. */
async function coordinators(count: number, extra: Partial<NonNullable<FlowServiceOptions['queue']>> = {}): Promise<{ services: FlowService[]; queue: string }> {
  const queue = `sched-${process.pid}-${++clusters}`;
  const schema = `sched_${clusters}`;
  const services: FlowService[] = [];
  for (let i = 0; i < count; i++)
    services.push(
      await f!.start({
        clock: systemClock,
        journal: await openPostgresStore({ schema }),
        queue: { url: redis.url, name: queue, ...extra },
        role: 'coordinator',
      }),
    );
  return { services, queue };
}

const everySecond = (name: string, uses = 't.record'): string => `
name: ${name}
trigger: { type: schedule, cron: "* * * * * *", timezone: UTC }
steps:
  - id: note
    uses: ${uses}
    with: ${uses === 't.record' ? '{ value: "{% $trigger.scheduledAt %}" }' : '{}'}
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('schedules on a cluster', () => {
  it('two coordinators take each tick once, from one scheduler that stays in Redis for the others', async () => {
    f = await fixture('sched-once', '2026-01-01T00:00:00Z');
    await f.write('tick.yaml', everySecond('tick'));
    const { services, queue } = await coordinators(2);
    await waitFor('four ticks', () => recorded.length >= 4, 30_000);
    await Promise.all(services.map((s) => s.stop()));
    const ticks = (recorded as string[]).map((t) => Date.parse(t)).sort((a, b) => a - b);
    expect(new Set(ticks).size, `ticks: ${recorded.join(', ')}`).toBe(ticks.length);
    expect(ticks.slice(1).map((t, i) => t - ticks[i]!)).toEqual(ticks.slice(1).map(() => 1000));
    // One job per tick: neither coordinator ever tried to start a tick the other had started.
    expect(f.logs.filter((l) => l.msg === 'tick already has a run')).toEqual([]);
    const schedules = new ScheduleQueue({ url: redis.url, name: queue, onTick: async () => {} });
    try {
      expect(await schedules.list()).toEqual([{ flow: 'tick', cron: '* * * * * *', timezone: 'UTC', next: expect.any(Number) }]);
    } finally {
      await schedules.close();
    }
  });

  it('does not replay a tick that fell due while no coordinator ran, and skips a tick taken late', async () => {
    f = await fixture('sched-late', '2026-01-01T00:00:00Z');
    await f.write('late.yaml', everySecond('late'));
    const queue = `sched-${process.pid}-late`;
    // The scheduler exists, and its next tick falls due while no coordinator takes ticks.
    const schedules = new ScheduleQueue({ url: redis.url, name: queue, onTick: async () => {} });
    try {
      await schedules.ensure('late', '* * * * * *', 'UTC');
      await sleep(2500);
      const startedAt = Date.now();
      await f.start({ clock: systemClock, journal: await openPostgresStore({ schema: 'sched_late' }), queue: { url: redis.url, name: queue, lateTickMs: 5000 }, role: 'coordinator' });
      await waitFor('two ticks', () => recorded.length >= 2, 30_000);
      expect((recorded as string[]).every((t) => Date.parse(t) > startedAt - 1000), `ticks: ${recorded.join(', ')}`).toBe(true);
      // A tick job taken long after its instant (coordinators overloaded or away): skipped, not run.
      const stale = Date.now() - 20_000;
      await schedules.queue.add('tick', { flow: 'late' }, { prevMillis: stale, removeOnComplete: true });
      await waitFor('the stale tick skipped', () => f!.logs.find((l) => l.msg.startsWith('tick skipped: it was taken late')), 30_000);
      expect(recorded).not.toContain(new Date(stale).toISOString());
    } finally {
      await schedules.close();
    }
  });

  it('no tick starts a run while one runs on another coordinator; the switch in the journal holds for all', async () => {
    f = await fixture('sched-overlap', '2026-01-01T00:00:00Z');
    await f.write('slow.yaml', everySecond('slow', 't.hold'));
    holdRuns();
    const { services } = await coordinators(2);
    const store = services[0]!.store;
    await waitFor('a run', async () => (await store.listRuns({ flow: 'slow' })).length > 0, 30_000);
    // Ticks keep coming, to both coordinators, while the run is held.
    await waitFor('three skipped ticks', () => f!.logs.filter((l) => l.msg === 'tick skipped: the previous run of the flow is still running').length >= 3, 30_000);
    expect(await store.listRuns({ flow: 'slow' })).toHaveLength(1);
    // Switched off on one coordinator: the other takes ticks and starts nothing either.
    await services[1]!.setSchedule('slow', false);
    gate.release();
    await waitFor('the run to end', async () => (await store.listRuns({ flow: 'slow', status: 'running' })).length === 0, 30_000);
    const disabled = f.logs.filter((l) => l.msg === 'tick skipped: the schedule is disabled').length;
    await waitFor('two ticks while off', () => f!.logs.filter((l) => l.msg === 'tick skipped: the schedule is disabled').length >= disabled + 2, 30_000);
    expect(await store.listRuns({ flow: 'slow' })).toHaveLength(1);
  });

  it('a coordinator starting removes the schedulers of flows its folder no longer has as schedules', async () => {
    f = await fixture('sched-prune', '2026-01-01T00:00:00Z');
    await f.write('kept.yaml', everySecond('kept').replace('"* * * * * *"', '"0 3 * * *"'));
    await f.write('manual.yaml', 'name: manual\nsteps:\n  - id: note\n    uses: t.record\n    with: { value: 1 }\n');
    const queue = `sched-${process.pid}-prune`;
    const schedules = new ScheduleQueue({ url: redis.url, name: queue, onTick: async () => {} });
    try {
      // Left by an earlier version of the folder: a deleted flow, and one that is manual now.
      await schedules.ensure('deleted', '0 1 * * *');
      await schedules.ensure('manual', '0 2 * * *');
      await f.start({ clock: systemClock, journal: await openPostgresStore({ schema: 'sched_prune' }), queue: { url: redis.url, name: queue }, role: 'coordinator' });
      expect((await schedules.list()).map((s) => [s.flow, s.cron])).toEqual([['kept', '0 3 * * *']]);
      expect(f.logs.filter((l) => l.msg.startsWith('schedule removed from the queue')).map((l) => l.flow).sort()).toEqual(['deleted', 'manual']);
    } finally {
      await schedules.close();
    }
  });

  it('a flow saved without its schedule takes its scheduler out of Redis; saved with a new cron, the scheduler follows', async () => {
    f = await fixture('sched-save', '2026-01-01T00:00:00Z');
    await f.write('save.yaml', everySecond('save'));
    const { services, queue } = await coordinators(1);
    const schedules = new ScheduleQueue({ url: redis.url, name: queue, onTick: async () => {} });
    try {
      expect((await schedules.list()).map((s) => s.cron)).toEqual(['* * * * * *']);
      const nightly = everySecond('save').replace('"* * * * * *"', '"0 2 * * *"');
      expect((await services[0]!.saveFlowFile('save.yaml', nightly)).loaded).toBe(true);
      expect((await schedules.list()).map((s) => s.cron)).toEqual(['0 2 * * *']);
      const manual = nightly.replace(/trigger: .*\n/, '');
      expect((await services[0]!.saveFlowFile('save.yaml', manual)).loaded).toBe(true);
      expect(await schedules.list()).toEqual([]);
    } finally {
      await schedules.close();
    }
  });
});
