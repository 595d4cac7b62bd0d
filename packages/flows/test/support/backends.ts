/**
 * The journals the engine's semantics are checked on: in-process SQLite, PostgreSQL on a
 * private cluster started once per test file, and PostgreSQL with loop items sent as BullMQ jobs
 * through a private Redis to a worker (the cluster's code path: items run from the journal).
 * Each `open()` is a fresh, empty journal; `engine()` is the engine for it.
 */
import { afterAll } from 'vitest';
import {
  Engine,
  ItemQueue,
  ItemWorker,
  PostgresRunStore,
  SqliteRunStore,
  type CompiledFlow,
  type EngineOptions,
  type PostgresRunStoreOptions,
  type ResumeOptions,
  type RunOptions,
  type RunResult,
  type RunStore,
} from '../../src/index.js';
import { startPostgres, type PostgresCluster } from './postgres.js';
import { startRedis, type TestRedis } from './redis.js';

export interface Backend {
  name: 'sqlite' | 'postgres' | 'bullmq+postgres';
  /** `clock`: the journal's time (leases), for tests that move it by hand. */
  open(options?: { clock?: () => number }): Promise<RunStore>;
  engine(options: EngineOptions): Engine;
}

let redis: Promise<TestRedis> | undefined;
let redisUrl: string | undefined;
let queues = 0;
const closers: Array<() => Promise<unknown>> = [];

/**
 * An engine whose loop items go through a BullMQ queue to a worker running them with this same
 * engine's options (so a test's fake sleep or env hold on both sides), from the journal.
 */
function queuedEngine(options: EngineOptions): Engine {
  if (!redisUrl) throw new Error('open() the bullmq+postgres journal before asking for its engine.');
  const name = `conformance-${process.pid}-${++queues}`;
  const queue = new ItemQueue({ url: redisUrl, name });
  // The worker compiles nothing here: it runs the flow objects the test gave, found by hash.
  const flows = new Map<string, CompiledFlow>();
  class QueuedEngine extends Engine {
    override start(flow: CompiledFlow, o?: RunOptions): Promise<{ runId: string; done: Promise<RunResult> }> {
      flows.set(flow.hash, flow);
      return super.start(flow, o);
    }
    override resume(flow: CompiledFlow, runId: string, o?: ResumeOptions): Promise<RunResult> {
      flows.set(flow.hash, flow);
      return super.resume(flow, runId, o);
    }
  }
  // Small pages, so that every loop over a source here crosses several.
  const engine = new QueuedEngine({ sourcePageSize: 3, ...options, dispatcher: queue.dispatcher(options.store) });
  const worker = new ItemWorker({
    url: redisUrl,
    name,
    engine,
    concurrency: 16,
    loadRunFlow: async (runId) => flows.get((await options.store.getRun(runId))!.flowHash)!,
  });
  worker.start();
  closers.push(
    () => worker.close(),
    () => queue.close(),
  );
  return engine;
}

let cluster: Promise<PostgresCluster> | undefined;
let schemas = 0;
const opened: RunStore[] = [];

/** The cluster of this test file, started on first use. */
export function postgresCluster(): Promise<PostgresCluster> {
  cluster ??= startPostgres();
  return cluster;
}

/** A fresh journal in its own schema of the cluster's database. */
export async function openPostgresStore(options: PostgresRunStoreOptions = {}): Promise<PostgresRunStore> {
  const { url } = await postgresCluster();
  const store = await PostgresRunStore.open(url, { schema: `journal_${++schemas}`, ...options });
  opened.push(store);
  return store;
}

export const backends: Backend[] = [
  {
    name: 'sqlite',
    open: async (options) => new SqliteRunStore(':memory:', options?.clock ? { clock: options.clock } : {}),
    engine: (options) => new Engine(options),
  },
  {
    name: 'postgres',
    open: (options) => openPostgresStore(options?.clock ? { clock: options.clock } : {}),
    engine: (options) => new Engine(options),
  },
  {
    name: 'bullmq+postgres',
    async open(options) {
      redis ??= startRedis();
      redisUrl = (await redis).url;
      return openPostgresStore(options?.clock ? { clock: options.clock } : {});
    },
    engine: queuedEngine,
  },
];

/** Closes what was opened and stops the cluster after the file's tests. Call once at the top of a test file. */
export function useBackends(): void {
  afterAll(async () => {
    for (const close of closers.splice(0)) await close().catch(() => undefined);
    await Promise.allSettled(opened.splice(0).map((s) => s.close()));
    if (redis) await (await redis).stop();
    redis = undefined;
    if (cluster) await (await cluster).stop();
    cluster = undefined;
  }, 60_000);
}
