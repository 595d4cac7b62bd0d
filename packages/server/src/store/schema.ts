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
  // Catalog: labels, staged bulk changes, project settings, collections, shares.
  (db) => {
    db.exec(`
      CREATE TABLE labels (
        id          INTEGER PRIMARY KEY,
        uuid        TEXT NOT NULL UNIQUE,
        sid         TEXT NOT NULL UNIQUE,
        name        TEXT NOT NULL,
        name_key    TEXT NOT NULL UNIQUE,
        color       TEXT NOT NULL,
        shape       TEXT NOT NULL,
        is_pinned   INTEGER NOT NULL DEFAULT 0,
        permissions TEXT NOT NULL DEFAULT '{}',
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
      );
      -- Label counts scan only the files that carry a label.
      CREATE INDEX files_labelled ON files(id) WHERE labels <> '[]';

      CREATE TABLE bulk_jobs (
        id           INTEGER PRIMARY KEY,
        uuid         TEXT NOT NULL UNIQUE,
        state        TEXT NOT NULL,
        files_uuids  TEXT NOT NULL,
        changes      TEXT NOT NULL,
        results      TEXT,
        created_at   TEXT NOT NULL,
        committed_at TEXT
      );

      CREATE TABLE project_settings (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE collections (
        id         INTEGER PRIMARY KEY,
        uuid       TEXT NOT NULL UNIQUE,
        title      TEXT NOT NULL,
        type       TEXT NOT NULL,
        visibility TEXT NOT NULL,
        query      TEXT NOT NULL DEFAULT '',
        folders    TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );

      CREATE TABLE shares (
        id          INTEGER PRIMARY KEY,
        uuid        TEXT NOT NULL UNIQUE,
        puid        TEXT NOT NULL UNIQUE,
        slug        TEXT NOT NULL,
        title       TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        items       TEXT NOT NULL,
        starts_at   TEXT,
        expires_at  TEXT,
        starts_tz   TEXT,
        expires_tz  TEXT,
        auth        TEXT NOT NULL DEFAULT '[]',
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
      );
    `);
  },
  // Scale: a metadata index for `key:value` search, per-folder file counters, blob lookups.
  (db) => {
    // Every scalar leaf under each top-level key: the rows json_tree(meta, '$."key"') yields, with its
    // type and value. Meta that is not a JSON object has no keys, as a JSON path into it finds nothing
    // (json_valid goes first: json_type fails on malformed JSON).
    const leaves = (id: string, meta: string, from = ''): string => {
      const object = `CASE WHEN json_valid(${meta}) THEN CASE json_type(${meta}) WHEN 'object' THEN ${meta} END END`;
      return `
        SELECT ${id}, top.key, top.type, top.value FROM ${from}json_each(${object}) top
         WHERE top.type NOT IN ('object', 'array', 'null')
        UNION ALL
        SELECT ${id}, top.key, leaf.type, leaf.value FROM ${from}json_each(${object}) top, json_tree(top.value) leaf
         WHERE top.type IN ('object', 'array') AND leaf.type NOT IN ('object', 'array', 'null')`;
    };
    const bump = (sign: '+' | '-', row: 'NEW' | 'OLD'): string =>
      `INSERT INTO folder_stats (folder_id, files, bytes) VALUES (${row}.folder_id, ${sign}1, ${sign}${row}.size)
         ON CONFLICT (folder_id) DO UPDATE SET files = files + excluded.files, bytes = bytes + excluded.bytes;`;
    db.exec(`
      -- One row per scalar leaf of each top-level metadata key (an array's elements, a localized
      -- object's values), typed as json_tree types it, so the search compiler can apply the very
      -- predicates it applied while walking the JSON. Nulls are left out: no predicate matches them.
      -- Keys keep their case, as JSON paths do.
      CREATE TABLE file_meta (
        file_id INTEGER NOT NULL,
        key     TEXT NOT NULL,
        type    TEXT NOT NULL,
        value   NOT NULL,
        PRIMARY KEY (file_id, key, type, value)
      ) WITHOUT ROWID;
      -- Covers every metadata predicate; lower(value) serves case-insensitive equality and ranges.
      CREATE INDEX file_meta_lookup ON file_meta(key, lower(value), type, value);

      -- Files and bytes directly in each folder, so counts and totals never scan files.
      CREATE TABLE folder_stats (
        folder_id INTEGER PRIMARY KEY,
        files     INTEGER NOT NULL,
        bytes     INTEGER NOT NULL
      );

      -- Triggers rather than store code keep both in step: any write to files (every route, store
      -- methods yet to come, tests seeding rows by hand) updates them in the same statement, so in
      -- the same transaction.
      CREATE TRIGGER files_index_insert AFTER INSERT ON files BEGIN
        INSERT OR IGNORE INTO file_meta (file_id, key, type, value) ${leaves('NEW.id', 'NEW.meta')};
        ${bump('+', 'NEW')}
      END;

      CREATE TRIGGER files_index_meta AFTER UPDATE OF meta ON files WHEN NEW.meta IS NOT OLD.meta BEGIN
        DELETE FROM file_meta WHERE file_id = OLD.id;
        INSERT OR IGNORE INTO file_meta (file_id, key, type, value) ${leaves('NEW.id', 'NEW.meta')};
      END;

      CREATE TRIGGER files_index_place AFTER UPDATE OF folder_id, size ON files
        WHEN NEW.folder_id IS NOT OLD.folder_id OR NEW.size IS NOT OLD.size BEGIN
        ${bump('-', 'OLD')}
        ${bump('+', 'NEW')}
      END;

      CREATE TRIGGER files_index_delete AFTER DELETE ON files BEGIN
        DELETE FROM file_meta WHERE file_id = OLD.id;
        ${bump('-', 'OLD')}
      END;

      CREATE TRIGGER folders_stats_delete AFTER DELETE ON folders BEGIN
        DELETE FROM folder_stats WHERE folder_id = OLD.id;
      END;

      INSERT OR IGNORE INTO file_meta (file_id, key, type, value) ${leaves('f.id', 'f.meta', 'files f, ')};
      INSERT INTO folder_stats (folder_id, files, bytes) SELECT folder_id, count(*), sum(size) FROM files GROUP BY folder_id;

      -- Orphan collection asks "does any row use this blob?" once per blob on disk.
      CREATE INDEX files_blob ON files(blob_id);
    `);
  },
  // Security templates and the SASS keys exchanged from them.
  (db) => {
    db.exec(`
      CREATE TABLE security_templates (
        id                  INTEGER PRIMARY KEY,
        template_id         TEXT NOT NULL UNIQUE,
        -- sha256 of template_id: the exchange looks templates up by hash, not by the credential itself.
        lookup              TEXT NOT NULL UNIQUE,
        name                TEXT NOT NULL,
        permissions         TEXT NOT NULL,
        validity_seconds    INTEGER NOT NULL,
        ip_ranges           TEXT NOT NULL DEFAULT '[]',
        countries           TEXT NOT NULL DEFAULT '[]',
        limit_per_min       INTEGER,
        limit_per_ip_source INTEGER,
        dir_scope           TEXT,
        list_scope          TEXT,
        active              INTEGER NOT NULL DEFAULT 1,
        created_at          TEXT NOT NULL,
        updated_at          TEXT NOT NULL
      );

      CREATE TABLE sass_keys (
        id           INTEGER PRIMARY KEY,
        key_id       TEXT NOT NULL,
        secret_hash  TEXT NOT NULL,
        template_row INTEGER NOT NULL REFERENCES security_templates(id) ON DELETE CASCADE,
        issued_ip    TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        revoked_at   INTEGER
      );
      CREATE INDEX sass_keys_lookup ON sass_keys(key_id);
      CREATE INDEX sass_keys_template ON sass_keys(template_row);
      CREATE INDEX sass_keys_expiry ON sass_keys(expires_at);
    `);
  },
  // Webhooks: subscriptions, an outbox of events and one delivery row per (webhook, event).
  (db) => {
    // Snapshots of the row as the API object needs it, taken when the event happens: a later
    // rename or delete must not change what an earlier event says.
    const fileSnapshot = (r: 'NEW' | 'OLD'): string => `json_object(
      'id', ${r}.id, 'uuid', ${r}.uuid, 'folder_id', ${r}.folder_id, 'name', ${r}.name, 'extension', ${r}.extension,
      'type', ${r}.type, 'size', ${r}.size, 'sha1', ${r}.sha1, 'meta', ${r}.meta, 'tags', ${r}.tags, 'labels', ${r}.labels,
      'info', ${r}.info, 'product_ref', ${r}.product_ref, 'product_position', ${r}.product_position,
      'visibility', ${r}.visibility, 'created_at', ${r}.created_at, 'modified_at', ${r}.modified_at,
      'folder_uuid', (SELECT uuid FROM folders WHERE id = ${r}.folder_id),
      'folder_path', (SELECT path FROM folders WHERE id = ${r}.folder_id))`;
    const folderSnapshot = (r: 'NEW' | 'OLD'): string => `json_object(
      'id', ${r}.id, 'uuid', ${r}.uuid, 'parent_id', ${r}.parent_id, 'name', ${r}.name, 'path', ${r}.path,
      'meta', ${r}.meta, 'visibility', ${r}.visibility, 'created_at', ${r}.created_at, 'updated_at', ${r}.updated_at)`;
    const uuid = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-'
      || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`;
    const emit = (type: string, data: string): string =>
      `INSERT INTO webhook_events (uuid, type, occurred_at, data)
         VALUES (${uuid}, '${type}', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ${data});`;
    // Without an active subscription nothing is recorded, so imports pay one indexed lookup per row.
    const subscribed = `EXISTS (SELECT 1 FROM webhooks WHERE active = 1)`;
    db.exec(`
      CREATE TABLE webhooks (
        id          INTEGER PRIMARY KEY,
        uuid        TEXT NOT NULL UNIQUE,
        url         TEXT NOT NULL,
        events      TEXT NOT NULL,
        -- Kept in clear: signing needs it. Never returned by the API nor logged.
        secret      TEXT,
        basic_user  TEXT,
        basic_pass  TEXT,
        description TEXT NOT NULL DEFAULT '',
        active      INTEGER NOT NULL DEFAULT 1,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
      );
      CREATE INDEX webhooks_active ON webhooks(active);

      -- The outbox: written by the triggers below in the transaction that makes the change, so an
      -- event exists exactly when its change committed. id orders events.
      CREATE TABLE webhook_events (
        id          INTEGER PRIMARY KEY,
        uuid        TEXT NOT NULL UNIQUE,
        type        TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        data        TEXT NOT NULL
      );

      CREATE TABLE webhook_deliveries (
        id              INTEGER PRIMARY KEY,
        uuid            TEXT NOT NULL UNIQUE,
        webhook_id      INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        event_id        INTEGER NOT NULL REFERENCES webhook_events(id),
        state           TEXT NOT NULL DEFAULT 'pending',
        attempts        INTEGER NOT NULL DEFAULT 0,
        -- Milliseconds since the epoch; 0 means due at once.
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        last_attempt_at TEXT,
        last_status     INTEGER,
        last_error      TEXT,
        delivered_at    TEXT
      );
      -- The dispatcher takes each webhook's oldest pending delivery: per-webhook order.
      CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(webhook_id, id) WHERE state = 'pending';
      CREATE INDEX webhook_deliveries_log ON webhook_deliveries(webhook_id, id);
      CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_id);

      CREATE TRIGGER webhook_events_fanout AFTER INSERT ON webhook_events BEGIN
        INSERT INTO webhook_deliveries (uuid, webhook_id, event_id)
        SELECT ${uuid}, w.id, NEW.id FROM webhooks w
         WHERE w.active = 1 AND EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value IN ('*', NEW.type))
         ORDER BY w.id;
      END;

      CREATE TRIGGER files_event_insert AFTER INSERT ON files WHEN ${subscribed} BEGIN
        ${emit('file.uploaded', `json_object('file', ${fileSnapshot('NEW')}, 'overwrite', json('false'))`)}
      END;
      CREATE TRIGGER files_event_replace AFTER UPDATE OF blob_id ON files WHEN NEW.blob_id IS NOT OLD.blob_id AND ${subscribed} BEGIN
        ${emit('file.uploaded', `json_object('file', ${fileSnapshot('NEW')}, 'overwrite', json('true'))`)}
      END;
      CREATE TRIGGER files_event_rename AFTER UPDATE OF name ON files WHEN NEW.name IS NOT OLD.name AND ${subscribed} BEGIN
        ${emit('file.renamed', `json_object('file', ${fileSnapshot('NEW')}, 'previous', json_object('name', OLD.name))`)}
      END;
      CREATE TRIGGER files_event_move AFTER UPDATE OF folder_id ON files WHEN NEW.folder_id IS NOT OLD.folder_id AND ${subscribed} BEGIN
        ${emit('file.moved', `json_object('file', ${fileSnapshot('NEW')}, 'previous', json_object('folder', json_object(
          'uuid', (SELECT uuid FROM folders WHERE id = OLD.folder_id), 'name', (SELECT path FROM folders WHERE id = OLD.folder_id))))`)}
      END;
      -- An overwrite carries its own event; its meta and tag merge is part of it.
      CREATE TRIGGER files_event_change AFTER UPDATE OF meta, tags, labels, product_ref, product_position, visibility ON files
        WHEN NEW.blob_id IS OLD.blob_id AND (NEW.meta IS NOT OLD.meta OR NEW.tags IS NOT OLD.tags OR NEW.labels IS NOT OLD.labels
          OR NEW.product_ref IS NOT OLD.product_ref OR NEW.product_position IS NOT OLD.product_position
          OR NEW.visibility IS NOT OLD.visibility) AND ${subscribed} BEGIN
        ${emit('file.meta_changed', `json_object('file', ${fileSnapshot('NEW')}, 'changed', (SELECT json_group_array(c) FROM (
          SELECT 'meta' AS c WHERE NEW.meta IS NOT OLD.meta
          UNION ALL SELECT 'tags' WHERE NEW.tags IS NOT OLD.tags
          UNION ALL SELECT 'labels' WHERE NEW.labels IS NOT OLD.labels
          UNION ALL SELECT 'product' WHERE NEW.product_ref IS NOT OLD.product_ref OR NEW.product_position IS NOT OLD.product_position
          UNION ALL SELECT 'visibility' WHERE NEW.visibility IS NOT OLD.visibility)))`)}
      END;
      CREATE TRIGGER files_event_delete AFTER DELETE ON files WHEN ${subscribed} BEGIN
        ${emit('file.deleted', `json_object('file', ${fileSnapshot('OLD')})`)}
      END;

      CREATE TRIGGER folders_event_insert AFTER INSERT ON folders WHEN NEW.parent_id IS NOT NULL AND ${subscribed} BEGIN
        ${emit('folder.created', `json_object('folder', ${folderSnapshot('NEW')})`)}
      END;
      -- A rename or move rewrites the paths of every sub-folder too; only the folder named by the
      -- call changes name or parent, so only it has an event.
      CREATE TRIGGER folders_event_rename AFTER UPDATE OF name ON folders WHEN NEW.name IS NOT OLD.name AND ${subscribed} BEGIN
        ${emit('folder.renamed', `json_object('folder', ${folderSnapshot('NEW')}, 'previous', json_object('name', OLD.name, 'path', OLD.path))`)}
      END;
      CREATE TRIGGER folders_event_move AFTER UPDATE OF parent_id ON folders WHEN NEW.parent_id IS NOT OLD.parent_id AND ${subscribed} BEGIN
        ${emit('folder.moved', `json_object('folder', ${folderSnapshot('NEW')}, 'previous', json_object('path', OLD.path,
          'folder', json_object('uuid', (SELECT uuid FROM folders WHERE id = OLD.parent_id), 'path', (SELECT path FROM folders WHERE id = OLD.parent_id))))`)}
      END;
      CREATE TRIGGER folders_event_visibility AFTER UPDATE OF visibility ON folders WHEN NEW.visibility IS NOT OLD.visibility AND ${subscribed} BEGIN
        ${emit('folder.visibility_changed', `json_object('folder', ${folderSnapshot('NEW')}, 'previous', json_object('visibility', OLD.visibility))`)}
      END;
      CREATE TRIGGER folders_event_delete AFTER DELETE ON folders WHEN OLD.parent_id IS NOT NULL AND ${subscribed} BEGIN
        ${emit('folder.deleted', `json_object('folder', ${folderSnapshot('OLD')})`)}
      END;
    `);
  },
  // Approvals (with their files, approvers and votes) and airboxes: inferred endpoints.
  (db) => {
    db.exec(`
      CREATE TABLE approvals (
        id            INTEGER PRIMARY KEY,
        uuid          TEXT NOT NULL UNIQUE,
        -- pending | approved | rejected | cancelled
        status        TEXT NOT NULL DEFAULT 'pending',
        -- all | any
        rule          TEXT NOT NULL,
        requester     TEXT NOT NULL,
        due_date      TEXT,
        message       TEXT NOT NULL DEFAULT '',
        -- requested | files_deleted, when cancelled
        cancel_reason TEXT,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        closed_at     TEXT
      );
      CREATE INDEX approvals_status ON approvals(status, id);
      CREATE INDEX approvals_requester ON approvals(lower(requester), id);

      -- The files under review, in the order given. No foreign key on file_id: the trigger below
      -- removes a deleted file's rows (files.id may be reused once its row is gone).
      CREATE TABLE approval_files (
        approval_id INTEGER NOT NULL REFERENCES approvals(id) ON DELETE CASCADE,
        file_id     INTEGER NOT NULL,
        position    INTEGER NOT NULL,
        PRIMARY KEY (approval_id, file_id)
      ) WITHOUT ROWID;
      -- "Approvals of this file" (list filter, search grammar, the delete trigger).
      CREATE INDEX approval_files_file ON approval_files(file_id, approval_id);

      -- One row per approver; the vote, when cast, lives on the approver's row (a new vote replaces it).
      CREATE TABLE approval_approvers (
        approval_id  INTEGER NOT NULL REFERENCES approvals(id) ON DELETE CASCADE,
        approver_key TEXT NOT NULL,
        approver     TEXT NOT NULL,
        position     INTEGER NOT NULL,
        vote         TEXT,
        comment      TEXT,
        voted_at     TEXT,
        PRIMARY KEY (approval_id, approver_key)
      ) WITHOUT ROWID;
      CREATE INDEX approval_approvers_key ON approval_approvers(approver_key, approval_id);

      -- A deleted file leaves every approval it was in; a pending approval left with no file is
      -- cancelled (reason files_deleted). Files in no approval pay one index probe.
      CREATE TRIGGER files_approvals_delete AFTER DELETE ON files
        WHEN EXISTS (SELECT 1 FROM approval_files WHERE file_id = OLD.id) BEGIN
        UPDATE approvals SET status = 'cancelled', cancel_reason = 'files_deleted',
            updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), closed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
          WHERE status = 'pending'
            AND id IN (SELECT approval_id FROM approval_files WHERE file_id = OLD.id)
            AND NOT EXISTS (SELECT 1 FROM approval_files x WHERE x.approval_id = approvals.id AND x.file_id <> OLD.id);
        DELETE FROM approval_files WHERE file_id = OLD.id;
      END;

      CREATE TABLE airboxes (
        id            INTEGER PRIMARY KEY,
        uuid          TEXT NOT NULL UNIQUE,
        -- The public id in the airbox link.
        puid          TEXT NOT NULL UNIQUE,
        title         TEXT NOT NULL,
        slug          TEXT NOT NULL,
        description   TEXT NOT NULL DEFAULT '',
        -- NULL once the folder is deleted; folder_path then keeps where it was.
        folder_id     INTEGER,
        folder_path   TEXT NOT NULL,
        active        INTEGER NOT NULL DEFAULT 1,
        expires_at    TEXT,
        max_file_size INTEGER,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
      );
      CREATE INDEX airboxes_folder ON airboxes(folder_id) WHERE folder_id IS NOT NULL;

      CREATE TRIGGER folders_airboxes_delete AFTER DELETE ON folders
        WHEN EXISTS (SELECT 1 FROM airboxes WHERE folder_id = OLD.id) BEGIN
        UPDATE airboxes SET folder_id = NULL, folder_path = OLD.path WHERE folder_id = OLD.id;
      END;
    `);
  },
  // Listing by name across folders walks this index instead of sorting every file (and resumes
  // from a keyset anchor at any depth).
  (db) => {
    db.exec('CREATE INDEX files_name ON files(name, id);');
  },
  // Search totals: files and bytes per tag and per metadata text value, in each folder.
  (db) => db.exec(SEARCH_COUNTERS),
];

/**
 * A search of one `#tag` or `key:value` answers with an exact total; counting the matches reads
 * every matching file row (for its size), which at a million assets is hundreds of milliseconds
 * for a common tag. These counters make that total a read of a few rows.
 *
 * They are kept by triggers on the index rows they count (file_tags, file_meta), so every write
 * that changes those rows, whichever code makes it, changes the counters in the same transaction.
 * Each counter row is (group, folder): a move between folders, an overwrite changing the size,
 * and a folder-scoped search all stay exact. A file counts once per group, however many of its
 * leaves fall in it (`["Red", "red"]` is one file for `color:red`). The triggers read the file's
 * folder and size from its row, so that row must exist whenever an index row comes or goes: a
 * deleted file's index rows are removed before the file (BEFORE DELETE), and a metadata change
 * removes the old leaves before the row changes (BEFORE UPDATE), while folder and size are still
 * the ones they were counted with.
 */
