/**
 * What a sync reads from: a local folder, a file of URLs (one a line), or a CSV manifest. Each is
 * read as a stream of entries, so a source of a million files is never held in memory.
 */
import { createReadStream } from 'node:fs';
import { opendir, open, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { SyncError } from './errors.js';

export type SourceKind = 'folder' | 'urls' | 'csv';

/** One thing the destination should hold, at `path` relative to the destination folder. */
export type SourceEntry =
  | { kind: 'file'; path: string; file: string; size: number; mtimeNs: string; meta?: Record<string, string>; tags?: string[] }
  | { kind: 'url'; path: string; url: string; meta?: Record<string, string>; tags?: string[] }
  /** An entry that cannot be synced (a missing file, a bad row): reported as failed, never dropped. */
  | { kind: 'invalid'; path: string; reason: string };

/** Columns of a manifest that are not metadata. */
const RESERVED = new Set(['path', 'url', 'name', 'tags']);

/**
 * The kind of `source`: a folder is a folder; a `.csv` file, or one whose first line names a `path`
 * or `url` column, is a manifest; any other file is a URL list.
 */
export async function detectSource(source: string): Promise<SourceKind> {
  let info;
  try {
    info = await stat(source);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new SyncError('SOURCE_NOT_FOUND', `source: nothing at "${source}".`, 'Give a local folder, a file of URLs (one a line) or a CSV manifest.');
    throw error;
  }
  if (info.isDirectory()) return 'folder';
  if (!info.isFile()) throw new SyncError('SOURCE_NOT_A_FILE', `source: "${source}" is neither a folder nor a file.`);
  if (/\.csv$/i.test(source)) return 'csv';
  const head = await firstLine(source);
  if (/^\s*(https?:\/\/|#|$)/i.test(head)) return 'urls';
  const columns = head.split(/[,;\t]/).map((c) => c.trim().replace(/^"|"$/g, '').toLowerCase());
  if (columns.includes('path') || columns.includes('url')) return 'csv';
  throw new SyncError(
    'SOURCE_UNKNOWN',
    `source: cannot tell what "${source}" is: its first line is neither a URL nor a CSV header with a path or url column.`,
    'Give --from urls or --from csv, or use a folder.',
  );
}

async function firstLine(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '').split(/\r?\n/)[0] ?? '';
  } finally {
    await handle.close();
  }
}

export function readSource(kind: SourceKind, source: string, signal?: AbortSignal): AsyncIterable<SourceEntry> {
  if (kind === 'folder') return walkFolder(resolve(source), signal);
  if (kind === 'urls') return readUrlList(resolve(source));
  return readManifest(resolve(source));
}

/**
 * Every regular file below `root` (symbolic links to files included, links to folders not
 * followed, so a link loop cannot make the walk endless). Depth-first with one open directory
 * handle per level: memory grows with the depth, not with the number of files.
 */
async function* walkFolder(root: string, signal?: AbortSignal): AsyncGenerator<SourceEntry> {
  const pending: string[] = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const subdirs: string[] = [];
    for await (const entry of await opendir(dir)) {
      signal?.throwIfAborted();
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        subdirs.push(full);
        continue;
      }
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      let info;
      try {
        info = await stat(full, { bigint: true });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // A dangling link, a link loop, or a file removed during the walk: it is not in the source.
        if (code === 'ENOENT' || code === 'ELOOP') continue;
        // Anything else (EACCES, EIO): the file is there but unreadable. Reported as invalid, so its
        // path counts as seen and `--delete` never removes the copy in the DAM.
        yield { kind: 'invalid', path: relative(root, full).split(sep).join('/'), reason: `cannot read ${full}: ${code ?? (error as Error).message}` };
        continue;
      }
      if (!info.isFile()) continue;
      yield { kind: 'file', path: relative(root, full).split(sep).join('/'), file: full, size: Number(info.size), mtimeNs: String(info.mtimeNs) };
    }
    // Subfolder names only, never their files: pushed in reverse so they are walked in name order.
    subdirs.sort().reverse();
    pending.push(...subdirs);
  }
}

