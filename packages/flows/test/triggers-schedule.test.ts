/**
 * Schedule triggers with a manual clock: ticks at the cron's instants in its time zone (across a
 * daylight-saving change), no overlapping runs, no replay of ticks missed while stopped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, holdRuns, gate, recorded, waitFor, type Fixture } from './triggers-fixture.js';

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
  recorded.length = 0;
});

describe('schedule trigger', () => {
  it('fires at the cron instants of its time zone, $trigger.scheduledAt given to the run', async () => {
    f = await fixture('schedule-tz', '2026-03-27T12:00:00Z');
    await f.write(
      'nightly.yaml',
      `
name: nightly
trigger: { type: schedule, cron: "0 9 * * *", timezone: Europe/Paris }
steps:
  - id: note
    uses: t.record
    with: { value: "{% $trigger.scheduledAt %}" }
`,
    );
    const service = await f.start();
    // 9:00 in Paris: 08:00Z before the change to summer time (29 March 2026), 07:00Z after.
    await f.clock.advanceTo(Date.parse('2026-03-28T07:59:59Z'));
    expect(recorded).toEqual([]);
    await f.clock.advanceTo(Date.parse('2026-03-30T12:00:00Z'));
    await waitFor('three runs', () => recorded.length === 3);
    expect(recorded).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
    await waitFor('runs finished', async () => (await service.store.listRuns()).every((r) => r.status === 'succeeded'));
    const runs = await service.store.listRuns();
    expect(runs.map((r) => r.trigger.type)).toEqual(['schedule', 'schedule', 'schedule']);
    expect(runs.map((r) => r.trigger.id).sort()).toEqual([
      'schedule:2026-03-28T08:00:00.000Z',
      'schedule:2026-03-29T07:00:00.000Z',
      'schedule:2026-03-30T07:00:00.000Z',
    ]);
    // Each started run is logged with its id, flow and trigger.
    const started = f.logs.filter((l) => l.msg === 'run started');
    expect(started.map((l) => [l.flow, l.trigger])).toEqual(Array(3).fill(['nightly', 'schedule']));
    expect(new Set(started.map((l) => l.runId))).toEqual(new Set(runs.map((r) => r.id)));
  });

  it('skips ticks while the previous run still runs, and does not replay ticks missed while stopped', async () => {
    f = await fixture('schedule-overlap', '2026-05-04T10:00:30Z');
    await f.write(
      'minutely.yaml',
      `
name: minutely
trigger: { type: schedule, cron: "* * * * *", timezone: UTC }
steps:
  - id: wait
    uses: t.hold
  - id: note
    uses: t.record
    with: { value: "{% $trigger.scheduledAt %}" }
`,
    );
    holdRuns();
    const service = await f.start();
    await f.clock.advanceTo(Date.parse('2026-05-04T10:03:00Z'));
    // 10:01 started a run that is held; 10:02 and 10:03 fell while it ran.
    const skipped = f.logs.filter((l) => l.msg.startsWith('tick skipped')).map((l) => l.scheduledAt);
    expect(skipped).toEqual(['2026-05-04T10:02:00.000Z', '2026-05-04T10:03:00.000Z']);
    expect((await service.store.listRuns()).length).toBe(1);
    gate.release();
    await waitFor(
      'the first run to end',
      () => recorded.length === 1 && service.activeRuns('minutely') === 0,
    );
    await f.clock.advanceTo(Date.parse('2026-05-04T10:04:00Z'));
    await waitFor('the second run', () => recorded.length === 2);
    expect(recorded).toEqual(['2026-05-04T10:01:00.000Z', '2026-05-04T10:04:00.000Z']);
    await waitFor('runs finished', () => service.activeRuns('minutely') === 0);
    await service.stop();

    // An hour passes with no process; a new one starts from the next tick, replaying none.
    await f.clock.advanceTo(Date.parse('2026-05-04T11:04:30Z'));
    const again = await f.start();
    await f.clock.advanceTo(Date.parse('2026-05-04T11:05:00Z'));
    await waitFor('the tick after the restart', () => recorded.length === 3);
    await waitFor('runs finished', () => again.activeRuns('minutely') === 0);
    expect(recorded[2]).toBe('2026-05-04T11:05:00.000Z');
    expect((await again.store.listRuns()).length).toBe(3);
  });
});
