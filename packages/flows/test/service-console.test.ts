/**
 * What the console asks of FlowService: flows listed with their trigger and next tick, a schedule
 * switched off and on (kept in the journal, honoured by the trigger, across a restart), YAML checked
 * with sfx flow validate's problems at line:column, flow files saved atomically and reloaded, runs
 * started by hand with inputs, watched live, resumed and retried.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ActionRegistry,
  defineStepAction,
  loadFlow,
  ServiceRequestError,
  type BuiltinConnector,
  type RunEvent,
} from '../src/index.js';
import { fixture, waitFor, type Fixture } from './triggers-fixture.js';

const seen: unknown[] = [];
/** Values `c.fail` fails on (until removed). */
const failing = new Set<unknown>();
const hold = { release: () => {}, wait: Promise.resolve() };

const c: BuiltinConnector = {
  name: 'c',
  description: 'console test actions',
  actions: [
    defineStepAction({
      id: 'record',
      title: 'record',
      description: 'keeps its value',
      input: z.strictObject({ value: z.unknown() }),
      kind: 'write',
      idempotent: true,
      async run(_ctx, input) {
        seen.push(input.value);
        return { value: input.value };
      },
    }),
    defineStepAction({
      id: 'fail',
      title: 'fail',
      description: 'fails on the values in `failing`',
      input: z.strictObject({ value: z.unknown() }),
      kind: 'write',
      idempotent: true,
      async run(_ctx, input) {
        if (failing.has(input.value)) throw new Error(`value ${String(input.value)} refused`);
        seen.push(input.value);
        return { value: input.value };
      },
    }),
    defineStepAction({
      id: 'hold',
      title: 'hold',
      description: 'waits for the hold to be released',
      input: z.strictObject({}),
      kind: 'write',
      idempotent: true,
      async run(ctx) {
        await new Promise<void>((resolve, reject) => {
          void hold.wait.then(resolve);
          ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        });
        return {};
      },
    }),
  ],
};
const registry = new ActionRegistry([c]);

const NIGHTLY = `name: nightly
trigger: { type: schedule, cron: "0 2 * * *", timezone: UTC }
steps:
  - id: note
    uses: c.record
    with: { value: "{% $trigger.scheduledAt %}" }
`;

const GREET = `name: greet
description: says hello
inputs:
  who: { type: string, description: whom to greet }
  times: { type: integer, default: 1 }
steps:
  - id: say
    uses: c.record
    with: { value: "{% 'hello ' & $inputs.who & ' x' & $string($inputs.times) %}" }
`;

let f: Fixture | undefined;
afterEach(async () => {
  hold.release();
  await f?.close();
  f = undefined;
  seen.length = 0;
  failing.clear();
});

async function refused(promise: Promise<unknown> | (() => unknown), code: string): Promise<ServiceRequestError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    expect(error).toBeInstanceOf(ServiceRequestError);
    expect((error as ServiceRequestError).code).toBe(code);
    return error as ServiceRequestError;
  }
  throw new Error(`expected a ${code} refusal`);
}

