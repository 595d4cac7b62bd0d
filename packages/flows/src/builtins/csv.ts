import { createReadStream } from 'node:fs';
import { parse, type Info, type Options as ParseOptions } from 'csv-parse';
import { stringify } from 'csv-stringify';
import { z } from 'zod';
import { defineStepAction, isItemStream, type BuiltinConnector, type SourceItem, type StepContext } from '../step-action.js';
import { BuiltinError } from './errors.js';
import { resolvePath, statFile, writeAtomically, writeChunk } from './files.js';
import { itemsField, pathField } from './schema.js';

const delimiter = z
  .string({ error: 'delimiter must be text, such as "," or ";" or "\\t".' })
  .min(1, { error: 'delimiter must not be empty: give "," or ";" or "\\t".' })
  .default(',');

const typeName = z.enum(['string', 'number', 'integer', 'boolean', 'json'], {
  error: 'a column type must be "string", "number", "integer", "boolean" or "json".',
});

const readInput = z
  .strictObject({
    path: pathField('the CSV file to read'),
    header: z.boolean({ error: 'header must be true (the first row names the columns) or false.' }).default(true),
    columns: z
      .union([z.literal(true), z.array(z.string().min(1)).min(1), z.record(z.string(), z.string().min(1))], {
        error: 'columns must be true (use the header row), a list of names (one per column, in order), or a map from header names to the keys items get.',
      })
      .default(true),
    delimiter,
    quote: z.string().length(1, { error: 'quote must be one character, such as \'"\'.' }).default('"'),
    skipEmptyLines: z.boolean({ error: 'skipEmptyLines must be true or false.' }).default(true),
    trim: z.boolean({ error: 'trim must be true or false.' }).default(true),
    relaxColumnCount: z.boolean({ error: 'relaxColumnCount must be true or false.' }).default(false),
    types: z
      .union([z.literal('auto'), z.record(z.string(), typeName)], {
        error: 'types must be "auto" (numbers and true/false are converted) or a map from item keys to "string", "number", "integer", "boolean" or "json".',
      })
      .optional(),
  })
  .superRefine((input, ctx) => {
    if (input.columns === true && !input.header) {
      ctx.addIssue({ code: 'custom', path: ['columns'], message: 'a file without a header row (header: false) needs columns: a list of names, one per column.' });
    }
    if (typeof input.columns === 'object' && !Array.isArray(input.columns) && !input.header) {
      ctx.addIssue({ code: 'custom', path: ['columns'], message: 'a rename map needs the header row (header: true); for a file without one give a list of names.' });
    }
  });

type ReadInput = z.output<typeof readInput>;

const read = defineStepAction({
  id: 'read',
  title: 'Read CSV rows',
  description:
    'Streams the rows of a CSV file as items, one object per row. By default the first row names the columns (`header: true`, `columns: true`); ' +
    '`columns` can instead rename them (`{"Product SKU": sku}`: header names to item keys; other columns keep their names) ' +
    'or, for a file without a header row (`header: false`), name them by position (`[sku, name, price]`). ' +
    'Fields are trimmed and empty lines skipped unless `trim: false` / `skipEmptyLines: false`; values stay text unless `types` converts them ' +
    '(`auto`, or per key: string, number, integer, boolean, json). ' +
    'A source for `forEach`: rows are read as they are needed, so files of millions of rows use little memory, and a resumed run re-opens the file ' +
    'at the byte where the next row starts.',
  input: readInput,
  kind: 'read',
  idempotent: true,
  items: (ctx, input, after) => readRows(ctx, input, after),
});

async function* readRows(ctx: StepContext, input: ReadInput, after?: string): AsyncGenerator<SourceItem> {
  const absolute = resolvePath(ctx, input.path);
  const stats = await statFile('csv.read', absolute, input.path);
  let start = after === undefined ? 0 : parseOffset(after, stats.size, input.path);
  const dialect: ParseOptions = {
    delimiter: input.delimiter,
    quote: input.quote,
    skip_empty_lines: input.skipEmptyLines,
    trim: input.trim,
    relax_column_count: input.relaxColumnCount,
  };

  let names: string[];
  // Lines before `start`, when known, so messages give the file's line numbers (not on resume).
  let linesBefore: number | undefined = after === undefined ? 0 : undefined;
  if (input.header) {
    // The header is read from the start of the file even on resume (it is the first record, cheap);
    // the data is then parsed from the cursor's byte with these names.
    const header = await readHeader(absolute, dialect, ctx.signal);
    if (!header) return;
    if (start < header.end) start = header.end;
    if (linesBefore !== undefined) linesBefore = header.lines;
    names = columnKeys(header.names, input.columns, input.path);
  } else {
    names = input.columns as string[];
  }
  if (start >= stats.size) return;

  const parser = createReadStream(absolute, { start, signal: ctx.signal }).pipe(
    parse({ ...dialect, bom: start === 0, info: true, columns: names }),
  );
  const where = (info: Info) => (linesBefore !== undefined ? `line ${linesBefore + info.lines}` : `the row ending at byte ${start + info.bytes}`);
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: Info }>) {
      const item = input.types ? convert(record, input.types, () => `csv.read: "${input.path}" ${where(info)}`) : record;
      yield { item, cursor: String(start + info.bytes) };
    }
  } catch (err) {
    throw parseError(err, input.path, start, linesBefore);
  } finally {
    parser.destroy();
  }
}

