import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { ApiError, badRequest, conflict, notFound } from '../errors.js';
import { probeForm, type SingleFilter } from '../search/query.js';
import { GroupCommit } from './group-commit.js';
import { extensionOf, isWithin, joinPath, splitPath } from './names.js';
import type { FileRow, FileTags, FileWithFolder, FolderRow, JsonObject } from './rows.js';

const FILE_SELECT = `SELECT f.*, d.uuid AS folder_uuid, d.path AS folder_path FROM files f JOIN folders d ON d.id = f.folder_id`;

export interface NewFile {
  folderId: number;
  name: string;
  extension: string;
  type: string;
  size: number;
  sha1: string;
  blobId: string;
  meta: JsonObject;
  tags: FileTags;
  info: JsonObject;
  productRef?: string | null;
  productPosition?: number | null;
}

export interface FileListQuery {
  folder: string;
  recursive: boolean;
  /** Extra WHERE fragment over `f` (files) and `d` (folders), with its parameters. */
  where?: { sql: string; params: unknown[] };
  orderBy: string;
  limit: number;
  offset: number;
  /** An FTS5 expression: order best matches first (bm25), then by `orderBy`. */
  relevance?: string | null;
  /** Set only when `where` selects exactly this (compileSearch's `single`): totals are read without the generic count. */
  single?: SingleFilter;
}

export interface FolderCounts {
  filesDirect: number;
  filesRecursive: number;
  bytesRecursive: number;
}

export interface FileListResult {
  files: FileWithFolder[];
  total: number;
  bytes: number;
  /** The listed folder and its counts (undefined when it does not exist), so callers need not count again. */
  base: { folder: FolderRow; counts: FolderCounts } | undefined;
}

export interface FolderListQuery {
  folder: string;
  recursive: boolean;
  nameLike?: string;
  orderBy: string;
  limit: number;
  offset: number;
}

export const now = (): string => new Date().toISOString();

export const alreadyExists = (what: string): ApiError =>
  conflict('E801_ALREADY_EXIST', `${what} already exists.`, 'Pick another name, or delete or rename the existing one first.');

/**
 * Folders, files and tags in SQLite. Every method is synchronous and each write runs in one
 * transaction, so a reply is only sent once the change is committed (read-after-write), and a
 * crash leaves either the old state or the new one.
 */
export class MetadataStore {
  private readonly stmt: Record<string, Statement>;
  private readonly anchors = new AnchorCache();

  /** Rows a deep page walks between anchors (see `walkPage`); tests make it small. */
  private readonly anchorStep: number;

