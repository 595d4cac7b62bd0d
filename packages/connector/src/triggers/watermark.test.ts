import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { walk, type WalkOptions, type WalkSource, type WatermarkState } from './watermark.js';

/*
 * The walk against an in-memory listing that behaves like the API's: stored times in ms, shown
 * to the second; `>=` filter; sorted by stored time then insertion sequence; offset paging. A
 * hook runs between page requests to change the listing while it is being walked.
 */

interface Row {
  id: string;
  at: number;
  seq: number;
}

class Listing {
  rows: Row[] = [];
  private seq = 0;
  requests = 0;
  between: ((request: number) => void) | undefined;

  add(id: string, at: number): void {
    this.rows = this.rows.filter((r) => r.id !== id);
    this.rows.push({ id, at, seq: this.seq++ });
  }

  remove(id: string): void {
    this.rows = this.rows.filter((r) => r.id !== id);
  }

  source(): WalkSource<{ id: string; shown: number }> {
    return {
      page: async (after, offset, limit) => {
        this.between?.(this.requests);
        this.requests++;
        const min = after === null ? -Infinity : Date.parse(after);
        return [...this.rows]
          .filter((r) => r.at >= min)
          .sort((a, b) => a.at - b.at || a.seq - b.seq)
          .slice(offset, offset + limit)
          .map((r) => ({ id: r.id, shown: Math.floor(r.at / 1000) * 1000 }));
      },
      timestamp: (item) => item.shown,
      id: (item) => item.id,
    };
  }
}

const START: WatermarkState = { watermark: null, seen: [], truncated: false };
const opts = (extra: Partial<WalkOptions> = {}): WalkOptions => ({ pageSize: 4, maxItems: 1000, maxSeen: 1000, maxRestarts: 50, ...extra });
const T = Date.parse('2026-03-01T10:00:00Z');

async function run(listing: Listing, state: WatermarkState, extra: Partial<WalkOptions> = {}) {
  const result = await walk(listing.source(), state, opts(extra));
  return { ...result, ids: result.items.map((i) => i.id) };
}

