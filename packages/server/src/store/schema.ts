import type { Database } from 'better-sqlite3';

/**
 * Ordered schema migrations. `PRAGMA user_version` holds how many have run; each runs in its own
 * transaction, so a crash mid-migration leaves the previous version intact. Never edit a
 * migration that has shipped: add a new one.
 */
export const MIGRATIONS: ReadonlyArray<(db: Database) => void> = [
  // 1: folders, files, full-text index, keys.
  (db) => {
    db.exec(`
      CREATE TABLE folders (
        id          INTEGER PRIMARY KEY,
        uuid        TEXT NOT NULL UNIQUE,
        parent_id   INTEGER REFERENCES folders(id),
        name        TEXT NOT NULL,
        path        TEXT NOT NULL UNIQUE,
        meta        TEXT NOT NULL DEFAULT '{}',
        visibility  TEXT NOT NULL DEFAULT 'inherited',
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
      );
      CREATE UNIQUE INDEX folders_parent_name ON folders(parent_id, name);

      CREATE TABLE files (
        id               INTEGER PRIMARY KEY,
        uuid             TEXT NOT NULL UNIQUE,
        folder_id        INTEGER NOT NULL REFERENCES folders(id),
        name             TEXT NOT NULL,
        extension        TEXT NOT NULL,
        type             TEXT NOT NULL,
        size             INTEGER NOT NULL,
        sha1             TEXT NOT NULL,
        blob_id          TEXT NOT NULL,
        meta             TEXT NOT NULL DEFAULT '{}',
        tags             TEXT NOT NULL DEFAULT '{}',
        labels           TEXT NOT NULL DEFAULT '[]',
        info             TEXT NOT NULL DEFAULT '{}',
        product_ref      TEXT,
        product_position INTEGER,
        visibility       TEXT NOT NULL DEFAULT 'inherited',
        created_at       TEXT NOT NULL,
        modified_at      TEXT NOT NULL
      );
      CREATE UNIQUE INDEX files_folder_name ON files(folder_id, name);
      CREATE INDEX files_folder_created ON files(folder_id, created_at, id);
      CREATE INDEX files_created ON files(created_at, id);
      CREATE INDEX files_modified ON files(modified_at, id);
      CREATE INDEX files_sha1 ON files(sha1);
      CREATE INDEX files_product ON files(product_ref) WHERE product_ref IS NOT NULL;

      -- Lower-cased tag labels, one row per (file, label), for '#tag' search and the tag dictionary.
      CREATE TABLE file_tags (
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        label   TEXT NOT NULL,
        PRIMARY KEY (label, file_id)
      ) WITHOUT ROWID;
      CREATE INDEX file_tags_file ON file_tags(file_id);

      CREATE TABLE tags (
        id         INTEGER PRIMARY KEY,
        uuid       TEXT NOT NULL UNIQUE,
        sid        TEXT NOT NULL UNIQUE,
        slug       TEXT NOT NULL UNIQUE,
        names      TEXT NOT NULL DEFAULT '{}',
        primary_lang TEXT NOT NULL DEFAULT 'en',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );

      -- Full text over name, metadata values and tag labels; rowid = files.id.
      CREATE VIRTUAL TABLE files_fts USING fts5(name, meta, tags, tokenize = 'unicode61 remove_diacritics 2');

      CREATE TABLE api_keys (
        id          INTEGER PRIMARY KEY,
        uuid        TEXT NOT NULL UNIQUE,
        key_id      TEXT NOT NULL UNIQUE,
        secret_hash TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        permissions TEXT NOT NULL,
        active      INTEGER NOT NULL DEFAULT 1,
        is_root     INTEGER NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL
      );

      -- Blobs whose rows are gone (delete, overwrite): removed from disk after the commit.
      CREATE TABLE pending_blob_deletes (blob_id TEXT PRIMARY KEY) WITHOUT ROWID;
    `);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;
