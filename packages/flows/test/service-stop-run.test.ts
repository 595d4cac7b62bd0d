/**
 * Stopping one run of sfx serve without stopping the service: the run ends `interrupted` with its
 * held items not done, and a resume finishes it; a run that is not running, an unknown one, and
 * one another process runs are refused with their codes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceRequestError } from '../src/index.js';
import { fixture, gate, holdRuns, recorded, waitFor, type Fixture } from './triggers-fixture.js';

let f: Fixture | undefined;

afterEach(async () => {
  await f?.close();
  f = undefined;
  recorded.length = 0;
});

const HELD = `name: held
steps:
  - id: each
    forEach: "{% [1, 2] %}"
    uses: t.hold
  - id: after
    uses: t.record
    with: { value: done }
`;

async function refused(promise: Promise<unknown>, code: string): Promise<ServiceRequestError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServiceRequestError);
  expect((error as ServiceRequestError).code).toBe(code);
  return error as ServiceRequestError;
}

describe('FlowService.stopRun', () => {
  it('stops one held run (interrupted, its items not done) while the service goes on; a resume finishes it', async () => {
    f = await fixture('stop-run', '2026-06-01T10:00:00Z');
    await f.write('held.yaml', HELD);
    holdRuns();
    const service = await f.start({ graceMs: 200 });
    const runId = await service.startManualRun('held', {});
    await waitFor('the items held', async () => (await service.store.counts(runId, 'each')).started >= 1);

    expect(await service.stopRun(runId, 'console')).toBe('interrupted');
    expect(service.isRunLive(runId)).toBe(false);
    const stopped = await service.runDetail(runId);
    expect(stopped.run.status).toBe('interrupted');
    expect(stopped.steps[0]).toMatchObject({ id: 'each', succeeded: 0 });
    expect(recorded).toEqual([]);
    expect(f.logs.find((l) => l.msg === 'run stop requested')).toMatchObject({ runId, by: 'console', flow: 'held' });

    // The service still serves: the stopped run is refused a second stop, and resumes.
    const again = await refused(service.stopRun(runId), 'RUN_NOT_RUNNING');
    expect(again.message).toBe(`run ${runId} is not running: it was interrupted.`);
    expect(again.hint).toContain('resumed');
    gate.release();
    expect(await service.resumeRun(runId)).toBe(runId);
    await waitFor('the resumed run to succeed', async () => (await service.store.getRun(runId))?.status === 'succeeded' && !service.isRunLive(runId));
    expect((await service.runDetail(runId)).steps.map((s) => [s.id, s.status])).toEqual([
      ['each', 'succeeded'],
      ['after', 'succeeded'],
    ]);
    expect((await service.runDetail(runId)).steps[0]).toMatchObject({ succeeded: 2 });
    expect(recorded).toEqual(['done']);
    await refused(service.stopRun(runId), 'RUN_NOT_RUNNING');
  });

  it('a single step cut off by the stop is not journaled done: the resume runs its action again', async () => {
    f = await fixture('stop-run-single', '2026-06-01T10:00:00Z');
    await f.write('single.yaml', 'name: single\nsteps:\n  - id: wait\n    uses: t.hold\n  - id: after\n    uses: t.record\n    with: { value: done }\n');
    holdRuns();
    const service = await f.start({ graceMs: 100 });
    const runId = await service.startManualRun('single', {});
    await waitFor('the step held', async () => (await service.store.getItem(runId, 'wait', 0))?.status === 'started');
    expect(await service.stopRun(runId)).toBe('interrupted');
    expect((await service.store.getStep(runId, 'wait'))?.status).toBe('running');
    gate.release();
    await service.resumeRun(runId);
    await waitFor('the resumed run to succeed', async () => (await service.store.getRun(runId))?.status === 'succeeded' && !service.isRunLive(runId));
    expect(await service.store.getItem(runId, 'wait', 0)).toMatchObject({ status: 'succeeded', output: { held: true }, attempts: 2 });
    expect(recorded).toEqual(['done']);
  });

  it('a run a person stopped is not resumed by itself when the service starts again; one a shutdown cut off is', async () => {
    f = await fixture('stop-run-restart', '2026-06-01T10:00:30Z');
    const hourly = (name: string): string => `name: ${name}\ntrigger: { type: schedule, cron: "1 10 * * *", timezone: UTC }\nsteps:\n  - id: wait\n    uses: t.hold\n`;
    await f.write('a.yaml', hourly('a'));
    await f.write('b.yaml', hourly('b'));
    holdRuns();
    const first = await f.start({ graceMs: 100 });
    await f.clock.advanceTo(Date.parse('2026-06-01T10:01:00Z'));
    const [a, b] = await waitFor('both runs held', async () => {
      const runs = await first.store.listRuns({ status: 'running' });
      const byFlow = (flow: string) => runs.find((r) => r.flow === flow)?.id;
      const [a, b] = [byFlow('a'), byFlow('b')];
      return a && b ? ([a, b] as const) : undefined;
    });
    expect(await first.stopRun(a, 'console')).toBe('interrupted');
    expect((await first.store.getRun(a))?.error).toMatchObject({ code: 'STOPPED_ON_REQUEST', message: 'the run was stopped on request; resume it to go on.' });
    await first.stop('test');
    const second = await f.start();
    gate.release();
    await waitFor('b to finish', async () => (await second.store.getRun(b))?.status === 'succeeded');
    const resumed = f.logs.filter((l) => /resum/.test(l.msg)).map((l) => l.runId);
    expect(resumed).toContain(b);
    expect(resumed).not.toContain(a);
    expect((await second.store.getRun(a))?.status).toBe('interrupted');
  });

  it('refuses an unknown run, and a run another process runs (without a cluster, that process is the one to stop)', async () => {
    f = await fixture('stop-run-refused', '2026-06-01T10:00:00Z');
    await f.write('held.yaml', HELD);
    const service = await f.start();
    await refused(service.stopRun('r-nope'), 'UNKNOWN_RUN');
    // What `sfx flow run --journal` in a terminal leaves in the journal while it runs.
    const other = await service.store.createRun({
      id: 'r-terminal',
      flow: 'held',
      flowHash: 'h',
      source: HELD,
      baseDir: f.dir,
      trigger: { type: 'manual' },
      inputs: {},
      owner: 'elsewhere:4242',
    });
    expect(other.status).toBe('running');
    const elsewhere = await refused(service.stopRun('r-terminal'), 'RUN_ELSEWHERE');
    expect(elsewhere.message).toContain('elsewhere:4242');
    expect(elsewhere.hint).toContain('Ctrl-C');
    expect(elsewhere.hint).toContain('resumed');
    expect((await service.store.getRun('r-terminal'))?.status).toBe('running');
  });
});
