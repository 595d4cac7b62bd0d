import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { defineStepAction, isItemStream, type BuiltinConnector, type SourceItem, type StepContext } from '../step-action.js';
import { BuiltinError } from './errors.js';
import { locateJsonError } from './json-locate.js';
import { checkSize, fileError, resolvePath, statFile, writeAtomically, writeChunk } from './files.js';
import { MiB, maxBytesField, pathField } from './schema.js';

const readInput = z.strictObject({
  path: pathField('the JSON file to read'),
  maxBytes: maxBytesField(50 * MiB),
});

const read = defineStepAction({
  id: 'read',
  title: 'Read a JSON file',
  description:
    'Parses a JSON file and returns its value. The whole file is held in memory, so files over `maxBytes` (50 MiB unless set) are refused ' +
    'before reading: for large data use JSON Lines and json.lines, which streams. A syntax error names the line and column.',
  input: readInput,
  kind: 'read',
  idempotent: true,
  run: async (ctx, input) => {
    const absolute = resolvePath(ctx, input.path);
    const stats = await statFile('json.read', absolute, input.path);
    checkSize('json.read', input.path, stats.size, input.maxBytes, 'Store it as JSON Lines and stream it with json.lines');
    let text: string;
    try {
      text = await readFile(absolute, { encoding: 'utf8', signal: ctx.signal });
    } catch (err) {
      throw fileError('json.read', err, input.path);
    }
    return parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, `json.read: "${input.path}"`);
  },
});

