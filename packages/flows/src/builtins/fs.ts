import type { Dirent, Stats } from 'node:fs';
import { copyFile, lstat, mkdir, opendir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { z } from 'zod';
import { defineStepAction, isItemStream, type BuiltinConnector, type SourceItem, type StepContext } from '../step-action.js';
import { BuiltinError } from './errors.js';
import { checkSize, exists, fileError, resolvePath, statFile, writeAtomically, writeChunk } from './files.js';
import { MiB, maxBytesField, pathField } from './schema.js';

const patterns = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
  error: 'must be a glob pattern ("**/*.jpg") or a list of them.',
});

const listInput = z.strictObject({
  path: pathField('the folder to list').default('.'),
  glob: patterns.optional(),
  ignore: patterns.optional(),
  recursive: z.boolean({ error: 'recursive must be true or false.' }).default(true),
  dot: z.boolean({ error: 'dot must be true or false.' }).default(false),
  directories: z.boolean({ error: 'directories must be true or false.' }).default(false),
});

export interface FileEntry {
  /** Relative to the listed folder, `/`-separated. */
  path: string;
  absolutePath: string;
  name: string;
  extension: string;
  type: 'file' | 'directory';
  size: number;
  mtime: string;
}

const list = defineStepAction({
  id: 'list',
  title: 'List files',
  description:
    'Lists the files under a folder (recursively unless `recursive: false`), in a stable order (sorted by name, folder by folder), ' +
    'keeping those matching `glob` (picomatch patterns such as `**/*.{jpg,png}`, matched against the path relative to the folder) ' +
    'and not matching `ignore`. Each item is `{path, absolutePath, name, extension, type, size, mtime}`. ' +
    'A source for `forEach`: it streams the listing, and a resumed run goes on after the last file handled. ' +
    'Hidden files are skipped unless `dot: true`; symbolic links to folders are not followed.',
  input: listInput,
  kind: 'read',
  idempotent: true,
  items: (ctx, input, after) => listFiles(ctx, input, after),
});

async function* listFiles(ctx: StepContext, input: z.output<typeof listInput>, after?: string): AsyncGenerator<SourceItem> {
  const root = resolvePath(ctx, input.path);
  let rootStats: Stats;
  try {
    rootStats = await stat(root);
  } catch (err) {
    throw fileError('fs.list', err, input.path);
  }
  if (!rootStats.isDirectory()) {
    throw new BuiltinError('NOT_A_FOLDER', `fs.list: "${input.path}" is not a folder.`, 'Give the folder that holds the files; use fs.stat for one file.');
  }
  const matches = input.glob ? picomatch(input.glob, { dot: input.dot }) : () => true;
  const ignored = input.ignore ? picomatch(input.ignore, { dot: true }) : () => false;
  const cursor = after === undefined ? undefined : after.split('/');

  // Depth first, each folder's entries sorted by name, compared segment by segment: this order is
  // exactly `comparePaths`, so everything up to the cursor is skipped without being listed.
  async function* walk(dir: string, prefix: string[]): AsyncGenerator<SourceItem> {
    const entries = await readSorted(dir);
    for (const entry of entries) {
      ctx.signal.throwIfAborted();
      if (!input.dot && entry.name.startsWith('.')) continue;
      const segments = [...prefix, entry.name];
      const relative = segments.join('/');
      const absolute = path.join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await stat(absolute).catch(() => undefined);
        // Links to folders could loop; a linked file is listed like any file.
        isFile = target?.isFile() ?? false;
        isDir = false;
      }
      if (cursor && comparePaths(segments, cursor) <= 0 && !(isDir && isPrefix(segments, cursor))) continue;
      if (isDir) {
        if (ignored(relative) || ignored(`${relative}/`)) continue;
        if (input.directories && matches(relative) && (!cursor || comparePaths(segments, cursor) > 0)) {
          yield await entryItem(absolute, relative, 'directory');
        }
        if (input.recursive) yield* walk(absolute, segments);
      } else if (isFile && matches(relative) && !ignored(relative)) {
        yield await entryItem(absolute, relative, 'file');
      }
    }
  }
  yield* walk(root, []);
}

async function readSorted(dir: string): Promise<Dirent[]> {
  const entries: Dirent[] = [];
  for await (const entry of await opendir(dir)) entries.push(entry);
  // Code-unit order, not the locale's: the same on every machine, so cursors stay valid.
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function entryItem(absolute: string, relative: string, type: 'file' | 'directory'): Promise<SourceItem> {
  const stats = await stat(absolute);
  const name = path.basename(absolute);
  const item: FileEntry = {
    path: relative,
    absolutePath: absolute,
    name,
    extension: path.extname(name).slice(1).toLowerCase(),
    type,
    size: type === 'file' ? stats.size : 0,
    mtime: stats.mtime.toISOString(),
  };
  return { item, cursor: relative };
}

/** Segment-wise: `a/x` sorts before `a.txt`, as a depth-first walk of sorted folders yields them. */
export function comparePaths(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i]! < b[i]!) return -1;
    if (a[i]! > b[i]!) return 1;
  }
  return a.length - b.length;
}

