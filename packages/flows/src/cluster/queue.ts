/**
 * Loop items as BullMQ jobs on Redis, so that workers in any number of processes share a run,
 * and the pages of loops' sources as jobs too, so that no process reads a large source whole.
 * Delivery is at least once (a job whose worker dies is handed to another when its lock runs
 * out); the journal makes the effect exactly once: a worker asks it what is left before it acts
 * (see Engine.runItem), and the coordinator reads each item's outcome from it, not from the job.
 */
import { DelayedError, Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { ItemHeldError, type DispatchedItem, type Engine } from '../engine/engine.js';
import type { Dispatcher, DispatcherFactory, ItemJob, PageJob } from '../engine/dispatcher.js';
import type { RunStore } from '../engine/run-store.js';
import type { CompiledFlow } from '../definition/load.js';
import { processOwner } from '../engine/sqlite-run-store.js';

export const DEFAULT_QUEUE = 'sfx-items';

/** BullMQ keeps ':' for its own keys, so a custom job id may not hold one: `%` and `:` are escaped. */
export function jobIdFor(key: string): string {
  return key.replace(/%/g, '%25').replace(/:/g, '%3A');
}

export function keyOfJobId(id: string): string {
  return id.replace(/%3A/g, ':').replace(/%25/g, '%');
}

/** `redis://[user:pass@]host:port[/db]`, checked before anything connects. */
export function parseQueueUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('--queue must be a Redis URL such as redis://127.0.0.1:6379.');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new Error('--queue must be a redis:// or rediss:// URL, such as redis://127.0.0.1:6379.');
  return parsed;
}

/** The URL with any password replaced, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparsable URL]';
  }
}

/**
 * Answers once, or says why not: called before a process starts on a queue, so that a wrong URL
 * or a Redis that is down is one clear error instead of a reconnect loop.
 */
export async function checkQueue(url: string, timeoutMs = 5000): Promise<void> {
  parseQueueUrl(url);
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false });
  // The connection's own error (ECONNREFUSED, a wrong password) says more than the rejected connect.
  let cause: Error | undefined;
  probe.on('error', (error: Error) => (cause ??= error));
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    const why = (cause ?? (error as Error)).message.replace(/\.+$/, '');
    throw new Error(`cannot reach the queue's Redis at ${redactUrl(url)}: ${why}. Start redis-server there, or give the right URL.`);
  } finally {
    probe.disconnect();
  }
}

export function connect(url: string): Redis {
  parseQueueUrl(url);
  // BullMQ's blocking commands need no per-request retry limit.
  const connection = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
  // The queue's and worker's own 'error' events say it (once in a while); without a listener here
  // ioredis would print every failed reconnect as an unhandled error.
  connection.on('error', () => undefined);
  return connection;
}

/**
 * An 'error' listener for BullMQ's objects. Redis away, ioredis reconnects on its own and waits
 * resume: that is said once in a while, not on every try.
 */
export function sayOnceInAWhile(log: ((level: 'error', message: string, fields?: Record<string, unknown>) => void) | undefined, message: string, everyMs = 30_000): (error: Error) => void {
  let last = 0;
  return (error) => {
    if (Date.now() - last < everyMs) return;
    last = Date.now();
    log?.('error', message, { error: error.message });
  };
}

/**
 * BullMQ closes by asking Redis (QUIT, moving jobs, the end of a connection): with Redis gone
 * that waits until it comes back, so a process told to stop would never end. A close is graceful
 * while Redis answers, and forced, or given up after `CLOSE_WAIT_MS`, when it does not. What a
 * close given up leaves holds no timer: the process still ends.
 */
export function redisAnswers(connection: Redis): boolean {
  return connection.status === 'ready';
}

const CLOSE_WAIT_MS = 5000;

export async function closeWithin(closing: Promise<unknown>, ms = CLOSE_WAIT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const given = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([closing.then(() => undefined, () => undefined), given]);
  clearTimeout(timer);
}

interface ItemJobData extends DispatchedItem {
  key: string;
}

