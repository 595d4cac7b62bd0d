/**
 * `trigger: {type: schedule, cron, timezone}`. Each tick starts a run whose `$trigger` is
 * `{scheduledAt}` (ISO 8601, UTC). Two rules keep a schedule predictable:
 * - no overlap: a tick that falls while a run of the same flow is still running is skipped (and
 *   logged), so a slow nightly export never runs twice at once;
 * - no catch-up: ticks that fell while the process was down (or the machine slept) are not
 *   replayed; the schedule goes on from the next tick after now. A run needing every period
 *   covered should compute its window from `$trigger.scheduledAt` and the previous run's.
 * The tick's time is the run's trigger id, so a tick can never start two runs.
 *
 * A schedule can be disabled (the console's switch) without editing the flow: the switch is kept in
 * the journal's trigger state, read at each tick, so it holds across restarts and for every process
 * sharing the journal.
 *
 * On a cluster the ticks come from a BullMQ job scheduler shared by the coordinators (see
 * cluster/schedules.ts) instead of this process's timer: one coordinator takes each tick. The
 * rules hold across the cluster: no overlap with a run of the flow running anywhere (the
 * journal's), and a tick taken late because no coordinator was running is not replayed.
 */
import { Cron } from 'croner';
import type { CompiledFlow } from '../definition/load.js';
import type { TimerHandle } from './clock.js';
import type { RunStore } from '../engine/run-store.js';
import { ServiceStoppingError, type RunningTrigger, type TriggerHost } from './host.js';
import type { ScheduleQueue } from '../cluster/schedules.js';

/** On a cluster, a tick taken later than this after its instant (no coordinator was up) is skipped. */
export const LATE_TICK_MS = 60_000;

/** The journal's trigger-state key of a flow's schedule switch. */
export const SCHEDULE_STATE_KEY = 'schedule';

/** Whether the flow's schedule is on: it is unless it was switched off. */
export async function scheduleEnabled(store: RunStore, flow: string): Promise<boolean> {
  const saved = await store.getTriggerState(flow, SCHEDULE_STATE_KEY);
  if (saved === undefined) return true;
  try {
    return (JSON.parse(saved) as { enabled?: unknown }).enabled !== false;
  } catch {
    return true;
  }
}

export async function setScheduleEnabled(store: RunStore, flow: string, enabled: boolean): Promise<void> {
  await store.setTriggerState(flow, SCHEDULE_STATE_KEY, JSON.stringify({ enabled }));
}