function parseOffset(cursor: string, size: number, shown: string): number {
  const offset = Number(cursor);
  if (!/^\d+$/.test(cursor) || !Number.isSafeInteger(offset) || offset > size) {
    throw new BuiltinError('BAD_CURSOR', `csv.read: the resume cursor "${cursor}" is not a byte offset within "${shown}" (${size} bytes).`, 'Was the file replaced since the run started? Start a new run.');
  }
  return offset;
}

async function readHeader(absolute: string, dialect: ParseOptions, signal: AbortSignal): Promise<{ names: string[]; end: number; lines: number } | undefined> {
  const parser = createReadStream(absolute, { signal }).pipe(parse({ ...dialect, bom: true, info: true, to: 1 }));
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: Info }>) {
      return { names: record, end: info.bytes, lines: info.lines };
    }
    return undefined;
  } finally {
    parser.destroy();
  }
}

function columnKeys(header: string[], columns: ReadInput['columns'], shown: string): string[] {
  if (columns === true) return header;
  if (Array.isArray(columns)) return columns;
  const missing = Object.keys(columns).filter((name) => !header.includes(name));
  if (missing.length > 0) {
    throw new BuiltinError(
      'BAD_VALUE',
      `csv.read: "${shown}" has no column ${missing.map((m) => `"${m}"`).join(', ')} to rename.`,
      `Its header has: ${header.map((h) => `"${h}"`).join(', ')}.`,
    );
  }
  return header.map((name) => columns[name] ?? name);
}

type TypeName = z.output<typeof typeName>;

