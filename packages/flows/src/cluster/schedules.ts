/**
 * A cluster's schedules as BullMQ job schedulers. Every coordinator that loads a schedule flow
 * upserts one scheduler for it (id `flow:<name>`) on the cluster's schedule queue; Redis holds the
 * next tick as one delayed job, whose id is the scheduler's and the tick's, so however many
 * coordinators run, each tick is one job, taken by one of them, which starts the run. The journal
 * still keeps one run per flow and tick, as a second guard.
 *
 * The ticks are croner's (the `repeatStrategy`), so a cron expression and its timezone mean the
 * same on a cluster as in one process; BullMQ computes each next tick from the time the last one
 * was taken, so missed ticks are not replayed.
 */
import { Cron } from 'croner';
import { Queue, Worker, type Job, type RepeatStrategy } from 'bullmq';
import type { Redis } from 'ioredis';
import { closeWithin, connect, DEFAULT_QUEUE, redisAnswers, sayOnceInAWhile } from './queue.js';

/** The next tick after `millis`, by croner, as the scheduler's repeat strategy. */
export const cronStrategy: RepeatStrategy = (millis, opts) => {
  if (!opts.pattern) return undefined;
  return new Cron(opts.pattern, { paused: true, ...(opts.tz ? { timezone: opts.tz } : {}) }).nextRun(new Date(millis))?.getTime();
};

export function scheduleQueueName(queue = DEFAULT_QUEUE): string {
  return `${queue}-schedules`;
}

function schedulerId(flow: string): string {
  return `flow:${flow}`;
}

interface TickData {
  flow: string;
}

export interface ScheduleQueueOptions {
  url: string;
  /** The cluster's item queue name: the schedules live beside it. */
  name?: string;
  /** Starts the tick's run; resolves once it is journaled (or skipped). Throwing hands the tick to another coordinator. */
  onTick: (flow: string, scheduledAt: number) => Promise<void>;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface ScheduledFlow {
  flow: string;
  cron: string;
  timezone?: string;
  /** The next tick Redis holds a job for. */
  next?: number;
}

export class ScheduleQueue {
  readonly queue: Queue<TickData>;
  private readonly worker: Worker<TickData>;
  private readonly connections: Redis[];

  constructor(private readonly options: ScheduleQueueOptions) {
    const name = scheduleQueueName(options.name);
    const queueConnection = connect(options.url);
    const workerConnection = connect(options.url);
    this.connections = [queueConnection, workerConnection];
    this.queue = new Queue<TickData>(name, { connection: queueConnection, settings: { repeatStrategy: cronStrategy } });
    this.worker = new Worker<TickData>(name, (job) => this.take(job), {
      connection: workerConnection,
      // The next tick is added when this one is taken: it must follow the same strategy.
      settings: { repeatStrategy: cronStrategy },
      concurrency: 8,
      autorun: false,
    });
    const onError = sayOnceInAWhile(options.log, 'schedule queue error (reconnecting)');
    this.queue.on('error', onError);
    this.worker.on('error', onError);
  }

  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.worker.waitUntilReady()]);
  }

  /** Takes ticks from now on: call once the flows they name are loaded. */
  start(): void {
    void this.worker.run();
  }

  /** The flow's scheduler, created or brought to this cron: the same call from every coordinator is one scheduler. */
  async ensure(flow: string, cron: string, timezone?: string): Promise<void> {
    await this.queue.upsertJobScheduler(
      schedulerId(flow),
      { pattern: cron, ...(timezone ? { tz: timezone } : {}) },
      {
        name: 'tick',
        data: { flow },
        // A coordinator stopping as it takes a tick hands it to another; a tick is never kept.
        opts: { attempts: 3, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: true, removeOnFail: true },
      },
    );
  }

  /** The flow no longer has a schedule (its file changed): its scheduler goes, for every coordinator. */
  async remove(flow: string): Promise<void> {
    await this.queue.removeJobScheduler(schedulerId(flow));
  }

  async list(): Promise<ScheduledFlow[]> {
    const found = await this.queue.getJobSchedulers(0, -1, true);
    return found
      .filter((s) => s.key.startsWith('flow:') && s.pattern)
      .map((s) => ({
        flow: s.key.slice('flow:'.length),
        cron: s.pattern!,
        ...(s.tz ? { timezone: s.tz } : {}),
        ...(s.next ? { next: s.next } : {}),
      }));
  }

  private async take(job: Job<TickData>): Promise<void> {
    // The tick's own instant, not when it was taken: the run's trigger id and $trigger.scheduledAt.
    const at = job.opts.prevMillis ?? job.timestamp + (job.opts.delay ?? 0);
    await this.options.onTick(job.data.flow, at);
  }

  /** Takes no more ticks; a tick being taken is finished first. The schedulers stay for the other coordinators. */
  async close(): Promise<void> {
    const answers = this.connections.every(redisAnswers);
    await closeWithin(Promise.allSettled([this.worker.close(!answers), this.queue.close()]));
    for (const c of this.connections) c.disconnect();
  }
}