/** The name a URL's asset gets: the last segment of its path, decoded. */
export function nameFromUrl(url: string): string {
  try {
    const last = new URL(url).pathname.split('/').filter(Boolean).pop() ?? '';
    return decodeURIComponent(last);
  } catch {
    return '';
  }
}

async function* readUrlList(file: string): AsyncGenerator<SourceEntry> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const raw of lines) {
    n++;
    const line = raw.replace(/^\uFEFF/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    yield urlEntry(line, undefined, `line ${n}`);
  }
}

function urlEntry(url: string, name: string | undefined, where: string, meta?: Record<string, string>, tags?: string[]): SourceEntry {
  if (!/^https?:\/\/\S+$/i.test(url)) return { kind: 'invalid', path: url, reason: `${where}: "${url}" is not an http(s) URL.` };
  const path = cleanPath(name || nameFromUrl(url));
  if (!path) return { kind: 'invalid', path: url, reason: `${where}: the URL has no file name; give one in a name column.` };
  return { kind: 'url', path, url, ...(meta && { meta }), ...(tags && { tags }) };
}

/** `a//b/./c` -> `a/b/c`; refuses to climb out of the destination. */
function cleanPath(path: string): string {
  const parts = path.split(/[/\\]+/).filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return '';
  return parts.join('/');
}

/**
 * A manifest: a `path` (local file, relative to the manifest's folder) or `url` column, an
 * optional `name` (the target path below the destination, may hold subfolders), `tags` split on
 * `|`, and every other column a metadata key.
 */
async function* readManifest(file: string): AsyncGenerator<SourceEntry> {
  const base = dirname(file);
  const parser = createReadStream(file).pipe(parse({ columns: (header: string[]) => header.map((h) => h.trim()), bom: true, trim: true, skipEmptyLines: true, relaxColumnCount: true }));
  let n = 1;
  let checked = false;
  for await (const row of parser as AsyncIterable<Record<string, string>>) {
    n++;
    if (!checked) {
      checked = true;
      if (!('path' in row) && !('url' in row))
        throw new SyncError('MANIFEST_COLUMNS', `the manifest ${file} has neither a "path" nor a "url" column.`, 'Name the column holding each local file "path", or each remote one "url".');
    }
    const meta: Record<string, string> = {};
    for (const [key, value] of Object.entries(row)) if (!RESERVED.has(key) && key !== '' && value !== '' && value !== undefined) meta[key] = value;
    const tags = (row.tags ?? '').split('|').map((t) => t.trim()).filter(Boolean);
    const extra = { ...(Object.keys(meta).length > 0 && { meta }), ...(tags.length > 0 && { tags }) };
    const where = `${file} row ${n}`;
    if (row.url) {
      yield urlEntry(row.url, row.name, where, extra.meta, extra.tags);
      continue;
    }
    if (!row.path) {
      yield { kind: 'invalid', path: row.name || `row ${n}`, reason: `${where}: both path and url are empty.` };
      continue;
    }
    const local = resolve(base, row.path);
    // Without a name, a relative path keeps its subfolders below the destination; an absolute one its file name.
    const target = cleanPath(row.name || (isAbsolute(row.path) ? basename(local) : row.path)) || (row.name ? '' : basename(local));
    if (!target) {
      yield { kind: 'invalid', path: row.name || row.path, reason: `${where}: the name "${row.name}" climbs out of the destination (..).` };
      continue;
    }
    let info;
    try {
      info = await stat(local, { bigint: true });
    } catch {
      yield { kind: 'invalid', path: target, reason: `${where}: no file at ${row.path} (relative paths start at the manifest's folder).` };
      continue;
    }
    if (!info.isFile()) {
      yield { kind: 'invalid', path: target, reason: `${where}: ${row.path} is not a file.` };
      continue;
    }
    yield { kind: 'file', path: target, file: local, size: Number(info.size), mtimeNs: String(info.mtimeNs), ...extra };
  }
}
