import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { StepContext } from '../step-action.js';
import { BuiltinError } from './errors.js';

/** Relative paths in a flow resolve against the flow file's folder, never the process's cwd. */
export function resolvePath(ctx: Pick<StepContext, 'baseDir'>, p: string): string {
  return path.resolve(ctx.baseDir, p);
}

/** Turns a file system error into one that names the path as the flow wrote it and says the fix. */
export function fileError(actionId: string, err: unknown, shownPath: string): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') {
    return new BuiltinError(
      'NOT_FOUND',
      `${actionId}: nothing at "${shownPath}".`,
      'Check the path: relative paths resolve against the flow file\'s folder.',
    );
  }
  if (code === 'EISDIR') return new BuiltinError('NOT_A_FILE', `${actionId}: "${shownPath}" is a folder, not a file.`);
  if (code === 'ENOTDIR') return new BuiltinError('NOT_A_FOLDER', `${actionId}: a part of "${shownPath}" is a file, not a folder.`);
  if (code === 'EEXIST' || code === 'ENOTEMPTY') {
    return new BuiltinError('ALREADY_EXISTS', `${actionId}: "${shownPath}" already exists.`, 'Set overwrite: true to replace it.');
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new BuiltinError('NOT_FOUND', `${actionId}: no permission to use "${shownPath}".`, 'Check the file\'s permissions.');
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** The stats of a file that must exist and be a regular file; errors name the path. */
export async function statFile(actionId: string, absolute: string, shown: string): Promise<Stats> {
  let stats: Stats;
  try {
    stats = await stat(absolute);
  } catch (err) {
    throw fileError(actionId, err, shown);
  }
  if (!stats.isFile()) throw new BuiltinError('NOT_A_FILE', `${actionId}: "${shown}" is not a file.`);
  return stats;
}

/** Refuses a file over `maxBytes` before reading any of it, naming the streaming alternative. */
export function checkSize(actionId: string, shown: string, size: number, maxBytes: number, alternative: string): void {
  if (size > maxBytes) {
    throw new BuiltinError(
      'TOO_LARGE',
      `${actionId}: "${shown}" is ${size} bytes, over the ${maxBytes}-byte limit (maxBytes).`,
      `${alternative}, or raise maxBytes if it really fits in memory.`,
    );
  }
}

/**
 * Writes a file so that readers see either the old content or the whole new one, never a part:
 * the content goes to a temporary file beside the target (same folder, so the rename is atomic),
 * which is renamed over the target only once everything is written and flushed. On failure the
 * temporary file is removed and the target is untouched.
 */
export async function writeAtomically(
  target: string,
  write: (out: Writable) => Promise<void>,
  options: { mkdirs: boolean; overwrite: boolean; actionId: string; shown: string; signal?: AbortSignal },
): Promise<{ bytes: number }> {
  const dir = path.dirname(target);
  if (options.mkdirs) await mkdir(dir, { recursive: true });
  if (!options.overwrite && (await exists(target))) {
    throw new BuiltinError('ALREADY_EXISTS', `${options.actionId}: "${options.shown}" already exists.`, 'Set overwrite: true to replace it.');
  }
  const temp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle;
  try {
    handle = await open(temp, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !options.mkdirs) {
      throw new BuiltinError('NOT_FOUND', `${options.actionId}: the folder of "${options.shown}" does not exist.`, 'Create it first, or leave mkdirs at true.');
    }
    throw fileError(options.actionId, err, options.shown);
  }
  const out = handle.createWriteStream({ flush: true });
  // Write errors are taken from `out.errored` and `finished`; without a listener they would crash the process.
  out.on('error', () => undefined);
  try {
    await write(out);
    options.signal?.throwIfAborted();
    out.end();
    await finished(out);
    await rename(temp, target);
    return { bytes: out.bytesWritten };
  } catch (err) {
    out.destroy();
    await finished(out).catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw fileError(options.actionId, err, options.shown);
  }
}

/** Writes a chunk, waiting for the stream to drain when its buffer is full (bounded memory). */
export async function writeChunk(out: Writable, chunk: unknown): Promise<void> {
  // A stream that already failed emits no second error and never drains: report the first one.
  if (out.errored) throw out.errored;
  if (out.destroyed) throw new Error('the output was closed before the content was written');
  if (out.write(chunk)) return;
  if (out.errored) throw out.errored;
  await new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      out.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      out.off('drain', onDrain);
      reject(err);
    };
    out.once('drain', onDrain);
    out.once('error', onError);
  });
}

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
