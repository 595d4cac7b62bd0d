/**
 * `sfx sync SOURCE FOLDER`: makes a DAM folder hold what a local folder, a URL list or a CSV
 * manifest holds. The engine (plan + execute) lives in @sfx/flows so flows can `uses: dam.sync`;
 * this wraps it with the confirmation, progress and output people and scripts expect.
 */
import { createInterface } from 'node:readline/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { emptyReport, executePlan, planSync, Sha1Cache, SyncError, type PlanRow, type SourceKind, type SyncPlan, type SyncReport } from '@sfx/flows';
import { configDir } from '../connections-store.js';
import { CliError, EXIT_INTERRUPTED, UsageError } from '../errors.js';
import { table } from '../table.js';
import { formatBytes, outputMode, type OutputFlags } from './output.js';
import { normalizeFolder, openDam, type ConnectionFlags } from './session.js';
import { TransferProgress } from './transfer-progress.js';
import { formatDuration } from '../progress.js';

interface SyncFlags extends ConnectionFlags, OutputFlags {
  from?: SourceKind;
  delete?: boolean;
  yes?: boolean;
  dryRun?: boolean;
  checksum?: boolean;
  concurrency: number;
  tps?: number;
  cache: string | false;
  verbose?: boolean;
  quiet?: boolean;
}

const HELP = `
SOURCE is a local folder, a file of URLs (one a line; # starts a comment), or a CSV manifest with
a "path" (local file, relative to the manifest) or "url" column, an optional "name" (the target
path below FOLDER, may hold subfolders), "tags" (split on |), and any other column as metadata.
The kind is detected (.csv or a header naming path/url: manifest; other files: URL list);
--from forces it.

How it decides, from ONE recursive listing of FOLDER, matched by relative path:
  upload   not in FOLDER yet
  update   other size or sha1 (replaced in place: same uuid, same CDN URL), or manifest
           metadata/tags the asset lacks (no bytes sent)
  skip     same size and sha1. Local sha1s are cached (path + size + mtime) in
           $SFX_CONFIG_DIR/sync-cache.sqlite, so unchanged files are not read again.
           URL sources: an asset of that name counts as unchanged (there are no local bytes
           to hash) unless --checksum fetches each URL and compares sha1s.
  delete   in FOLDER but not in SOURCE (only with --delete; asks first, or --yes)

Re-running is resuming: after a crash or kill -9 the plan is made again from FOLDER, and
uploads replace same-named assets, so nothing is duplicated and nothing is missed.
Exit code 1 when an entry failed (the summary says why); 130 when interrupted.

Examples:
  sfx sync ./photos /products                 # upload what is new or changed
  sfx sync ./photos /products --dry-run       # print the plan, change nothing
  sfx sync ./photos /products --delete --yes  # and delete assets that left ./photos
  sfx sync urls.txt /imports                  # import URLs not imported yet
  sfx sync manifest.csv /catalog --json       # with metadata and tags; a JSON report
  sfx sync ./big /archive --concurrency 8 --tps 20`;

function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a whole number >= 1.`);
    return n;
  };
}

function positiveNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a number > 0 (requests a second).`);
    return n;
  };
}

function sourceKind(value: string): SourceKind {
  if (value === 'folder' || value === 'urls' || value === 'csv') return value;
  throw new InvalidArgumentError('--from must be folder, urls or csv.');
}

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('Make a DAM folder hold what a local folder, URL list or CSV manifest holds (skips what is unchanged)')
    .argument('<source>', 'a local folder, a file of URLs, or a CSV manifest')
    .argument('<folder>', 'the DAM folder to sync into (created when missing)')
    .option('--from <kind>', 'the source kind: folder, urls or csv (default: detected)', sourceKind)
    .option('--delete', 'delete assets below FOLDER that are not in SOURCE')
    .option('-y, --yes', 'do not ask before deleting')
    .option('-n, --dry-run', 'print the plan (action, path, reason) and change nothing')
    .option('--checksum', 'URL sources: fetch URLs whose asset exists and compare sha1s')
    .option('--concurrency <n>', 'files in flight at once', positiveInt('--concurrency'), 4)
    .option('--tps <n>', 'at most this many API requests a second', positiveNumber('--tps'))
    .option('--cache <file>', 'the sha1 cache file (default: sync-cache.sqlite in the config folder)')
    .option('--no-cache', 'keep no sha1 cache (files matched by size are read again)')
    .option('-v, --verbose', 'list skipped files in the plan too, and say how many files were hashed')
    .option('-q, --quiet', 'no progress line')
    .option('--json', 'print the report (and with --dry-run the plan) as JSON')
    .option('--connection <name>', 'the stored connection (default: $SFX_CONNECTION, or the only one)')
    .addHelpText('after', HELP)
    .action((source: string, folder: string, flags: SyncFlags) => runSync(source, folder, flags));
}

