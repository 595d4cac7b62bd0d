/**
 * The tables the store maintains beside `files` (file_meta, folder_stats, the search counters
 * tag_counts and meta_counts) and everything read from
 * them (folder counts, list totals, pages whose plan is picked from those totals) must agree with
 * a brute-force reading of `files`, whatever sequence of writes came before.
 */
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSearch } from '../search/query.js';
import { ApiError } from '../errors.js';
import { migrate, openDatabase } from './database.js';
import { MetadataStore, type NewFile } from './metadata-store.js';
import type { FileTags } from './rows.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

// '/a-x' and '/a0' sit right outside the path range of '/a' ('/a/' .. '/a0'), on either side.
const FOLDERS = ['/a', '/a/b', '/a/b/c', '/a-x', '/a0', '/b', '/b/a'];
const METAS = [
  {},
  { color: 'red' },
  { color: ['Red', 'blue'], n: 3 },
  { color: { en: 'blue' }, n: 5 },
  { n: '7', ok: true },
  // One file, one group, three leaves: counted once.
  { color: ['Red', 'red', 'RED'], title: 'Blue' },
];
const TAGSETS: FileTags[] = [
  {},
  { en: [{ sid: '#t1', label: 'Summer' }] },
  { en: [{ sid: '#t1', label: 'summer' }, { sid: '#t2', label: 'winter' }], fr: [{ sid: '#t1', label: 'Summer' }] },
  { fr: [{ sid: '#t2', label: 'Winter' }] },
];

type Op =
  | { kind: 'insert'; folder: number; meta: number; size: number; tags: number }
  | { kind: 'tags'; file: number; tags: number }
  | { kind: 'meta'; file: number; meta: number; replace: boolean }
  | { kind: 'overwrite'; file: number; meta: number; size: number }
  | { kind: 'move'; file: number; folder: number }
  | { kind: 'delete'; file: number }
  | { kind: 'deleteFolder'; folder: number }
  | { kind: 'renameFolder'; folder: number; name: string }
  | { kind: 'moveFolder'; folder: number; dest: number };

const index = fc.nat({ max: 50 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({ kind: fc.constant('insert' as const), folder: index, meta: index, size: fc.nat({ max: 1000 }), tags: index }),
    weight: 6,
  },
  fc.record({ kind: fc.constant('tags' as const), file: index, tags: index }),
  fc.record({ kind: fc.constant('meta' as const), file: index, meta: index, replace: fc.boolean() }),
  fc.record({ kind: fc.constant('overwrite' as const), file: index, meta: index, size: fc.nat({ max: 1000 }) }),
  fc.record({ kind: fc.constant('move' as const), file: index, folder: index }),
  fc.record({ kind: fc.constant('delete' as const), file: index }),
  fc.record({ kind: fc.constant('deleteFolder' as const), folder: index }),
  fc.record({ kind: fc.constant('renameFolder' as const), folder: index, name: fc.constantFrom('r', 'a', 'b-', 'c') }),
  fc.record({ kind: fc.constant('moveFolder' as const), folder: index, dest: index }),
);

let counter = 0;
function newFile(store: MetadataStore, folder: string, meta: object, size: number, tags: FileTags = {}): NewFile {
  counter++;
  return {
    folderId: store.ensureFolder(folder).id,
    name: `f${counter}.txt`,
    extension: 'txt',
    type: 'text/plain',
    size,
    sha1: `sha${counter}`,
    blobId: `blob${counter}`,
    meta: { ...meta },
    tags,
    info: {},
  };
}

