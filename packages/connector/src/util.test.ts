import { PermissionDeniedError } from '@sfx/client';
import { describe, expect, it } from 'vitest';
import { isWholeCallError, mapLimited } from './util.js';

describe('mapLimited', () => {
  it('keeps input order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimited([5, 1, 4, 2, 3], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });

  it('starts no new item after one throws, and throws that error once the running ones ended', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = mapLimited([1, 2, 3, 4, 5, 6], 3, async (n) => {
      started.push(n);
      await new Promise((r) => setTimeout(r, n === 2 ? 1 : 30));
      if (n === 2) throw new Error('boom');
      finished.push(n);
      return n;
    });
    await expect(run).rejects.toThrow('boom');
    // 1 and 3 were running when 2 failed: they ended before the error was thrown.
    expect(finished.sort()).toEqual([1, 3]);
    expect(started.sort()).toEqual([1, 2, 3]);
  });
});

describe('isWholeCallError', () => {
  it('is true for a permission error and false for an ordinary one', () => {
    const denied = Object.create(PermissionDeniedError.prototype) as Error;
    expect(isWholeCallError(denied)).toBe(true);
    expect(isWholeCallError(new Error('x'))).toBe(false);
  });
});
