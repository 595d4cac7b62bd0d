/**
 * Time as the triggers see it: the current time and one-shot timers. Injected, so a test moves
 * time forward by hand instead of waiting for a cron tick or a poll interval.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Calls `fn` once, `ms` from now. */
  setTimer(fn: () => void, ms: number): TimerHandle;
}

/** setTimeout holds at most 2^31 - 1 ms (24.8 days): longer waits (a yearly cron) are chained. */
const MAX_TIMEOUT = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const at = Date.now() + Math.max(0, ms);
    let timer: NodeJS.Timeout;
    const arm = (): void => {
      const left = at - Date.now();
      timer = left > MAX_TIMEOUT ? setTimeout(arm, MAX_TIMEOUT) : setTimeout(fn, Math.max(0, left));
    };
    arm();
    return { cancel: () => clearTimeout(timer) };
  },
};

interface ManualTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told. `advance` fires the timers that fall due, in time order, at
 * their own instant (so `now()` inside a timer is its due time), letting pending I/O and promise
 * callbacks run after each.
 */
export class ManualClock implements Clock {
  private timers: ManualTimer[] = [];
  private seq = 0;

  constructor(private time: number) {}

  now(): number {
    return this.time;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return { cancel: () => (this.timers = this.timers.filter((t) => t !== timer)) };
  }

  /** When the next timer is due, if any. */
  nextTimer(): number | undefined {
    return this.timers.reduce<number | undefined>(
      (min, t) => (min === undefined || t.at < min ? t.at : min),
      undefined,
    );
  }

  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.time + ms);
  }

  async advanceTo(target: number): Promise<void> {
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.fn();
      await settle();
    }
    this.time = Math.max(this.time, target);
    await settle();
  }
}

/** Lets promise callbacks and ready I/O callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