function apply(store: MetadataStore, op: Op): void {
  const pick = <T>(list: T[], n: number): T | undefined => (list.length ? list[n % list.length] : undefined);
  const files = (store.db.prepare('SELECT uuid FROM files ORDER BY id').all() as Array<{ uuid: string }>).map((r) => r.uuid);
  const folders = store.db.prepare("SELECT * FROM folders WHERE path <> '/' ORDER BY id").all() as Array<{ uuid: string; path: string }>;
  try {
    switch (op.kind) {
      case 'insert':
        store.transaction(() =>
          store.insertFile(newFile(store, FOLDERS[op.folder % FOLDERS.length]!, METAS[op.meta % METAS.length]!, op.size, TAGSETS[op.tags % TAGSETS.length])),
        );
        break;
      case 'tags': {
        const uuid = pick(files, op.file);
        if (uuid) store.setFileTags(uuid, TAGSETS[op.tags % TAGSETS.length]!);
        break;
      }
      case 'meta': {
        const uuid = pick(files, op.file);
        if (uuid) store.updateFileMeta(uuid, { ...METAS[op.meta % METAS.length], ...(op.replace ? {} : { n: null }) }, op.replace ? 'replace' : 'merge');
        break;
      }
      case 'overwrite': {
        const uuid = pick(files, op.file);
        if (!uuid) break;
        store.transaction(() => {
          const existing = store.requireFile(uuid);
          const tags = TAGSETS[op.meta % TAGSETS.length];
          store.replaceContent(existing, { ...newFile(store, existing.folder_path, METAS[op.meta % METAS.length]!, op.size, tags), folderId: existing.folder_id });
        });
        break;
      }
      case 'move': {
        const uuid = pick(files, op.file);
        if (uuid) store.moveFiles([uuid], store.ensureFolder(FOLDERS[op.folder % FOLDERS.length]!));
        break;
      }
      case 'delete': {
        const uuid = pick(files, op.file);
        if (uuid) store.deleteFiles([uuid]);
        break;
      }
      case 'deleteFolder': {
        const folder = pick(folders, op.folder);
        if (folder) store.deleteFolder(folder.uuid);
        break;
      }
      case 'renameFolder': {
        const folder = pick(folders, op.folder);
        if (folder) store.renameFolder(folder.uuid, op.name);
        break;
      }
      case 'moveFolder': {
        const folder = pick(folders, op.folder);
        const dest = pick([...folders, store.root()], op.dest);
        if (folder && dest) store.moveFolders([folder.uuid], store.folderByUuid(dest.uuid)!);
        break;
      }
    }
  } catch (error) {
    // Name clashes and moves into a sub-folder are refused; the refusal is part of the sequence.
    if (!(error instanceof ApiError)) throw error;
  }
}

/** What file_meta must hold: json_tree's scalar leaves under each top-level key, computed afresh. */
function expectedMeta(db: Database): unknown[] {
  return db
    .prepare(
      `SELECT DISTINCT f.id AS file_id, k.key AS key, j.type AS type, j.value AS value
       FROM files f, json_each(CASE WHEN json_valid(f.meta) THEN f.meta ELSE '{}' END) k,
         json_tree(f.meta, '$.' || json_quote(k.key)) j
       WHERE j.type NOT IN ('object', 'array', 'null') ORDER BY 1, 2, 3, 4`,
    )
    .all();
}

function subtreeWhere(path: string): string {
  return path === '/' ? '1' : `(d.path = '${path}' OR d.path LIKE '${path}/%')`;
}