describe('FlowService for the console', () => {
  it('lists flows with trigger and next tick; a disabled schedule does not tick, across a restart', async () => {
    f = await fixture('console-flows', '2026-06-01T10:00:00Z');
    await f.write('nightly.yaml', NIGHTLY);
    await f.write('greet.yaml', GREET);
    await f.write('broken.yaml', 'name: broken\nsteps:\n  - id: a\n    uses: c.nope\n');
    let service = await f.start({ registry });
    const listed = await service.listFlows();
    expect(listed.flows.map((x) => [x.name, x.file, x.trigger.type])).toEqual([
      ['greet', 'greet.yaml', 'manual'],
      ['nightly', 'nightly.yaml', 'schedule'],
    ]);
    const nightly = listed.flows.find((x) => x.name === 'nightly')!;
    expect(nightly.trigger.detail).toBe('cron 0 2 * * * (UTC)');
    expect(nightly.schedule).toEqual({ enabled: true, next: '2026-06-02T02:00:00.000Z' });
    expect(listed.flows[0]!.inputs.who).toMatchObject({ type: 'string', description: 'whom to greet' });
    expect(listed.skipped).toHaveLength(1);
    expect(listed.skipped[0]).toMatchObject({ file: 'broken.yaml', problems: [{ line: 4, path: 'steps[0].uses' }] });

    expect(await service.setSchedule('nightly', false)).toEqual({ enabled: false });
    await refused(service.setSchedule('greet', false), 'NOT_A_SCHEDULE');
    await refused(service.setSchedule('nope', false), 'UNKNOWN_FLOW');
    await f.clock.advanceTo(Date.parse('2026-06-02T03:00:00Z'));
    expect(f.logs.some((l) => l.msg === 'tick skipped: the schedule is disabled')).toBe(true);
    expect(await service.store.listRuns({ flow: 'nightly' })).toEqual([]);

    // The switch is in the journal: a new process on it keeps the schedule off.
    await service.stop();
    service = await f.start({ registry });
    expect((await service.listFlows()).flows.find((x) => x.name === 'nightly')!.schedule).toEqual({ enabled: false });
    await f.clock.advanceTo(Date.parse('2026-06-03T03:00:00Z'));
    expect(await service.store.listRuns({ flow: 'nightly' })).toEqual([]);

    expect(await service.setSchedule('nightly', true)).toEqual({ enabled: true, next: '2026-06-04T02:00:00.000Z' });
    await f.clock.advanceTo(Date.parse('2026-06-04T03:00:00Z'));
    await waitFor('the scheduled run', () => seen.length === 1);
    expect(seen).toEqual(['2026-06-04T02:00:00.000Z']);
  });

  it('checks YAML as sfx flow validate does, with line and column, plus what serve would skip', async () => {
    f = await fixture('console-check', '2026-06-01T10:00:00Z');
    await f.write('greet.yaml', GREET);
    const service = await f.start({ registry });
    const broken = 'name: x\nsteps:\n  - id: a\n    uses: c.recrod\n    with: { value: 1 }\n';
    const check = service.checkFlow(broken, 'x.yaml');
    // The same problems, at the same places, as loadFlow (what `sfx flow validate` prints).
    const validate = loadFlow(broken, { registry, file: 'x.yaml' }).problems;
    expect(check.problems).toEqual(validate);
    expect(check.problems[0]).toMatchObject({ file: 'x.yaml', line: 4, column: 11, path: 'steps[0].uses' });
    expect(check.problems[0]!.message).toContain('c.record');

    const yamlError = service.checkFlow('name: x\nsteps: [\n', 'x.yaml');
    expect(yamlError.problems[0]).toMatchObject({ line: 3 });
    expect(yamlError.problems[0]!.message).toMatch(/^YAML: /);

    // Valid alone, but another file already has the name: serve would skip it.
    const clash = service.checkFlow(`# a copy\n${GREET}`, 'copy.yaml');
    expect(clash.problems).toEqual([expect.objectContaining({ line: 2, column: 1, path: 'name' })]);
    expect(clash.problems[0]!.message).toContain('already has a flow named "greet"');
    // The same text in its own file is fine.
    expect(service.checkFlow(GREET, 'greet.yaml')).toEqual({
      problems: [],
      flow: { name: 'greet', trigger: 'manual', steps: 1 },
    });
    await refused(() => service.checkFlow(GREET, '../greet.yaml'), 'INVALID_FILE_NAME');
  });

  it('saves a flow file only when it validates, atomically, and reloads its trigger', async () => {
    f = await fixture('console-save', '2026-06-01T10:00:00Z');
    await f.write('nightly.yaml', NIGHTLY);
    const service = await f.start({ registry });
    const path = join(f.dir, 'nightly.yaml');

    const bad = await refused(service.saveFlowFile('nightly.yaml', NIGHTLY.replace('c.record', 'c.nope')), 'INVALID_FLOW');
    expect(bad.problems[0]).toMatchObject({ file: 'nightly.yaml', line: 5, path: 'steps[0].uses' });
    expect(await readFile(path, 'utf8')).toBe(NIGHTLY);
    await refused(service.saveFlowFile('../escape.yaml', NIGHTLY), 'INVALID_FILE_NAME');
    await refused(service.saveFlowFile('sub/x.yaml', NIGHTLY), 'INVALID_FILE_NAME');

    const hourly = NIGHTLY.replace('"0 2 * * *"', '"30 * * * *"');
    expect(await service.saveFlowFile('nightly.yaml', hourly)).toEqual({ flow: 'nightly', loaded: true, problems: [] });
    expect(await readFile(path, 'utf8')).toBe(hourly);
    expect((await readdir(f.dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect((await service.listFlows()).flows[0]!.schedule).toEqual({ enabled: true, next: '2026-06-01T10:30:00.000Z' });
    // The new schedule ticks; the old one (02:00) no longer does.
    await f.clock.advanceTo(Date.parse('2026-06-01T10:31:00Z'));
    await waitFor('the 10:30 run', () => seen.length === 1);
    await f.clock.advanceTo(Date.parse('2026-06-02T02:10:00Z'));
    await waitFor('runs to end', () => service.activeRuns('nightly') === 0);
    expect(seen).not.toContain('2026-06-02T02:00:00.000Z');

    // A new file is loaded as a new flow.
    expect(await service.saveFlowFile('greet.yaml', GREET)).toMatchObject({ flow: 'greet', loaded: true });
    expect((await service.listFlows()).flows.map((x) => x.name)).toEqual(['greet', 'nightly']);
  });

  it('starts a run by hand with inputs and feeds its events while it runs', async () => {
    f = await fixture('console-run', '2026-06-01T10:00:00Z');
    await f.write(
      'held.yaml',
      `name: held
inputs:
  who: { type: string }
steps:
  - id: wait
    uses: c.hold
  - id: say
    uses: c.record
    with: { value: "{% 'hi ' & $inputs.who %}" }
`,
    );
    const service = await f.start({ registry });
    const missing = await refused(service.startManualRun('held', {}), 'INVALID_INPUTS');
    expect(missing.message).toContain('"who" is required');
    expect(missing.message).not.toContain('--input');
    await refused(service.startManualRun('held', { who: 'x', extra: 1 }), 'INVALID_INPUTS');
    await refused(service.startManualRun('nope', {}), 'UNKNOWN_FLOW');

    let release!: () => void;
    hold.wait = new Promise<void>((resolve) => (release = resolve));
    hold.release = release;
    const runId = await service.startManualRun('held', { who: 'Ada' });
    expect(service.isRunLive(runId)).toBe(true);
    const events: RunEvent[] = [];
    const unsubscribe = service.watchRun(runId, (event) => events.push(event));
    const during = await service.runDetail(runId);
    expect(during).toMatchObject({ live: true, run: { id: runId, status: 'running', inputs: { who: 'Ada' }, trigger: { type: 'manual' } } });
    expect(during.run).not.toHaveProperty('source');
    release();
    await waitFor('run-finished', () => events.some((e) => e.type === 'run-finished'));
    unsubscribe();
    expect(events.map((e) => e.type)).toEqual(['step-finished', 'step-started', 'step-finished', 'run-finished']);
    expect(events.at(-1)).toMatchObject({ runId, status: 'succeeded' });
    expect(seen).toEqual(['hi Ada']);
    await waitFor('not live', () => !service.isRunLive(runId));
    const after = await service.runDetail(runId);
    expect(after.live).toBe(false);
    expect(after.steps.map((s) => [s.id, s.status])).toEqual([
      ['wait', 'succeeded'],
      ['say', 'succeeded'],
    ]);
    expect((await service.listRunRecords({ flow: 'held' })).map((r) => [r.id, r.status])).toEqual([[runId, 'succeeded']]);
  });

  it('resumes and retries the failed items of a run', async () => {
    f = await fixture('console-retry', '2026-06-01T10:00:00Z');
    await f.write(
      'each.yaml',
      `name: each
steps:
  - id: each
    forEach: "{% [1, 2, 3, 4] %}"
    uses: c.fail
    with: { value: "{% $item %}" }
    onError: continue
`,
    );
    const service = await f.start({ registry });
    failing.add(2);
    failing.add(4);
    const runId = await service.startManualRun('each', {});
    await waitFor('the run to fail', async () => (await service.runDetail(runId)).run.status === 'failed' && !service.isRunLive(runId));
    const failed = await service.runDetail(runId);
    expect(failed.steps[0]).toMatchObject({ id: 'each', status: 'failed', total: 4, succeeded: 2, failed: 2 });
    const items = await service.runItems(runId, 'each', { status: 'failed' });
    expect(items.map((i) => [i.index, i.error?.message])).toEqual([
      [1, 'value 2 refused'],
      [3, 'value 4 refused'],
    ]);
    expect((await service.runItems(runId, 'each', { afterIndex: 1, limit: 1 })).map((i) => i.index)).toEqual([2]);

    failing.clear();
    const events: RunEvent[] = [];
    const unsubscribe = service.watchRun(runId, (e) => events.push(e));
    expect(await service.resumeRun(runId, { retryFailed: true })).toBe(runId);
    await waitFor('the retry to end', () => events.some((e) => e.type === 'run-finished'));
    unsubscribe();
    expect(events.at(-1)).toMatchObject({ type: 'run-finished', status: 'succeeded' });
    await waitFor('not live', () => !service.isRunLive(runId));
    expect((await service.runDetail(runId)).steps[0]).toMatchObject({ status: 'succeeded', total: 4, succeeded: 4, failed: 0 });
    expect(seen.sort()).toEqual([1, 2, 3, 4]);

    await refused(service.resumeRun(runId), 'NOTHING_TO_RESUME');
    await refused(service.resumeRun(runId, { retryFailed: true }), 'NOTHING_TO_RESUME');
    await refused(service.resumeRun('r-nope'), 'UNKNOWN_RUN');
  });
});
