import ipaddr from 'ipaddr.js';

/**
 * Per-client budgets of CDN render work, so one caller without a key cannot keep every render slot
 * busy. A budget is a token bucket of megapixels: `perMinute` refill continuously, and up to a
 * minute's worth may be spent in a burst. Renders are charged before they start (a burst of
 * concurrent requests cannot all slip in before the first one is counted).
 */
export class RenderBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private takes = 0;

  constructor(
    /** Megapixels per minute per client; 0 or less means no limit. */
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.perMinute > 0;
  }

  /**
   * Charges `megapixels` to `client` when its bucket holds them; returns 0, or the seconds until
   * they fit (nothing charged). A render larger than the whole budget is charged as the whole
   * budget, so it can still run once the bucket is full rather than never.
   */
  take(client: string, megapixels: number): number {
    if (!this.enabled) return 0;
    const cost = Math.min(megapixels, this.perMinute);
    const bucket = this.refilled(client);
    if (++this.takes % 1000 === 0) this.prune();
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    const rate = this.perMinute / 60_000;
    return Math.max(1, Math.ceil((cost - bucket.tokens) / rate / 1000));
  }

  private refilled(client: string): { tokens: number; at: number } {
    const now = this.now();
    let bucket = this.buckets.get(client);
    if (!bucket) {
      bucket = { tokens: this.perMinute, at: now };
      this.buckets.set(client, bucket);
    }
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + ((now - bucket.at) * this.perMinute) / 60_000);
    bucket.at = now;
    return bucket;
  }

  /** A full bucket is the same as none: forget it, so one-off callers do not accumulate. */
  private prune(): void {
    for (const client of [...this.buckets.keys()]) {
      if (this.refilled(client).tokens >= this.perMinute) this.buckets.delete(client);
    }
  }
}

/**
 * Who a budget (and a turn in the render queue) belongs to: an IPv4 address, or an IPv6 /64. A /64
 * is what one subscriber or host is given, so counting its 2^64 addresses apart would hand a caller
 * a fresh budget per request.
 */
export function budgetClient(address: string): string {
  if (!ipaddr.IPv6.isValid(address)) return address;
  const parsed = ipaddr.IPv6.parse(address);
  if (parsed.isIPv4MappedAddress()) return parsed.toIPv4Address().toString();
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${parsed.toString()}/64`).toString()}/64`;
}