function checkInvariants(store: MetadataStore): void {
  const db = store.db;
  expect(db.prepare('SELECT file_id, key, type, value FROM file_meta ORDER BY 1, 2, 3, 4').all()).toEqual(expectedMeta(db));
  expect(db.prepare('SELECT folder_id, files, bytes FROM folder_stats WHERE files <> 0 OR bytes <> 0 ORDER BY 1').all()).toEqual(
    db.prepare('SELECT folder_id, count(*) AS files, sum(size) AS bytes FROM files GROUP BY folder_id ORDER BY 1').all(),
  );
  // The search counters: per (group, folder), the distinct files of the group and their bytes.
  expect(db.prepare('SELECT label, folder_id, files, bytes FROM tag_counts ORDER BY 1, 2').all()).toEqual(
    db
      .prepare(
        `SELECT t.label, f.folder_id, count(*) AS files, sum(f.size) AS bytes FROM file_tags t JOIN files f ON f.id = t.file_id
         GROUP BY 1, 2 ORDER BY 1, 2`,
      )
      .all(),
  );
  expect(db.prepare('SELECT key, value, folder_id, files, bytes FROM meta_counts ORDER BY 1, 2, 3').all()).toEqual(
    db
      .prepare(
        `SELECT g.key, g.value, f.folder_id, count(*) AS files, sum(f.size) AS bytes
         FROM (SELECT DISTINCT file_id, key, lower(value) AS value FROM file_meta WHERE type = 'text') g JOIN files f ON f.id = g.file_id
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      )
      .all(),
  );
  const folders = db.prepare('SELECT * FROM folders ORDER BY id').all() as Array<{ id: number; path: string; parent_id: number | null }>;
  const many = store.folderCountsMany(folders as never);
  for (const folder of folders) {
    const direct = (db.prepare('SELECT count(*) AS n FROM files WHERE folder_id = ?').get(folder.id) as { n: number }).n;
    const recursive = db
      .prepare(`SELECT count(*) AS n, coalesce(sum(f.size), 0) AS bytes FROM files f JOIN folders d ON d.id = f.folder_id WHERE ${subtreeWhere(folder.path)}`)
      .get() as { n: number; bytes: number };
    const expected = { filesDirect: direct, filesRecursive: recursive.n, bytesRecursive: recursive.bytes };
    expect(store.folderCounts(folder as never), folder.path).toEqual(expected);
    expect(many.get(folder.id), folder.path).toEqual(expected);
  }
}

const ORDERS = ['f.created_at DESC, f.id DESC', 'f.created_at ASC, f.id ASC', 'f.modified_at DESC, f.id DESC', 'f.name ASC, f.id ASC', 'f.size DESC, f.id DESC'];

function checkListing(store: MetadataStore, folder: string, recursive: boolean, q: string, orderBy: string, limit: number, offset: number): void {
  const compiled = compileSearch(q);
  const result = store.listFiles({ folder, recursive, where: { sql: compiled.where, params: compiled.params }, orderBy, limit, offset, single: compiled.single });
  if (!store.folderByPath(folder)) {
    expect(result).toEqual({ files: [], total: 0, bytes: 0, base: undefined });
    return;
  }
  const scope = recursive ? subtreeWhere(folder) : `d.path = '${folder}'`;
  const from = `FROM files f NOT INDEXED JOIN folders d ON d.id = f.folder_id WHERE ${scope} AND (${compiled.where})`;
  const totals = store.db.prepare(`SELECT count(*) AS n, coalesce(sum(f.size), 0) AS bytes ${from}`).get(...compiled.params) as { n: number; bytes: number };
  const page = store.db.prepare(`SELECT f.uuid ${from} ORDER BY ${orderBy} LIMIT ? OFFSET ?`).all(...compiled.params, limit, offset) as Array<{ uuid: string }>;
  const label = `${folder} recursive=${recursive} q=${q} ${orderBy} ${limit}+${offset}`;
  expect({ total: result.total, bytes: result.bytes }, label).toEqual({ total: totals.n, bytes: totals.bytes });
  expect(result.files.map((f) => f.uuid), label).toEqual(page.map((r) => r.uuid));
  expect(result.base?.folder.path).toBe(folder);
  expect(result.base?.counts).toEqual(store.folderCounts(store.folderByPath(folder)!));
}

/** Counted groups (`#tag`, `tags:x`, `key:text`) among queries that are counted by querying. */
const QUERIES = [
  ...['', 'color:red', 'color:blue', 'color:RED', 'meta.color:Blue', 'title:blue', 'n>4', '-color:red', 'size>500', 'n:7'],
  ...['#summer', 'tags:WINTER', '#nope', 'color:red,blue', '-#summer', 'red', 'txt', 'blu*', '"red blue"', 'red -blue'],
];

describe('maintained indexes and counters', () => {
  it('stay equal to a brute-force reading of files through random writes, and lists agree with brute force', () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1, maxLength: 40 }),
        fc.array(
          fc.tuple(
            fc.constantFrom('/', ...FOLDERS, '/nope'),
            fc.boolean(),
            fc.constantFrom(...QUERIES),
            fc.constantFrom(...ORDERS),
            fc.integer({ min: 1, max: 6 }),
            fc.nat({ max: 8 }),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        (ops, listings) => {
          const store = new MetadataStore(openDatabase(':memory:', 'relaxed'));
          for (const o of ops) apply(store, o);
          checkInvariants(store);
          for (const [folder, recursive, q, orderBy, limit, offset] of listings) checkListing(store, folder, recursive, q, orderBy, limit, offset);
          store.db.close();
        },
      ),
      { numRuns: 150 },
    );
  });

  it('pages read through keyset anchors equal brute-force pages, with writes in between', () => {
    const listing = fc.tuple(
      fc.constantFrom('/', '/a', '/b'),
      fc.boolean(),
      fc.constantFrom('', 'color:red', '-color:red', 'size>500', '#summer', 'color:RED'),
      fc.constantFrom(...ORDERS),
      fc.integer({ min: 1, max: 4 }),
      fc.nat({ max: 30 }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ arbitrary: op.map((o) => ({ write: o })), weight: 1 }, { arbitrary: listing.map((l) => ({ list: l })), weight: 3 }), {
          minLength: 1,
          maxLength: 40,
        }),
        (steps) => {
          // Anchors every 2 rows, so short listings hop, seek and reuse anchors.
          const store = new MetadataStore(openDatabase(':memory:', 'relaxed'), { anchorStep: 2 });
          store.transaction(() => {
            for (let i = 0; i < 30; i++) store.insertFile(newFile(store, FOLDERS[i % 3]!, METAS[i % METAS.length]!, i * 37));
          });
          for (const step of steps) {
            if ('write' in step) apply(store, step.write);
            else checkListing(store, ...step.list);
          }
          store.db.close();
        },
      ),
      { numRuns: 100 },
    );
  });

  it('pages through a listing by keyset seeks, not by counting from the start', () => {
    const store = new MetadataStore(openDatabase(':memory:', 'relaxed'), { anchorStep: 5 });
    store.transaction(() => {
      for (let i = 0; i < 60; i++) store.insertFile(newFile(store, '/a', {}, i));
    });
    const seeks: string[] = [];
    const prepare = store.db.prepare.bind(store.db);
    store.db.prepare = ((sql: string) => {
      if (/\(f\.created_at, f\.id\) < \(\?, \?\)/.test(sql)) seeks.push(sql);
      return prepare(sql);
    }) as typeof store.db.prepare;
    const orderBy = 'f.created_at DESC, f.id DESC';
    const all = store.listFiles({ folder: '/', recursive: true, orderBy, limit: 100, offset: 0 }).files.map((f) => f.uuid);
    const paged: string[] = [];
    for (let offset = 0; offset < 60; offset += 7) {
      paged.push(...store.listFiles({ folder: '/', recursive: true, orderBy, limit: 7, offset }).files.map((f) => f.uuid));
    }
    expect(paged).toEqual(all);
    // Every page after the first resumes from the previous page's last key.
    expect(seeks.length).toBeGreaterThanOrEqual(8);
    // A deep page far from any anchor hops there and matches the offset page.
    const fresh = new MetadataStore(store.db, { anchorStep: 5 });
    expect(fresh.listFiles({ folder: '/', recursive: true, orderBy, limit: 4, offset: 43 }).files.map((f) => f.uuid)).toEqual(all.slice(43, 47));
    // A write drops the anchors: the next page counts from the new rows.
    store.transaction(() => store.insertFile(newFile(store, '/a', {}, 1)));
    const after = store.listFiles({ folder: '/', recursive: true, orderBy, limit: 100, offset: 0 }).files.map((f) => f.uuid);
    expect(store.listFiles({ folder: '/', recursive: true, orderBy, limit: 7, offset: 14 }).files.map((f) => f.uuid)).toEqual(after.slice(14, 21));
    store.db.close();
  });

  it('walks the order index when matches are plentiful and sorts the matches when they are rare', () => {
    const store = new MetadataStore(openDatabase(':memory:', 'relaxed'));
    store.transaction(() => {
      for (let i = 0; i < 400; i++) store.insertFile(newFile(store, i % 2 ? '/a/b' : '/b', i === 7 ? { sku: 'rare' } : { color: 'red' }, i));
    });
    const plans: string[] = [];
    const prepare = store.db.prepare.bind(store.db);
    store.db.prepare = ((sql: string) => {
      if (sql.includes('LIMIT ? OFFSET ?')) plans.push(sql);
      return prepare(sql);
    }) as typeof store.db.prepare;
    const list = (folder: string, recursive: boolean, q: string): void => {
      const compiled = compileSearch(q);
      store.listFiles({ folder, recursive, where: { sql: compiled.where, params: compiled.params }, orderBy: 'f.created_at DESC, f.id DESC', limit: 10, offset: 0 });
    };
    list('/', true, '');
    list('/a', true, 'color:red');
    list('/b', false, '');
    list('/', true, 'sku:rare');
    expect(plans[0]).toMatch(/INDEXED BY files_created/);
    expect(plans[1]).toMatch(/INDEXED BY files_created[\s\S]*EXISTS \(SELECT 1 FROM file_meta j WHERE j\.file_id = f\.id/);
    expect(plans[2]).toMatch(/INDEXED BY files_folder_created/);
    expect(plans[3]).not.toMatch(/INDEXED BY/);
    expect(plans[3]).toMatch(/ORDER BY \+f\.created_at DESC, \+f\.id DESC/);
    store.listFiles({ folder: '/', recursive: true, orderBy: 'f.name ASC, f.id ASC', limit: 10, offset: 0 });
    expect(plans[4]).toMatch(/INDEXED BY files_name/);
    store.db.close();
  });

  it('the migration that adds them fills them from the rows already there', () => {
    const upTo = (count: number): Database => {
      const db = new BetterSqlite3(':memory:');
      for (const step of MIGRATIONS.slice(0, count)) step(db);
      db.pragma(`user_version = ${count}`);
      return db;
    };
    const has = (db: Database, table: string): boolean => db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(table) !== undefined;
    const before = MIGRATIONS.findIndex((_, i) => has(upTo(i + 1), 'file_meta'));
    expect(before).toBeGreaterThan(0);

    const db = upTo(before);
    db.exec(`INSERT INTO folders (id, uuid, parent_id, name, path, created_at, updated_at) VALUES
      (1, 'r', NULL, '', '/', 'x', 'x'), (2, 'a', 1, 'a', '/a', 'x', 'x'), (3, 'b', 2, 'b', '/a/b', 'x', 'x')`);
    const insert = db.prepare(
      `INSERT INTO files (uuid, folder_id, name, extension, type, size, sha1, blob_id, meta, created_at, modified_at)
       VALUES (?, ?, ?, 'txt', 'text/plain', ?, 's', ?, ?, 'x', 'x')`,
    );
    insert.run('u1', 2, 'one.txt', 10, 'b1', JSON.stringify({ color: ['Red', { en: 'blue' }], n: 5 }));
    insert.run('u2', 3, 'two.txt', 20, 'b2', JSON.stringify({ color: 'red' }));
    insert.run('u3', 3, 'three.txt', 40, 'b3', 'not json');
    migrate(db);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT file_id, key, type, value FROM file_meta ORDER BY 1, 2, 3, 4').all()).toEqual(expectedMeta(db));
    expect(db.prepare('SELECT folder_id, files, bytes FROM folder_stats ORDER BY 1').all()).toEqual([
      { folder_id: 2, files: 1, bytes: 10 },
      { folder_id: 3, files: 2, bytes: 60 },
    ]);
    const store = new MetadataStore(db);
    const red = compileSearch('color:red');
    const listed = store.listFiles({ folder: '/a', recursive: true, where: { sql: red.where, params: red.params }, orderBy: 'f.name ASC, f.id ASC', limit: 10, offset: 0 });
    expect(listed.files.map((f) => f.uuid)).toEqual(['u1', 'u2']);
    expect(listed.base?.counts).toEqual({ filesDirect: 1, filesRecursive: 3, bytesRecursive: 70 });
    // The blob lookup that orphan collection makes once per blob must be an index seek.
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT 1 FROM files WHERE blob_id = ? LIMIT 1').all('b1') as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join()).toMatch(/USING COVERING INDEX files_blob/);
  });
});