/** Job names: what a worker does with a job's data. */
type JobData = ItemJobData | PageJob;

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface ItemQueueOptions {
  url: string;
  name?: string;
  /** Deliveries of a job whose handler threw (the journal or the DAM unreachable, not an item's own failure). */
  attempts?: number;
  log?: (level: 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** The coordinator's side: sends items and waits for their jobs to finish. */
export class ItemQueue {
  readonly queue: Queue<JobData>;
  private readonly events: QueueEvents;
  private readonly connection: Redis;
  private readonly eventsConnection: Redis;
  /** Waits for jobs' ends, rejected when the queue closes: none may outlive it (Redis gone, no event comes). */
  private readonly waits = new Set<(error: Error) => void>();

  constructor(private readonly options: ItemQueueOptions) {
    this.connection = connect(options.url);
    this.eventsConnection = connect(options.url);
    const name = options.name ?? DEFAULT_QUEUE;
    this.queue = new Queue<JobData>(name, { connection: this.connection });
    this.events = new QueueEvents(name, { connection: this.eventsConnection });
    const onError = sayOnceInAWhile(options.log, 'queue error (reconnecting)');
    this.queue.on('error', onError);
    this.events.on('error', onError);
  }

  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  /** A dispatcher for the engine: each item a job, resolved when a worker has journaled it. */
  dispatcher(store: RunStore): DispatcherFactory {
    return () => new QueueDispatcher(this, store);
  }

  async send(job: ItemJob, store: RunStore): Promise<void> {
    const plan = (job.item as { plan: { item: unknown; unknown: boolean } }).plan;
    const seenAttempts = (await store.getItem(job.runId, job.step, job.index))?.attempts ?? 0;
    const data: ItemJobData = { runId: job.runId, step: job.step, index: job.index, key: job.key, item: plan.item, unknown: plan.unknown, seenAttempts };
    await this.sendAndWait('item', data, job.key, {}, job.signal);
  }

  /**
   * A page of a loop's source, read by a worker into the journal. It goes to the head of the queue:
   * the coordinator asks for the next page while the items of this one run, so the workers never
   * run out of items while a page waits behind them.
   */
  async sendPage(job: PageJob): Promise<void> {
    await this.sendAndWait('page', job, job.key, { lifo: true });
  }

  /**
   * Sends a job and waits for its end. `abandon` aborted (a stopped run, past its grace time): a
   * job still queued is withdrawn and the wait ends; one a worker runs finishes there, and the
   * journal has its outcome for the resume.
   */
  private async sendAndWait(name: 'item' | 'page', data: JobData, key: string, extra: { lifo?: boolean } = {}, abandon?: AbortSignal): Promise<void> {
    // Same key, same job: a job still queued or running from an earlier coordinator is waited for, not doubled.
    const sent = await this.queue.add(name, data, {
      jobId: jobIdFor(key),
      attempts: this.options.attempts ?? 5,
      backoff: { type: 'exponential', delay: 1000 },
      // Finished jobs go, so a retry of the item (sfx runs retry --failed) is a new job under the same id.
      removeOnComplete: true,
      removeOnFail: true,
      ...extra,
    });
    let reject!: (error: Error) => void;
    const ended = new Promise<never>((_, r) => (reject = r));
    ended.catch(() => undefined);
    this.waits.add(reject);
    const onAbandon = (): void => {
      // Removing fails for a job a worker holds (it is locked): that one runs to its end.
      void sent.remove().catch(() => undefined);
      reject(new AbandonedWait());
    };
    if (abandon?.aborted) onAbandon();
    else abandon?.addEventListener('abort', onAbandon, { once: true });
    try {
      await Promise.race([sent.waitUntilFinished(this.events), ended]);
    } catch (error) {
      if (error instanceof AbandonedWait) return;
      // Finished and removed before we looked: the journal has its outcome.
      if (/Missing key for job/.test((error as Error).message)) return;
      throw error;
    } finally {
      this.waits.delete(reject);
      abandon?.removeEventListener('abort', onAbandon);
    }
  }

  async counts(): Promise<QueueCounts> {
    // Asked while Redis is away, the commands would wait in ioredis's queue (one more per look).
    if (['reconnecting', 'close', 'end'].includes(this.connection.status)) throw new Error('the queue\'s Redis does not answer');
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized', 'waiting-children');
    const failed = Number((await this.connection.get(failedCounterKey(this.queue.name))) ?? 0);
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed };
  }

  async close(): Promise<void> {
    const closed = new Error('the queue was closed while a job was waited for; the run resumes from the journal.');
    for (const reject of this.waits) reject(closed);
    // Closing the events' reader waits for its connection to end, which one that is reconnecting never does.
    await closeWithin(Promise.allSettled([this.events.close(), this.queue.close()]));
    this.connection.disconnect();
    this.eventsConnection.disconnect();
  }
}

class AbandonedWait extends Error {}

function failedCounterKey(queue: string): string {
  return `sfx:${queue}:failed-jobs`;
}

class QueueDispatcher implements Dispatcher {
  readonly remote = true;

  constructor(
    private readonly queue: ItemQueue,
    private readonly store: RunStore,
  ) {}

  execute(job: ItemJob): Promise<void> {
    return this.queue.send(job, this.store);
  }

  readPage(job: PageJob): Promise<void> {
    return this.queue.sendPage(job);
  }

  async close(): Promise<void> {}
}

/**
 * Rates per connection, each shared by every worker of the queue: `connections[name]` for one
 * connection, `default` for every other (none: not paced).
 */
export interface TpsLimits {
  default?: number;
  connections?: Record<string, number>;
}

export interface ItemWorkerOptions {
  url: string;
  name?: string;
  engine: Engine;
  /** Compiles the flow a run started with (from its journal record). */
  loadRunFlow: (runId: string) => Promise<CompiledFlow>;
  /** Items this process runs at once. */
  concurrency?: number;
  /** Writes per second to each connection across every worker of the queue (see `TpsLimits`). */
  tps?: TpsLimits;
  /** How long a job's lock lasts without renewal: a killed worker's jobs go to others after about this. */
  lockMs?: number;
  /**
   * How long a close waits for the jobs running here (the engine aborts items after its grace
   * time, so they end before this unless stuck on a Redis that is gone). Default 30 s.
   */
  drainMs?: number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** The worker's side: runs item jobs through the engine. */
export class ItemWorker {
  readonly worker: Worker<JobData>;
  private readonly connection: Redis;
  private readonly drain = new AbortController();
  private readonly flows = new Map<string, Promise<CompiledFlow>>();
  private readonly pacers = new Map<string, Pacer>();
  private readonly lockMs: number;
  private running = 0;
  private readonly idle: Array<() => void> = [];

  constructor(private readonly options: ItemWorkerOptions) {
    this.connection = connect(options.url);
    const lockMs = (this.lockMs = options.lockMs ?? 30_000);
    this.worker = new Worker<JobData>(options.name ?? DEFAULT_QUEUE, (job, token) => this.process(job, token), {
      connection: this.connection,
      concurrency: options.concurrency ?? 4,
      lockDuration: lockMs,
      stalledInterval: Math.max(1000, Math.floor(lockMs / 2)),
      // A job stalls only when its worker died: it is always handed on; the journal keeps it from being done twice.
      maxStalledCount: 1000,
      autorun: false,
    });
    this.worker.on('failed', (job, error) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) void this.connection.incr(failedCounterKey(this.worker.name));
      const at = job && ('index' in job.data ? { index: job.data.index } : { firstIndex: job.data.firstIndex });
      this.log('warn', `${job?.name ?? 'item'} job failed`, { runId: job?.data.runId, step: job?.data.step, ...at, error: error.message });
    });
    this.worker.on('error', sayOnceInAWhile(options.log, 'queue error (reconnecting)'));
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    this.options.log?.(level, message, fields);
  }

  /** Waits for the connection's next rate slot (`tps`); the engine calls it right before each write through it. */
  pace(connection: string, signal?: AbortSignal): Promise<void> {
    let pacer = this.pacers.get(connection);
    if (!pacer) {
      const tps = this.options.tps?.connections?.[connection] ?? this.options.tps?.default;
      if (!tps) return Promise.resolve();
      pacer = new Pacer(this.connection, paceKey(this.options.name ?? DEFAULT_QUEUE, connection), tps);
      this.pacers.set(connection, pacer);
    }
    return pacer.take(signal);
  }

  start(): void {
    void this.worker.run();
  }

  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  private flow(runId: string): Promise<CompiledFlow> {
    let flow = this.flows.get(runId);
    if (!flow) {
      flow = this.options.loadRunFlow(runId);
      flow.catch(() => this.flows.delete(runId));
      this.flows.set(runId, flow);
      // A worker lives long and serves many runs: keep the last few.
      if (this.flows.size > 32) this.flows.delete(this.flows.keys().next().value!);
    }
    return flow;
  }

  private async process(job: Job<JobData>, token: string | undefined): Promise<void> {
    this.running++;
    try {
      if (job.name === 'page') return await this.readPage(job.data as PageJob);
      return await this.runItem(job as Job<ItemJobData>, token);
    } finally {
      if (--this.running === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  /** Resolves once no job runs here. */
  private whenIdle(): Promise<void> {
    return this.running === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  private async readPage(data: PageJob): Promise<void> {
    const fields = { runId: data.runId, step: data.step, firstIndex: data.firstIndex };
    this.log('debug', 'source page started', fields);
    const page = await this.options.engine.readPage(await this.flow(data.runId), data, { signal: this.drain.signal });
    this.log('debug', 'source page read', { ...fields, items: page.items.length, end: page.end, ...(page.error ? { error: page.error.message } : {}) });
  }

  private async runItem(job: Job<ItemJobData>, token: string | undefined): Promise<void> {
    const data = job.data;
    const fields = { runId: data.runId, step: data.step, index: data.index, key: data.key };
    this.log('debug', 'item started', fields);
    // The item is held in the journal for as long as the job's lock lasts, renewed as often: a
    // delivery of the same job to another worker (this one's lock lapsed) then waits instead of
    // running it a second time alongside this one.
    const lease = { owner: `${processOwner()}:${token ?? job.id}`, ms: this.lockMs };
    let record;
    try {
      record = await this.options.engine.runItem(await this.flow(data.runId), data, { signal: this.drain.signal, lease });
    } catch (error) {
      if (!(error instanceof ItemHeldError)) throw error;
      // Not an attempt: the job waits (delayed) for the other delivery's lease, then finds its outcome.
      this.log('info', 'item held by another delivery; looked at again later', { ...fields, retryInMs: error.retryInMs });
      await job.moveToDelayed(Date.now() + Math.max(250, error.retryInMs + 100), token);
      throw new DelayedError();
    }
    // Stopped mid-item by a drain: another worker takes the job and reconciles it.
    if (!record || record.status === 'started') throw new Error('the item was interrupted by a stop; it is handed to another worker.');
    this.log('debug', 'item finished', { ...fields, status: record.status });
  }

  /** Takes no new jobs, lets running ones finish (items are aborted after the engine's grace time). */
  async close(): Promise<void> {
    const closing = this.worker.close(!redisAnswers(this.connection));
    this.drain.abort();
    // The jobs running here end by themselves (the engine aborts items after its grace time), and
    // journal their outcome, Redis or not (a forced close does not wait for them: this does); what a
    // close waits for after that is Redis, which may have gone meanwhile.
    await closeWithin(this.whenIdle(), this.options.drainMs ?? 30_000);
    await closeWithin(closing);
    this.connection.disconnect();
  }
}

/** One Redis key per queue and connection: the workers of a queue share it, other connections are paced apart. */
export function paceKey(queue: string, connection: string): string {
  return `sfx:${queue}:pace:${encodeURIComponent(connection)}`;
}

/**
 * A rate shared by every worker of a queue: each item takes the next free slot, `1/tps` after the
 * one before, from one Redis key, and waits for it. Redis's clock is the only clock, so workers on
 * machines whose clocks differ keep the same pace. Strict spacing, no bursts: what a rate limit at
 * the far end counts is what it sees.
 */
export class Pacer {
  private readonly intervalUs: number;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    tps: number,
  ) {
    this.intervalUs = Math.round(1_000_000 / tps);
  }

  /** Resolves at the slot, or at once when `signal` aborts (the attempt is then given up, not sent). */
  async take(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    let onAbort!: () => void;
    const aborted = new Promise<void>((resolve) => (onAbort = resolve));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // Redis away, the slot's command waits for it: a stop must not.
      const slot = await Promise.race([this.redis.eval(PACE, 1, this.key, String(this.intervalUs)), aborted]);
      if (slot === undefined) return;
      const waitUs = Number(slot);
      if (waitUs <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.ceil(waitUs / 1000)))), aborted]);
      clearTimeout(timer);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

const PACE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], string.format('%.0f', slot + tonumber(ARGV[1])), 'PX', 60000)
return slot - now
`;
