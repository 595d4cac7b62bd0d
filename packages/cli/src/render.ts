/**
 * An action's output (or a trigger's items) as people read it: lists of objects as tables of their
 * most useful columns, everything else as `key: value` lines with nested objects summarised.
 * `--json` prints the output itself; this is only the reading form. Fields that hold secrets (a new
 * API key's `secret`, a SASS key) are hidden here: `--json` is the explicit way to get them.
 */
import { keyValues, table, type Row } from './table.js';

export interface RenderOptions {
  /** Field names whose string values are secrets, besides the usual ones (secret, password ...). */
  secretFields?: readonly string[];
}

const SECRET_FIELDS = ['secret', 'password', 'pass', 'apiKey', 'api_key', 'sassKey', 'sass_key', 'securityTemplate'];
export const HIDDEN = '(hidden; --json prints it)';

/** The columns a table of file objects shows, in order. */
const FILE_COLUMNS = ['uuid', 'name', 'size', 'folder', 'modified_at'];
/** The columns tried first for other objects, in order; then their other scalar fields. */
const PREFERRED = [
  'uuid',
  'id',
  'sid',
  'ref',
  'name',
  'title',
  'label',
  'slug',
  'path',
  'event',
  'type',
  'size',
  'folder',
  'status',
  'state',
  'active',
  'description',
  'created_at',
  'modified_at',
  'updated_at',
];
const MAX_COLUMNS = 6;
const MAX_CELL = 60;
const MAX_LIST = 10;

type Json = Record<string, unknown>;

export function renderOutput(output: unknown, options: RenderOptions = {}): string {
  const secrets = new Set([...SECRET_FIELDS, ...(options.secretFields ?? [])]);
  if (Array.isArray(output)) {
    if (output.length === 0) return '(none)\n';
    if (isListOfObjects(output)) return `${renderTable(output, secrets)}\n`;
    return `${output.map((v) => scalarText(v)).join('\n')}\n`;
  }
  if (!isObject(output)) return `${scalarText(output)}\n`;
  const blocks: string[] = [];
  const pairs: Array<[string, string]> = [];
  const tables = Object.entries(output).filter(([, v]) => Array.isArray(v) && v.length > 0 && isListOfObjects(v));
  for (const [key, value] of tables) {
    const rows = value as Json[];
    blocks.push(`${key} (${rows.length}):\n${renderTable(rows, secrets)}`);
  }
  for (const [key, value] of Object.entries(output)) {
    if (tables.some(([k]) => k === key)) continue;
    pairs.push(...fieldLines(key, value, 0, secrets));
  }
  if (pairs.length > 0) blocks.push(keyValues(pairs));
  if (blocks.length === 0) return '(empty)\n';
  return `${blocks.join('\n\n')}\n`;
}

/** A list of objects as a table of its most useful scalar columns. */
export function renderTable(rows: readonly Json[], secrets: ReadonlySet<string> = new Set(SECRET_FIELDS)): string {
  const columns = chooseColumns(rows);
  const header: Row = columns.map((c) => c.toUpperCase());
  const body: Row[] = rows.map((row) =>
    columns.map((column) => {
      const value = row[column];
      if (secrets.has(column) && typeof value === 'string') return '(hidden)';
      return truncate(cellText(column, value) ?? summary(value));
    }),
  );
  return table(header, body);
}

function chooseColumns(rows: readonly Json[]): string[] {
  const keys: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!keys.includes(key)) keys.push(key);
  const tabular = keys.filter((key) => rows.some((row) => cellText(key, row[key]) !== undefined));
  const isFile = tabular.includes('uuid') && tabular.includes('name') && ['size', 'folder', 'modified_at'].some((k) => tabular.includes(k));
  if (isFile) return FILE_COLUMNS.filter((k) => tabular.includes(k));
  const chosen = PREFERRED.filter((key) => tabular.includes(key));
  for (const key of tabular) if (!chosen.includes(key)) chosen.push(key);
  const picked = chosen.slice(0, MAX_COLUMNS);
  return picked.length > 0 ? picked : keys.slice(0, MAX_COLUMNS);
}

