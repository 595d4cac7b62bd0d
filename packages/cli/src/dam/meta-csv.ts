/**
 * `--meta-csv FILE`: metadata and tags per file. One row per file, matched by a `path` column (the
 * local path as given on the command line, its path below the target folder, or the URL) or a
 * `name` column (the file's name); every other column is a metadata key, and a `tags` column holds
 * labels separated by `|`. Empty cells set nothing.
 */
import { readFile } from 'node:fs/promises';
import { basename, normalize } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Meta, MetaValue } from '@sfx/client';
import { UsageError } from '../errors.js';
import { setValue } from '../input.js';
import type { Source } from './upload-sources.js';

export interface RowChanges {
  meta: Meta;
  tags: string[];
}

export interface MetaCsv {
  /** The row for a source, if any. */
  lookup(source: Source): RowChanges | undefined;
  /** Rows no source matched (to warn about): their path or name. */
  unmatched(): string[];
}

export async function readMetaCsv(file: string): Promise<MetaCsv> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--meta-csv ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`);
  }
  let rows: Array<Record<string, string>>;
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Array<Record<string, string>>;
  } catch (error) {
    throw new UsageError(`--meta-csv ${file} is not valid CSV: ${(error as Error).message}`);
  }
  const header = rows.length > 0 ? Object.keys(rows[0]!) : [];
  const keyColumn = header.includes('path') ? 'path' : header.includes('name') ? 'name' : undefined;
  if (!keyColumn)
    throw new UsageError(
      `--meta-csv ${file} needs a "path" column (the file's path as given, or below the target folder) or a "name" column (its file name); its columns are: ${header.join(', ') || '(none)'}.`,
    );
  const byKey = new Map<string, RowChanges>();
  for (const [index, row] of rows.entries()) {
    const key = row[keyColumn];
    if (!key) throw new UsageError(`--meta-csv ${file}: row ${index + 2} has an empty "${keyColumn}".`);
    const meta: Meta = {};
    let tags: string[] = [];
    for (const [column, cell] of Object.entries(row)) {
      if (column === keyColumn || column === 'path' || column === 'name' || cell === '' || cell === undefined) continue;
      if (column === 'tags') tags = cell.split('|').map((t) => t.trim()).filter(Boolean);
      else meta[column] = setValue(cell) as MetaValue;
    }
    byKey.set(keyColumn === 'path' ? pathKey(key) : key, { meta, tags });
  }
  const used = new Set<string>();
  return {
    lookup(source) {
      const candidates =
        keyColumn === 'name'
          ? [source.kind === 'file' ? basename(source.path) : source.target]
          : source.kind === 'url'
            ? [source.url]
            : [pathKey(source.shown), pathKey(source.path), pathKey(source.target)];
      for (const candidate of candidates) {
        const found = byKey.get(candidate);
        if (found) {
          used.add(candidate);
          return found;
        }
      }
      return undefined;
    },
    unmatched: () => [...byKey.keys()].filter((k) => !used.has(k)),
  };
}

/** Paths compared the way they are meant: `./a/b.jpg`, `a/b.jpg` and `a//b.jpg` are one. */
function pathKey(path: string): string {
  if (/^https?:\/\//i.test(path)) return path;
  return normalize(path).replace(/\\/g, '/').replace(/^\.\//, '');
}
