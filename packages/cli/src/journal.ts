/**
 * The run journal a command reads and writes: a SQLite file (default `.sfx/runs.db`) or a
 * PostgreSQL URL shared by the processes of a cluster (`--journal`, `--store`, `$SFX_STORE`).
 */
import { resolve } from 'node:path';
import { isPostgresUrl, openRunStore, redactUrl, type RunRecord, type RunStore } from '@sfx/flows';
import { CliError, UsageError } from './errors.js';

export const DEFAULT_JOURNAL = '.sfx/runs.db';

/** The help of every command's `--store`. */
export const STORE_OPTION = 'the run journal as a postgres:// URL (shared by several processes and machines; default: $SFX_STORE), or a SQLite file';

export interface JournalFlags {
  journal?: string;
  /** A `postgres://` URL (or a SQLite file): the journal shared by processes on several machines. */
  store?: string;
}

/** The journal to open: a `postgres://` URL as given, or a SQLite file's absolute path. */
export function journalTarget(flags: JournalFlags): string {
  if (flags.store !== undefined && flags.journal !== undefined)
    throw new UsageError('give either --store or --journal, not both: --store takes a postgres:// URL or a file, --journal a file.');
  const target = flags.store ?? flags.journal ?? (process.env.SFX_STORE || process.env.SFX_JOURNAL || DEFAULT_JOURNAL);
  if (isPostgresUrl(target)) return target;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target))
    throw new UsageError(`--store ${redactUrl(target)}: only postgres:// (or postgresql://) URLs and SQLite file paths are journals.`);
  return resolve(target);
}

/** An open run journal, and how to name it in messages. */
export interface Journal {
  store: RunStore;
  where: string;
}

export async function openJournal(flags: JournalFlags): Promise<Journal> {
  try {
    return await openRunStore(journalTarget(flags));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new CliError((error as Error).message);
  }
}

export async function getRun(journal: Journal, id: string): Promise<RunRecord> {
  const run = await journal.store.getRun(id);
  if (!run) throw new UsageError(`no run has the id "${id}" in ${journal.where}: sfx runs lists them.`);
  return run;
}
