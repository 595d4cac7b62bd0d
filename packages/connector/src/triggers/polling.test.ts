import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePollingTrigger, type PollSource } from './polling.js';

interface Item {
  id: string;
  at: number;
}

/** An in-memory listing with whole-second timestamps and an inclusive `after`, like the API's. */
function listing(items: Item[], hooks: { afterNewest?: () => void } = {}): PollSource<Item> {
  const sorted = () => [...items].sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
  return {
    async page(after, offset, limit) {
      const from = after === null ? -Infinity : Date.parse(after);
      return sorted()
        .filter((i) => i.at >= from)
        .slice(offset, offset + limit);
    },
    timestamp: (i) => i.at,
    id: (i) => i.id,
    async newest() {
      const last = sorted().at(-1);
      hooks.afterNewest?.();
      return last;
    },
    async recent(count) {
      return sorted().reverse().slice(0, count);
    },
  };
}

function triggerOver(source: PollSource<Item>) {
  return definePollingTrigger({
    id: 'test.items',
    title: 'Items',
    description: 'Items of an in-memory listing.',
    group: 'test',
    permissions: [],
    endpoint: 'documented',
    input: z.strictObject({}),
    output: z.strictObject({ id: z.string(), at: z.number() }),
    example: () => ({}),
    source: () => source,
  });
}

const ctx = { client: undefined as never };
const T0 = Date.parse('2026-11-23T10:00:00Z');

describe('a first poll', () => {
  it('emits an item that arrived after "now" was read, instead of marking it seen', async () => {
    const items: Item[] = [{ id: 'old', at: T0 }];
    const trigger = triggerOver(listing(items, { afterNewest: () => items.push({ id: 'racer', at: T0 + 2000 }) }));
    const first = await trigger.poll(ctx, {});
    expect(first.items.map((i) => i.id)).toEqual(['racer']);
    const second = await trigger.poll(ctx, {}, first.state);
    expect(second.items).toEqual([]);
  });

  it('on an empty listing starts from now, so old items that appear later are not new', async () => {
    const items: Item[] = [];
    const trigger = triggerOver(listing(items));
    const first = await trigger.poll(ctx, {});
    expect(first.state.watermark).not.toBeNull();
    items.push({ id: 'moved-in-old', at: T0 }, { id: 'fresh', at: Date.now() + 5000 });
    const second = await trigger.poll(ctx, {}, first.state);
    expect(second.items.map((i) => i.id)).toEqual(['fresh']);
  });
});