function isPrefix(prefix: readonly string[], of: readonly string[]): boolean {
  return prefix.length < of.length && prefix.every((s, i) => s === of[i]);
}

const readInput = z.strictObject({
  path: pathField('the file to read'),
  encoding: z.enum(['utf8', 'base64'], { error: 'encoding must be "utf8" (text) or "base64" (bytes).' }).default('utf8'),
  maxBytes: maxBytesField(10 * MiB),
});

const read = defineStepAction({
  id: 'read',
  title: 'Read a file',
  description:
    'Reads a whole small file into the step\'s output as text (`encoding: utf8`) or base64 (`encoding: base64`): `{path, content, encoding, size}`. ' +
    'Files over `maxBytes` (10 MiB unless set) are refused before anything is read: stream large files with csv.read or json.lines, ' +
    'or hand their path to the action that uploads them.',
  input: readInput,
  kind: 'read',
  idempotent: true,
  run: async (ctx, input) => {
    const absolute = resolvePath(ctx, input.path);
    const stats = await statFile('fs.read', absolute, input.path);
    checkSize('fs.read', input.path, stats.size, input.maxBytes, 'Stream it with csv.read or json.lines');
    let bytes: Buffer;
    try {
      bytes = await readFile(absolute, { signal: ctx.signal });
    } catch (err) {
      throw fileError('fs.read', err, input.path);
    }
    // The file may have grown since stat.
    checkSize('fs.read', input.path, bytes.length, input.maxBytes, 'Stream it with csv.read or json.lines');
    return { path: input.path, content: bytes.toString(input.encoding), encoding: input.encoding, size: bytes.length };
  },
});

const content = z.union(
  [z.string(), z.instanceof(Uint8Array), z.custom<AsyncIterable<unknown>>(isItemStream)],
  { error: 'content is required: give text, bytes, or a stream of text chunks.' },
);

const writeInput = z.strictObject({
  path: pathField('the file to write'),
  content,
  encoding: z
    .enum(['utf8', 'base64'], { error: 'encoding must be "utf8" (content is text) or "base64" (content is base64 to decode).' })
    .default('utf8'),
  overwrite: z.boolean({ error: 'overwrite must be true or false.' }).default(true),
  mkdirs: z.boolean({ error: 'mkdirs must be true or false.' }).default(true),
});

const write = defineStepAction({
  id: 'write',
  title: 'Write a file',
  description:
    'Writes `content` (text, base64 with `encoding: base64`, or a stream of text or byte chunks written as it comes) to a file, atomically: ' +
    'it is written to a temporary file beside the target and renamed over it when complete, so a reader or a crash never sees half a file. ' +
    'Replaces an existing file unless `overwrite: false`; creates missing folders unless `mkdirs: false`. Returns `{path, absolutePath, bytes}`.',
  input: writeInput,
  kind: 'write',
  idempotent: true,
  run: async (ctx, input) => {
    const absolute = resolvePath(ctx, input.path);
    const { bytes } = await writeAtomically(
      absolute,
      async (out) => {
        if (typeof input.content === 'string') {
          await writeChunk(out, input.encoding === 'base64' ? Buffer.from(input.content, 'base64') : input.content);
        } else if (input.content instanceof Uint8Array) {
          await writeChunk(out, input.content);
        } else {
          let index = 0;
          for await (const chunk of input.content) {
            ctx.signal.throwIfAborted();
            if (typeof chunk === 'string') await writeChunk(out, input.encoding === 'base64' ? Buffer.from(chunk, 'base64') : chunk);
            else if (chunk instanceof Uint8Array) await writeChunk(out, chunk);
            else {
              throw new BuiltinError(
                'BAD_VALUE',
                `fs.write: item ${index} of the content stream is ${describe(chunk)}, not text or bytes.`,
                'Write rows with csv.write or json.write, or map each item to text first.',
              );
            }
            index++;
          }
        }
      },
      { mkdirs: input.mkdirs, overwrite: input.overwrite, actionId: 'fs.write', shown: input.path, signal: ctx.signal },
    );
    return { path: input.path, absolutePath: absolute, bytes };
  },
});

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

const moveInput = z.strictObject({
  from: pathField('from, the file or folder to move'),
  to: pathField('to, where to move it'),
  overwrite: z.boolean({ error: 'overwrite must be true or false.' }).default(false),
  mkdirs: z.boolean({ error: 'mkdirs must be true or false.' }).default(true),
});

