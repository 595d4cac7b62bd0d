/*
 * The walk behind the polling triggers: every item at or after a timestamp watermark, in
 * ascending timestamp order, across every page, each emitted once.
 *
 * What it has to cope with (and the local server and the real API both do this):
 * - Timestamps have one-second granularity in replies, so many items share one. The filter is
 *   inclusive (`created_after`/`updated_after` are `>=`), so the watermark's own second is read
 *   again on the next poll and the ids already emitted in that second are skipped (`seen`).
 * - The API pages by offset. An item that leaves the listing while it is walked (deleted, or for
 *   "updated" modified again, which moves it to the end) shifts every later item back by one, and
 *   plain offset paging would then skip one. Pages overlap by one item: when the first item of a
 *   page is not the last of the one before, the listing moved, and the walk starts again from the
 *   newest second it emitted (skipping what it already emitted there).
 * - `seen` is bounded. When one second holds more items than it may remember, the earliest are
 *   forgotten and the state says so (`truncated`). They sort before the remembered ones (items
 *   keep their order, newcomers go last), so in that second everything before the first
 *   remembered item was emitted already. Only if every remembered item left that second since can
 *   the forgotten ones not be told from new ones: they are then emitted again (at least once,
 *   never lost).
 */

export interface WatermarkState {
  /** ISO 8601: items before it were all emitted. `null`: from the beginning. */
  watermark: string | null;
  /** Ids emitted whose timestamp is the watermark's, in listing order (oldest first). */
  seen: string[];
  /** Some ids emitted in the watermark's second were dropped from `seen` to keep it bounded. */
  truncated: boolean;
}

export interface WalkSource<T> {
  /** One page of the items with timestamp >= `after` (all when null), ascending, ties in a stable order. */
  page(after: string | null, offset: number, limit: number): Promise<readonly T[]>;
  /** The item's timestamp in ms since the epoch. */
  timestamp(item: T): number;
  id(item: T): string;
  /** Whether to emit the item; items not accepted still move the watermark. Default: all. */
  accept?(item: T): boolean;
}

export interface WalkOptions {
  /** Items per request; at least 2 (pages overlap by one). */
  pageSize: number;
  /** Most items emitted by one walk; the rest wait for the next (`more: true`). */
  maxItems: number;
  /** Most ids remembered for the watermark's second. */
  maxSeen: number;
  /** Most restarts after the listing moved under the walk before it stops (`more: true`). */
  maxRestarts: number;
  signal?: AbortSignal;
}

export interface WalkResult<T> {
  items: T[];
  state: WatermarkState;
  /** The walk stopped early (item cap, or the listing kept moving): poll again soon. */
  more: boolean;
  /** Requests made and restarts taken, for logs and tests. */
  pages: number;
  restarts: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export async function walk<T>(source: WalkSource<T>, start: WatermarkState, options: WalkOptions): Promise<WalkResult<T>> {
  const pageSize = Math.max(2, Math.floor(options.pageSize));
  let watermark = start.watermark === null ? null : Date.parse(start.watermark);
  if (watermark !== null && !Number.isFinite(watermark)) throw new RangeError(`watermark ${JSON.stringify(start.watermark)} is not a date`);
  let seen = new Set(start.seen);
  let truncated = start.truncated && seen.size > 0;
  const items: T[] = [];
  let more = false;
  let pages = 0;
  let restarts = 0;

  let offset = 0;
  let previous: T | undefined;
  // In a truncated second: has a remembered item shown up yet, and how many were passed before it.
  let metSeen = !truncated;
  let passed = 0;
  const restart = (): void => {
    offset = 0;
    previous = undefined;
    metSeen = !truncated;
    passed = 0;
  };

  walking: for (;;) {
    options.signal?.throwIfAborted();
    const page = await source.page(watermark === null ? null : iso(watermark), offset, pageSize);
    pages++;
    let fresh: readonly T[] = page;
    if (previous !== undefined) {
      const first = page[0];
      if (first === undefined || source.id(first) !== source.id(previous) || source.timestamp(first) !== source.timestamp(previous)) {
        if (++restarts > options.maxRestarts) {
          more = true;
          break;
        }
        restart();
        continue;
      }
      fresh = page.slice(1);
    }
    for (const item of fresh) {
      const at = source.timestamp(item);
      const id = source.id(item);
      if (watermark !== null && at < watermark) continue;
      if (watermark !== null && at === watermark) {
        if (seen.has(id)) {
          metSeen = true;
          continue;
        }
        if (!metSeen) {
          passed++;
          continue;
        }
      } else if (!metSeen && passed > 0) {
        // Every remembered item left the watermark's second: what was passed may be new.
        truncated = false;
        if (++restarts > options.maxRestarts) {
          more = true;
          break walking;
        }
        restart();
        continue walking;
      }
      if (source.accept?.(item) ?? true) {
        if (items.length >= options.maxItems) {
          more = true;
          break walking;
        }
        items.push(item);
      }
      if (watermark === null || at > watermark) {
        watermark = at;
        seen = new Set([id]);
        truncated = false;
        metSeen = true;
      } else {
        seen.add(id);
        if (seen.size > options.maxSeen) {
          for (const oldest of seen) {
            seen.delete(oldest);
            break;
          }
          truncated = true;
        }
      }
    }
    if (page.length < pageSize) {
      if (!metSeen && passed > 0) {
        truncated = false;
        if (++restarts > options.maxRestarts) {
          more = true;
          break;
        }
        restart();
        continue;
      }
      break;
    }
    previous = page[page.length - 1];
    offset += page.length - 1;
  }

  return {
    items,
    state: { watermark: watermark === null ? null : iso(watermark), seen: [...seen], truncated },
    more,
    pages,
    restarts,
  };
}
