import type { Database, Statement } from 'better-sqlite3';
import { readTransactionBegan, readTransactionEnded } from './data-memo.js';

const byDatabase = new WeakMap<Database, Map<string, Statement>>();

/**
 * The statement for `sql`, compiled on first use and reused after: compiling costs more than
 * running a one-row lookup, and request paths (authentication, visibility) run the same few
 * statements on every request. Callers must not switch a shared statement's mode (`pluck`, `raw`,
 * `expand`); prepare those themselves. The set is bounded by the fixed SQL texts of the code.
 */
export function cachedStatement(db: Database, sql: string): Statement {
  let statements = byDatabase.get(db);
  if (!statements) {
    statements = new Map();
    byDatabase.set(db, statements);
  }
  let statement = statements.get(sql);
  if (!statement) {
    statement = db.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
}

/**
 * Runs the synchronous part of `work` in one read transaction and commits before returning, even
 * when `work` returns a promise (what it does after its first await runs outside). Each statement
 * outside a transaction takes and drops SQLite's WAL read lock, a few system calls each; a request
 * that reads three times (key, file, folder visibility) then pays for one. Inside a transaction
 * already, `work` just runs.
 */
export function inOneReadTransaction<T>(db: Database, work: () => T): T {
  if (db.inTransaction) return work();
  cachedStatement(db, 'BEGIN').run();
  readTransactionBegan(db);
  try {
    return work();
  } finally {
    readTransactionEnded(db);
    if (db.inTransaction) cachedStatement(db, 'COMMIT').run();
  }
}
