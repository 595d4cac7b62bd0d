import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { MIGRATIONS } from './schema.js';

export type Durability = 'full' | 'relaxed';

/**
 * Opens (or creates) the metadata database: WAL, foreign keys, and every pending migration.
 * `full` durability syncs the WAL on each commit so an acknowledged write survives power loss;
 * `relaxed` survives process crashes only, and is what tests and CI use for speed.
 */
export function openDatabase(file: string, durability: Durability = 'full'): Database {
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `The data folder was written by a newer sfx (schema ${current}, this one knows ${MIGRATIONS.length}). ` +
        'Upgrade sfx or point --data at another folder.',
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    const step = MIGRATIONS[version]!;
    db.transaction(() => {
      step(db);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
