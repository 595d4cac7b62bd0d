/**
 * The metadata index must not change what a search finds. The reference here is the compiler's
 * previous form, which walked each file's JSON with json_tree(f.meta, '$."key"'): the compiled
 * SQL is rewritten back to it and both run over random documents, after random edits, for random
 * queries. `probeForm` (used for pages read in index order) is held to the same results.
 */
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { migrate } from '../store/database.js';
import { compileSearch, probeForm } from './query.js';

const KEYS = ['color', 'Color', 'rating', 'when', 'title', 'multi word', 'say "hi"', 'é'];

const scalar = fc.oneof(
  fc.constantFrom('red', 'Red', 'RED', 'blue', '', ' ', '5', ' 5 ', '5.0', '1e3', '-2', 'true', 'False', 'a,b', '100%'),
  fc.constantFrom('2024-03-10', '2024-03-10T18:30:00.000Z', '2023-12-31', '2024-03', 'é', 'Éa'),
  fc.integer({ min: -3, max: 12 }),
  fc.constantFrom(0, 1, 4.5, -2.5, 1e3),
  fc.boolean(),
  fc.constant(null),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(fc.constantFrom('en', 'fr', 'de', 'x'), tie('value'), { maxKeys: 3 }),
})).value;
const meta = fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 5 });

const OPS = [':', ':=', '~', '~^', '>', '>=', '<', '<=', '!=', ':-', '='];
const VALUES = [
  'red', 'RED', 'blue', '5', '5.0', '4.5', '-2', '0', '1', '1000', 'true', 'false', 'empty', 'non-empty',
  '2024-03-10', '2024-03', '2024-03-10T18:30', '"1..5"', '"a..z"', '"..3"', '"2024-01-01.."', 'a', '%', 'é', 'red,blue', '5,empty',
];
const keyText = (key: string): string => (/^[a-zA-Z]+$/.test(key) ? key : `"${key.replace(/"/g, '\\"')}"`);
const term = fc
  .tuple(fc.boolean(), fc.constantFrom(...KEYS, 'missing', 'meta.color'), fc.constantFrom(...OPS), fc.constantFrom(...VALUES))
  .map(([negate, key, op, v]) => `${negate ? '-' : ''}${keyText(key)}${op}${v}`);
const query = fc.array(term, { minLength: 1, maxLength: 3 }).map((terms) => terms.join('+'));

const LIST = 'f.id IN (SELECT j.file_id FROM file_meta j WHERE j.key = ? AND ';
/** The json_tree form the compiler produced before the index; the key parameter becomes the path. */
const JSON_TREE = `EXISTS (SELECT 1 FROM json_tree(f.meta, '$.' || json_quote(?)) j WHERE j.type NOT IN ('object', 'array') AND `;

function open(): Database {
  const db = new BetterSqlite3(':memory:');
  migrate(db);
  db.prepare(`INSERT INTO folders (id, uuid, name, path, created_at, updated_at) VALUES (1, 'root', '', '/', 'x', 'x')`).run();
  return db;
}

function run(db: Database, where: string, params: readonly unknown[]): number[] {
  const rows = db.prepare(`SELECT f.id FROM files f JOIN folders d ON d.id = f.folder_id WHERE ${where} ORDER BY f.id`).all(...params);
  return (rows as Array<{ id: number }>).map((r) => r.id);
}

function seed(db: Database, metas: unknown[]): void {
  const insert = db.prepare(
    `INSERT INTO files (id, uuid, folder_id, name, extension, type, size, sha1, blob_id, meta, created_at, modified_at)
     VALUES (?, ?, 1, ?, 'txt', 'text/plain', 1, 's', ?, ?, 'x', 'x')`,
  );
  metas.forEach((m, i) => insert.run(i + 1, `u${i}`, `n${i}.txt`, `b${i}`, JSON.stringify(m)));
}