  constructor(
    readonly db: Database,
    options: { anchorStep?: number } = {},
  ) {
    this.anchorStep = options.anchorStep ?? ANCHOR_STEP;
    this.stmt = {
      folderByUuid: db.prepare('SELECT * FROM folders WHERE uuid = ?'),
      folderByPath: db.prepare('SELECT * FROM folders WHERE path = ?'),
      folderById: db.prepare('SELECT * FROM folders WHERE id = ?'),
      insertFolder: db.prepare(
        `INSERT INTO folders (uuid, parent_id, name, path, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      // Writes to files run the triggers that keep file_meta and folder_stats, which makes them
      // costly to compile: prepare them once, not per call.
      insertFile: db.prepare(
        `INSERT INTO files (uuid, folder_id, name, extension, type, size, sha1, blob_id, meta, tags, info,
           product_ref, product_position, created_at, modified_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      replaceContent: db.prepare(
        `UPDATE files SET extension = ?, type = ?, size = ?, sha1 = ?, blob_id = ?, meta = ?, tags = ?, info = ?,
           modified_at = ? WHERE id = ?`,
      ),
      moveFile: db.prepare('UPDATE files SET folder_id = ?, modified_at = ? WHERE id = ?'),
      deleteFile: db.prepare('DELETE FROM files WHERE id = ?'),
      updateMeta: db.prepare('UPDATE files SET meta = ?, modified_at = ? WHERE id = ?'),
      fileByUuid: db.prepare(`${FILE_SELECT} WHERE f.uuid = ?`),
      fileById: db.prepare(`${FILE_SELECT} WHERE f.id = ?`),
      fileByName: db.prepare(`${FILE_SELECT} WHERE f.folder_id = ? AND f.name = ?`),
      fileBySha1InFolder: db.prepare(`${FILE_SELECT} WHERE f.folder_id = ? AND f.sha1 = ? LIMIT 1`),
      blobReferenced: db.prepare('SELECT 1 FROM files WHERE blob_id = ? LIMIT 1'),
      dataVersion: db.prepare('SELECT total_changes() AS changes'),
      ftsDelete: db.prepare('DELETE FROM files_fts WHERE rowid = ?'),
      ftsInsert: db.prepare('INSERT INTO files_fts (rowid, name, meta, tags) VALUES (?, ?, ?, ?)'),
      tagsDeleteFile: db.prepare('DELETE FROM file_tags WHERE file_id = ?'),
      tagsInsertFile: db.prepare('INSERT OR IGNORE INTO file_tags (file_id, label) VALUES (?, ?)'),
      pendingDelete: db.prepare('INSERT OR IGNORE INTO pending_blob_deletes (blob_id) VALUES (?)'),
      folderStats: db.prepare('SELECT files, bytes FROM folder_stats WHERE folder_id = ?'),
      allStats: db.prepare('SELECT coalesce(sum(files), 0) AS files, coalesce(sum(bytes), 0) AS bytes FROM folder_stats'),
      // Strict descendants are the path range (path + '/', path + '0'); the folder's own row adds to it.
      subtreeStats: db.prepare(
        `SELECT p.id AS id, coalesce(own.files, 0) AS direct,
                coalesce(own.files, 0) + coalesce(sum(s.files), 0) AS files,
                coalesce(own.bytes, 0) + coalesce(sum(s.bytes), 0) AS bytes
         FROM folders p
         LEFT JOIN folder_stats own ON own.folder_id = p.id
         LEFT JOIN folders c ON c.path >= p.path || '/' AND c.path < p.path || '0'
         LEFT JOIN folder_stats s ON s.folder_id = c.id
         WHERE p.id IN (SELECT value FROM json_each(?))
         GROUP BY p.id`,
      ),
    };
    this.ensureRoot();
  }

  private ensureRoot(): void {
    if (!this.stmt.folderByPath!.get('/')) {
      const at = now();
      this.stmt.insertFolder!.run(randomUUID(), null, '', '/', at, at);
    }
  }

  // ---- folders ---------------------------------------------------------------------------

  root(): FolderRow {
    return this.stmt.folderByPath!.get('/') as FolderRow;
  }

  folderByUuid(uuid: string): FolderRow | undefined {
    return this.stmt.folderByUuid!.get(uuid) as FolderRow | undefined;
  }

  folderByPath(path: string): FolderRow | undefined {
    return this.stmt.folderByPath!.get(path) as FolderRow | undefined;
  }

  requireFolder(uuid: string): FolderRow {
    const folder = this.folderByUuid(uuid);
    if (!folder) throw notFound('FOLDER_NOT_FOUND', `No folder has the uuid ${uuid}.`, 'List folders with GET /v5/folders to find its uuid.');
    return folder;
  }

  /** Returns the folder at `path`, creating it and any missing parents. */
  ensureFolder(path: string): FolderRow {
    return this.db.transaction(() => {
      let folder = this.root();
      let current = '/';
      for (const segment of splitPath(path)) {
        current = joinPath(current, segment);
        const existing = this.folderByPath(current);
        if (existing) {
          folder = existing;
          continue;
        }
        const at = now();
        const info = this.stmt.insertFolder!.run(randomUUID(), folder.id, segment, current, at, at);
        folder = this.stmt.folderById!.get(info.lastInsertRowid) as FolderRow;
      }
      return folder;
    }).immediate();
  }

  createFolder(path: string): FolderRow {
    if (path === '/' || this.folderByPath(path)) throw alreadyExists(`The folder ${path}`);
    return this.ensureFolder(path);
  }

  renameFolder(uuid: string, name: string): FolderRow {
    return this.db.transaction(() => {
      const folder = this.requireFolder(uuid);
      if (folder.parent_id === null) throw badRequest('ROOT_FOLDER', 'The root folder cannot be renamed.');
      const parent = this.stmt.folderById!.get(folder.parent_id) as FolderRow;
      const newPath = joinPath(parent.path, name);
      if (newPath === folder.path) throw alreadyExists(`The folder ${newPath}`);
      if (this.folderByPath(newPath)) throw alreadyExists(`The folder ${newPath}`);
      this.repath(folder, newPath, parent.id, name);
      return this.folderByUuid(uuid)!;
    }).immediate();
  }

  /** Moves folders under `dest`. Refuses a move into itself or its own sub-folder. */
  moveFolders(uuids: string[], dest: FolderRow): FolderRow[] {
    return this.db.transaction(() => {
      const moved: FolderRow[] = [];
      for (const uuid of uuids) {
        const folder = this.requireFolder(uuid);
        if (folder.parent_id === null) throw badRequest('ROOT_FOLDER', 'The root folder cannot be moved.');
        if (isWithin(dest.path, folder.path)) {
          throw badRequest('INVALID_MOVE', `The folder ${folder.path} cannot be moved into itself or its sub-folder ${dest.path}.`);
        }
        const newPath = joinPath(dest.path, folder.name);
        if (newPath !== folder.path) {
          if (this.folderByPath(newPath)) throw alreadyExists(`The folder ${newPath}`);
          this.repath(folder, newPath, dest.id, folder.name);
        }
        moved.push(this.folderByUuid(uuid)!);
      }
      return moved;
    }).immediate();
  }

  private repath(folder: FolderRow, newPath: string, parentId: number, name: string): void {
    const at = now();
    const oldPrefix = folder.path + '/';
    this.db
      .prepare(
        `UPDATE folders SET path = ? || substr(path, ?), updated_at = ?
         WHERE path >= ? AND path < ?`,
      )
      .run(newPath + '/', oldPrefix.length + 1, at, oldPrefix, folder.path + '0');
    this.db
      .prepare('UPDATE folders SET parent_id = ?, name = ?, path = ?, updated_at = ? WHERE id = ?')
      .run(parentId, name, newPath, at, folder.id);
  }

  /** Deletes a folder with everything below it; returns the blob ids to remove from disk. */
  deleteFolder(uuid: string): { folder: FolderRow; files: number; folders: number } {
    return this.db.transaction(() => {
      const folder = this.requireFolder(uuid);
      if (folder.parent_id === null) throw badRequest('ROOT_FOLDER', 'The root folder cannot be deleted.');
      const range = [folder.path, folder.path + '/', folder.path + '0'];
      const inTree = `folder_id IN (SELECT id FROM folders WHERE path = ? OR (path >= ? AND path < ?))`;
      const fileIds = this.db.prepare(`SELECT id, blob_id FROM files WHERE ${inTree}`).all(...range) as Array<{ id: number; blob_id: string }>;
      for (const file of fileIds) {
        this.stmt.ftsDelete!.run(file.id);
        this.stmt.pendingDelete!.run(file.blob_id);
      }
      this.db.prepare(`DELETE FROM files WHERE ${inTree}`).run(...range);
      // One statement removes the whole subtree; foreign keys are checked when it completes.
      const folders = this.db
        .prepare('DELETE FROM folders WHERE path = ? OR (path >= ? AND path < ?)')
        .run(...range).changes;
      return { folder, files: fileIds.length, folders };
    }).immediate();
  }

  setFolderMeta(uuid: string, meta: JsonObject, mode: 'replace' | 'merge'): FolderRow {
    return this.db.transaction(() => {
      const folder = this.requireFolder(uuid);
      const next = mode === 'replace' ? meta : dropNulls({ ...parseObject(folder.meta), ...meta });
      this.db.prepare('UPDATE folders SET meta = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(next), now(), folder.id);
      return this.folderByUuid(uuid)!;
    }).immediate();
  }

  /** Files directly in `folder`, and files and bytes in its whole subtree, from the maintained counters. */
  folderCounts(folder: FolderRow): FolderCounts {
    if (folder.parent_id !== null) return this.folderCountsMany([folder]).get(folder.id)!;
    const own = this.stmt.folderStats!.get(folder.id) as { files: number; bytes: number } | undefined;
    const all = this.stmt.allStats!.get() as { files: number; bytes: number };
    return { filesDirect: own?.files ?? 0, filesRecursive: all.files, bytesRecursive: all.bytes };
  }

  /** Counts for many folders in one query (a folder listing), keyed by folder id. */
  folderCountsMany(folders: readonly FolderRow[]): Map<number, FolderCounts> {
    const counts = new Map<number, FolderCounts>();
    const ids = folders.filter((f) => f.parent_id !== null).map((f) => f.id);
    if (ids.length > 0) {
      const rows = this.stmt.subtreeStats!.all(JSON.stringify(ids)) as Array<{
        id: number;
        direct: number;
        files: number;
        bytes: number;
      }>;
      for (const row of rows) counts.set(row.id, { filesDirect: row.direct, filesRecursive: row.files, bytesRecursive: row.bytes });
    }
    for (const folder of folders) if (folder.parent_id === null) counts.set(folder.id, this.folderCounts(folder));
    return counts;
  }

  listFolders(query: FolderListQuery): { folders: FolderRow[]; total: number } {
    const base = this.folderByPath(query.folder);
    if (!base) return { folders: [], total: 0 };
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.recursive) {
      where.push('path >= ? AND path < ?');
      params.push(base.path === '/' ? '/' : base.path + '/', base.path === '/' ? '0' : base.path + '0');
      where.push('parent_id IS NOT NULL');
    } else {
      where.push('parent_id = ?');
      params.push(base.id);
    }
    if (query.nameLike) {
      where.push(`name LIKE ? ESCAPE '\\'`);
      params.push(`%${escapeLike(query.nameLike)}%`);
    }
    const sql = `FROM folders WHERE ${where.join(' AND ')}`;
    const total = (this.db.prepare(`SELECT count(*) AS n ${sql}`).get(...params) as { n: number }).n;
    const folders = this.db
      .prepare(`SELECT * ${sql} ORDER BY ${query.orderBy} LIMIT ? OFFSET ?`)
      .all(...params, query.limit, query.offset) as FolderRow[];
    return { folders, total };
  }

  // ---- files -----------------------------------------------------------------------------

  fileByUuid(uuid: string): FileWithFolder | undefined {
    return this.stmt.fileByUuid!.get(uuid) as FileWithFolder | undefined;
  }

  requireFile(uuid: string): FileWithFolder {
    const file = this.fileByUuid(uuid);
    if (!file) throw notFound('FILE_NOT_FOUND', `No file has the uuid ${uuid}.`, 'Search with GET /v5/files to find its uuid.');
    return file;
  }

  fileByName(folderId: number, name: string): FileWithFolder | undefined {
    return this.stmt.fileByName!.get(folderId, name) as FileWithFolder | undefined;
  }

  sameContentInFolder(folderId: number, sha1: string): FileWithFolder | undefined {
    return this.stmt.fileBySha1InFolder!.get(folderId, sha1) as FileWithFolder | undefined;
  }

  isBlobReferenced(blobId: string): boolean {
    return this.stmt.blobReferenced!.get(blobId) !== undefined;
  }

  insertFile(file: NewFile): FileWithFolder {
    const at = now();
    const info = this.stmt.insertFile!.run(
        randomUUID(),
        file.folderId,
        file.name,
        file.extension,
        file.type,
        file.size,
        file.sha1,
        file.blobId,
        JSON.stringify(file.meta),
        JSON.stringify(file.tags),
        JSON.stringify(file.info),
        file.productRef ?? null,
        file.productPosition ?? null,
        at,
        at,
      );
    const id = Number(info.lastInsertRowid);
    this.reindex(id, file.name, file.meta, file.tags);
    return this.stmt.fileById!.get(id) as FileWithFolder;
  }

  /** Overwrite: new bytes under the same uuid; the old blob is queued for deletion. */
  replaceContent(existing: FileRow, file: NewFile): FileWithFolder {
    this.stmt.pendingDelete!.run(existing.blob_id);
    this.stmt.replaceContent!.run(
        file.extension,
        file.type,
        file.size,
        file.sha1,
        file.blobId,
        JSON.stringify({ ...parseObject(existing.meta), ...file.meta }),
        JSON.stringify(Object.keys(file.tags).length > 0 ? file.tags : parseObject(existing.tags)),
        JSON.stringify(file.info),
        now(),
        existing.id,
      );
    const updated = this.stmt.fileById!.get(existing.id) as FileWithFolder;
    this.reindex(updated.id, updated.name, parseObject(updated.meta), parseObject(updated.tags) as FileTags);
    return updated;
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  /**
   * `transaction`, but shared with the other writes queued in the same turn of the event loop: one
   * commit for a burst of uploads (each still succeeds or fails alone). Resolves once committed.
   */
  groupedTransaction<T>(work: () => T): Promise<T> {
    this.groupCommit ??= new GroupCommit((unit) => this.transaction(unit));
    return this.groupCommit.run(work);
  }

  private groupCommit: GroupCommit | undefined;

  renameFile(uuid: string, name: string): FileWithFolder {
    return this.transaction(() => {
      const file = this.requireFile(uuid);
      // The real API answers 409 even when the new name equals the current one (reference §3.7).
      if (this.fileByName(file.folder_id, name)) throw alreadyExists(`A file named ${name} in ${file.folder_path}`);
      this.db.prepare('UPDATE files SET name = ?, extension = ?, modified_at = ? WHERE id = ?').run(name, extensionOf(name), now(), file.id);
      this.reindex(file.id, name, parseObject(file.meta), parseObject(file.tags) as FileTags);
      return this.requireFile(uuid);
    });
  }

  moveFiles(uuids: string[], dest: FolderRow): FileWithFolder[] {
    return this.transaction(() => {
      const files = uuids.map((uuid) => this.requireFile(uuid));
      for (const file of files) {
        if (file.folder_id === dest.id) continue;
        if (this.fileByName(dest.id, file.name)) throw alreadyExists(`A file named ${file.name} in ${dest.path}`);
        this.stmt.moveFile!.run(dest.id, now(), file.id);
      }
      return uuids.map((uuid) => this.requireFile(uuid));
    });
  }

  /** Deletes the files that exist; returns the uuids deleted and those not found. */
  deleteFiles(uuids: string[]): { deleted: FileWithFolder[]; missing: string[] } {
    return this.transaction(() => {
      const deleted: FileWithFolder[] = [];
      const missing: string[] = [];
      for (const uuid of uuids) {
        const file = this.fileByUuid(uuid);
        if (!file) {
          missing.push(uuid);
          continue;
        }
        this.stmt.ftsDelete!.run(file.id);
        this.stmt.pendingDelete!.run(file.blob_id);
        this.stmt.deleteFile!.run(file.id);
        deleted.push(file);
      }
      return { deleted, missing };
    });
  }

  /** `merge` keeps keys not named and removes keys set to null; `replace` swaps the whole object. */
  updateFileMeta(uuid: string, meta: JsonObject, mode: 'replace' | 'merge'): FileWithFolder {
    return this.transaction(() => {
      const file = this.requireFile(uuid);
      const next = mode === 'replace' ? dropNulls(meta) : dropNulls({ ...parseObject(file.meta), ...meta });
      this.stmt.updateMeta!.run(JSON.stringify(next), now(), file.id);
      this.reindex(file.id, file.name, next, parseObject(file.tags) as FileTags);
      return this.requireFile(uuid);
    });
  }

  /** Merges computed fields into a file's `info` (regeneration jobs); `modified_at` moves, as the file object changed. */
  updateFileInfo(uuid: string, fields: JsonObject): FileWithFolder {
    return this.transaction(() => {
      const file = this.requireFile(uuid);
      const next = { ...parseObject(file.info), ...fields };
      this.db.prepare('UPDATE files SET info = ?, modified_at = ? WHERE id = ?').run(JSON.stringify(next), now(), file.id);
      return this.requireFile(uuid);
    });
  }

  setFileTags(uuid: string, tags: FileTags): FileWithFolder {
    return this.transaction(() => {
      const file = this.requireFile(uuid);
      this.db.prepare('UPDATE files SET tags = ?, modified_at = ? WHERE id = ?').run(JSON.stringify(tags), now(), file.id);
      this.reindex(file.id, file.name, parseObject(file.meta), tags);
      return this.requireFile(uuid);
    });
  }

  setFileProduct(uuid: string, ref: string | null, position: number | null): FileWithFolder {
    return this.transaction(() => {
      const file = this.requireFile(uuid);
      this.db
        .prepare('UPDATE files SET product_ref = ?, product_position = ?, modified_at = ? WHERE id = ?')
        .run(ref, position, now(), file.id);
      return this.requireFile(uuid);
    });
  }

  /**
   * One page of files plus the total and bytes of everything matching. Without a filter the totals
   * come from the folder counters; with one, a single count query runs. The page query's plan is
   * chosen from those numbers (see `pagePlan`).
   */
  listFiles(query: FileListQuery): FileListResult {
    const base = this.folderByPath(query.folder);
    if (!base) return { files: [], total: 0, bytes: 0, base: undefined };
    const counts = this.folderCounts(base);
    const scope = query.recursive
      ? { files: counts.filesRecursive, bytes: counts.bytesRecursive }
      : { files: counts.filesDirect, bytes: (this.stmt.folderStats!.get(base.id) as { bytes: number } | undefined)?.bytes ?? 0 };
    const where: string[] = [];
    const params: unknown[] = [];
    if (!query.recursive) {
      where.push('f.folder_id = ?');
      params.push(base.id);
    } else if (base.parent_id !== null) {
      // A folder-id subquery lets SQLite use a files index; a range on the joined path would not.
      where.push('f.folder_id IN (SELECT id FROM folders WHERE path = ? OR (path >= ? AND path < ?))');
      params.push(base.path, base.path + '/', base.path + '0');
    }
    const filtered = query.where !== undefined && query.where.sql.trim() !== '1';
    if (filtered) {
      where.push(`(${query.where!.sql})`);
      params.push(...query.where!.params);
    }
    const whereSql = where.length ? 'WHERE ' + where.join(' AND ') : '';
    // The id lists of a search span the whole library; within a small folder or subtree, probing
    // each of its files is cheaper than materialising them.
    const small = scope.files <= SMALL_SCOPE;
    let total = scope.files;
    let bytes = scope.bytes;
    if (filtered && scope.files > 0) {
      const totals = query.single
        ? this.singleTotals(query.single, base, query.recursive)
        : (this.db
            .prepare(
              // The folders join only matters when the filter reads a folder column.
              `SELECT count(*) AS n, coalesce(sum(f.size), 0) AS bytes FROM files f
               ${/\bd\./.test(whereSql) ? 'JOIN folders d ON d.id = f.folder_id' : ''} ${small ? probeForm(whereSql) : whereSql}`,
            )
            .get(...params) as { n: number; bytes: number });
      total = totals.n;
      bytes = totals.bytes;
    }
    if (query.limit === 0 || query.offset >= total) return { files: [], total, bytes, base: { folder: base, counts } };
    const page = { where: where.join(' AND '), params, small };
    let files: FileWithFolder[];
    if (query.relevance) {
      files = this.rankedPage(query, query.relevance, page);
    } else {
      const scanned = !query.recursive ? scope.files : base.parent_id === null ? counts.filesRecursive : this.folderCounts(this.root()).filesRecursive;
      const plan = pagePlan(query, total, scanned);
      const order = plan.indexedBy ? keysetOrder(query.orderBy) : null;
      if (order) {
        files = this.walkPage(query, plan.indexedBy, order, page);
      } else {
        // Sorting every match carries only ids through the sorter, not whole rows joined to their
        // folders (several times faster for a few thousand matches); the page's rows come after.
        const ids = this.db
          .prepare(
            `SELECT f.id AS id FROM files f ${plan.indexedBy} ${/\bd\./.test(whereSql) ? 'JOIN folders d ON d.id = f.folder_id' : ''}
             ${plan.indexedBy || small ? probeForm(whereSql) : whereSql} ORDER BY ${plan.orderBy} LIMIT ? OFFSET ?`,
          )
          .pluck()
          .all(...params, query.limit, query.offset) as number[];
        files = this.rowsInOrder(ids, query.orderBy);
      }
    }
    return { files, total, bytes, base: { folder: base, counts } };
  }

  /**
   * Files and bytes matching a single filter in a listing's scope. A tag or a metadata text value:
   * summed from the counters the triggers keep per (group, folder), exact, and a few rows instead
   * of every matching file. Words: the FTS index drives a join to files, which reads the matches in
   * rowid order instead of first collecting them into a temporary list (2-6x faster).
   */
  private singleTotals(single: SingleFilter, base: FolderRow, recursive: boolean): { n: number; bytes: number } {
    const scope = !recursive ? 'folder' : base.parent_id === null ? 'all' : 'subtree';
    const name = `${single.kind}:${scope}`;
    let statement = this.singleStatements.get(name);
    if (!statement) {
      const folder = single.kind === 'words' ? 'f.folder_id' : 'folder_id';
      const within = {
        all: '',
        folder: ` AND ${folder} = ?`,
        subtree: ` AND ${folder} IN (SELECT id FROM folders WHERE path = ? OR (path >= ? AND path < ?))`,
      }[scope];
      statement = this.db.prepare(
        single.kind === 'words'
          ? `SELECT count(*) AS n, coalesce(sum(f.size), 0) AS bytes FROM files_fts r JOIN files f ON f.id = r.rowid
             WHERE r.files_fts MATCH ?${within}`
          : `SELECT coalesce(sum(files), 0) AS n, coalesce(sum(bytes), 0) AS bytes
             FROM ${single.kind === 'tag' ? 'tag_counts WHERE label = ?' : 'meta_counts WHERE key = ? AND value = lower(?)'}${within}`,
      );
      this.singleStatements.set(name, statement);
    }
    const filterParams = single.kind === 'tag' ? [single.label] : single.kind === 'meta' ? [single.key, single.value] : [single.expression];
    const scopeParams = scope === 'all' ? [] : scope === 'folder' ? [base.id] : [base.path, base.path + '/', base.path + '0'];
    return statement.get(...filterParams, ...scopeParams) as { n: number; bytes: number };
  }

  private readonly singleStatements = new Map<string, Statement>();

  /** Best FTS matches first: the page is read from the FTS index joined to files, in bm25 order. */
  private rankedPage(query: FileListQuery, expression: string, page: PageWhere): FileWithFolder[] {
    const where = page.where ? ` AND ${page.small ? probeForm(page.where) : page.where}` : '';
    return this.db
      .prepare(
        `SELECT f.*, d.uuid AS folder_uuid, d.path AS folder_path FROM files_fts r JOIN files f ON f.id = r.rowid
         JOIN folders d ON d.id = f.folder_id WHERE r.files_fts MATCH ?${where} ORDER BY r.rank, ${query.orderBy} LIMIT ? OFFSET ?`,
      )
      .all(expression, ...page.params, query.limit, query.offset) as FileWithFolder[];
  }

  /**
   * A page read by walking an order index. Two things keep deep pages cheap:
   * - the walk selects only the sort key and id, so OFFSET skips index entries (the index covers
   *   them) instead of reading and joining whole rows; the page's rows are fetched afterwards;
   * - anchors: after a page, the key of its last row is remembered with its position (and every
   *   `anchorStep` rows on the way to a deep page), so a later page at or past that position seeks
   *   to the key and skips only the rest. That makes paging through a listing with `offset` a
   *   keyset walk. Anchors belong to one query text and parameters, and are dropped on any write
   *   (the database's change counters), so a position is never reused after rows moved.
   */
  private walkPage(query: FileListQuery, indexedBy: string, order: KeysetOrder, page: PageWhere): FileWithFolder[] {
    const filter = page.where ? probeForm(page.where) : '1';
    const signature = `${indexedBy}|${filter}|${query.orderBy}|${JSON.stringify(page.params)}`;
    const anchors = this.anchors.lookup(signature, this.dataVersion());
    const seek = order.direction === 'DESC' ? '<' : '>';
    const keyed = (anchor: Anchor | undefined): { sql: string; params: unknown[] } =>
      anchor ? { sql: ` AND (${order.column}, f.id) ${seek} (?, ?)`, params: [anchor.key, anchor.id] } : { sql: '', params: [] };
    const keys = (keyset: string): string =>
      `SELECT ${order.column} AS key, f.id AS id FROM files f ${indexedBy} WHERE ${filter}${keyset} ORDER BY ${query.orderBy} LIMIT ? OFFSET ?`;
    let anchor = anchors.before(query.offset);
    // Hop to the page `anchorStep` rows at a time, leaving anchors for the pages that follow.
    while (query.offset - (anchor?.position ?? 0) > this.anchorStep) {
      const k = keyed(anchor);
      const row = this.db
        .prepare(keys(k.sql))
        .get(...page.params, ...k.params, 1, this.anchorStep - 1) as { key: unknown; id: number } | undefined;
      if (!row) return [];
      anchor = { position: (anchor?.position ?? 0) + this.anchorStep, key: row.key, id: row.id };
      anchors.add(anchor);
    }
    const k = keyed(anchor);
    const ids = this.db
      .prepare(keys(k.sql))
      .all(...page.params, ...k.params, query.limit, query.offset - (anchor?.position ?? 0)) as Array<{ key: unknown; id: number }>;
    const last = ids[ids.length - 1];
    if (last) anchors.add({ position: query.offset + ids.length, key: last.key, id: last.id });
    return this.rowsInOrder(
      ids.map((r) => r.id),
      query.orderBy,
    );
  }

  /** The rows of a page's files, given their ids, in the listing's order. */
  private rowsInOrder(ids: number[], orderBy: string): FileWithFolder[] {
    if (ids.length === 0) return [];
    return this.db
      .prepare(`${FILE_SELECT} WHERE f.id IN (SELECT value FROM json_each(?)) ORDER BY ${orderBy}`)
      .all(JSON.stringify(ids)) as FileWithFolder[];
  }

  /** Changes whenever anything is written, by this connection or another. */
  private dataVersion(): string {
    const row = this.stmt.dataVersion!.get() as { changes: number };
    return `${this.db.pragma('data_version', { simple: true }) as number}:${row.changes}`;
  }

  // ---- tags dictionary -------------------------------------------------------------------

  /** Finds a tag by sid or label (case-insensitive), creating it when `create` is set. */
  resolveTag(value: string, lang: string, create: boolean): { sid: string; label: string } | undefined {
    const trimmed = value.trim();
    if (trimmed.startsWith('#')) {
      const row = this.db.prepare('SELECT sid, names, primary_lang FROM tags WHERE sid = ?').get(trimmed) as TagRow | undefined;
      if (row) return { sid: row.sid, label: tagLabel(row, lang) };
    }
    const label = trimmed.replace(/^#/, '');
    if (!label) return undefined;
    const slug = slugify(label);
    const row = this.db.prepare('SELECT sid, names, primary_lang FROM tags WHERE slug = ?').get(slug) as TagRow | undefined;
    if (row) return { sid: row.sid, label: tagLabel(row, lang) || label };
    if (!create) return undefined;
    const at = now();
    const sid = `#tg${randomUUID().replaceAll('-', '').slice(0, 8)}`;
    this.db
      .prepare('INSERT INTO tags (uuid, sid, slug, names, primary_lang, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(randomUUID(), sid, slug, JSON.stringify({ [lang]: label }), lang, at, at);
    return { sid, label };
  }

  createTag(slug: string, names: Record<string, string>, primary: string): TagDictionaryRow {
    const at = now();
    const clean = slugify(slug);
    if (!clean) throw badRequest('INVALID_TAG', '"tag.slug" must hold at least one letter or digit.');
    if (this.db.prepare('SELECT 1 FROM tags WHERE slug = ?').get(clean)) throw alreadyExists(`The tag ${clean}`);
    const sid = `#tg${randomUUID().replaceAll('-', '').slice(0, 8)}`;
    this.db
      .prepare('INSERT INTO tags (uuid, sid, slug, names, primary_lang, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(randomUUID(), sid, clean, JSON.stringify(names), primary, at, at);
    return this.db.prepare('SELECT * FROM tags WHERE sid = ?').get(sid) as TagDictionaryRow;
  }

  listTags(search: string | undefined, limit: number, offset: number): { tags: TagDictionaryRow[]; total: number } {
    const where = search ? `WHERE slug LIKE ? ESCAPE '\\' OR names LIKE ? ESCAPE '\\'` : '';
    const params = search ? [`%${escapeLike(slugify(search))}%`, `%${escapeLike(search)}%`] : [];
    const total = (this.db.prepare(`SELECT count(*) AS n FROM tags ${where}`).get(...params) as { n: number }).n;
    const tags = this.db
      .prepare(`SELECT * FROM tags ${where} ORDER BY slug LIMIT ? OFFSET ?`)
      .all(...params, limit, offset) as TagDictionaryRow[];
    return { tags, total };
  }

  // ---- blob bookkeeping ------------------------------------------------------------------

  pendingBlobDeletes(): string[] {
    return (this.db.prepare('SELECT blob_id FROM pending_blob_deletes').all() as Array<{ blob_id: string }>).map((r) => r.blob_id);
  }

  clearPendingBlobDelete(blobId: string): void {
    this.db.prepare('DELETE FROM pending_blob_deletes WHERE blob_id = ?').run(blobId);
  }

  queueBlobDelete(blobId: string): void {
    this.stmt.pendingDelete!.run(blobId);
  }

  private reindex(id: number, name: string, meta: JsonObject, tags: FileTags): void {
    this.stmt.ftsDelete!.run(id);
    const labels = Object.values(tags).flatMap((list) => (Array.isArray(list) ? list.map((t) => t.label) : []));
    this.stmt.ftsInsert!.run(id, name.replace(/[._-]+/g, ' ') + ' ' + name, flattenText(meta), labels.join(' '));
    this.stmt.tagsDeleteFile!.run(id);
    for (const label of labels) this.stmt.tagsInsertFile!.run(id, label.toLowerCase());
  }
}

interface PageWhere {
  /** The WHERE conditions without the keyword ('' for none). */
  where: string;
  params: unknown[];
  small: boolean;
}

interface KeysetOrder {
  column: string;
  direction: 'ASC' | 'DESC';
}

/** `f.col DIR, f.id DIR` (one direction): an order a keyset seek can resume; anything else is not. */
function keysetOrder(orderBy: string): KeysetOrder | null {
  const m = /^(f\.\w+) (ASC|DESC), f\.id (ASC|DESC)$/i.exec(orderBy.trim());
  if (!m || m[2]!.toUpperCase() !== m[3]!.toUpperCase()) return null;
  return { column: m[1]!, direction: m[2]!.toUpperCase() as 'ASC' | 'DESC' };
}

/** Rows between anchors a deep page walks at most (about a millisecond of index entries). */
const ANCHOR_STEP = 10_000;

interface Anchor {
  /** How many rows come before the row after this key. */
  position: number;
  key: unknown;
  id: number;
}

/** Anchors per query, for the current data version; the least recently used queries go first. */
class AnchorCache {
  private version = '';
  private readonly byQuery = new Map<string, Anchors>();

  lookup(signature: string, version: string): Anchors {
    if (version !== this.version) {
      this.byQuery.clear();
      this.version = version;
    }
    let anchors = this.byQuery.get(signature);
    if (anchors) this.byQuery.delete(signature);
    else anchors = new Anchors();
    this.byQuery.set(signature, anchors);
    if (this.byQuery.size > MAX_ANCHORED_QUERIES) this.byQuery.delete(this.byQuery.keys().next().value!);
    return anchors;
  }
}

const MAX_ANCHORED_QUERIES = 64;
const MAX_ANCHORS = 4096;

class Anchors {
  /** Sorted by position. */
  private readonly list: Anchor[] = [];

  /** The anchor closest at or before a position. */
  before(position: number): Anchor | undefined {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.list[mid]!.position <= position) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? this.list[lo - 1] : undefined;
  }

  add(anchor: Anchor): void {
    if (this.before(anchor.position)?.position === anchor.position) return;
    if (this.list.length >= MAX_ANCHORS) this.list.splice(Math.floor(Math.random() * this.list.length), 1);
    const at = this.list.findIndex((a) => a.position > anchor.position);
    if (at < 0) this.list.push(anchor);
    else this.list.splice(at, 0, anchor);
  }
}

/** Scopes up to this many files are filtered file by file (see `probeForm`), about 20 ms of probes. */
const SMALL_SCOPE = 20_000;

/** Indexes that return files in `created_at` / `modified_at` / `name` order, across all folders or within one. */
const ORDER_INDEXES: Record<string, { all: string; folder?: string }> = {
  'f.created_at': { all: 'files_created', folder: 'files_folder_created' },
  'f.modified_at': { all: 'files_modified' },
  'f.name': { all: 'files_name', folder: 'files_folder_name' },
};

/**
 * SQLite has no statistics to weigh "walk an index in the requested order until the page is full"
 * against "collect every match, then sort", and guesses wrong both ways at scale (seconds for a
 * large subtree walked folder by folder, or for a rare match found by walking the whole order
 * index). We know the numbers: a walk reads about (offset + limit) * scanned / total rows, a sort
 * reads every match. Pick the cheaper and pin it: INDEXED BY for the walk, `+column` (which no index
 * can serve) in ORDER BY for the sort.
 */
function pagePlan(query: FileListQuery, total: number, scanned: number): { indexedBy: string; orderBy: string } {
  const first = /^(f\.\w+) (ASC|DESC)\b/i.exec(query.orderBy);
  const indexes = first ? ORDER_INDEXES[first[1]!] : undefined;
  // No index keeps this order across folders, so there is no walk to mistake for a bargain.
  if (!indexes) return { indexedBy: '', orderBy: query.orderBy };
  const index = query.recursive ? indexes.all : indexes.folder;
  const walk = ((query.offset + query.limit) * scanned) / Math.max(total, 1);
  if (index && walk <= total * 4) return { indexedBy: `INDEXED BY ${index}`, orderBy: query.orderBy };
  return { indexedBy: '', orderBy: query.orderBy.replace(/(^|,\s*)(f\.\w+)/g, '$1+$2') };
}

interface TagRow {
  sid: string;
  names: string;
  primary_lang: string;
}

export interface TagDictionaryRow extends TagRow {
  id: number;
  uuid: string;
  slug: string;
  created_at: string;
  updated_at: string;
}

function tagLabel(row: TagRow, lang: string): string {
  const names = parseObject(row.names) as Record<string, string>;
  return names[lang] ?? names[row.primary_lang] ?? Object.values(names)[0] ?? '';
}

export function slugify(label: string): string {
  return label
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export function parseObject(text: string): JsonObject {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
  } catch {
    return {};
  }
}

function dropNulls(meta: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== null && v !== undefined));
}

function flattenText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return Object.values(value as object).map(flattenText).join(' ');
  return String(value);
}

export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => '\\' + c);
}
