/** How the client retries transient failures. */
export interface RetryPolicy {
  /** Retries after the first attempt (0 disables retries). Default 3. */
  maxRetries: number;
  /** First backoff delay; doubles each retry. Default 500 ms. */
  initialDelayMs: number;
  /** Ceiling of the backoff delay. Default 8 s. */
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the error is thrown instead. Default 60 s. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 3,
  initialDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

/** Statuses that mean "try again later" whatever the method. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Statuses after which a non-idempotent request provably did not take effect: the server says it
 * refused to start (rate limit, request timeout before the body was read).
 */
export function provesNotApplied(status: number): boolean {
  return status === 408 || status === 429;
}

/**
 * The server's own wait, from `retry-after-ms` (milliseconds) or `Retry-After` (seconds or an
 * HTTP date). `undefined` when absent or unreadable.
 */
export function retryAfterMs(headers: Record<string, string>, now = Date.now()): number | undefined {
  const ms = Number.parseFloat(headers['retry-after-ms'] ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers['retry-after'];
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  if (!/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Capped exponential backoff with jitter. The delay for retry `n` (0-based) lies in
 * [0.75, 1] x min(max, initial x 2^n): enough spread that many clients hit by one outage do not
 * come back in lockstep, without ever waiting longer than the cap.
 */
export function backoffMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** retry);
  return ceiling * (1 - 0.25 * random());
}

/** The wait before the next attempt: the server's hint when it gave one, else the backoff. */
export function delayBeforeRetry(
  policy: RetryPolicy,
  retry: number,
  headers: Record<string, string> | undefined,
  random?: () => number,
): number | 'too-long' {
  const hinted = headers ? retryAfterMs(headers) : undefined;
  if (hinted !== undefined) return hinted > policy.maxRetryAfterMs ? 'too-long' : hinted;
  return backoffMs(policy, retry, random);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Spaces request starts so that no more than `perSecond` begin in any one-second window on average. */
export class RequestRateLimiter {
  private next = 0;
  constructor(private readonly perSecond: number) {}

  async take(signal?: AbortSignal): Promise<void> {
    const now = Date.now();
    const start = Math.max(now, this.next);
    this.next = start + 1000 / this.perSecond;
    if (start > now) await sleep(start - now, signal);
  }
}
