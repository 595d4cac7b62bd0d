import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from './database.js';
import { SCHEMA_VERSION } from './schema.js';

describe('schema migrations', () => {
  it('brings a new database to the current version and is idempotent', () => {
    const db = new BetterSqlite3(':memory:');
    migrate(db);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    migrate(db);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(['folders', 'files', 'files_fts', 'api_keys', 'file_tags', 'tags', 'pending_blob_deletes']));
  });

  it('refuses a data folder written by a newer schema instead of corrupting it', () => {
    const db = new BetterSqlite3(':memory:');
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    expect(() => migrate(db)).toThrow(/newer sfx/);
  });
});