export class ScheduleTrigger implements RunningTrigger {
  readonly type = 'schedule';
  readonly flow: string;
  private readonly cron: Cron;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly host: TriggerHost,
    private readonly compiled: CompiledFlow,
    /** A cluster's shared schedules: the ticks come from there, not from a timer here. */
    private readonly cluster?: { queue: ScheduleQueue; lateMs?: number },
  ) {
    const trigger = compiled.trigger;
    if (trigger.type !== 'schedule') throw new TypeError(`flow ${compiled.name} has no schedule trigger.`);
    this.flow = compiled.name;
    // Paused: croner only computes the instants; our clock fires them.
    this.cron = new Cron(trigger.cron, {
      paused: true,
      ...(trigger.timezone ? { timezone: trigger.timezone } : {}),
    });
  }

  /** The first tick after `time`, if the expression has one. */
  nextAfter(time: number): number | undefined {
    return this.cron.nextRun(new Date(time))?.getTime();
  }

  async start(): Promise<void> {
    const trigger = this.compiled.trigger as { cron: string; timezone?: string };
    if (this.cluster) await this.cluster.queue.ensure(this.flow, trigger.cron, trigger.timezone);
    else this.arm(this.host.clock.now());
    const next = this.nextAfter(this.host.clock.now());
    this.host.log('info', 'schedule started', {
      flow: this.flow,
      trigger: 'schedule',
      next: next === undefined ? null : new Date(next).toISOString(),
      ...(this.cluster ? { shared: true } : {}),
    });
  }

  /**
   * A tick a coordinator took from the cluster's scheduler. Throws when this process is stopping,
   * so that the job goes to another coordinator.
   */
  async clusterTick(at: number): Promise<void> {
    const late = this.host.clock.now() - at;
    if (late > (this.cluster?.lateMs ?? LATE_TICK_MS)) {
      this.host.log('warn', 'tick skipped: it was taken late (no coordinator was running), and missed ticks are not replayed', {
        flow: this.flow,
        trigger: 'schedule',
        scheduledAt: new Date(at).toISOString(),
        lateMs: late,
      });
      return;
    }
    if (this.stopped) throw new ServiceStoppingError();
    this.ticking = this.tick(at, true).finally(() => (this.ticking = undefined));
    await this.ticking;
  }

  /** The flow's schedule is gone (its file now says otherwise): on a cluster its scheduler goes too. */
  async retire(): Promise<void> {
    await this.stop();
    // Redis away: the flow still reloads; its old scheduler goes when a coordinator next starts.
    await this.cluster?.queue.remove(this.flow).catch((error: unknown) =>
      this.host.log('warn', 'the schedule\'s scheduler could not be removed from the queue', { flow: this.flow, trigger: 'schedule', error: (error as Error).message }),
    );
  }

  private arm(after: number): void {
    if (this.stopped) return;
    const at = this.nextAfter(after);
    if (at === undefined) {
      this.host.log('warn', 'the cron expression has no further ticks', {
        flow: this.flow,
        trigger: 'schedule',
      });
      return;
    }
    this.timer = this.host.clock.setTimer(() => this.fire(at), at - this.host.clock.now());
  }

  private fire(at: number): void {
    const now = this.host.clock.now();
    // A timer that fires early (clock adjusted) waits for its instant.
    if (now < at) {
      this.timer = this.host.clock.setTimer(() => this.fire(at), at - now);
      return;
    }
    const missed = countBetween(this, at, now);
    if (missed > 0)
      this.host.log('warn', 'ticks missed while the process was paused are not replayed', {
        flow: this.flow,
        trigger: 'schedule',
        missed,
      });
    this.ticking = this.tick(at).finally(() => (this.ticking = undefined));
    this.arm(Math.max(now, at));
  }

  private async tick(at: number, shared = false): Promise<void> {
    const scheduledAt = new Date(at).toISOString();
    if (!(await scheduleEnabled(this.host.store, this.flow))) {
      this.host.log('info', 'tick skipped: the schedule is disabled', {
        flow: this.flow,
        trigger: 'schedule',
        scheduledAt,
      });
      return;
    }
    // On a cluster the previous run may be another coordinator's: the journal knows.
    const running = shared ? (await this.host.store.listRuns({ flow: this.flow, status: 'running', limit: 1 })).length > 0 : this.host.activeRuns(this.flow) > 0;
    if (running) {
      this.host.log('info', 'tick skipped: the previous run of the flow is still running', {
        flow: this.flow,
        trigger: 'schedule',
        scheduledAt,
      });
      return;
    }
    try {
      const started = await this.host.startRun(this.compiled, {
        type: 'schedule',
        event: { scheduledAt },
        id: `schedule:${scheduledAt}`,
      });
      if (started.duplicate)
        this.host.log('info', 'tick already has a run', {
          flow: this.flow,
          trigger: 'schedule',
          runId: started.runId,
          scheduledAt,
        });
    } catch (error) {
      if (error instanceof ServiceStoppingError) {
        if (shared) throw error;
        return;
      }
      this.host.log('error', 'could not start the scheduled run', {
        flow: this.flow,
        trigger: 'schedule',
        scheduledAt,
        error: (error as Error).message,
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.ticking;
  }
}

function countBetween(trigger: ScheduleTrigger, from: number, to: number): number {
  let n = 0;
  for (let t = trigger.nextAfter(from); t !== undefined && t <= to && n < 1000; t = trigger.nextAfter(t)) n++;
  return n;
}
