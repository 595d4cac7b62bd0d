/**
 * Loop items as BullMQ jobs on a real (private) Redis: workers with their own journal handles run
 * a run's items; the result is the in-process one; a job delivered again is not done again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ActionRegistry, defineStepAction, Engine, loadFlow, SqliteRunStore, type BuiltinConnector, type CompiledFlow } from '../src/index.js';
import { Redis } from 'ioredis';
import { ItemQueue, ItemWorker, jobIdFor, keyOfJobId } from '../src/cluster/queue.js';
import { startRedis, type TestRedis } from './support/redis.js';

/** Calls per idempotency key, across every engine in this process. */
const calls = new Map<string, number>();

const t: BuiltinConnector = {
  name: 't',
  description: 'test actions',
  actions: [
    defineStepAction({
      id: 'put',
      title: 'put',
      description: 'records a call and returns its input',
      input: z.strictObject({ value: z.unknown(), fail: z.boolean().default(false) }),
      kind: 'write',
      idempotent: false,
      async run(ctx, input) {
        calls.set(ctx.idempotencyKey, (calls.get(ctx.idempotencyKey) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 5));
        if (input.fail) throw Object.assign(new Error(`refused ${JSON.stringify(input.value)}`), { status: 400 });
        return { value: input.value };
      },
    }),
    defineStepAction({
      id: 'held',
      title: 'held',
      description: 'records a call, then waits for the test to let it go',
      input: z.strictObject({ value: z.unknown() }),
      kind: 'write',
      // Idempotent: a second delivery that took the item over would send it again, not fail it.
      idempotent: true,
      async run(ctx, input) {
        calls.set(ctx.idempotencyKey, (calls.get(ctx.idempotencyKey) ?? 0) + 1);
        await gate.promise;
        return { value: input.value };
      },
    }),
  ],
};
function latch(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
let gate = latch();
const registry = new ActionRegistry([t]);

const yaml = `
name: spread
inputs:
  prefix: { type: string }
steps:
  - id: base
    uses: t.put
    with: { value: "{% $inputs.prefix & '-base' %}" }
  - id: each
    forEach: "{% [0..23] %}"
    concurrency: 8
    uses: t.put
    with: { value: "{% $steps.base.value & '/' & $string($item) %}", fail: "{% $item = 7 %}" }
    onError: continue
`;

function compile(): CompiledFlow {
  const { flow, problems } = loadFlow(yaml, { registry, file: 'spread.yaml' });
  if (!flow) throw new Error(problems.map((p) => p.message).join('\n'));
  return flow;
}

let redis: TestRedis;
let dir: string;

beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'sfx-queue-'));
});
afterAll(async () => {
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('job ids', () => {
  it('hold no ":" and map back to the idempotency key', () => {
    for (const key of ['r1:each:0', 'r1:a%3Ab:12', 'r:%:3']) {
      expect(jobIdFor(key)).not.toContain(':');
      expect(keyOfJobId(jobIdFor(key))).toBe(key);
    }
  });
});

describe('BullMQ dispatcher', () => {
  it('runs a loop on two workers with their own journal handles, each item once, with the in-process result', async () => {
    calls.clear();
    const journal = join(dir, 'runs.db');
    const coordinatorStore = new SqliteRunStore(journal);
    const queue = new ItemQueue({ url: redis.url, name: 'spread' });
    await queue.ready();
    const workers = [0, 1].map(() => {
      const store = new SqliteRunStore(journal);
      const engine = new Engine({ store });
      const worker = new ItemWorker({ url: redis.url, name: 'spread', engine, concurrency: 4, loadRunFlow: async () => compile() });
      return { store, worker, done: 0 };
    });
    for (const w of workers) {
      w.worker.worker.on('completed', () => w.done++);
      w.worker.start();
    }
    const items: number[] = [];
    const engine = new Engine({ store: coordinatorStore, dispatcher: queue.dispatcher(coordinatorStore) });
    const result = await engine.run(compile(), { inputs: { prefix: 'q' }, onEvent: (e) => e.type === 'item' && items.push(e.index) });

    const inProcessStore = new SqliteRunStore(':memory:');
    const reference = await new Engine({ store: inProcessStore }).run(compile(), { inputs: { prefix: 'q' } });
    const strip = (r: typeof result) => ({ status: r.status, steps: r.steps.map((s) => ({ id: s.id, status: s.status, total: s.total, succeeded: s.succeeded, failed: s.failed })) });
    expect(strip(result)).toEqual(strip(reference));
    expect(result.steps[1]).toMatchObject({ total: 24, succeeded: 23, failed: 1 });
    const outputs = (store: SqliteRunStore, runId: string) => store.items(runId, 'each', { limit: 100 }).map((i) => [i.index, i.status, i.output]);
    expect(outputs(coordinatorStore, result.runId)).toEqual(outputs(inProcessStore, reference.runId));
    expect(coordinatorStore.getItem(result.runId, 'each', 3)?.output).toEqual({ value: 'q-base/3' });

    // Every item ran once, and both workers took a share; the coordinator heard of every item.
    const ran = [...calls.entries()].filter(([k]) => k.startsWith(`${result.runId}:each:`));
    expect(ran).toHaveLength(24);
    expect(ran.every(([, n]) => n === 1)).toBe(true);
    expect(workers.every((w) => w.done > 0)).toBe(true);
    expect(workers[0]!.done + workers[1]!.done).toBe(24);
    expect(items.sort((a, b) => a - b)).toEqual([...Array(24).keys()]);

    expect(await queue.counts()).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0 });
    for (const w of workers) {
      await w.worker.close();
      w.store.close();
    }
    await queue.close();
    coordinatorStore.close();
  });

  it('a job delivered again is not done again: finished, it is left; begun and cut off, it is reconciled', async () => {
    calls.clear();
    const store = new SqliteRunStore(join(dir, 'redelivery.db'));
    const engine = new Engine({ store });
    const flow = compile();
    const run = await engine.run(flow, { inputs: { prefix: 'r' } });
    const runId = run.runId;
    const key = `${runId}:each:4`;
    expect(calls.get(key)).toBe(1);

    // The journal says succeeded: a second delivery of the job is a no-op.
    const again = await engine.runItem(flow, { runId, step: 'each', index: 4, item: 4, unknown: false, seenAttempts: 0 });
    expect(again?.status).toBe('succeeded');
    expect(calls.get(key)).toBe(1);

    // A delivery that began the item (attempts went past what the sender saw) and died: the next
    // delivery cannot know whether the non-idempotent write landed, so it does not send it again.
    store.beginItem(runId, 'each', 5, undefined);
    const seen = store.getItem(runId, 'each', 5)!.attempts - 1;
    const cutOff = await engine.runItem(flow, { runId, step: 'each', index: 5, item: 5, unknown: false, seenAttempts: seen });
    expect(cutOff?.status).toBe('failed');
    expect(cutOff?.error?.message).toMatch(/outcome is unknown/);
    expect(calls.get(`${runId}:each:5`)).toBe(1);

    // A delivery whose first look is stale (another delivery finished the item right after it
    // looked): the claim, atomic in the journal, finds the outcome and nothing is sent again.
    const stale = new Proxy(store, {
      get: (target, name) => {
        if (name === 'getItem') return () => undefined;
        const value = Reflect.get(target, name) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const racing = await new Engine({ store: stale }).runItem(flow, { runId, step: 'each', index: 4, item: 4, unknown: false, seenAttempts: 0 });
    expect(racing?.status).toBe('succeeded');
    expect(calls.get(key)).toBe(1);

    // retry --failed sends a failed item with the attempts it saw: that one does run.
    const failed = store.getItem(runId, 'each', 7)!;
    expect(failed.status).toBe('failed');
    await engine.runItem(flow, { runId, step: 'each', index: 7, item: 7, unknown: false, seenAttempts: failed.attempts });
    expect(calls.get(`${runId}:each:7`)).toBe(2);
    store.close();
  });

  it('a job delivered again while its first delivery still runs it (that worker\'s lock lapsed) waits for it: the write happens once', async () => {
    calls.clear();
    gate = latch();
    const name = 'held';
    const heldYaml = `
name: held
steps:
  - id: each
    forEach: "{% [0] %}"
    uses: t.held
    with: { value: "{% $item %}" }
`;
    const flow = (): CompiledFlow => loadFlow(heldYaml, { registry, file: 'held.yaml' }).flow!;
    const journal = join(dir, 'held.db');
    const coordinatorStore = new SqliteRunStore(journal);
    const queue = new ItemQueue({ url: redis.url, name });
    await queue.ready();
    let deliveries = 0;
    const held: unknown[] = [];
    const workers = [0, 1].map(() => {
      const store = new SqliteRunStore(journal);
      const worker = new ItemWorker({
        url: redis.url,
        name,
        engine: new Engine({ store }),
        concurrency: 2,
        lockMs: 1000,
        loadRunFlow: async () => flow(),
        log: (_level, message, fields) => message.startsWith('item held') && held.push(fields),
      });
      worker.worker.on('active', () => deliveries++);
      // Its lock is gone, so completing its job fails: BullMQ says so; the journal has the outcome.
      worker.worker.on('error', () => undefined);
      worker.start();
      return { store, worker };
    });
    const redisClient = new Redis(redis.url);
    try {
      const running = new Engine({ store: coordinatorStore, dispatcher: queue.dispatcher(coordinatorStore) }).run(flow());
      for (let i = 0; i < 200 && calls.size === 0; i++) await new Promise((r) => setTimeout(r, 25));
      const [key] = [...calls.keys()];
      expect(key).toMatch(/:each:0$/);
      // The worker running it stalls past its lock (a GC pause, a blocked loop) as far as BullMQ can
      // tell: the lock is gone, so the job goes back to the queue and is delivered again.
      expect(await redisClient.del(`bull:${name}:${jobIdFor(key!)}:lock`)).toBe(1);
      for (let i = 0; i < 400 && deliveries < 2; i++) await new Promise((r) => setTimeout(r, 25));
      expect(deliveries).toBeGreaterThanOrEqual(2);
      await new Promise((r) => setTimeout(r, 300));
      gate.resolve();
      const result = await running;
      expect(result.status).toBe('succeeded');
      expect(calls.get(key!)).toBe(1);
      expect(held.length).toBeGreaterThan(0);
      expect(coordinatorStore.getItem(result.runId, 'each', 0)).toMatchObject({ status: 'succeeded', attempts: 1, output: { value: 0 } });
    } finally {
      gate.resolve();
      redisClient.disconnect();
      for (const w of workers) {
        await w.worker.close();
        w.store.close();
      }
      await queue.close();
      coordinatorStore.close();
    }
  }, 30_000);

  it('a run stopped past its grace time withdraws its jobs still queued: it ends at once, and its resume does each item once', async () => {
    calls.clear();
    gate = latch();
    const name = 'withdraw';
    const tenYaml = `
name: ten
steps:
  - id: each
    forEach: "{% [0..9] %}"
    concurrency: 10
    uses: t.held
    with: { value: "{% $item %}" }
`;
    const flow = (): CompiledFlow => loadFlow(tenYaml, { registry, file: 'ten.yaml' }).flow!;
    const journal = join(dir, 'withdraw.db');
    const coordinatorStore = new SqliteRunStore(journal);
    const queue = new ItemQueue({ url: redis.url, name });
    await queue.ready();
    const workerStore = new SqliteRunStore(journal);
    // One worker taking two at a time: eight of the ten jobs wait in the queue.
    const worker = new ItemWorker({ url: redis.url, name, engine: new Engine({ store: workerStore }), concurrency: 2, loadRunFlow: async () => flow() });
    worker.start();
    try {
      const engine = new Engine({ store: coordinatorStore, dispatcher: queue.dispatcher(coordinatorStore), graceMs: 200 });
      const stop = new AbortController();
      const running = engine.run(flow(), { signal: stop.signal });
      for (let i = 0; i < 400 && calls.size < 2; i++) await new Promise((r) => setTimeout(r, 25));
      expect(calls.size).toBe(2);
      stop.abort();
      // Ends while the two held items still run on the worker: the eight queued are withdrawn.
      const first = await running;
      expect(first.status).toBe('interrupted');
      expect(await queue.counts()).toMatchObject({ waiting: 0, delayed: 0 });
      expect(calls.size).toBe(2);
      gate.resolve();
      for (let i = 0; i < 400 && (await coordinatorStore.counts(first.runId, 'each')).succeeded < 2; i++) await new Promise((r) => setTimeout(r, 25));
      const second = await engine.resume(flow(), first.runId);
      expect(second.steps[0]).toMatchObject({ status: 'succeeded', total: 10, succeeded: 10 });
      expect([...calls.values()]).toEqual(Array(10).fill(1));
    } finally {
      gate.resolve();
      await worker.close();
      workerStore.close();
      await queue.close();
      coordinatorStore.close();
    }
  }, 60_000);
});