async function runSync(source: string, folderArg: string, flags: SyncFlags): Promise<void> {
  const folder = normalizeFolder(folderArg);
  const dam = await openDam(flags, flags.tps ? { requestsPerSecond: flags.tps } : undefined);
  const cachePath = flags.cache === false ? undefined : typeof flags.cache === 'string' ? flags.cache : join(configDir(), 'sync-cache.sqlite');
  const mode = outputMode(flags);
  const stop = new AbortController();
  const onSignal = (): void => {
    if (stop.signal.aborted) process.exit(EXIT_INTERRUPTED);
    process.stderr.write('\nstopping: no new files; re-run the same command to go on.\n');
    stop.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const startedAt = Date.now();
  const cache = new Sha1Cache(cachePath);
  let plan: SyncPlan | undefined;
  try {
    const planning = new PlanningLine(!flags.json && !flags.quiet);
    try {
      plan = await planSync(dam.client, {
        source,
        ...(flags.from && { from: flags.from }),
        folder,
        delete: flags.delete ?? false,
        checksum: flags.checksum ?? false,
        concurrency: flags.concurrency,
        cache,
        signal: stop.signal,
        onProgress: (p) => planning.show(p),
      });
    } catch (error) {
      if (error instanceof SyncError) throw new UsageError(error.message);
      throw error;
    } finally {
      planning.end();
    }
    if (flags.dryRun) {
      printPlan(plan, emptyReport(plan, true, cache, startedAt), mode, flags.verbose ?? false);
      return;
    }
    if (plan.counts.delete > 0 && !flags.yes) await confirmDeletes(plan);
    const progress = new TransferProgress('synced', process.stderr, Date.now, !flags.json && !flags.quiet);
    progress.total(plan.pending, plan.counts.bytes);
    const report = await executePlan(dam.client, plan, {
      concurrency: flags.concurrency,
      cache,
      signal: stop.signal,
      onResult: (r) => {
        progress.add({ bytes: r.bytes, failed: !r.ok });
        if (!r.ok) progress.note(`failed: ${r.action} ${r.path}: ${r.reason ?? ''}`);
      },
    }, startedAt);
    progress.end();
    printReport(report, mode, flags.verbose ?? false);
    if (report.failed > 0) throw new CliError(`${report.failed} of ${plan.pending} changes failed (reasons above); run the same command again to retry them.`);
  } catch (error) {
    if (stop.signal.aborted) throw new CliError('sync interrupted; run the same command again to go on.', EXIT_INTERRUPTED);
    throw error;
  } finally {
    plan?.close();
    cache.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** What planning is doing, on a terminal only: listing the destination, then reading the source. */
class PlanningLine {
  private shown = false;
  private last = 0;
  constructor(private readonly enabled: boolean) {}
  show(p: { listed: number; scanned: number }): void {
    if (!this.enabled || !process.stderr.isTTY || Date.now() - this.last < 200) return;
    this.last = Date.now();
    this.shown = true;
    process.stderr.write(`\r\x1b[2Kplanning: ${p.listed} assets listed, ${p.scanned} source entries compared`);
  }
  end(): void {
    if (this.shown) process.stderr.write('\r\x1b[2K');
  }
}

async function confirmDeletes(plan: SyncPlan): Promise<void> {
  const what = `${plan.counts.delete} asset${plan.counts.delete === 1 ? '' : 's'} below ${plan.folder} that ${plan.counts.delete === 1 ? 'is' : 'are'} not in ${plan.source}`;
  if (!process.stdin.isTTY)
    throw new CliError(`--delete would delete ${what}. Nothing was changed: add --yes to go ahead, or --dry-run to see the plan.`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`Delete ${what}? (--dry-run lists them) [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('Nothing was changed.');
  } finally {
    rl.close();
  }
}

function planLine(row: PlanRow): string[] {
  return [row.action, row.path, row.reason];
}

function printPlan(plan: SyncPlan, report: SyncReport, mode: ReturnType<typeof outputMode>, verbose: boolean): void {
  if (mode === 'json') {
    // Streamed: a plan of a million rows is never one string.
    process.stdout.write(`{"report":${JSON.stringify(report)},"plan":[`);
    let first = true;
    for (const row of plan.rows({ skips: true })) {
      process.stdout.write(`${first ? '' : ','}\n${JSON.stringify({ action: row.action, path: row.path, reason: row.reason, ...(row.uuid && { uuid: row.uuid }) })}`);
      first = false;
    }
    process.stdout.write('\n]}\n');
    return;
  }
  const width = 6;
  if (mode === 'table') process.stdout.write(`${'ACTION'.padEnd(width)}  PATH  REASON\n`);
  for (const row of plan.rows({ skips: verbose })) {
    const [action, path, reason] = planLine(row);
    process.stdout.write(mode === 'tsv' ? `${action}\t${path}\t${reason}\n` : `${action!.padEnd(width)}  ${path}  (${reason})\n`);
  }
  const c = plan.counts;
  process.stderr.write(
    `dry run, nothing changed: ${c.upload} to upload (${formatBytes(c.bytes) || '0 B'}), ${c.update} to update, ${c.skip} unchanged${verbose ? '' : ' (-v lists them)'}, ${c.delete} to delete, ${c.fail} failing` +
      `${c.extra ? `; ${c.extra} assets below ${plan.folder} are not in the source (--delete would delete them)` : ''}.\n`,
  );
  if (verbose) process.stderr.write(`sha1 cache: ${report.cache.hits} hits, ${report.cache.hashed} files hashed.\n`);
}

function printReport(report: SyncReport, mode: ReturnType<typeof outputMode>, verbose: boolean): void {
  if (mode === 'json') {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const rows: Array<[string, string]> = [
    ['uploaded', String(report.uploaded)],
    ['updated', String(report.updated)],
    ['skipped', String(report.skipped)],
    ['deleted', String(report.deleted)],
    ['failed', String(report.failed)],
  ];
  if (mode === 'tsv') {
    for (const [k, v] of rows) process.stdout.write(`${k}\t${v}\n`);
    for (const f of report.failures) process.stdout.write(`failure\t${f.action}\t${f.path}\t${f.reason}\n`);
  } else {
    process.stdout.write(`${table(['RESULT', 'FILES'], rows)}\n`);
    if (report.failures.length > 0) {
      process.stdout.write(`\n${table(['ACTION', 'PATH', 'WHY IT FAILED'], report.failures.map((f) => [f.action, f.path, f.reason]))}\n`);
      if (report.failed > report.failures.length) process.stdout.write(`(${report.failed - report.failures.length} more failures not listed; --json has the counts)\n`);
    }
    process.stdout.write(`${formatBytes(report.bytesSent) || '0 B'} sent in ${formatDuration(report.durationMs)}.${report.planned.extra ? ` ${report.planned.extra} assets below ${report.folder} are not in the source (--delete deletes them).` : ''}\n`);
  }
  for (const d of report.duplicates) process.stderr.write(`note: ${d.path} was not stored: the folder already holds the same content as ${d.existing} (the DAM skips duplicates in a folder).\n`);
  if (verbose) process.stderr.write(`sha1 cache: ${report.cache.hits} hits, ${report.cache.hashed} files hashed.\n`);
}
