/**
 * What `sfx upload` was given, as a list of files and URLs: files as they are, folders walked
 * (keeping their layout, like `cp -r`: `photos` lands as FOLDER/photos/...), globs expanded here too
 * (for shells that do not, or quoted ones: `'photos/**\/*.jpg'` keeps the layout below `photos`), and
 * http(s) URLs for the API to import. Anything that names nothing is a usage error, found before any
 * upload starts.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { UsageError } from '../errors.js';

export interface LocalFile {
  kind: 'file';
  /** Absolute path. */
  path: string;
  /** The path as the user would write it (relative to where sfx runs when it was given so). */
  shown: string;
  /** Where it goes below the target folder, with `/` separators: `photos/red/a.jpg`. */
  target: string;
  size: number;
}

export interface RemoteFile {
  kind: 'url';
  url: string;
  shown: string;
  /** The name the API will give it: the URL's last path segment. */
  target: string;
}

export type Source = LocalFile | RemoteFile;

const URL_PATTERN = /^https?:\/\//i;

export async function expandSources(args: readonly string[]): Promise<Source[]> {
  const sources: Source[] = [];
  const missing: string[] = [];
  for (const arg of args) {
    if (URL_PATTERN.test(arg)) {
      sources.push(remote(arg));
      continue;
    }
    const info = await stat(arg).catch(() => undefined);
    if (info?.isFile()) {
      sources.push({ kind: 'file', path: resolve(arg), shown: arg, target: basename(arg), size: info.size });
    } else if (info?.isDirectory()) {
      const top = basename(resolve(arg));
      for await (const file of walk(resolve(arg))) {
        const inside = toPosix(relative(resolve(arg), file.path));
        sources.push({ ...file, shown: join(arg, inside), target: `${top}/${inside}` });
      }
    } else if (picomatch.scan(arg).isGlob) {
      const matched = await expandGlob(arg);
      if (matched.length === 0) missing.push(`${arg} (matches no file)`);
      sources.push(...matched);
    } else {
      missing.push(arg);
    }
  }
  if (missing.length > 0)
    throw new UsageError(
      `nothing was uploaded: ${missing.length === 1 ? 'this local path does' : 'these local paths do'} not exist: ${missing.join(', ')}. Check the spelling (URLs must start with http:// or https://).`,
    );
  return sources;
}

function remote(url: string): RemoteFile {
  let name = '';
  try {
    name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  } catch {
    throw new UsageError(`${url} is not a valid URL.`);
  }
  return { kind: 'url', url, shown: url, target: name };
}

async function expandGlob(pattern: string): Promise<LocalFile[]> {
  const { base, glob } = picomatch.scan(pattern);
  const root = resolve(base || '.');
  const matches = picomatch(glob, { dot: false });
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) return [];
  const found: LocalFile[] = [];
  for await (const file of walk(root)) {
    const inside = toPosix(relative(root, file.path));
    if (matches(inside)) found.push({ ...file, shown: base ? join(base, inside) : inside, target: inside });
  }
  return found;
}

/** Every regular file below `dir` (symlinks followed to files), in name order. */
async function* walk(dir: string): AsyncGenerator<{ kind: 'file'; path: string; size: number }> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      yield* walk(path);
      continue;
    }
    const info = entry.isFile() ? await stat(path) : entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : undefined;
    if (info?.isFile()) yield { kind: 'file', path, size: info.size };
  }
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}
