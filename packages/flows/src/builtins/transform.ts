import { z } from 'zod';
import { defineStepAction, isItemStream, type BuiltinConnector } from '../step-action.js';
import { compile, evaluate, truthy } from './expressions.js';
import { BuiltinError } from './errors.js';
import { expressionField, itemsField } from './schema.js';

const mapInput = z.strictObject({
  items: itemsField('items, the list to map'),
  expression: expressionField('expression, evaluated on each item (for example "$.{ \'sku\': sku }")'),
});

/**
 * Each item goes through the expression with `$index`. A list gives a list; a stream gives a
 * stream (mapped as it is read), so a large source can flow into csv.write with bounded memory.
 */
function eachItem<T>(
  items: readonly unknown[] | AsyncIterable<unknown>,
  fn: (item: unknown, index: number) => Promise<T | typeof SKIP>,
): Promise<T[]> | AsyncIterable<T> {
  if (isItemStream(items)) {
    return (async function* () {
      let index = 0;
      for await (const item of items) {
        const out = await fn(item, index++);
        if (out !== SKIP) yield out;
      }
    })();
  }
  return (async () => {
    const out: T[] = [];
    for (let i = 0; i < items.length; i++) {
      const r = await fn(items[i], i);
      if (r !== SKIP) out.push(r);
    }
    return out;
  })();
}

const SKIP = Symbol('skip');

const map = defineStepAction({
  id: 'map',
  title: 'Map items with JSONata',
  description:
    'Evaluates `expression` (JSONata, written as plain text) on each of `items`, with `$index` bound to its position, and returns the results in order ' +
    '(an item for which it gives nothing becomes null). Example: `expression: "$.{ \'sku\': sku, \'price\': $number(price) }"`. ' +
    'A stream in (from a source) gives a stream out, mapped as it is read.',
  input: mapInput,
  kind: 'read',
  idempotent: true,
  streamsThrough: true,
  run: async (_ctx, input) => {
    const expression = compile('transform.map', 'expression', input.expression);
    const result = eachItem(input.items, async (item, index) => (await evaluate('transform.map', 'expression', expression, item, { index })) ?? null);
    return isItemStream(result) ? result : await result;
  },
});

const filterInput = z.strictObject({
  items: itemsField('items, the list to filter'),
  expression: expressionField('expression, a condition evaluated on each item (for example "price > 0 and status = \'active\'")'),
});

const filter = defineStepAction({
  id: 'filter',
  title: 'Filter items with JSONata',
  description:
    'Keeps the items for which `expression` (JSONata, with `$index`) is true in JSONata\'s sense (`$boolean`: not false, null, 0, "" or empty). ' +
    'A stream in gives a stream out.',
  input: filterInput,
  kind: 'read',
  idempotent: true,
  streamsThrough: true,
  run: async (_ctx, input) => {
    const expression = compile('transform.filter', 'expression', input.expression);
    const result = eachItem(input.items, async (item, index) =>
      truthy(await evaluate('transform.filter', 'expression', expression, item, { index })) ? item : SKIP,
    );
    return isItemStream(result) ? result : await result;
  },
});

const groupInput = z.strictObject({
  items: itemsField('items, the list to group'),
  by: expressionField('by, the expression giving each item\'s group key (for example "category")'),
  value: expressionField('value, the expression for what each group lists (the item itself unless set)').optional(),
});

const group = defineStepAction({
  id: 'group',
  title: 'Group items with JSONata',
  description:
    'Groups `items` by the key `by` gives for each (JSONata), in the order keys first appear: `[{key, count, items}]`. ' +
    '`value` (JSONata) chooses what each group lists instead of the whole item. Items whose key is missing are grouped under null. ' +
    'All groups are held in memory.',
  input: groupInput,
  kind: 'read',
  idempotent: true,
  run: async (_ctx, input) => {
    const by = compile('transform.group', 'by', input.by);
    const value = input.value === undefined ? undefined : compile('transform.group', 'value', input.value);
    const groups = new Map<string, { key: unknown; count: number; items: unknown[] }>();
    const add = async (item: unknown, index: number) => {
      const key = (await evaluate('transform.group', 'by', by, item, { index })) ?? null;
      if (typeof key === 'object' && key !== null) {
        throw new BuiltinError('BAD_VALUE', `transform.group: by gives an object or list for item ${index}, not a key.`, 'Make by give text, a number or true/false.');
      }
      const id = JSON.stringify(key);
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { key, count: 0, items: [] }));
      g.count++;
      g.items.push(value ? ((await evaluate('transform.group', 'value', value, item, { index })) ?? null) : item);
    };
    if (isItemStream(input.items)) {
      let i = 0;
      for await (const item of input.items) await add(item, i++);
    } else {
      for (let i = 0; i < input.items.length; i++) await add(input.items[i], i);
    }
    return [...groups.values()];
  },
});

const set = defineStepAction({
  id: 'set',
  title: 'Set values',
  description:
    'Returns `values` as they are after the engine evaluates their `{% %}` expressions: a step that only names computed values for later steps.',
  input: z.strictObject({
    values: z.record(z.string(), z.unknown(), { error: 'values must be a map of names to values.' }),
  }),
  kind: 'read',
  idempotent: true,
  run: async (_ctx, input) => input.values,
});

const pickInput = z.strictObject({
  from: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())], { error: 'from must be an object or a list of objects.' }),
  fields: z.array(z.string().min(1)).min(1, { error: 'fields must list at least one field name.' }),
});

const pick = defineStepAction({
  id: 'pick',
  title: 'Pick fields',
  description: 'Keeps only `fields` of an object, or of each object in a list; missing fields are left out.',
  input: pickInput,
  kind: 'read',
  idempotent: true,
  run: async (_ctx, input) => {
    const pickOne = (value: unknown, where: string) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new BuiltinError('BAD_VALUE', `transform.pick: ${where} is not an object.`, 'Give an object or a list of objects in from.');
      }
      const record = value as Record<string, unknown>;
      return Object.fromEntries(input.fields.filter((f) => Object.hasOwn(record, f)).map((f) => [f, record[f]]));
    };
    return Array.isArray(input.from) ? input.from.map((v, i) => pickOne(v, `item ${i}`)) : pickOne(input.from, 'from');
  },
});


export const transformConnector: BuiltinConnector = {
  name: 'transform',
  description: 'Reshape data with JSONata: map, filter and group lists (or streams), set named values, pick fields.',
  actions: [map, filter, group, set, pick],
};
