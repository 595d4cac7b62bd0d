import type { Database, Statement } from 'better-sqlite3';

/**
 * Values derived from the database's contents (an authenticated key, a file's details reply, the
 * file a CDN path names), kept for as long as the database provably has not changed, so that hot
 * reads answer without running their queries and building their objects again.
 *
 * "Not changed" is two counters, read on every use: `total_changes()`, the rows this connection
 * has inserted, updated or deleted since it opened (trigger changes included; a rollback never
 * lowers it), and `PRAGMA data_version`, which moves when another connection commits (a script or
 * the sqlite3 shell on the same file). When either moves, the memo is emptied before it is read,
 * so a write is seen by the very next request: a deactivated key is refused, a deleted file is
 * gone. Reading data_version takes SQLite's read lock: one lock cycle per request is what a hit
 * still costs (inside a read transaction that already holds it, nothing).
 *
 * Values are neither read nor stored inside a write transaction: what it reads may yet be rolled
 * back, and the counters would not say so.
 */
interface Memo {
  changes: number;
  version: number;
  entries: Map<string, unknown>;
  /** Statements of its own: they are switched to pluck mode, which a shared statement must not be. */
  totalChanges: Statement;
  dataVersion: Statement;
}

/** Enough for every key and the hot files of a busy server; past it the memo starts over. */
const MAX_ENTRIES = 10_000;

const memos = new WeakMap<Database, Memo>();

function memoOf(db: Database): Memo {
  let memo = memos.get(db);
  if (!memo) {
    memo = {
      changes: -1,
      version: -1,
      entries: new Map(),
      totalChanges: db.prepare('SELECT total_changes()').pluck(),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
    };
    memos.set(db, memo);
  }
  return memo;
}

/** Databases inside a read transaction begun by `inOneReadTransaction`, with total_changes() at its start. */
const readTransactions = new WeakMap<Database, number>();

/** Called by `inOneReadTransaction` right after its BEGIN, and when it ends. */
export function readTransactionBegan(db: Database): void {
  readTransactions.set(db, memoOf(db).totalChanges.get() as number);
}

export function readTransactionEnded(db: Database): void {
  readTransactions.delete(db);
}

/**
 * The memo valid for the database as it is now, or undefined where none may be used (inside a
 * write transaction, or a read transaction that has written).
 */
export function dataMemo(db: Database): Map<string, unknown> | undefined {
  const memo = memoOf(db);
  const changes = memo.totalChanges.get() as number;
  if (db.inTransaction && readTransactions.get(db) !== changes) return undefined;
  const version = memo.dataVersion.get() as number;
  if (memo.changes !== changes || memo.version !== version || memo.entries.size >= MAX_ENTRIES) {
    memo.changes = changes;
    memo.version = version;
    memo.entries = new Map();
  }
  return memo.entries;
}

/** The memoised value for `key`, computing and keeping it when absent (or computing only, when no memo may be used). */
export function memoised<T>(db: Database, key: string, compute: () => T): T {
  const memo = dataMemo(db);
  if (!memo) return compute();
  const known = memo.get(key);
  if (known !== undefined) return known as T;
  const value = compute();
  if (value !== undefined) memo.set(key, value);
  return value;
}
