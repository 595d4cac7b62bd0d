import { describe, expect, it } from 'vitest';
import { action, makeContext, runAction } from './context.test-util.js';

const ctx = makeContext('/tmp');
const ROWS = [
  { sku: 'A', cat: 'chair', price: '12.5' },
  { sku: 'B', cat: 'lamp', price: '0' },
  { sku: 'C', cat: 'chair', price: '3' },
];

describe('transform', () => {
  it('maps each item with $index', async () => {
    expect(await runAction(ctx, 'transform', 'map', { items: ROWS, expression: "$.{ 'sku': sku, 'n': $index, 'price': $number(price) }" })).toEqual([
      { sku: 'A', n: 0, price: 12.5 },
      { sku: 'B', n: 1, price: 0 },
      { sku: 'C', n: 2, price: 3 },
    ]);
    expect(await runAction(ctx, 'transform', 'map', { items: [{ a: 1 }, {}], expression: 'a' })).toEqual([1, null]);
  });

  it('filters by JSONata truth, and maps a stream lazily into a stream', async () => {
    expect(await runAction(ctx, 'transform', 'filter', { items: ROWS, expression: "$number(price) > 1 and cat = 'chair'" })).toEqual([ROWS[0], ROWS[2]]);
    let pulled = 0;
    async function* source() {
      for (const r of ROWS) {
        pulled++;
        yield r;
      }
    }
    const out = (await runAction(ctx, 'transform', 'map', { items: source(), expression: 'sku' })) as AsyncIterable<unknown>;
    expect(pulled).toBe(0);
    const got: unknown[] = [];
    for await (const x of out) got.push(x);
    expect(got).toEqual(['A', 'B', 'C']);
  });

  it('groups by a key in first-seen order, with an optional value', async () => {
    expect(await runAction(ctx, 'transform', 'group', { items: ROWS, by: 'cat', value: 'sku' })).toEqual([
      { key: 'chair', count: 2, items: ['A', 'C'] },
      { key: 'lamp', count: 1, items: ['B'] },
    ]);
  });

  it('compiles once and reports a bad expression with its position before touching any item', async () => {
    let pulled = 0;
    const items = {
      async *[Symbol.asyncIterator]() {
        pulled++;
        yield 1;
      },
    };
    await expect(runAction(ctx, 'transform', 'map', { items, expression: 'a +' })).rejects.toThrow(/expression is not a valid JSONata expression at character/);
    expect(pulled).toBe(0);
    const parsed = action('transform', 'map').input.safeParse({ items: 'nope', expression: 'a' });
    expect(parsed.error?.issues[0]?.message).toMatch(/needs items.*a list, or a stream/);
  });

  it('sets values and picks fields', async () => {
    expect(await runAction(ctx, 'transform', 'set', { values: { a: 1 } })).toEqual({ a: 1 });
    expect(await runAction(ctx, 'transform', 'pick', { from: ROWS, fields: ['sku', 'missing'] })).toEqual([{ sku: 'A' }, { sku: 'B' }, { sku: 'C' }]);
    await expect(runAction(ctx, 'transform', 'pick', { from: [1], fields: ['a'] })).rejects.toThrow(/item 0 is not an object/);
  });
});

describe('log', () => {
  it('logs through the context at its level and returns what it logged', async () => {
    const c = makeContext('/tmp');
    expect(await runAction(c, 'log', 'warn', { message: 'low stock', fields: { sku: 'A' } })).toEqual({ level: 'warn', message: 'low stock', fields: { sku: 'A' } });
    await runAction(c, 'log', 'info', { message: 'done' });
    expect(c.logs).toEqual([
      { level: 'warn', message: 'low stock', fields: { sku: 'A' } },
      { level: 'info', message: 'done', fields: undefined },
    ]);
    expect(action('log', 'info').input.safeParse({}).error?.issues[0]?.message).toMatch(/message is required/);
  });
});