describe('search counters', () => {
  it('answer the total of one #tag or key:value from counter rows, without counting files', () => {
    const store = new MetadataStore(openDatabase(':memory:', 'relaxed'));
    store.transaction(() => {
      for (let i = 0; i < 40; i++) store.insertFile(newFile(store, FOLDERS[i % 3]!, METAS[i % METAS.length]!, i, TAGSETS[i % TAGSETS.length]));
    });
    const counts: string[] = [];
    const prepare = store.db.prepare.bind(store.db);
    store.db.prepare = ((sql: string) => {
      if (/count\(\*\)/.test(sql)) counts.push(sql);
      return prepare(sql);
    }) as typeof store.db.prepare;
    for (const q of ['#summer', 'tags:winter', 'color:red', 'meta.color:BLUE']) {
      const compiled = compileSearch(q);
      expect(compiled.single, q).toBeDefined();
      for (const [folder, recursive] of [['/', true], ['/a', true], ['/a', false]] as const) {
        checkListing(store, folder, recursive, q, 'f.created_at DESC, f.id DESC', 5, 0);
      }
    }
    // Only the brute-force reference counted.
    expect(counts.filter((sql) => !sql.includes('NOT INDEXED'))).toEqual([]);
    // Words alone are counted by a join driven by the FTS index.
    for (const q of ['red', 'blu*', '"red blue"', 'summer']) {
      expect(compileSearch(q).single, q).toEqual({ kind: 'words', expression: expect.any(String) });
      for (const [folder, recursive] of [['/', true], ['/a', true], ['/a', false]] as const) checkListing(store, folder, recursive, q, 'f.name ASC, f.id ASC', 5, 0);
    }
    expect(counts.filter((sql) => !sql.includes('NOT INDEXED')).every((sql) => sql.includes('FROM files_fts r JOIN files f'))).toBe(true);
    // Anything else is counted through the WHERE.
    for (const q of ['-#summer', 'color:red,blue', 'n:7', 'ok:true', 'color:2026-01-01', 'color~red', 'color:red #summer', 'color:empty', 'red blue', '-red']) {
      expect(compileSearch(q).single, q).toBeUndefined();
    }
    store.db.close();
  });

  it('the migration that adds them fills them from an existing database', () => {
    const db = new BetterSqlite3(':memory:');
    const counted = MIGRATIONS.findIndex((_, i) => {
      const probe = new BetterSqlite3(':memory:');
      for (const step of MIGRATIONS.slice(0, i + 1)) step(probe);
      const has = probe.prepare("SELECT 1 FROM sqlite_master WHERE name = 'tag_counts'").get() !== undefined;
      probe.close();
      return has;
    });
    expect(counted).toBeGreaterThan(0);
    for (const step of MIGRATIONS.slice(0, counted)) step(db);
    db.pragma(`user_version = ${counted}`);
    db.pragma('foreign_keys = ON');
    // Written by the previous schema: files with tags and metadata, a move, a deletion, a meta change.
    const store = new MetadataStore(db);
    const uuids = store.transaction(() =>
      Array.from({ length: 30 }, (_, i) => store.insertFile(newFile(store, FOLDERS[i % 4]!, METAS[i % METAS.length]!, i * 3, TAGSETS[i % TAGSETS.length])).uuid),
    );
    store.moveFiles([uuids[1]!, uuids[2]!], store.ensureFolder('/b/a'));
    store.deleteFiles([uuids[5]!]);
    store.updateFileMeta(uuids[7]!, { color: 'RED' }, 'merge');
    expect(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'tag_counts'").get()).toBeUndefined();
    migrate(db);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect((db.prepare('SELECT count(*) AS n FROM tag_counts').get() as { n: number }).n).toBeGreaterThan(0);
    checkInvariants(store);
    const upgraded = new MetadataStore(db);
    for (const q of ['#summer', 'tags:winter', 'color:red', 'color:blue', 'title:blue']) {
      for (const folder of ['/', '/a', '/b']) checkListing(upgraded, folder, true, q, 'f.name ASC, f.id ASC', 50, 0);
      checkListing(upgraded, '/a/b', false, q, 'f.name ASC, f.id ASC', 50, 0);
    }
    // And the triggers keep them from there on.
    upgraded.moveFiles([uuids[3]!], upgraded.ensureFolder('/a0'));
    upgraded.setFileTags(uuids[4]!, TAGSETS[2]!);
    upgraded.deleteFiles([uuids[8]!]);
    checkInvariants(upgraded);
    db.close();
  });
});