const SEARCH_COUNTERS = `
  -- Files (and their bytes) in a folder carrying a tag label (as file_tags holds it: lower-cased).
  CREATE TABLE tag_counts (
    label     TEXT NOT NULL,
    folder_id INTEGER NOT NULL,
    files     INTEGER NOT NULL,
    bytes     INTEGER NOT NULL,
    PRIMARY KEY (label, folder_id)
  ) WITHOUT ROWID;

  -- Files (and their bytes) in a folder with a text leaf under a metadata key whose lower(value)
  -- is this value: what \`key:value\` matches for a text value.
  CREATE TABLE meta_counts (
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    folder_id INTEGER NOT NULL,
    files     INTEGER NOT NULL,
    bytes     INTEGER NOT NULL,
    PRIMARY KEY (key, value, folder_id)
  ) WITHOUT ROWID;

  CREATE TRIGGER file_tags_count_insert AFTER INSERT ON file_tags BEGIN
    INSERT INTO tag_counts (label, folder_id, files, bytes)
      SELECT NEW.label, f.folder_id, 1, f.size FROM files f WHERE f.id = NEW.file_id
      ON CONFLICT (label, folder_id) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
  END;

  CREATE TRIGGER file_tags_count_delete AFTER DELETE ON file_tags BEGIN
    UPDATE tag_counts SET files = files - 1, bytes = bytes - (SELECT size FROM files WHERE id = OLD.file_id)
      WHERE label = OLD.label AND folder_id = (SELECT folder_id FROM files WHERE id = OLD.file_id);
    DELETE FROM tag_counts WHERE label = OLD.label AND folder_id = (SELECT folder_id FROM files WHERE id = OLD.file_id) AND files = 0;
  END;

  -- Only the file's first leaf of a group counts it; its other leaves there (other case) do not.
  CREATE TRIGGER file_meta_count_insert AFTER INSERT ON file_meta
    WHEN NEW.type = 'text' AND NOT EXISTS (SELECT 1 FROM file_meta m WHERE m.file_id = NEW.file_id AND m.key = NEW.key
      AND m.type = 'text' AND m.value <> NEW.value AND lower(m.value) = lower(NEW.value)) BEGIN
    INSERT INTO meta_counts (key, value, folder_id, files, bytes)
      SELECT NEW.key, lower(NEW.value), f.folder_id, 1, f.size FROM files f WHERE f.id = NEW.file_id
      ON CONFLICT (key, value, folder_id) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
  END;

  -- Uncounted when its last leaf in the group goes.
  CREATE TRIGGER file_meta_count_delete AFTER DELETE ON file_meta
    WHEN OLD.type = 'text' AND NOT EXISTS (SELECT 1 FROM file_meta m WHERE m.file_id = OLD.file_id AND m.key = OLD.key
      AND m.type = 'text' AND lower(m.value) = lower(OLD.value)) BEGIN
    UPDATE meta_counts SET files = files - 1, bytes = bytes - (SELECT size FROM files WHERE id = OLD.file_id)
      WHERE key = OLD.key AND value = lower(OLD.value) AND folder_id = (SELECT folder_id FROM files WHERE id = OLD.file_id);
    DELETE FROM meta_counts WHERE key = OLD.key AND value = lower(OLD.value)
      AND folder_id = (SELECT folder_id FROM files WHERE id = OLD.file_id) AND files = 0;
  END;

  CREATE TRIGGER files_counts_delete BEFORE DELETE ON files BEGIN
    DELETE FROM file_tags WHERE file_id = OLD.id;
    DELETE FROM file_meta WHERE file_id = OLD.id;
  END;

  -- The AFTER UPDATE OF meta trigger (files_index_meta) inserts the new leaves, counted with the new row.
  CREATE TRIGGER files_counts_meta BEFORE UPDATE OF meta ON files WHEN NEW.meta IS NOT OLD.meta BEGIN
    DELETE FROM file_meta WHERE file_id = OLD.id;
  END;

  -- A move or a new size carries the file's counts from (old folder, old size) to the new ones.
  -- Metadata groups only when the metadata stays: otherwise the two triggers above recount them.
  CREATE TRIGGER files_counts_place AFTER UPDATE OF folder_id, size ON files
    WHEN NEW.folder_id IS NOT OLD.folder_id OR NEW.size IS NOT OLD.size BEGIN
    UPDATE tag_counts SET files = files - 1, bytes = bytes - OLD.size
      WHERE folder_id = OLD.folder_id AND label IN (SELECT label FROM file_tags WHERE file_id = OLD.id);
    DELETE FROM tag_counts WHERE folder_id = OLD.folder_id AND files = 0
      AND label IN (SELECT label FROM file_tags WHERE file_id = OLD.id);
    INSERT INTO tag_counts (label, folder_id, files, bytes)
      SELECT label, NEW.folder_id, 1, NEW.size FROM file_tags WHERE file_id = NEW.id
      ON CONFLICT (label, folder_id) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
    UPDATE meta_counts SET files = files - 1, bytes = bytes - OLD.size
      WHERE NEW.meta IS OLD.meta AND folder_id = OLD.folder_id
        AND (key, value) IN (SELECT key, lower(value) FROM file_meta WHERE file_id = OLD.id AND type = 'text');
    DELETE FROM meta_counts WHERE NEW.meta IS OLD.meta AND folder_id = OLD.folder_id AND files = 0
      AND (key, value) IN (SELECT key, lower(value) FROM file_meta WHERE file_id = OLD.id AND type = 'text');
    INSERT INTO meta_counts (key, value, folder_id, files, bytes)
      SELECT DISTINCT key, lower(value), NEW.folder_id, 1, NEW.size FROM file_meta
       WHERE NEW.meta IS OLD.meta AND file_id = NEW.id AND type = 'text'
      ON CONFLICT (key, value, folder_id) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
  END;

  INSERT INTO tag_counts (label, folder_id, files, bytes)
    SELECT t.label, f.folder_id, count(*), sum(f.size) FROM file_tags t JOIN files f ON f.id = t.file_id
     GROUP BY t.label, f.folder_id;
  INSERT INTO meta_counts (key, value, folder_id, files, bytes)
    SELECT g.key, g.value, f.folder_id, count(*), sum(f.size)
      FROM (SELECT DISTINCT file_id, key, lower(value) AS value FROM file_meta WHERE type = 'text') g
      JOIN files f ON f.id = g.file_id
     GROUP BY g.key, g.value, f.folder_id;
`;

export const SCHEMA_VERSION = MIGRATIONS.length;
