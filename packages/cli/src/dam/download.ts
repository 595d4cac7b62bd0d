/**
 * `sfx download PATH|UUID... DIR`, `sfx download /folder DIR -R`, `sfx download --query Q DIR`:
 * originals streamed to disk, each written to a temporary file, checked against the asset's sha1
 * and only then renamed into place, so DIR never holds a truncated or corrupt file. Files already
 * there with the same sha1 are skipped, so a re-run after an interruption fetches only the rest.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { sizeInBytes, type FileObject, type Filerobot } from '@sfx/client';
import { CliError, EXIT_USAGE, UsageError } from '../errors.js';
import { interruptible, positiveInt, reasonOf } from './args.js';
import { outputMode, printRows, printWarnings, type Column, type OutputFlags } from './output.js';
import { resolveEntry } from './entries.js';
import { normalizeFolder, openDam, splitPath, type ConnectionFlags, type Dam } from './session.js';
import { TransferProgress } from './transfer-progress.js';

interface DownloadFlags extends ConnectionFlags, OutputFlags {
  recursive?: boolean;
  query?: string;
  concurrency: number;
}

interface Wanted {
  file: FileObject;
  /** Where it goes, relative to DIR. */
  local: string;
}

interface DownloadRow {
  file: string;
  result: 'downloaded' | 'skipped' | 'failed';
  path: string;
  uuid: string;
  reason: string;
  bytes: number;
}

const HELP = `
Examples:
  sfx download /products/shoe.jpg .                 # one asset into the current folder
  sfx download 3f2a...-uuid ./out                   # by uuid
  sfx download /products ./out -R                   # the folder, as ./out/products/...
  sfx download --query '#summer' ./out              # every asset the search finds (paths kept)
  sfx download /products --query 'color:red' ./out  # searched below /products only

Each file is written to <name>.part, checked against the asset's sha1, then renamed: a mismatch is
an error and leaves nothing behind. A file already in DIR with the same sha1 is skipped.
Exit codes: 0 all done, 1 any file failed or an asset was not found, 2 bad arguments.`;

export function registerDownload(program: Command): void {
  program
    .command('download')
    .description('Download assets (by path, uuid, folder with -R, or --query) into a local folder, sha1-checked')
    .argument('<args...>', 'assets or folders, then the local folder')
    .option('-R, --recursive', 'download folders with everything below them')
    .option('-q, --query <q>', 'download what this search finds (below the folder given, else everywhere)')
    .option('--concurrency <n>', 'downloads at once', positiveInt('--concurrency'), 4)
    .option('--json', 'print the results as JSON')
    .option('--connection <name>', 'the stored connection (default: $SFX_CONNECTION, or the only one)')
    .addHelpText('after', HELP)
    .action((args: string[], flags: DownloadFlags) => download(args, flags));
}

