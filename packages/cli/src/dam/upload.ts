/**
 * `sfx upload PATH... FOLDER`: files, folders, globs and URLs into a folder, with metadata and tags,
 * a few at a time, with progress and a result per file. Safe to run again after a crash: the server
 * answers content it already holds in the folder as a duplicate (by sha1), so nothing is uploaded
 * twice, and new metadata or tags given for such a file are applied to the asset that is there.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { JsonFileResumeStore, PermissionDeniedError, type FileObject, type Filerobot, type Meta } from '@sfx/client';
import { nearest } from '@sfx/flows';
import { configDir } from '../connections-store.js';
import { UsageError } from '../errors.js';
import { interruptible, parseMetaPairs, parseTags, positiveInt, reasonOf, repeatable } from './args.js';
import { readMetaCsv, type MetaCsv } from './meta-csv.js';
import { formatBytes, outputMode, printRows, type Column, type OutputFlags } from './output.js';
import { applyToDuplicate, type Outcome } from './reupload.js';
import { normalizeFolder, openDam, splitPath, type ConnectionFlags } from './session.js';
import { TransferProgress } from './transfer-progress.js';
import { expandSources, type LocalFile, type RemoteFile, type Source } from './upload-sources.js';

interface UploadFlags extends ConnectionFlags, OutputFlags {
  meta: string[];
  tag: string[];
  metaCsv?: string;
  concurrency: number;
  resumableAbove: number;
}

interface Job<S extends Source = Source> {
  source: S;
  /** The folder the asset goes to, and its name there. */
  folder: string;
  name: string;
  meta: Meta;
  tags: string[];
}

export interface UploadRow {
  file: string;
  result: Outcome;
  uuid: string;
  /** The asset's path in the DAM. */
  path: string;
  reason: string;
  bytes: number;
}

/** The API imports at most this many URLs per request. */
const URLS_PER_REQUEST = 20;

const HELP = `
Arguments: one or more files, folders, globs or http(s) URLs, then the target folder (created when
missing). A folder keeps its layout: sfx upload ./photos /shop puts ./photos/red/a.jpg at
/shop/photos/red/a.jpg (to upload what is inside a folder, give ./photos/* instead). Globs are
expanded here too, so quoted ones work: '**' matches any depth, the path below the part without
wildcards is kept.

Examples:
  sfx upload a.jpg b.jpg /products                          # two files
  sfx upload ./photos /products --tag summer --meta season=2025
  sfx upload 'shots/**/*.jpg' /products --concurrency 8     # quoted: expanded by sfx
  sfx upload https://example.com/a.jpg /imports             # imported by the API
  sfx upload ./photos /products --meta-csv photos.csv       # per-file metadata and tags
  sfx upload ./photos /products --json | jq '.files[] | select(.result=="failed")'

--meta-csv: a CSV with a "path" column (as given here, or the path below FOLDER, or the URL) or a
"name" column (the file's name); other columns are metadata keys, and "tags" holds labels
separated by "|". --meta values that parse as JSON stay JSON: --meta 'sizes=["S","M"]'.

Each file ends as uploaded, duplicate (the folder already holds this content: nothing sent twice),
updated (a duplicate whose new metadata or tags were applied) or failed, with the reason. Run the
same command again after a crash or a failure: what is there is not uploaded again. Files from
--resumable-above MB up use resumable (tus) uploads, continued where they stopped.
Exit codes: 0 all done, 1 any file failed, 2 a local path does not exist (nothing is uploaded).`;

export function registerUpload(program: Command): void {
  program
    .command('upload')
    .description('Upload files, folders, globs or URLs into a folder, with metadata and tags')
    .argument('<paths...>', 'files, folders, globs or URLs, then the target folder')
    .option('--meta <key=value>', 'metadata for every file (repeatable; JSON values allowed)', repeatable, [])
    .option('--tag <label>', 'a tag for every file (repeatable, or comma-separated)', repeatable, [])
    .option('--meta-csv <file>', 'per-file metadata and tags from a CSV (see below)')
    .option('--concurrency <n>', 'uploads at once', positiveInt('--concurrency'), 4)
    .option('--resumable-above <MB>', 'size from which a file is sent as a resumable upload', positiveInt('--resumable-above'), 64)
    .option('--json', 'print the results as JSON')
    .option('--connection <name>', 'the stored connection (default: $SFX_CONNECTION, or the only one)')
    .addHelpText('after', HELP)
    .action((args: string[], flags: UploadFlags) => upload(args, flags));
}

