/**
 * How everyday commands print results: a table for people, tab-separated lines when piped (for
 * cut, sort, awk), JSON with --json. Warnings from the API always go to stderr.
 */
import { table } from '../table.js';

export type OutputMode = 'table' | 'tsv' | 'json';

export interface OutputFlags {
  json?: boolean;
}

export function outputMode(flags: OutputFlags, stream: { isTTY?: boolean } = process.stdout): OutputMode {
  if (flags.json) return 'json';
  return stream.isTTY ? 'table' : 'tsv';
}

export interface Column<T> {
  header: string;
  value: (row: T) => string;
}

/** Rows as a table (terminal), TSV without a header (pipe), or the raw objects as JSON. */
export function printRows<T>(mode: OutputMode, columns: ReadonlyArray<Column<T>>, rows: readonly T[], json: () => unknown = () => rows): void {
  if (mode === 'json') {
    process.stdout.write(`${JSON.stringify(json(), null, 2)}\n`);
    return;
  }
  if (mode === 'tsv') {
    for (const row of rows) process.stdout.write(`${columns.map((c) => c.value(row).replace(/[\t\n]/g, ' ')).join('\t')}\n`);
    return;
  }
  if (rows.length === 0) return;
  process.stdout.write(`${table(columns.map((c) => c.header), rows.map((row) => columns.map((c) => c.value(row))))}\n`);
}

/** The API's `warnings` (an unknown folder, a dropped field): never silently dropped. */
export function printWarnings(reply: unknown): void {
  const warnings = (reply as { warnings?: unknown } | undefined)?.warnings;
  if (!Array.isArray(warnings)) return;
  for (const w of warnings) process.stderr.write(`warning: ${typeof w === 'string' ? w : JSON.stringify(w)}\n`);
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
