import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateLimiter, WindowLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('allows a minute of burst, then refills at the per-minute rate, per key', () => {
    let now = 0;
    const limiter = new RateLimiter(6, () => now);
    for (let i = 0; i < 6; i++) expect(limiter.take('a')).toBe(0);
    // Empty: one token comes back every 10 s.
    expect(limiter.take('a')).toBe(10);
    expect(limiter.take('b')).toBe(0);
    now += 9_000;
    expect(limiter.take('a')).toBe(1);
    now += 1_000;
    expect(limiter.take('a')).toBe(0);
    now += 600_000;
    for (let i = 0; i < 6; i++) expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBeGreaterThan(0);
  });
});

describe('WindowLimiter', () => {
  it('admits at most the limit in any window, per id; a refused take counts nothing', () => {
    let now = 0;
    const limiter = new WindowLimiter(3, () => now);
    expect(limiter.take('a')).toBe(0);
    now = 20_000;
    expect(limiter.take('a', 2)).toBe(0);
    now = 40_000;
    // Full: the first event leaves the window at 60 s.
    expect(limiter.take('a')).toBe(20);
    expect(limiter.take('b')).toBe(0);
    now = 59_999;
    expect(limiter.wait('a')).toBe(1);
    now = 60_000;
    // One slot is free, two are not (until the 20 s events leave); nothing is counted for the refused pair.
    expect(limiter.take('a', 2)).toBe(20);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a', 4)).toBe(Number.POSITIVE_INFINITY);
    // A per-call limit overrides the default.
    expect(limiter.take('c', 5, 5)).toBe(0);
    expect(limiter.take('c', 1, 5)).toBeGreaterThan(0);
  });

  it('exactly `limit` events fit in every 60 s window however they are spread', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30_000 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 6 }),
        (gaps, limit) => {
          let now = 0;
          const limiter = new WindowLimiter(limit, () => now);
          const admitted: number[] = [];
          for (const gap of gaps) {
            now += gap;
            if (limiter.take('k') === 0) admitted.push(now);
          }
          for (let i = limit; i < admitted.length; i++)
            expect(admitted[i]! - admitted[i - limit]!).toBeGreaterThanOrEqual(60_000);
        },
      ),
    );
  });
});