describe('metadata index', () => {
  it('finds what the json_tree walk found, for random documents and queries, after edits', () => {
    fc.assert(
      fc.property(
        fc.array(meta, { minLength: 1, maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(), meta, fc.boolean()), { maxLength: 4 }),
        fc.array(query, { minLength: 1, maxLength: 6 }),
        (metas, edits, queries) => {
          const db = open();
          seed(db, metas);
          for (const [n, next, remove] of edits) {
            const id = (n % metas.length) + 1;
            if (remove) db.prepare('DELETE FROM files WHERE id = ?').run(id);
            else db.prepare('UPDATE files SET meta = ? WHERE id = ?').run(JSON.stringify(next), id);
          }
          for (const q of queries) {
            const { where, params } = compileSearch(q);
            const expected = run(db, where.replaceAll(LIST, JSON_TREE), params);
            expect(run(db, where, params), q).toEqual(expected);
            expect(run(db, probeForm(where), params), `${q} (probe form)`).toEqual(expected);
          }
          db.close();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the reference rewrite really is the json_tree walk', () => {
    const db = open();
    seed(db, [{ color: ['Red', { en: 'blue' }] }, { color: 'green' }]);
    const { where, params } = compileSearch('color:blue');
    expect(where).toContain(LIST);
    expect(where.replaceAll(LIST, JSON_TREE)).toContain('json_tree');
    expect(run(db, where.replaceAll(LIST, JSON_TREE), params)).toEqual([1]);
  });

  it('indexes every scalar leaf under its top-level key, skipping nulls, and ignores meta that is not an object', () => {
    const db = open();
    seed(db, [{ a: 'x', b: [1, [true, null]], c: { en: 'Hi', fr: { deep: 2.5 } }, d: null }, [], {}]);
    db.prepare(`UPDATE files SET meta = 'not json' WHERE id = 3`).run();
    const rows = db.prepare('SELECT file_id, key, type, value FROM file_meta ORDER BY file_id, key, type, value').all();
    expect(rows).toEqual([
      { file_id: 1, key: 'a', type: 'text', value: 'x' },
      { file_id: 1, key: 'b', type: 'integer', value: 1 },
      { file_id: 1, key: 'b', type: 'true', value: 1 },
      { file_id: 1, key: 'c', type: 'real', value: 2.5 },
      { file_id: 1, key: 'c', type: 'text', value: 'Hi' },
    ]);
  });

  it('probes a file by its id, never by scanning the value index once per file', () => {
    const db = open();
    // The shapes the store runs: a count within a folder, and a page walked in creation order.
    const shapes = [
      (where: string) => `SELECT count(*) AS n, coalesce(sum(f.size), 0) AS bytes FROM files f JOIN folders d ON d.id = f.folder_id WHERE f.folder_id = 1 AND ${where}`,
      (where: string) => `SELECT f.* FROM files f INDEXED BY files_created JOIN folders d ON d.id = f.folder_id WHERE ${where} ORDER BY f.created_at DESC, f.id DESC LIMIT 10`,
    ];
    for (const q of ['color:red', 'color~ed', 'rating>3', 'color:empty', '#summer', 'tags:summer']) {
      const { where, params } = compileSearch(q);
      for (const shape of shapes) {
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${shape(probeForm(where))}`).all(...params) as Array<{ detail: string }>;
        const probes = plan.map((p) => p.detail).filter((d) => /SEARCH [jt] /.test(d));
        expect(probes.length, q).toBeGreaterThan(0);
        for (const probe of probes) expect(probe, q).toMatch(/\(.*file_id=\?.*\)$/);
      }
    }
  });

  it('answers an equality with an index seek, not a scan', () => {
    const db = open();
    const { where, params } = compileSearch('color:red');
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN SELECT f.id FROM files f JOIN folders d ON d.id = f.folder_id WHERE ${where}`)
      .all(...params) as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join('\n')).toMatch(/file_meta_lookup \(key=\? AND <expr>=\?/);
  });
});
