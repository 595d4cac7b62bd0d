/**
 * Nothing done twice, nothing skipped, counts that add up, secrets kept out: the corners of
 * resume and retry --failed (a retry stopped or cut off, a loop over a loop whose items are
 * retried, an item too large for the journal's output limit) and of what reaches the logs.
 */
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ActionRegistry, defineStepAction, loadFlow, type BuiltinConnector, type CompiledFlow, type RunEvent } from '../src/index.js';
import { backends, useBackends } from './support/backends.js';

/** Calls per idempotency key; values in `failing` fail (with a 503). */
const calls = new Map<string, number>();
const failing = new Set<string>();

const t: BuiltinConnector = {
  name: 't',
  description: 'test actions',
  actions: [
    defineStepAction({
      id: 'echo',
      title: 'echo',
      description: 'returns its input; fails for the values in `failing`',
      input: z.strictObject({ value: z.unknown(), delayMs: z.number().default(0) }),
      kind: 'write',
      idempotent: true,
      async run(ctx, input) {
        calls.set(ctx.idempotencyKey, (calls.get(ctx.idempotencyKey) ?? 0) + 1);
        if (input.delayMs) await new Promise((r) => setTimeout(r, input.delayMs));
        const key = typeof input.value === 'string' ? input.value.slice(0, 40) : JSON.stringify(input.value);
        if (failing.has(key)) throw Object.assign(new Error(`cannot take ${key}`), { status: 503 });
        return { value: input.value };
      },
    }),
    defineStepAction({
      id: 'count',
      title: 'count',
      description: 'yields {i} for 0..n-1; breaks off at brokenAt',
      input: z.strictObject({ n: z.number().int(), brokenAt: z.number().int().default(-1) }),
      kind: 'read',
      idempotent: true,
      async *items(_ctx, input, after) {
        for (let i = after === undefined ? 0 : Number(after) + 1; i < input.n; i++) {
          if (i === input.brokenAt) throw new Error('the source broke off');
          yield { item: { i }, cursor: String(i) };
        }
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

function reset(...failingValues: string[]): void {
  calls.clear();
  failing.clear();
  for (const v of failingValues) failing.add(v);
}

const callsOf = (step: string): number[] =>
  [...calls.entries()].filter(([k]) => k.split(':')[1] === step).map(([, n]) => n);

useBackends();

describe.each(backends)('on the $name journal', (backend) => {
  describe('retry --failed', () => {
    const tenItems = `
name: ten
steps:
  - id: each
    forEach: "{% [0..9] %}"
    uses: t.echo
    with: { value: "{% $item %}", delayMs: 5 }
    onError: continue
`;

    it('stopped while it runs, ends as interrupted, and a plain resume then finishes without redoing anything', async () => {
      reset('3', '4', '5');
      const flow = flowOf(tenItems);
      const e = backend.engine({ store: await backend.open(), sleep: async () => {} });
      const first = await e.run(flow);
      expect(first.steps[0]).toMatchObject({ succeeded: 7, failed: 3 });
      failing.clear();
      const stop = new AbortController();
      // Stopped as the first failed item finishes: the other two are not taken.
      const second = await e.resume(flow, first.runId, {
        retryFailed: true,
        signal: stop.signal,
        onEvent: (ev) => ev.type === 'item' && stop.abort(),
      });
      expect(second.status).toBe('interrupted');
      expect(second.steps[0]).toMatchObject({ succeeded: 8, failed: 2 });
      const third = await e.resume(flow, first.runId, { retryFailed: true });
      expect(third.status).toBe('succeeded');
      expect(third.steps[0]).toMatchObject({ total: 10, succeeded: 10, failed: 0 });
      expect(callsOf('each').filter((n) => n > 2)).toEqual([]);
    });

    it('cut off mid-item (kill -9), leaves the item started below the checkpoint: the next resume reconciles and finishes it', async () => {
      reset('3');
      const flow = flowOf(tenItems);
      const store = await backend.open();
      const e = backend.engine({ store, sleep: async () => {} });
      const first = await e.run(flow);
      expect(first.steps[0]).toMatchObject({ succeeded: 9, failed: 1 });
      expect((await store.getStep(first.runId, 'each'))!.nextIndex).toBe(10);
      failing.clear();
      // What a kill -9 during the retry of item 3 leaves: the run running, item 3 started again.
      await store.claimRun(first.runId, `${hostname()}:999999999`);
      await store.reopenStep(first.runId, 'each');
      await store.beginItem(first.runId, 'each', 3, undefined);
      const resumed = await e.resume(flow, first.runId);
      expect(resumed.status).toBe('succeeded');
      expect(resumed.steps[0]).toMatchObject({ total: 10, succeeded: 10, failed: 0 });
      expect(calls.get(`${first.runId}:each:3`)).toBe(2);
    });

    it('runs a failed item from its whole $item, even one larger than the journal keeps of an output', async () => {
      const big = 'b'.repeat(300 * 1024);
      reset(big.slice(0, 40));
      const flow = flowOf(`
name: big
inputs:
  big: { type: string }
steps:
  - id: each
    forEach: "{% [$inputs.big] %}"
    uses: t.echo
    with: { value: "{% $item %}" }
    output: "{% $length($result.value) %}"
    onError: continue
`);
      const e = backend.engine({ store: await backend.open(), sleep: async () => {} });
      const first = await e.run(flow, { inputs: { big } });
      expect(first.steps[0]).toMatchObject({ failed: 1 });
      failing.clear();
      const second = await e.resume(flow, first.runId, { retryFailed: true });
      expect(second.status).toBe('succeeded');
      expect((await e.store.items(first.runId, 'each'))[0]!.output).toBe(big.length);
    });
  });

  describe('a loop over an earlier loop', () => {
    const chain = `
name: chain
steps:
  - id: a
    forEach: "{% [0..5] %}"
    uses: t.echo
    with: { value: "{% $item %}" }
    toleratedFailurePercent: 50
  - id: b
    forEach: "{% $steps.a %}"
    concurrency: 3
    uses: t.echo
    with: { value: "{% 'b' & $item.value %}" }
  - id: c
    forEach: "{% $steps.b %}"
    uses: t.echo
    with: { value: "{% 'c' & $item.value %}" }
`;

    it('counts the earlier items that failed as skipped, and runs them once a retry makes them succeed', async () => {
      reset('3');
      const flow = flowOf(chain);
      const e = backend.engine({ store: await backend.open(), sleep: async () => {} });
      const first = await e.run(flow);
      expect(first.status).toBe('succeeded');
      expect(first.steps.map((s) => [s.id, s.succeeded, s.failed, s.skipped])).toEqual([
        ['a', 5, 1, 0],
        ['b', 5, 0, 1],
        ['c', 5, 0, 1],
      ]);
      expect((await e.store.getItem(first.runId, 'b', 3))?.error?.code).toBe('UPSTREAM_NOT_DONE');
      failing.clear();
      const second = await e.resume(flow, first.runId, { retryFailed: true });
      expect(second.status).toBe('succeeded');
      expect(second.steps.map((s) => [s.id, s.total, s.succeeded])).toEqual([
        ['a', 6, 6],
        ['b', 6, 6],
        ['c', 6, 6],
      ]);
      expect((await e.store.getItem(first.runId, 'c', 3))?.output).toEqual({ value: 'cb3' });
      for (const step of ['a', 'b', 'c']) expect(callsOf(step).every((n) => n === 1) || step === 'a').toBe(true);
      expect(callsOf('b')).toHaveLength(6);
      expect(callsOf('c')).toHaveLength(6);
    });

    it('finds the late items after a crash between the retry and the loops after it', async () => {
      reset('3');
      const flow = flowOf(chain);
      const store = await backend.open();
      const e = backend.engine({ store, sleep: async () => {} });
      const first = await e.run(flow);
      failing.clear();
      // A retry whose process died right after step a: a is done, b and c still say succeeded.
      const onlyA = flowOf(chain.slice(0, chain.indexOf('  - id: b')));
      await e.resume(onlyA, first.runId, { retryFailed: true });
      expect((await store.getStep(first.runId, 'b'))?.status).toBe('succeeded');
      const resumed = await e.resume(flow, first.runId);
      expect(resumed.steps.map((s) => [s.id, s.succeeded, s.skipped])).toEqual([
        ['a', 6, 0],
        ['b', 6, 0],
        ['c', 6, 0],
      ]);
      expect(callsOf('c')).toHaveLength(6);
    });
  });

  describe('a source that breaks off', () => {
    it('fails the loop (never succeeded) with the counts of what it did', async () => {
      reset();
      const flow = flowOf(`
name: broken
steps:
  - id: src
    uses: t.count
    with: { n: 10, brokenAt: 5 }
  - id: each
    forEach: "{% $steps.src %}"
    uses: t.echo
    with: { value: "{% $item.i %}" }
    onError: continue
`);
      const events: RunEvent[] = [];
      const result = await backend.engine({ store: await backend.open() }).run(flow, { onEvent: (ev) => events.push(ev) });
      expect(result.status).toBe('failed');
      expect(result.steps[1]).toMatchObject({ status: 'failed', total: 5, succeeded: 5, error: { message: 'the source broke off' } });
      expect(events.find((ev) => ev.type === 'step-finished' && ev.step === 'each')).toMatchObject({ status: 'failed', counts: { total: 5, succeeded: 5 } });
    });
  });

  describe('secrets', () => {
    it('never reach the log: a retried attempt whose error quotes one logs [secret]', async () => {
      reset('tok-very-secret-1234');
      const flow = flowOf(`
name: logged
secrets: [TOKEN]
steps:
  - id: s
    uses: t.echo
    with: { value: "{% $secrets.TOKEN %}" }
    retry: { attempts: 2, on: [any] }
`);
      const lines: string[] = [];
      const e = backend.engine({ store: await backend.open(), sleep: async () => {}, env: { TOKEN: 'tok-very-secret-1234' }, log: (level, message, fields) => lines.push(`${level} ${message} ${JSON.stringify(fields)}`) });
      const result = await e.run(flow);
      expect(result.status).toBe('failed');
      expect(lines.some((l) => l.includes('retrying') && l.includes('[secret]'))).toBe(true);
      expect(lines.join('\n')).not.toContain('tok-very-secret-1234');
    });
  });
});
