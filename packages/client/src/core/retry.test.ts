import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffMs, DEFAULT_RETRY, delayBeforeRetry, RequestRateLimiter, retryAfterMs } from './retry.js';

describe('retryAfterMs', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads seconds, milliseconds and HTTP dates', () => {
    expect(retryAfterMs({ 'retry-after': '3' }, now)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': '0' }, now)).toBe(0);
    expect(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' }, now)).toBe(250);
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now)).toBe(5000);
    expect(retryAfterMs({ 'retry-after': 'Wed, 31 Dec 2025 23:00:00 GMT' }, now)).toBe(0);
  });
  it('ignores absent or unreadable values', () => {
    expect(retryAfterMs({}, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': '-4' }, now)).toBeUndefined();
  });
});

describe('backoff', () => {
  it('stays within [0.75, 1] of the capped exponential', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, r) => {
          const ceiling = Math.min(DEFAULT_RETRY.maxDelayMs, DEFAULT_RETRY.initialDelayMs * 2 ** retry);
          const delay = backoffMs(DEFAULT_RETRY, retry, () => r);
          return delay <= ceiling && delay >= ceiling * 0.75;
        },
      ),
    );
  });
  it('prefers the server hint and refuses one beyond the cap', () => {
    expect(delayBeforeRetry(DEFAULT_RETRY, 5, { 'retry-after': '2' })).toBe(2000);
    expect(delayBeforeRetry(DEFAULT_RETRY, 0, { 'retry-after': '3600' })).toBe('too-long');
    expect(delayBeforeRetry(DEFAULT_RETRY, 0, {}, () => 0)).toBe(500);
  });
});

describe('RequestRateLimiter', () => {
  it('spaces starts to the configured rate', async () => {
    const limiter = new RequestRateLimiter(20);
    const started = Date.now();
    for (let i = 0; i < 6; i++) await limiter.take();
    // Six starts at 20/s: the sixth waits ~250 ms after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(230);
  });
});