describe('walk', () => {
  it('emits a burst spread over many pages in full, in order, and nothing on the next walk', async () => {
    const listing = new Listing();
    for (let i = 0; i < 25; i++) listing.add(`a${i}`, T + i * 7);
    const first = await run(listing, START);
    expect(first.ids).toEqual(Array.from({ length: 25 }, (_, i) => `a${i}`));
    expect(first.pages).toBeGreaterThan(6);
    expect(first.state.watermark).toBe('2026-03-01T10:00:00.000Z');
    expect(first.state.seen).toHaveLength(25);
    const again = await run(listing, JSON.parse(JSON.stringify(first.state)) as WatermarkState);
    expect(again.ids).toEqual([]);
  });

  it('emits items that arrive later in the watermark second once, and the earlier ones not again', async () => {
    const listing = new Listing();
    listing.add('x1', T + 100);
    listing.add('x2', T + 200);
    const first = await run(listing, START);
    listing.add('x3', T + 900);
    listing.add('y1', T + 1500);
    const second = await run(listing, first.state);
    expect(second.ids).toEqual(['x3', 'y1']);
    expect(second.state).toEqual({ watermark: '2026-03-01T10:00:01.000Z', seen: ['y1'], truncated: false });
  });

  it('does not skip an item when an earlier one leaves the listing between pages', async () => {
    const listing = new Listing();
    for (let i = 0; i < 12; i++) listing.add(`f${i}`, T + i);
    // After the first page (f0-f3), f1 is deleted: plain offset paging would now skip f4.
    listing.between = (request) => {
      if (request === 1) listing.remove('f1');
    };
    const result = await run(listing, START);
    expect(result.ids).toEqual(Array.from({ length: 12 }, (_, i) => `f${i}`));
    expect(result.restarts).toBeGreaterThanOrEqual(1);
  });

  it('emits an item changed during the walk again with its new time (a new update), and nothing twice', async () => {
    const listing = new Listing();
    for (let i = 0; i < 10; i++) listing.add(`u${i}`, T + i * 100);
    listing.between = (request) => {
      if (request === 2) listing.add('u0', T + 5000);
    };
    const result = await run(listing, START);
    expect(result.ids).toEqual([...Array.from({ length: 10 }, (_, i) => `u${i}`), 'u0']);
  });

  it('stops at maxItems and carries on from there on the next walk', async () => {
    const listing = new Listing();
    for (let i = 0; i < 9; i++) listing.add(`m${i}`, T + 10 * i);
    const first = await run(listing, START, { maxItems: 4 });
    expect(first.ids).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(first.more).toBe(true);
    const second = await run(listing, first.state, { maxItems: 4 });
    expect(second.ids).toEqual(['m4', 'm5', 'm6', 'm7']);
    const third = await run(listing, second.state, { maxItems: 4 });
    expect([third.ids, third.more]).toEqual([['m8'], false]);
  });

  it('keeps seen bounded and still emits neither twice nor too little when one second holds more', async () => {
    const listing = new Listing();
    for (let i = 0; i < 30; i++) listing.add(`s${i}`, T + i);
    const first = await run(listing, START, { maxSeen: 5 });
    expect(first.ids).toHaveLength(30);
    expect(first.state.seen).toEqual(['s25', 's26', 's27', 's28', 's29']);
    expect(first.state.truncated).toBe(true);
    // Some of the forgotten ones change (they leave the second); new ones arrive in it.
    listing.add('s3', T + 5000);
    listing.remove('s7');
    listing.add('n1', T + 600);
    listing.add('n2', T + 700);
    const second = await run(listing, first.state, { maxSeen: 5 });
    expect(second.ids).toEqual(['n1', 'n2', 's3']);
  });

  it('emits the forgotten ones again (at least once, never lost) only when every remembered one left', async () => {
    const listing = new Listing();
    for (let i = 0; i < 8; i++) listing.add(`r${i}`, T + i);
    const first = await run(listing, START, { maxSeen: 3 });
    expect(first.state.seen).toEqual(['r5', 'r6', 'r7']);
    for (const id of ['r5', 'r6', 'r7']) listing.remove(id);
    listing.add('late', T + 900);
    const second = await run(listing, first.state, { maxSeen: 3 });
    expect(second.ids).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'late']);
  });

  it('gives up after maxRestarts when the listing keeps moving, keeping what it emitted', async () => {
    const listing = new Listing();
    for (let i = 0; i < 40; i++) listing.add(`c${i}`, T + i);
    // Every request finds the oldest item deleted: every page after the first has shifted.
    listing.between = (request) => {
      if (request > 0) listing.remove(listing.rows[0]!.id);
    };
    const result = await run(listing, START, { maxRestarts: 3 });
    expect(result.more).toBe(true);
    expect(result.restarts).toBe(4);
    expect(new Set(result.ids).size).toBe(result.ids.length);
    // Whatever was emitted is remembered, so the next walk does not emit it again.
    listing.between = undefined;
    const next = await run(listing, result.state);
    expect(next.ids.filter((id) => result.ids.includes(id))).toEqual([]);
    expect([...result.ids, ...next.ids].sort()).toEqual(expect.arrayContaining(listing.rows.map((r) => r.id).sort()));
  });

  it('never loses or repeats an item version, whatever changes between pages (property)', async () => {
    type Op = { kind: 'add'; id: number; dt: number } | { kind: 'remove'; id: number } | { kind: 'poll' };
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), id: fc.integer({ min: 0, max: 15 }), dt: fc.integer({ min: 0, max: 2500 }) }),
      fc.record({ kind: fc.constant('remove' as const), id: fc.integer({ min: 0, max: 15 }) }),
      fc.record({ kind: fc.constant('poll' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.integer({ min: 2, max: 5 }), async (ops, pageSize) => {
        const listing = new Listing();
        let clock = T;
        let state: WatermarkState = START;
        const emitted: string[] = [];
        const queue = [...ops];
        // Changes happen both between polls and between the pages of a poll; the clock only moves forward.
        const apply = (next: Op): void => {
          if (next.kind === 'add') {
            clock += next.dt;
            listing.add(`i${next.id}`, clock);
          } else if (next.kind === 'remove') listing.remove(`i${next.id}`);
        };
        listing.between = () => {
          const next = queue[0];
          if (next && next.kind !== 'poll') apply(queue.shift()!);
        };
        const poll = async (): Promise<void> => {
          const result = await walk(listing.source(), state, opts({ pageSize, maxRestarts: 1000 }));
          emitted.push(...result.items.map((i) => `${i.id}@${i.shown}`));
          state = JSON.parse(JSON.stringify(result.state)) as WatermarkState;
        };
        while (queue.length > 0) {
          const next = queue.shift()!;
          if (next.kind === 'poll') await poll();
          else apply(next);
        }
        listing.between = undefined;
        await poll();
        // Each version (id at a shown time) once at most; every item still listed, as it is now, at least once.
        expect(new Set(emitted).size).toBe(emitted.length);
        for (const row of listing.rows) expect(emitted).toContain(`${row.id}@${Math.floor(row.at / 1000) * 1000}`);
      }),
      { numRuns: 300 },
    );
  });
});