function convert(record: Record<string, string>, types: 'auto' | Record<string, TypeName>, where: () => string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...record };
  if (types === 'auto') {
    for (const [key, value] of Object.entries(record)) out[key] = autoValue(value);
    return out;
  }
  for (const [key, type] of Object.entries(types)) {
    const value = record[key];
    if (value === undefined) continue;
    out[key] = typed(value, type, () => `${where()}, column "${key}"`);
  }
  return out;
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function autoValue(value: string): unknown {
  if (NUMBER.test(value)) return Number(value);
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

function typed(value: string, type: TypeName, where: () => string): unknown {
  if (type === 'string') return value;
  if (value === '') return null;
  const bad = (what: string) =>
    new BuiltinError('BAD_VALUE', `${where()}: "${value.length > 40 ? `${value.slice(0, 40)}…` : value}" is not ${what}.`, 'Fix the file, or change the column\'s type in types.');
  switch (type) {
    case 'number':
      if (!NUMBER.test(value)) throw bad('a number');
      return Number(value);
    case 'integer':
      if (!/^[-+]?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw bad('a whole number');
      return Number(value);
    case 'boolean': {
      const lower = value.toLowerCase();
      if (['true', 'yes', '1'].includes(lower)) return true;
      if (['false', 'no', '0'].includes(lower)) return false;
      throw bad('true or false (or yes/no, 1/0)');
    }
    case 'json':
      try {
        return JSON.parse(value) as unknown;
      } catch {
        throw bad('JSON');
      }
  }
}

function parseError(err: unknown, shown: string, start: number, linesBefore: number | undefined): Error {
  if (err instanceof BuiltinError || !(err instanceof Error) || !('code' in err) || !String(err.code).startsWith('CSV_')) {
    return err instanceof Error ? err : new Error(String(err));
  }
  const message =
    linesBefore === undefined
      ? `${err.message} (reading from byte ${start}, so lines count from there)`
      : err.message.replace(/\bline (\d+)/g, (_, n: string) => `line ${Number(n) + linesBefore}`);
  return new BuiltinError('PARSE_ERROR', `csv.read: "${shown}" is not valid CSV: ${message}.`, 'Check the delimiter and quote settings, or set relaxColumnCount: true for rows with missing fields.');
}

const columnsSpec = z.union(
  [z.array(z.string().min(1)).min(1), z.record(z.string(), z.string())],
  { error: 'columns must be a list of item keys (in column order) or a map from item keys to header names.' },
);

const writeInput = z.strictObject({
  path: pathField('the CSV file to write'),
  rows: itemsField('rows'),
  columns: columnsSpec.optional(),
  header: z.boolean({ error: 'header must be true or false.' }).default(true),
  delimiter,
  bom: z.boolean({ error: 'bom must be true or false.' }).default(false),
  overwrite: z.boolean({ error: 'overwrite must be true or false.' }).default(true),
  mkdirs: z.boolean({ error: 'mkdirs must be true or false.' }).default(true),
});

const write = defineStepAction({
  id: 'write',
  title: 'Write CSV rows',
  description:
    'Writes `rows` (a list, or a stream from a source or a loop, written as it comes so millions of rows use little memory) to a CSV file, ' +
    'atomically (a temporary file renamed over the target when complete). `columns` chooses and orders the columns: a list of item keys, ' +
    'or a map from item keys to header names; without it, the first row\'s keys are used. Values that are objects or lists are written as JSON, ' +
    'dates as ISO 8601, null as an empty field. Returns `{path, absolutePath, rows}`.',
  input: writeInput,
  kind: 'write',
  idempotent: true,
  run: async (ctx, input) => {
    const absolute = resolvePath(ctx, input.path);
    let count = 0;
    await writeAtomically(
      absolute,
      async (out) => {
        const stringifier = stringify({
          delimiter: input.delimiter,
          bom: input.bom,
          cast: {
            boolean: (v) => (v ? 'true' : 'false'),
            date: (v) => v.toISOString(),
            object: (v) => JSON.stringify(v),
          },
        });
        stringifier.on('data', (chunk: Buffer) => {
          if (!out.write(chunk)) stringifier.pause();
        });
        out.on('drain', () => stringifier.resume());
        out.on('error', (err) => stringifier.destroy(err));
        const flushed = new Promise<void>((resolve, reject) => {
          stringifier.once('end', resolve);
          stringifier.once('error', reject);
        });

        let keys: string[] | undefined;
        let warnedExtra = false;
        const rows = isItemStream(input.rows) ? input.rows : iterate(input.rows);
        for await (const row of rows) {
          ctx.signal.throwIfAborted();
          if (Array.isArray(row)) {
            if (!keys && input.columns === undefined && input.header) {
              throw new BuiltinError('BAD_VALUE', `csv.write: row ${count} is a list, so the header cannot be named.`, 'Give columns (the header names), or header: false.');
            }
            if (!keys) {
              keys = columnList(input.columns) ?? [];
              if (input.header && keys.length > 0) await writeChunk(stringifier, headerNames(input.columns, keys));
            }
            await writeChunk(stringifier, row);
          } else if (typeof row === 'object' && row !== null) {
            const record = row as Record<string, unknown>;
            if (!keys) {
              keys = columnList(input.columns) ?? Object.keys(record);
              if (input.header) await writeChunk(stringifier, headerNames(input.columns, keys));
            }
            if (!warnedExtra && input.columns === undefined) {
              const extra = Object.keys(record).filter((k) => !keys!.includes(k));
              if (extra.length > 0) {
                warnedExtra = true;
                ctx.log('warn', `csv.write: row ${count} has keys the first row did not (${extra.join(', ')}); they are not written. Give columns to choose them.`, { path: input.path });
              }
            }
            await writeChunk(stringifier, keys.map((k) => record[k] ?? null));
          } else {
            throw new BuiltinError('BAD_VALUE', `csv.write: row ${count} is ${row === null ? 'null' : `a ${typeof row}`}, not an object.`, 'Each row must be an object (or a list of values when columns is given).');
          }
          count++;
        }
        if (!keys && input.header && input.columns !== undefined) {
          const names = columnList(input.columns)!;
          await writeChunk(stringifier, headerNames(input.columns, names));
        }
        stringifier.end();
        await flushed;
      },
      { mkdirs: input.mkdirs, overwrite: input.overwrite, actionId: 'csv.write', shown: input.path, signal: ctx.signal },
    );
    return { path: input.path, absolutePath: absolute, rows: count };
  },
});

async function* iterate<T>(values: readonly T[]): AsyncGenerator<T> {
  yield* values;
}

function columnList(columns: z.output<typeof columnsSpec> | undefined): string[] | undefined {
  if (columns === undefined) return undefined;
  return Array.isArray(columns) ? columns : Object.keys(columns);
}

function headerNames(columns: z.output<typeof columnsSpec> | undefined, keys: string[]): string[] {
  if (columns === undefined || Array.isArray(columns)) return keys;
  return keys.map((k) => columns[k] ?? k);
}

export const csvConnector: BuiltinConnector = {
  name: 'csv',
  description: 'CSV files: read rows as a streaming source with header mapping and types; write rows (a list or a stream) atomically.',
  actions: [read, write],
};
