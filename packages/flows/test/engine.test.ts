/**
 * Flow semantics with a test connector whose actions count every call: what runs, in what order,
 * how often, and what the journal says after a stop and a resume.
 */
import { hostname } from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ActionRegistry, defineStepAction, Engine, loadFlow, SqliteRunStore, type BuiltinConnector, type CompiledFlow, type RunEvent, type RunStore } from '../src/index.js';
import { backends, useBackends } from './support/backends.js';

/** Calls per idempotency key, shared by the test actions. */
const calls = new Map<string, number>();
const seen: unknown[] = [];
let failUntil = new Map<string, number>();
/** Reads of each index of the `tally` source, wherever they happen. */
const reads = new Map<number, number>();
/** `tally` fails right before this index while set. */
let breakAt: number | undefined;
/** `gate` waits until this opens. */
let gate = opened();

function opened(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const t: BuiltinConnector = {
  name: 't',
  description: 'test actions',
  actions: [
    defineStepAction({
      id: 'echo',
      title: 'echo',
      description: 'returns its input',
      input: z.strictObject({ value: z.unknown(), delayMs: z.number().default(0) }),
      kind: 'write',
      idempotent: false,
      async run(ctx, input) {
        calls.set(ctx.idempotencyKey, (calls.get(ctx.idempotencyKey) ?? 0) + 1);
        seen.push(input.value);
        if (input.delayMs) await new Promise((r) => setTimeout(r, input.delayMs));
        return { value: input.value };
      },
    }),
    defineStepAction({
      id: 'flaky',
      title: 'flaky',
      description: 'fails with a 503 until called `times` times for the same value',
      input: z.strictObject({ value: z.unknown(), times: z.number(), status: z.number().default(503) }),
      kind: 'write',
      idempotent: true,
      async run(ctx, input) {
        const key = JSON.stringify(input.value);
        const n = (failUntil.get(key) ?? 0) + 1;
        failUntil.set(key, n);
        calls.set(ctx.idempotencyKey, (calls.get(ctx.idempotencyKey) ?? 0) + 1);
        if (n <= input.times) throw Object.assign(new Error(`boom ${n}`), { status: input.status });
        return { ok: input.value };
      },
    }),
    defineStepAction({
      id: 'count',
      title: 'count',
      description: 'yields 0..n-1',
      input: z.strictObject({ n: z.number().int(), pad: z.number().int().default(0) }),
      kind: 'read',
      idempotent: true,
      async *items(_ctx, input, after) {
        for (let i = after === undefined ? 0 : Number(after) + 1; i < input.n; i++)
          yield { item: input.pad ? { i, pad: `${i}`.padEnd(input.pad, '.') } : { i }, cursor: String(i) };
      },
    }),
    defineStepAction({
      id: 'tally',
      title: 'tally',
      description: 'yields 0..n-1, counting each read',
      input: z.strictObject({ n: z.number().int() }),
      kind: 'read',
      idempotent: true,
      async *items(_ctx, input, after) {
        for (let i = after === undefined ? 0 : Number(after) + 1; i < input.n; i++) {
          if (i === breakAt) throw Object.assign(new Error('the tally broke off'), { code: 'TALLY_BROKEN' });
          reads.set(i, (reads.get(i) ?? 0) + 1);
          yield { item: { i }, cursor: String(i) };
        }
      },
    }),
    defineStepAction({
      id: 'gate',
      title: 'gate',
      description: 'returns its input once the gate opens',
      input: z.strictObject({ value: z.unknown() }),
      kind: 'write',
      idempotent: true,
      async run(ctx, input) {
        calls.set(ctx.idempotencyKey, (calls.get(ctx.idempotencyKey) ?? 0) + 1);
        await gate.promise;
        return { value: input.value };
      },
    }),
    defineStepAction({
      id: 'collect',
      title: 'collect',
      description: 'reads a stream to the end',
      input: z.strictObject({ rows: z.custom<AsyncIterable<unknown>>((v) => typeof v === 'object' && v !== null && Symbol.asyncIterator in v) }),
      kind: 'write',
      idempotent: true,
      async run(_ctx, input) {
        const rows: unknown[] = [];
        for await (const row of input.rows) rows.push(row);
        return { rows };
      },
    }),
  ],
};

const registry = new ActionRegistry([t]);

function flowOf(yaml: string): CompiledFlow {
  const { flow, problems } = loadFlow(yaml, { registry, file: 'test.yaml' });
  if (!flow) throw new Error(problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  return flow;
}

useBackends();

function reset(): void {
  calls.clear();
  seen.length = 0;
  failUntil = new Map();
  reads.clear();
  breakAt = undefined;
  gate = opened();
}

async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 30_000) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Everything the journal holds of a run, as text. */
async function journalDump(store: RunStore, runId: string): Promise<string> {
  const parts: unknown[] = [await store.getRun(runId), await store.steps(runId)];
  for (const step of await store.steps(runId)) parts.push(await store.items(runId, step.step));
  return JSON.stringify(parts);
}

describe.each(backends)('on the $name journal', (backend) => {
  const engine = async (): Promise<Engine> => backend.engine({ store: await backend.open(), sleep: async () => {} });

  describe('running a flow', () => {
    it('passes inputs and earlier outputs through expressions, shapes outputs, and journals every step', async () => {
      reset();
      const flow = flowOf(`
name: basic
inputs:
  who: { type: string, default: world }
steps:
  - id: greet
    uses: t.echo
    with: { value: "hello {% $inputs.who %}" }
    output: "{% $result.value %}"
  - id: again
    uses: t.echo
    with: { value: "{% $steps.greet & '!' %}" }
`);
      const e = await engine();
      const result = await e.run(flow, { inputs: { who: 'flows' } });
      expect(result.status).toBe('succeeded');
      expect(seen).toEqual(['hello flows', 'hello flows!']);
      expect((await e.store.getStep(result.runId, 'again'))?.output).toEqual({ value: 'hello flows!' });
    });

    it('loops over a list with concurrency; counts add up; if skips items', async () => {
      reset();
      const flow = flowOf(`
name: loop
steps:
  - id: each
    forEach: "{% [1..20] %}"
    concurrency: 5
    if: "{% $item % 4 != 0 %}"
    uses: t.echo
    with: { value: "{% $item * 10 %}", delayMs: 2 }
`);
      const e = await engine();
      const events: RunEvent[] = [];
      const result = await e.run(flow, { onEvent: (ev) => events.push(ev) });
      expect(result.status).toBe('succeeded');
      expect(result.steps[0]).toMatchObject({ total: 20, succeeded: 15, skipped: 5, failed: 0 });
      expect([...seen].sort((a, b) => Number(a) - Number(b))).toEqual([1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19].map((n) => n * 10));
      expect(events.filter((ev) => ev.type === 'item')).toHaveLength(20);
    });

    it('streams a source into a loop and a loop into a later input, in order', async () => {
      reset();
      const flow = flowOf(`
name: stream
steps:
  - id: numbers
    uses: t.count
    with: { n: 7 }
  - id: double
    forEach: "{% $steps.numbers %}"
    concurrency: 3
    uses: t.echo
    with: { value: "{% $item.i * 2 %}" }
    output: "{% { 'n': $item.i, 'twice': $result.value } %}"
  - id: report
    uses: t.collect
    with: { rows: "{% $steps.double %}" }
`);
      const e = await engine();
      const result = await e.run(flow);
      expect(result.status).toBe('succeeded');
      const report = (await e.store.getStep(result.runId, 'report'))!.output as { rows: Array<{ n: number; twice: number }> };
      expect(report.rows).toEqual([0, 1, 2, 3, 4, 5, 6].map((n) => ({ n, twice: n * 2 })));
      expect(result.steps.map((s) => s.status)).toEqual(['source', 'succeeded', 'succeeded']);
    });

    it('batches items: $item is a list of batchSize items', async () => {
      reset();
      const flow = flowOf(`
name: batches
steps:
  - id: b
    forEach: "{% [1..10] %}"
    batchSize: 4
    uses: t.echo
    with: { value: "{% $item %}" }
`);
      const result = await (await engine()).run(flow);
      expect(result.steps[0]).toMatchObject({ total: 3, succeeded: 3 });
      expect(seen).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]);
    });
  });

  describe('failures', () => {
    it('retries the kinds retry.on names, and fails the step past the attempts', async () => {
      reset();
      const flow = flowOf(`
name: retrying
steps:
  - id: r
    forEach: "{% ['a', 'b'] %}"
    uses: t.flaky
    with: { value: "{% $item %}", times: "{% $item = 'a' ? 2 : 5 %}" }
    retry: { attempts: 3, backoff: 1ms }
    onError: continue
    toleratedFailurePercent: 50
`);
      const e = await engine();
      const result = await e.run(flow);
      expect(result.status).toBe('succeeded');
      expect(result.steps[0]).toMatchObject({ total: 2, succeeded: 1, failed: 1 });
      expect(failUntil.get('"a"')).toBe(3);
      expect(failUntil.get('"b"')).toBe(3);
      const failed = await e.store.items(result.runId, 'r', { status: 'failed' });
      expect(failed.map((i) => [i.index, i.item, i.error?.kind])).toEqual([[1, 'b', 'server']]);
    });

    it('does not retry what retry.on leaves out (a 404 is not a server error)', async () => {
      reset();
      const flow = flowOf(`
name: no-retry
steps:
  - id: r
    uses: t.flaky
    with: { value: x, times: 1, status: 404 }
    retry: { attempts: 5, backoff: 1ms }
`);
      const result = await (await engine()).run(flow);
      expect(result.status).toBe('failed');
      expect(failUntil.get('"x"')).toBe(1);
      expect(result.error?.message).toContain('step r failed');
    });

    it('onError: fail stops the loop at the first failure; more failures than tolerated fail the run', async () => {
      reset();
      const stopAtFirst = flowOf(`
name: fail-fast
steps:
  - id: r
    forEach: "{% [1..50] %}"
    uses: t.flaky
    with: { value: "{% $item %}", times: "{% $item = 3 ? 1 : 0 %}" }
  - id: after
    uses: t.echo
    with: { value: never }
`);
      const result = await (await engine()).run(stopAtFirst);
      expect(result.status).toBe('failed');
      expect(result.steps[0]!.total).toBeLessThan(50);
      expect(result.steps[1]!.status).toBe('pending');
      expect(seen).not.toContain('never');

      reset();
      const intolerant = flowOf(`
name: tolerance
steps:
  - id: r
    forEach: "{% [1..10] %}"
    uses: t.flaky
    with: { value: "{% $item %}", times: "{% $item <= 2 ? 1 : 0 %}" }
    onError: continue
    toleratedFailurePercent: 10
`);
      const r2 = await (await engine()).run(intolerant);
      expect(r2.status).toBe('failed');
      expect(r2.steps[0]).toMatchObject({ total: 10, succeeded: 8, failed: 2 });
      expect(r2.error?.code).toBe('TOO_MANY_FAILURES');
    });

    it('a fallback step runs when the action fails, with the error in $result.error', async () => {
      reset();
      const flow = flowOf(`
name: fallback
steps:
  - id: r
    uses: t.flaky
    with: { value: x, times: 9, status: 400 }
    onError:
      uses: t.echo
      with: { value: "{% 'fell back: ' & $result.error.kind %}" }
`);
      const result = await (await engine()).run(flow);
      expect(result.status).toBe('succeeded');
      expect(seen).toEqual(['fell back: bad-request']);
    });

    it('a wrong input from an expression fails the item with the field named, and is not retried', async () => {
      reset();
      const flow = flowOf(`
name: bad-input
steps:
  - id: r
    forEach: "{% ['x'] %}"
    uses: t.flaky
    with: { value: 1, times: "{% $item %}" }
    retry: { attempts: 4, on: [any] }
    onError: continue
    toleratedFailurePercent: 100
`);
      const e = await engine();
      const result = await e.run(flow);
      const [item] = await e.store.items(result.runId, 'r', { status: 'failed' });
      expect(item?.error?.message).toContain('with.times');
      expect(item?.error?.kind).toBe('input');
      expect(failUntil.size).toBe(0);
    });
  });

  describe('stop and resume', () => {
    it('a cancelled run resumes where it stopped: every item done exactly once', async () => {
      reset();
      const flow = flowOf(`
name: resumable
steps:
  - id: numbers
    uses: t.count
    with: { n: 300 }
  - id: each
    forEach: "{% $steps.numbers %}"
    concurrency: 4
    uses: t.echo
    with: { value: "{% $item.i %}", delayMs: 1 }
  - id: last
    uses: t.echo
    with: { value: "{% $steps.each.succeeded %}" }
`);
      const store = await backend.open();
      const e = backend.engine({ store, sleep: async () => {}, checkpointEvery: 7, graceMs: 5000 });
      const stop = new AbortController();
      let items = 0;
      const first = await e.run(flow, {
        signal: stop.signal,
        onEvent: (ev) => {
          if (ev.type === 'item' && ++items === 120) stop.abort();
        },
      });
      expect(first.status).toBe('interrupted');
      expect(first.steps[1]!.succeeded).toBeGreaterThanOrEqual(120);
      expect(first.steps[1]!.succeeded).toBeLessThan(300);
      const second = await e.resume(flow, first.runId);
      expect(second.status).toBe('succeeded');
      expect(second.steps[1]).toMatchObject({ total: 300, succeeded: 300, failed: 0, skipped: 0 });
      const eachCalls = [...calls.entries()].filter(([k]) => k.includes(':each:'));
      expect(eachCalls).toHaveLength(300);
      expect(eachCalls.every(([, n]) => n === 1)).toBe(true);
      expect(seen.filter((v) => typeof v === 'number' && v < 300).length).toBe(300);
      expect(seen[seen.length - 1]).toBe(300);
    });

    it('an item journaled as started but never finished is not sent again when its action is not idempotent', async () => {
      reset();
      const flow = flowOf(`
name: unknown-outcome
steps:
  - id: each
    forEach: "{% [1, 2, 3] %}"
    uses: t.echo
    with: { value: "{% $item %}" }
    onError: continue
    toleratedFailurePercent: 100
`);
      const store = await backend.open();
      const e = backend.engine({ store });
      // What a kill -9 during item 1 leaves: the run and step running, item 1 started.
      const run = await store.createRun({ id: 'r1', flow: flow.name, flowHash: flow.hash, source: flow.source, baseDir: '.', trigger: { type: 'manual' }, inputs: {}, owner: `${hostname()}:999999999` });
      await store.startStep(run.id, 'each');
      await store.finishItem(run.id, 'each', 0, 'succeeded', { output: { value: 1 }, item: 1 });
      await store.beginItem(run.id, 'each', 1, 2);
      await store.checkpoint(run.id, 'each', 1, '0');
      const result = await e.resume(flow, run.id);
      expect(result.steps[0]).toMatchObject({ total: 3, succeeded: 2, failed: 1 });
      expect(seen).toEqual([3]);
      const [failed] = await store.items(run.id, 'each', { status: 'failed' });
      expect(failed?.index).toBe(1);
      expect(failed?.error?.message).toContain('outcome is unknown');
    });

    it('retry --failed runs the failed items again, and only them', async () => {
      reset();
      const flow = flowOf(`
name: retry-failed
steps:
  - id: each
    forEach: "{% [1..6] %}"
    uses: t.flaky
    with: { value: "{% $item %}", times: "{% $item % 3 = 0 ? 1 : 0 %}" }
    onError: continue
`);
      const e = await engine();
      const first = await e.run(flow);
      expect(first.status).toBe('failed');
      expect(first.steps[0]).toMatchObject({ succeeded: 4, failed: 2 });
      const second = await e.resume(flow, first.runId, { retryFailed: true });
      expect(second.status).toBe('succeeded');
      expect(second.steps[0]).toMatchObject({ total: 6, succeeded: 6, failed: 0 });
      expect([...failUntil.values()].reduce((a, b) => a + b, 0)).toBe(6 + 2);
    });
  });

  describe('secrets', () => {
    it('never reach the journal: outputs and errors hold [secret] instead', async () => {
      reset();
      const flow = flowOf(`
name: secretive
secrets: [TOKEN]
steps:
  - id: s
    uses: t.echo
    with: { value: "Bearer {% $secrets.TOKEN %}" }
  - id: f
    uses: t.flaky
    with: { value: "{% $secrets.TOKEN %}", times: 1, status: 400 }
`);
      const store = await backend.open();
      const e = backend.engine({ store, env: { TOKEN: 'tok-very-secret-1234' } });
      const result = await e.run(flow);
      expect(seen).toEqual(['Bearer tok-very-secret-1234']);
      const dump = await journalDump(store, result.runId);
      expect(dump).not.toContain('tok-very-secret-1234');
      expect(dump).toContain('Bearer [secret]');
      expect(result.status).toBe('failed');
    });

    it('a declared secret that is not set fails the run before any step, naming it', async () => {
      reset();
      const flow = flowOf(`
name: needs-secret
secrets: [MISSING_ONE]
steps:
  - id: s
    uses: t.echo
    with: { value: x }
`);
      const result = await backend.engine({ store: await backend.open(), env: {} }).run(flow);
      expect(result.status).toBe('failed');
      expect(result.error?.message).toContain('MISSING_ONE');
      expect(seen).toEqual([]);
    });
  });

  // On a cluster (bullmq+postgres here) a worker reads each page and journals it; elsewhere the
  // engine reads the source itself. Either way the guarantees below hold.
  describe('large sources, read a page at a time', () => {
    const paged = backend.name === 'bullmq+postgres';
    const tallyFlow = (n: number, uses = 't.echo', concurrency = 2): CompiledFlow =>
      flowOf(`
name: tally
steps:
  - id: numbers
    uses: t.tally
    with: { n: ${n} }
  - id: each
    forEach: "{% $steps.numbers %}"
    concurrency: ${concurrency}
    uses: ${uses}
    with: { value: "{% $item.i %}" }
`);

    it('reads at most two pages ahead of the items waiting for a slot, then every item once; pages go when the loop ends', async () => {
      reset();
      const store = await backend.open();
      const e = backend.engine({ store, sourcePageSize: 3 });
      const { runId, done } = await e.start(tallyFlow(40, 't.gate'));
      await until(() => calls.size === 2);
      // Time for a source read eagerly to show itself.
      await new Promise((r) => setTimeout(r, 300));
      expect(reads.size).toBeLessThanOrEqual(6);
      if (paged) expect((await store.getPage(runId, 'each', 0))?.items.map((x) => x.item)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
      gate.open();
      const result = await done;
      expect(result.steps[1]).toMatchObject({ status: 'succeeded', total: 40, succeeded: 40 });
      expect([...reads.keys()].sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
      expect([...reads.values()].every((n) => n === 1)).toBe(true);
      expect(await store.getPage(runId, 'each', 0)).toBeUndefined();
      expect(await store.getPage(runId, 'each', 39)).toBeUndefined();
    });

    it('a stopped run keeps the pages it read ahead: its resume does every item once, and on a cluster reads none twice', async () => {
      reset();
      const store = await backend.open();
      const e = backend.engine({ store, sleep: async () => {}, sourcePageSize: 4, checkpointEvery: 1, graceMs: 5000 });
      const stop = new AbortController();
      let items = 0;
      const first = await e.run(tallyFlow(30), {
        signal: stop.signal,
        onEvent: (ev) => {
          if (ev.type === 'item' && ++items === 9) stop.abort();
        },
      });
      expect(first.status).toBe('interrupted');
      const second = await e.resume(tallyFlow(30), first.runId);
      expect(second.steps[1]).toMatchObject({ status: 'succeeded', total: 30, succeeded: 30 });
      const eachCalls = [...calls.entries()].filter(([k]) => k.includes(':each:'));
      expect(eachCalls).toHaveLength(30);
      expect(eachCalls.every(([, n]) => n === 1)).toBe(true);
      expect(reads.size).toBe(30);
      if (paged) expect([...reads.entries()].filter(([, n]) => n > 1)).toEqual([]);
    });

    it('a source that broke off fails the loop with its own error, and is read again from where it stopped on resume', async () => {
      reset();
      // At a page's first item: the page that says so holds no item, only the error.
      breakAt = 6;
      const store = await backend.open();
      const e = backend.engine({ store, sleep: async () => {}, sourcePageSize: 3, checkpointEvery: 1 });
      const first = await e.run(tallyFlow(12));
      expect(first.steps[1]).toMatchObject({ status: 'failed', total: 6, succeeded: 6, error: { message: 'the tally broke off', code: 'TALLY_BROKEN' } });
      expect(await store.getPage(first.runId, 'each', 6)).toBeUndefined();
      breakAt = undefined;
      const second = await e.resume(tallyFlow(12), first.runId);
      expect(second.steps[1]).toMatchObject({ status: 'succeeded', total: 12, succeeded: 12 });
      expect([...calls.keys()].filter((k) => k.includes(':each:'))).toHaveLength(12);
    });
  });

  describe('tolerance and dry runs', () => {
    it('toleratedFailurePercent alone goes through every item (it implies onError: continue); with onError: fail it is a validation problem', async () => {
      reset();
      const flow = flowOf(`
name: tolerant
steps:
  - id: r
    forEach: "{% [1..10] %}"
    uses: t.flaky
    with: { value: "{% $item %}", times: "{% $item = 2 ? 1 : 0 %}" }
    toleratedFailurePercent: 20
`);
      const result = await (await engine()).run(flow);
      expect(result.status).toBe('succeeded');
      expect(result.steps[0]).toMatchObject({ total: 10, succeeded: 9, failed: 1 });
      const { problems } = loadFlow(
        'name: x\nsteps:\n  - id: r\n    forEach: [1]\n    uses: t.echo\n    with: { value: 1 }\n    onError: fail\n    toleratedFailurePercent: 5\n',
        { registry },
      );
      expect(problems.map((p) => [p.line, p.path, p.message.slice(0, 40)])).toEqual([[8, 'steps[0].toleratedFailurePercent', 'has no effect with onError: fail (the lo']]);
    });

    it('a dry run makes no write, and a step whose input needs a write\'s real result is skipped, saying why', async () => {
      reset();
      const flow = flowOf(`
name: dry
steps:
  - id: write
    uses: t.echo
    with: { value: 5 }
  - id: after
    uses: t.flaky
    with: { value: x, times: "{% $steps.write.value %}" }
`);
      const e = await engine();
      const result = await e.run(flow, { dryRun: true });
      expect(seen).toEqual([]);
      expect(failUntil.size).toBe(0);
      expect(result.status).toBe('succeeded');
      expect((await e.store.getStep(result.runId, 'write'))?.output).toMatchObject({ dryRun: true, action: 't.echo', input: { value: 5 } });
      expect(await e.store.getItem(result.runId, 'after', 0)).toMatchObject({ status: 'skipped' });
      expect(JSON.stringify((await e.store.getItem(result.runId, 'after', 0))?.output)).toContain('depends on a write a dry run does not make');
    });
  });
});

describe('large loops', () => {
  it('streams 100k items through a loop and into a later input with bounded memory', async () => {
    reset();
    const flow = flowOf(`
name: big
steps:
  - id: numbers
    uses: t.count
    with: { n: 100000, pad: 2048 }
  - id: each
    forEach: "{% $steps.numbers %}"
    concurrency: 8
    uses: t.flaky
    with: { value: "{% $item.i %}", times: 0 }
    output: "{% $item.i %}"
`);
    const store = new SqliteRunStore(':memory:');
    const e = new Engine({ store, checkpointEvery: 1000 });
    // A full collection before each reading: what is measured is what is held, not garbage.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    let n = 0;
    const result = await e.run(flow, {
      onEvent: (ev) => {
        if (ev.type === 'item' && ++n % 20_000 === 0) {
          gc();
          peak = Math.max(peak, process.memoryUsage().heapUsed);
        }
      },
    });
    expect(result.status).toBe('succeeded');
    expect(result.steps[1]).toMatchObject({ total: 100_000, succeeded: 100_000, failed: 0, skipped: 0 });
    // Each item carries 2 KiB: holding the 100k items would take over 200 MB. The test actions
    // remember a small entry per item (a few MB), so the bound is generous but far below that.
    calls.clear();
    failUntil = new Map();
    expect(peak - before).toBeLessThan(48 * 1024 * 1024);
    expect(store.getStep(result.runId, 'each')!.nextIndex).toBe(100_000);
  });
});