async function upload(args: string[], flags: UploadFlags): Promise<void> {
  if (args.length < 2)
    throw new UsageError(`sfx upload needs what to upload and then the target folder, e.g. sfx upload ./photos /products (got ${args.length === 0 ? 'nothing' : `only ${args[0]}`}).`);
  const target = args[args.length - 1]!;
  if (/^https?:\/\//i.test(target)) throw new UsageError(`the last argument is the target folder, e.g. /imports; got the URL ${target}.`);
  const folder = normalizeFolder(target);
  const meta = parseMetaPairs(flags.meta, '--meta');
  const tags = parseTags(flags.tag);
  const csv = flags.metaCsv ? await readMetaCsv(flags.metaCsv) : undefined;
  const sources = await expandSources(args.slice(0, -1));
  const jobs = sources.map((source) => jobFor(source, folder, meta, tags, csv));
  for (const row of csv?.unmatched() ?? []) process.stderr.write(`warning: --meta-csv row ${row} matches no file being uploaded.\n`);
  if (jobs.length === 0) {
    process.stderr.write('nothing to upload: the folders given hold no files.\n');
    return;
  }

  const dam = await openDam(flags);
  const mode = outputMode(flags);
  const progress = new TransferProgress('uploaded', process.stderr, Date.now, mode !== 'json');
  const rows: UploadRow[] = new Array(jobs.length);
  const created = await interruptible(async (signal) => {
    const made = await ensureTarget(dam.client, folder, signal);
    progress.total(jobs.length, jobs.reduce((sum, j) => sum + (j.source.kind === 'file' ? j.source.size : 0), 0));
    const record = (index: number, row: UploadRow): void => {
      rows[index] = row;
      progress.add({ bytes: row.bytes, failed: row.result === 'failed' });
      if (row.result === 'failed') progress.note(`failed: ${row.file}: ${row.reason}`);
    };
    const tasks: Array<() => Promise<void>> = [];
    const store = new JsonFileResumeStore(join(configDir(), 'uploads.json'));
    const resumableBytes = flags.resumableAbove * 1024 * 1024;
    const urlJobs: Array<{ index: number; job: Job<RemoteFile> }> = [];
    for (const [index, job] of jobs.entries()) {
      if (job.source.kind === 'url') urlJobs.push({ index, job: job as Job<RemoteFile> });
      else tasks.push(async () => record(index, await uploadFile(dam.client, job as Job<LocalFile>, { store, resumableBytes, signal })));
    }
    for (let at = 0; at < urlJobs.length; at += URLS_PER_REQUEST) {
      const batch = urlJobs.slice(at, at + URLS_PER_REQUEST);
      tasks.push(async () => {
        const results = await importBatch(dam.client, folder, batch.map((b) => b.job), signal);
        for (const [i, row] of results.entries()) record(batch[i]!.index, row);
      });
    }
    await pool(tasks, flags.concurrency, signal);
    progress.end();
    return made;
  });

  const columns: Array<Column<UploadRow>> = [
    { header: 'FILE', value: (r) => r.file },
    { header: 'RESULT', value: (r) => r.result },
    { header: 'UUID', value: (r) => r.uuid },
    { header: 'REASON', value: (r) => r.reason },
  ];
  const count = (result: Outcome): number => rows.filter((r) => r.result === result).length;
  const summary = { uploaded: count('uploaded'), updated: count('updated'), duplicate: count('duplicate'), failed: count('failed') };
  printRows(mode, columns, rows, () => ({ folder, created_folder: created, summary, files: rows }));
  const bytes = rows.reduce((sum, r) => sum + (r.result === 'uploaded' ? r.bytes : 0), 0);
  process.stderr.write(
    `${summary.uploaded} uploaded, ${summary.updated} updated, ${summary.duplicate} duplicate, ${summary.failed} failed` +
      ` (${formatBytes(bytes)} sent to ${folder} in ${(progress.elapsedMs() / 1000).toFixed(1)}s)\n`,
  );
  if (summary.failed > 0) process.exitCode = 1;
}

function jobFor(source: Source, folder: string, meta: Meta, tags: string[], csv: MetaCsv | undefined): Job {
  const row = csv?.lookup(source);
  const below = source.kind === 'url' ? '' : splitPath(source.target).folder;
  return {
    source,
    folder: normalizeFolder(`${folder}/${below}`),
    name: source.kind === 'url' ? source.target : splitPath(source.target).name,
    meta: { ...meta, ...row?.meta },
    tags: parseTags([...tags, ...(row?.tags ?? [])]),
  };
}

/** Makes the target folder when it is missing, and says so (with the closest existing names, in case of a typo). */
async function ensureTarget(client: Filerobot, folder: string, signal: AbortSignal): Promise<boolean> {
  if (folder === '/') return false;
  const { folder: parent, name } = splitPath(folder);
  const siblings: string[] = [];
  try {
    for await (const f of client.folders.list({ folder: parent, signal })) {
      if (f.name === name) return false;
      siblings.push(f.name);
    }
  } catch (error) {
    // An upload-only key cannot list: the upload creates the folder as it goes.
    if (error instanceof PermissionDeniedError) return false;
    throw error;
  }
  await client.folders.ensure(folder, { signal });
  const near = nearest(name, siblings);
  const prefix = parent === '/' ? '' : parent;
  process.stderr.write(`created folder ${folder} (it did not exist${near.length ? `; did you mean ${near.map((n) => `${prefix}/${n}`).join(', ')}?` : ''})\n`);
  return true;
}

async function uploadFile(
  client: Filerobot,
  job: Job<LocalFile>,
  options: { store: JsonFileResumeStore; resumableBytes: number; signal: AbortSignal },
): Promise<UploadRow> {
  const { source, folder, name } = job;
  const path = `${folder === '/' ? '' : folder}/${name}`;
  const meta = Object.keys(job.meta).length > 0 ? job.meta : undefined;
  const tags = job.tags.length > 0 ? job.tags : undefined;
  try {
    const resumable = source.size >= options.resumableBytes && client.files.connectorUrl !== undefined;
    let resumedFrom = 0;
    const result = resumable
      ? await client.files.uploadResumable(source.path, { folder, name, meta, tags, resume: options.store, signal: options.signal }).then((r) => {
          resumedFrom = r.resumedFrom;
          return r;
        })
      : await client.files.upload(source.path, { folder, name, meta, tags, signal: options.signal });
    const reason = resumedFrom > 0 ? `resumed at ${formatBytes(resumedFrom)}: an earlier run had sent the bytes before that` : '';
    if (!result.duplicate) return { file: source.shown, result: 'uploaded', uuid: result.file.uuid, path, reason, bytes: source.size - resumedFrom };
    const applied = await applyToDuplicate(client, result.file, { name, meta: job.meta, tags: job.tags, signal: options.signal });
    return { file: source.shown, ...applied, path: assetPath(result.file, folder), bytes: 0 };
  } catch (error) {
    if (options.signal.aborted) throw error;
    return { file: source.shown, result: 'failed', uuid: '', path, reason: reasonOf(error), bytes: 0 };
  }
}

/**
 * One request of up to 20 URLs. The reply lists the new files and the duplicates without saying
 * which URL each came from: a duplicate is matched by name first, the rest in order.
 */
async function importBatch(client: Filerobot, folder: string, jobs: ReadonlyArray<Job<RemoteFile>>, signal: AbortSignal): Promise<UploadRow[]> {
  const prefix = folder === '/' ? '' : folder;
  let reply;
  try {
    reply = await client.files.importUrls(
      jobs.map((j) => ({ url: j.source.url, ...(Object.keys(j.meta).length > 0 && { meta: j.meta }), ...(j.tags.length > 0 && { tags: j.tags }) })),
      { folder, signal },
    );
  } catch (error) {
    if (signal.aborted) throw error;
    return jobs.map((j) => ({ file: j.source.shown, result: 'failed', uuid: '', path: `${prefix}/${j.name}`, reason: reasonOf(error), bytes: 0 }));
  }
  const failed = new Map(reply.errors.map((e) => [e.source, e]));
  const duplicateIds = new Set(reply.duplicates);
  const fresh = reply.files.filter((f) => !duplicateIds.has(f.uuid));
  const duplicates = reply.files.filter((f) => duplicateIds.has(f.uuid));
  const rows: UploadRow[] = [];
  for (const job of jobs) {
    const base = { file: job.source.shown, path: `${prefix}/${job.name}` };
    const error = failed.get(job.source.url);
    if (error) {
      rows.push({ ...base, result: 'failed', uuid: '', reason: [error.code, error.msg].filter(Boolean).join(': ') || 'the API could not import it', bytes: 0 });
      continue;
    }
    const byName = duplicates.findIndex((f) => f.name === job.name);
    const duplicate = byName >= 0 ? duplicates.splice(byName, 1)[0] : fresh.length === 0 ? duplicates.shift() : undefined;
    if (duplicate) {
      const applied = await applyToDuplicate(client, duplicate, { name: job.name, meta: job.meta, tags: job.tags, signal });
      rows.push({ ...base, ...applied, path: assetPath(duplicate, folder), bytes: 0 });
      continue;
    }
    const file = fresh.shift();
    if (file) rows.push({ ...base, result: 'uploaded', uuid: file.uuid, path: assetPath(file, folder), reason: '', bytes: sizeOf(file) });
    else rows.push({ ...base, result: 'failed', uuid: '', reason: 'the API reported no file for this URL', bytes: 0 });
  }
  return rows;
}

function assetPath(file: FileObject, folder: string): string {
  return file.url?.path ?? `${folder === '/' ? '' : folder}/${file.name}`;
}

function sizeOf(file: FileObject): number {
  return typeof file.size === 'number' ? file.size : (file.size?.bytes ?? 0);
}

/** Runs the tasks, `concurrency` at a time, in order; stops taking new ones once aborted. */
async function pool(tasks: ReadonlyArray<() => Promise<void>>, concurrency: number, signal: AbortSignal): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length && !signal.aborted) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
}