async function download(args: string[], flags: DownloadFlags): Promise<void> {
  const dir = args[args.length - 1];
  const refs = args.slice(0, -1);
  if (!dir || (refs.length === 0 && flags.query === undefined))
    throw new UsageError('sfx download needs what to download and then a local folder, e.g. sfx download /products/a.jpg ./out (or --query Q ./out).');
  if (flags.query !== undefined && refs.length > 1)
    throw new UsageError(`with --query, give at most one folder to search below (got ${refs.join(', ')}).`);
  const dam = await openDam(flags);
  const mode = outputMode(flags);
  const rows = await interruptible(async (signal) => {
    const wanted = flags.query !== undefined ? await searched(dam, refs[0] ?? '/', flags.query, signal) : await resolveRefs(dam, refs, flags, signal);
    const progress = new TransferProgress('downloaded', process.stderr, Date.now, mode !== 'json');
    progress.total(wanted.length, wanted.reduce((sum, w) => sum + (sizeInBytes(w.file.size) ?? 0), 0));
    const results: DownloadRow[] = new Array(wanted.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < wanted.length && !signal.aborted) {
        const index = next++;
        const row = await fetchOne(dam.client, wanted[index]!, resolve(dir), signal);
        results[index] = row;
        progress.add({ bytes: row.bytes, failed: row.result === 'failed' });
        if (row.result === 'failed') progress.note(`failed: ${row.file}: ${row.reason}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(flags.concurrency, wanted.length) }, worker));
    progress.end();
    return results;
  });
  const columns: Array<Column<DownloadRow>> = [
    { header: 'FILE', value: (r) => r.file },
    { header: 'RESULT', value: (r) => r.result },
    { header: 'PATH', value: (r) => r.path },
    { header: 'REASON', value: (r) => r.reason },
  ];
  const count = (result: DownloadRow['result']): number => rows.filter((r) => r.result === result).length;
  const summary = { downloaded: count('downloaded'), skipped: count('skipped'), failed: count('failed') };
  printRows(mode, columns, rows, () => ({ dir: resolve(dir), summary, files: rows }));
  process.stderr.write(`${summary.downloaded} downloaded, ${summary.skipped} skipped (already there), ${summary.failed} failed\n`);
  if (summary.failed > 0) process.exitCode = 1;
}

/** Paths, uuids and (with -R) folders, each resolved or an error with the closest names. */
async function resolveRefs(dam: Dam, refs: readonly string[], flags: DownloadFlags, signal: AbortSignal): Promise<Wanted[]> {
  const wanted: Wanted[] = [];
  for (const ref of refs) {
    const entry = await resolveEntry(dam, ref, signal);
    if (entry.kind === 'file') {
      wanted.push({ file: entry.file, local: entry.file.name });
      continue;
    }
    if (!flags.recursive) throw new CliError(`${entry.path} is a folder: add -R to download it with everything below it.`, EXIT_USAGE);
    const top = splitPath(entry.path).name;
    for (const w of await below(dam.client, entry.path, undefined, signal)) wanted.push({ file: w.file, local: top ? `${top}/${w.local}` : w.local });
  }
  return wanted;
}

async function searched(dam: Dam, ref: string, q: string, signal: AbortSignal): Promise<Wanted[]> {
  const folder = normalizeFolder(ref);
  await dam.folder(folder, signal);
  return below(dam.client, folder, q, signal);
}

async function below(client: Filerobot, folder: string, q: string | undefined, signal: AbortSignal): Promise<Wanted[]> {
  const wanted: Wanted[] = [];
  const list = client.files.list({ folder, recursive: true, ...(q !== undefined && { q }), signal });
  printWarnings(await list);
  for await (const file of list) {
    const path = file.url?.path ?? `/${file.name}`;
    const inside = folder === '/' ? path.replace(/^\/+/, '') : path.startsWith(`${folder}/`) ? path.slice(folder.length + 1) : file.name;
    wanted.push({ file, local: inside });
  }
  return wanted.sort((a, b) => (a.local < b.local ? -1 : a.local > b.local ? 1 : 0));
}

async function fetchOne(client: Filerobot, { file, local }: Wanted, dir: string, signal: AbortSignal): Promise<DownloadRow> {
  const shown = file.url?.path ?? file.name;
  const path = resolve(dir, local);
  const base = { file: shown, path: relativeShown(path), uuid: file.uuid };
  if (relative(dir, path).startsWith(`..${sep}`) || relative(dir, path) === '..')
    return { ...base, result: 'failed', reason: `its path ${local} would leave ${dir}`, bytes: 0 };
  const expected = file.hash?.sha1;
  try {
    if (expected && (await sha1Of(path)) === expected) return { ...base, result: 'skipped', reason: 'same sha1 already there', bytes: 0 };
    await mkdir(dirname(path), { recursive: true });
    const { bytes } = await client.files.download(file, path, { signal });
    return { ...base, result: 'downloaded', reason: expected ? '' : 'the API gave no sha1 to check it against', bytes };
  } catch (error) {
    if (signal.aborted) throw error;
    return { ...base, result: 'failed', reason: reasonOf(error), bytes: 0 };
  }
}

async function sha1Of(path: string): Promise<string | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) return undefined;
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function relativeShown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}