/** A value as one table cell, or undefined when it is not short and scalar-like. */
function cellText(key: string, value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number' && key === 'size') return bytes(value);
  if (typeof value !== 'object') return scalarText(value);
  if (Array.isArray(value)) return value.every(isScalar) && value.length <= MAX_LIST ? value.map(scalarText).join(', ') : undefined;
  const object = value as Json;
  if (typeof object.pretty === 'string') return object.pretty;
  if (typeof object.bytes === 'number') return bytes(object.bytes);
  if (typeof object.path === 'string') return object.path;
  if (typeof object.name === 'string') return object.name;
  return undefined;
}

/** `key: value` lines for one field: flat small objects are spread as `key.child`, deeper ones summarised. */
function fieldLines(key: string, value: unknown, depth: number, secrets: ReadonlySet<string>): Array<[string, string]> {
  if (secrets.has(key.split('.').pop()!) && typeof value === 'string') return [[key, HIDDEN]];
  if (isScalar(value)) return [[key, typeof value === 'number' && /(^|\.)size$/.test(key) ? `${value} (${bytes(value)})` : scalarText(value)]];
  if (Array.isArray(value)) {
    if (value.length === 0) return [[key, '(none)']];
    if (value.every(isScalar)) {
      const shown = value.slice(0, MAX_LIST).map(scalarText).join(', ');
      return [[key, value.length > MAX_LIST ? `${shown}, ... (${value.length} in all)` : shown]];
    }
    return [[key, `${value.length} item${value.length === 1 ? '' : 's'} (--json shows them)`]];
  }
  const object = value as Json;
  const entries = Object.entries(object).filter(([, v]) => !isEmpty(v));
  if (entries.length === 0) return depth === 0 ? [[key, '{}']] : [];
  const short = shortForm(object);
  if (short !== undefined) return [[key, short]];
  const flat = entries.every(([, v]) => isScalar(v));
  if (depth === 0 || (flat && entries.length <= MAX_COLUMNS && depth < 2))
    return entries.flatMap(([k, v]) => fieldLines(`${key}.${k}`, v, depth + 1, secrets));
  return [[key, summary(value)]];
}

/** A size (`{bytes, pretty}`) or a reference to a folder (`{uuid, name}`) as one value. */
function shortForm(object: Json): string | undefined {
  if (typeof object.pretty === 'string' && typeof object.bytes === 'number') return object.pretty;
  const keys = Object.keys(object);
  if (keys.length <= 3 && keys.every((k) => k === 'uuid' || k === 'name' || k === 'path')) {
    const named = object.path ?? object.name;
    if (typeof named === 'string') return named;
  }
  return undefined;
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/** A nested value in a few characters: `{en, fr}`, `3 items`, or its name / path. */
function summary(value: unknown): string {
  if (isScalar(value)) return scalarText(value);
  if (Array.isArray(value)) return value.length === 0 ? '-' : `${value.length} item${value.length === 1 ? '' : 's'}`;
  const short = cellText('', value);
  if (short !== undefined) return short;
  const keys = Object.keys(value as Json);
  if (keys.length === 0) return '{}';
  return `{${keys.slice(0, 5).join(', ')}${keys.length > 5 ? `, ... ${keys.length - 5} more` : ''}}`;
}

function isScalar(value: unknown): boolean {
  return value === null || value === undefined || typeof value !== 'object';
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isListOfObjects(value: readonly unknown[]): value is Json[] {
  return value.length > 0 && value.every(isObject);
}

function scalarText(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') {
    const line = value.split(/\r?\n/, 1)[0]!;
    return line.length < value.length ? `${line} ...` : value;
  }
  if (typeof value === 'object') return summary(value);
  return String(value);
}

function truncate(text: string): string {
  return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 3)}...` : text;
}

/** 5 B, 12.3 KiB, 4.0 MiB. */
export function bytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