/** JSON.parse with an error that says where, as line and column, without quoting the text. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const { offset, problem } = locateJsonError(text);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    throw new BuiltinError('PARSE_ERROR', `${what} is not valid JSON at line ${line}, column ${column}: ${problem}.`);
  }
}

const writeInput = z.strictObject({
  path: pathField('the JSON file to write'),
  value: z.unknown().refine((v) => v !== undefined, { error: 'value is required: give the value to write (a stream is written as a list).' }),
  format: z.enum(['json', 'jsonl'], { error: 'format must be "json" or "jsonl" (one value per line).' }).default('json'),
  pretty: z.boolean({ error: 'pretty must be true or false.' }).default(true),
  overwrite: z.boolean({ error: 'overwrite must be true or false.' }).default(true),
  mkdirs: z.boolean({ error: 'mkdirs must be true or false.' }).default(true),
});

const write = defineStepAction({
  id: 'write',
  title: 'Write a JSON file',
  description:
    'Writes `value` as JSON (indented unless `pretty: false`), or with `format: jsonl` each item of a list as one line (JSON Lines). ' +
    'A stream (from a source or a loop) is written as it comes: as a JSON list, or as lines. The write is atomic (a temporary file renamed ' +
    'over the target when complete). Returns `{path, absolutePath, items}` (items: how many list items or lines were written, or null for a single value).',
  input: writeInput,
  kind: 'write',
  idempotent: true,
  run: async (ctx, input) => {
    const absolute = resolvePath(ctx, input.path);
    const indent = input.pretty && input.format === 'json' ? 2 : undefined;
    let items: number | null = null;
    await writeAtomically(
      absolute,
      async (out) => {
        const value = input.value;
        const list = isItemStream(value) ? value : Array.isArray(value) ? iterate(value) : undefined;
        if (input.format === 'jsonl') {
          if (!list) throw new BuiltinError('BAD_VALUE', 'json.write: format jsonl writes a list or a stream, one item per line, but value is a single value.', 'Give a list, or use format: json.');
          items = 0;
          for await (const item of list) {
            ctx.signal.throwIfAborted();
            await writeChunk(out, `${stringifyValue(item, undefined, items)}\n`);
            items++;
          }
          return;
        }
        if (!isItemStream(value)) {
          await writeChunk(out, `${stringifyValue(value, indent)}\n`);
          items = Array.isArray(value) ? value.length : null;
          return;
        }
        items = 0;
        await writeChunk(out, '[');
        for await (const item of value) {
          ctx.signal.throwIfAborted();
          const text = stringifyValue(item, indent, items);
          await writeChunk(out, `${items === 0 ? '' : ','}${indent ? '\n  ' : ''}${indent ? text.replace(/\n/g, '\n  ') : text}`);
          items++;
        }
        await writeChunk(out, `${indent && items > 0 ? '\n' : ''}]\n`);
      },
      { mkdirs: input.mkdirs, overwrite: input.overwrite, actionId: 'json.write', shown: input.path, signal: ctx.signal },
    );
    return { path: input.path, absolutePath: absolute, items };
  },
});

function stringifyValue(value: unknown, indent?: number, index?: number): string {
  const text = JSON.stringify(value, null, indent) as string | undefined;
  if (text === undefined) {
    const where = index === undefined ? 'value' : `item ${index}`;
    throw new BuiltinError('BAD_VALUE', `json.write: ${where} cannot be written as JSON (it is ${typeof value}).`);
  }
  return text;
}

async function* iterate<T>(values: readonly T[]): AsyncGenerator<T> {
  yield* values;
}

const linesInput = z.strictObject({
  path: pathField('the JSON Lines file to read'),
  maxLineBytes: z
    .number({ error: 'maxLineBytes must be a number of bytes.' })
    .int({ error: 'maxLineBytes must be a whole number.' })
    .positive({ error: 'maxLineBytes must be above 0.' })
    .default(16 * MiB),
});

const lines = defineStepAction({
  id: 'lines',
  title: 'Read JSON Lines',
  description:
    'Streams a JSON Lines file (one JSON value per line; blank lines are skipped) as items. A source for `forEach`: lines are read as needed, ' +
    'and a resumed run re-opens the file at the byte where the next line starts. A line longer than `maxLineBytes` (16 MiB unless set) is an error.',
  input: linesInput,
  kind: 'read',
  idempotent: true,
  items: (ctx, input, after) => readLines(ctx, input, after),
});

async function* readLines(ctx: StepContext, input: z.output<typeof linesInput>, after?: string): AsyncGenerator<SourceItem> {
  const absolute = resolvePath(ctx, input.path);
  const stats = await statFile('json.lines', absolute, input.path);
  const start = after === undefined ? 0 : Number(after);
  if (after !== undefined && (!/^\d+$/.test(after) || start > stats.size)) {
    throw new BuiltinError('BAD_CURSOR', `json.lines: the resume cursor "${after}" is not a byte offset within "${input.path}" (${stats.size} bytes).`, 'Was the file replaced since the run started? Start a new run.');
  }
  let lineNumber = 0;
  for await (const { line, end } of byteLines(createReadStream(absolute, { start, signal: ctx.signal }), input.maxLineBytes, input.path)) {
    lineNumber++;
    let text = line.toString('utf8');
    if (start === 0 && lineNumber === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '') continue;
    const where = start === 0 ? `line ${lineNumber}` : `the line ending at byte ${start + end}`;
    yield { item: parseJson(text, `json.lines: "${input.path}" ${where}`), cursor: String(start + end) };
  }
}

/** Splits a byte stream on `\n`, giving each line with the offset just past it; memory is bounded by the longest line. */
async function* byteLines(stream: AsyncIterable<Buffer>, maxLineBytes: number, shown: string): AsyncGenerator<{ line: Buffer; end: number }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = 0;
  for await (const chunk of stream) {
    let from = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, from)) {
      const part = chunk.subarray(from, nl);
      const line = pending.length ? Buffer.concat([...pending, part]) : part;
      pending = [];
      pendingBytes = 0;
      from = nl + 1;
      if (line.length > maxLineBytes) tooLong(shown, maxLineBytes);
      yield { line: stripCr(line), end: offset + from };
    }
    if (from < chunk.length) {
      pending.push(chunk.subarray(from));
      pendingBytes += chunk.length - from;
      if (pendingBytes > maxLineBytes) tooLong(shown, maxLineBytes);
    }
    offset += chunk.length;
  }
  if (pendingBytes > 0) yield { line: stripCr(Buffer.concat(pending)), end: offset };
}

function stripCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line;
}

function tooLong(shown: string, max: number): never {
  throw new BuiltinError('TOO_LARGE', `json.lines: "${shown}" has a line longer than ${max} bytes (maxLineBytes).`, 'Is it really JSON Lines? Raise maxLineBytes if the lines are that long.');
}

const parseAction = defineStepAction({
  id: 'parse',
  title: 'Parse JSON text',
  description: 'Parses `text` as JSON and returns the value; a syntax error names the line and column.',
  input: z.strictObject({ text: z.string({ error: 'text is required: give the JSON text to parse.' }) }),
  kind: 'read',
  idempotent: true,
  run: async (_ctx, input) => parseJson(input.text, 'json.parse: text'),
});

const stringifyAction = defineStepAction({
  id: 'stringify',
  title: 'Write a value as JSON text',
  description: 'Returns `value` as JSON text, indented when `pretty: true`.',
  input: z.strictObject({ value: z.unknown(), pretty: z.boolean({ error: 'pretty must be true or false.' }).default(false) }),
  kind: 'read',
  idempotent: true,
  run: async (_ctx, input) => stringifyValue(input.value ?? null, input.pretty ? 2 : undefined),
});

export const jsonConnector: BuiltinConnector = {
  name: 'json',
  description: 'JSON files: read and write (atomic, a value or a stream), stream JSON Lines as a source, parse and stringify text.',
  actions: [read, write, lines, parseAction, stringifyAction],
};
