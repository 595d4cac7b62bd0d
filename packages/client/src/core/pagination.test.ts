import { describe, expect, it } from 'vitest';
import { PagePromise, type PageRequest } from './pagination.js';

function pager(
  total: number,
  reportTotal = true,
  options: ConstructorParameters<typeof PagePromise>[3] = { defaultLimit: 1000 },
) {
  const requests: PageRequest[] = [];
  const items = Array.from({ length: total }, (_, i) => i);
  const promise = new PagePromise<{ items: number[]; total?: number }, number>(
    async (req) => {
      requests.push(req);
      return {
        items: items.slice(req.offset, req.offset + req.limit),
        total: reportTotal ? total : undefined,
      };
    },
    (page) => page.items,
    (page) => page.total,
    options,
  );
  return { promise, requests };
}

describe('PagePromise', () => {
  it('awaits one page with the requested limit, lazily', async () => {
    const { promise, requests } = pager(50, true, { defaultLimit: 1000, limit: 10, offset: 5 });
    expect(requests).toHaveLength(0);
    const page = await promise;
    expect(page.items).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(requests).toEqual([{ limit: 10, offset: 5 }]);
  });

  it('iterates every item in full pages and stops on the reported total', async () => {
    const { promise, requests } = pager(8000);
    const seen: number[] = [];
    for await (const item of promise) seen.push(item);
    expect(seen).toHaveLength(8000);
    expect(seen.at(-1)).toBe(7999);
    // Exactly two full pages: the total says there is nothing after the second.
    expect(requests).toEqual([
      { limit: 4000, offset: 0 },
      { limit: 4000, offset: 4000 },
    ]);
  });

  it('without a total, stops on the first short or empty page', async () => {
    const exact = pager(6, false, { defaultLimit: 10, pageSize: 3 });
    expect(await exact.promise.toArray(100)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(exact.requests.map((r) => r.offset)).toEqual([0, 3, 6]);
    const short = pager(7, false, { defaultLimit: 10, pageSize: 3 });
    expect(await short.promise.toArray(100)).toHaveLength(7);
    expect(short.requests.map((r) => r.offset)).toEqual([0, 3, 6]);
  });

  it('honours maxItems without fetching more than needed', async () => {
    const { promise, requests } = pager(100, true, { defaultLimit: 10, pageSize: 30, maxItems: 45 });
    expect(await promise.toArray(1000)).toHaveLength(45);
    expect(requests).toEqual([
      { limit: 30, offset: 0 },
      { limit: 15, offset: 30 },
    ]);
  });

  it('toArray refuses to grow past its max', async () => {
    const { promise } = pager(20, true, { defaultLimit: 10 });
    await expect(promise.toArray(19)).rejects.toThrow(/more than 19 items/);
  });
});
