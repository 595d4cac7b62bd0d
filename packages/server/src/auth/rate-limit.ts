/**
 * Per-key request budgets (token buckets): `perMinute` requests, refilled continuously, with up to
 * a minute's worth usable in a burst. Used for the server's optional per-key limit, and the place
 * where security-template limits plug in.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one request from `id`'s budget; returns 0 when allowed, else the seconds until one is. */
  take(id: string): number {
    const now = this.now();
    const rate = this.perMinute / 60_000;
    const bucket = this.buckets.get(id) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    this.buckets.set(id, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / rate / 1000));
  }
}

/**
 * Exact "at most `limit` per `windowMs`" quotas (sliding-window log), for the limits a security
 * template documents: a token bucket refilling continuously would let nearly twice the quota
 * through in the first minute. Memory is one timestamp per counted event still in the window.
 */
export class WindowLimiter {
  private readonly logs = new Map<string, number[]>();
  private calls = 0;

  constructor(
    private readonly limit: number,
    private readonly now: () => number = Date.now,
    private readonly windowMs = 60_000,
  ) {}

  /**
   * Seconds until `cost` more events fit for `id` (0 when they fit now); counts nothing. `limit`
   * overrides the constructor's for quotas that vary per caller (a template's own limit).
   */
  wait(id: string, cost = 1, limit = this.limit): number {
    const log = this.live(id);
    const over = log.length + cost - limit;
    if (over <= 0) return 0;
    // More than the whole quota can never fit; the caller reports that as a different error.
    if (cost > limit) return Number.POSITIVE_INFINITY;
    const freedAt = log[over - 1]! + this.windowMs;
    return Math.max(1, Math.ceil((freedAt - this.now()) / 1000));
  }

  /** Counts `cost` events for `id` when they fit; returns 0, or the seconds to wait (nothing counted). */
  take(id: string, cost = 1, limit = this.limit): number {
    const wait = this.wait(id, cost, limit);
    if (wait > 0) return wait;
    const log = this.logs.get(id) ?? [];
    const at = this.now();
    for (let i = 0; i < cost; i++) log.push(at);
    this.logs.set(id, log);
    if (++this.calls % 1000 === 0) this.prune();
    return 0;
  }

  /** Gives back `cost` events counted for `id` (the newest), for a reservation that was not used. */
  release(id: string, cost = 1): void {
    const log = this.logs.get(id);
    if (!log) return;
    log.splice(Math.max(0, log.length - cost), cost);
    if (log.length === 0) this.logs.delete(id);
  }

  private live(id: string): number[] {
    const log = this.logs.get(id);
    if (!log) return [];
    const cutoff = this.now() - this.windowMs;
    let expired = 0;
    while (expired < log.length && log[expired]! <= cutoff) expired++;
    if (expired > 0) log.splice(0, expired);
    if (log.length === 0) this.logs.delete(id);
    return log;
  }

  /** Drops ids whose events have all left the window, so one-off callers do not accumulate. */
  private prune(): void {
    for (const id of [...this.logs.keys()]) this.live(id);
  }
}