const move = defineStepAction({
  id: 'move',
  title: 'Move or rename a file',
  description:
    'Moves (renames) a file or folder from `from` to `to`, creating `to`\'s folder unless `mkdirs: false`. ' +
    'Fails if `to` exists unless `overwrite: true` (which replaces it). Across file systems a file is copied, then the original removed. ' +
    'A resumed run that finds `from` gone and `to` present counts the move as done. Returns `{from, to}`.',
  input: moveInput,
  kind: 'destructive',
  idempotent: false,
  run: async (ctx, input) => {
    const from = resolvePath(ctx, input.from);
    const to = resolvePath(ctx, input.to);
    try {
      await lstat(from);
    } catch (err) {
      throw fileError('fs.move', err, input.from);
    }
    if (input.mkdirs) await mkdir(path.dirname(to), { recursive: true });
    if (!input.overwrite && (await exists(to))) {
      throw new BuiltinError('ALREADY_EXISTS', `fs.move: "${input.to}" already exists.`, 'Set overwrite: true to replace it, or choose another name.');
    }
    try {
      await rename(from, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw fileError('fs.move', err, input.to);
      const stats = await stat(from);
      if (!stats.isFile()) {
        throw new BuiltinError('NOT_A_FILE', `fs.move: "${input.from}" is a folder on another file system than "${input.to}".`, 'Move folders within one file system.');
      }
      await copyFile(from, to);
      await unlink(from);
    }
    return { from: input.from, to: input.to };
  },
  reconcile: async (ctx, input) => {
    const fromThere = await exists(resolvePath(ctx, input.from));
    const toThere = await exists(resolvePath(ctx, input.to));
    return !fromThere && toThere ? { output: { from: input.from, to: input.to } } : undefined;
  },
});

const statInput = z.strictObject({
  path: pathField('the file or folder to look at'),
  mustExist: z.boolean({ error: 'mustExist must be true or false.' }).default(true),
});

const statAction = defineStepAction({
  id: 'stat',
  title: 'Look at a file',
  description:
    'Describes a file or folder: `{path, absolutePath, exists, type (file, directory or other), size, mtime}`. ' +
    'A missing path is an error unless `mustExist: false`, which returns `{exists: false}` (for an `if:`).',
  input: statInput,
  kind: 'read',
  idempotent: true,
  run: async (ctx, input) => {
    const absolute = resolvePath(ctx, input.path);
    let stats: Stats;
    try {
      stats = await stat(absolute);
    } catch (err) {
      if (!input.mustExist && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        return { path: input.path, absolutePath: absolute, exists: false };
      }
      throw fileError('fs.stat', err, input.path);
    }
    return {
      path: input.path,
      absolutePath: absolute,
      exists: true,
      type: stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : 'other',
      size: stats.size,
      mtime: stats.mtime.toISOString(),
    };
  },
});

const mkdirAction = defineStepAction({
  id: 'mkdir',
  title: 'Create a folder',
  description: 'Creates a folder and any missing parents; an existing folder is left as it is. Returns `{path, absolutePath}`.',
  input: z.strictObject({ path: pathField('the folder to create') }),
  kind: 'write',
  idempotent: true,
  run: async (ctx, input) => {
    const absolute = resolvePath(ctx, input.path);
    try {
      await mkdir(absolute, { recursive: true });
    } catch (err) {
      throw fileError('fs.mkdir', err, input.path);
    }
    return { path: input.path, absolutePath: absolute };
  },
});

const deleteInput = z.strictObject({
  path: pathField('the file or folder to delete'),
  recursive: z.boolean({ error: 'recursive must be true or false.' }).default(false),
  missingOk: z.boolean({ error: 'missingOk must be true or false.' }).default(false),
});

const deleteAction = defineStepAction({
  id: 'delete',
  title: 'Delete a file or folder',
  description:
    'Deletes a file, or a folder with everything in it when `recursive: true` (a non-empty folder is refused otherwise). ' +
    'A missing path is an error unless `missingOk: true`. Returns `{path, deleted}`.',
  input: deleteInput,
  kind: 'destructive',
  idempotent: false,
  run: async (ctx, input) => {
    const absolute = resolvePath(ctx, input.path);
    let stats: Stats;
    try {
      stats = await lstat(absolute);
    } catch (err) {
      if (input.missingOk && (err as NodeJS.ErrnoException).code === 'ENOENT') return { path: input.path, deleted: false };
      throw fileError('fs.delete', err, input.path);
    }
    try {
      if (stats.isDirectory()) await (input.recursive ? rm(absolute, { recursive: true }) : rmdir(absolute));
      else await unlink(absolute);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        throw new BuiltinError('BAD_VALUE', `fs.delete: "${input.path}" is a folder that is not empty.`, 'Set recursive: true to delete it with its content.');
      }
      throw fileError('fs.delete', err, input.path);
    }
    return { path: input.path, deleted: true };
  },
  reconcile: async (ctx, input) =>
    (await exists(resolvePath(ctx, input.path))) ? undefined : { output: { path: input.path, deleted: true } },
});

export const fsConnector: BuiltinConnector = {
  name: 'fs',
  description: 'Files and folders on the machine running the flow: list (a streaming source), read, write (atomic), move, stat, mkdir, delete.',
  actions: [list, read, write, move, statAction, mkdirAction, deleteAction],
};
