import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

let db: Database.Database;
let commits: number;
let group: GroupCommit;

beforeEach(() => {
  db = new Database(':memory:');
  db.exec('CREATE TABLE t (name TEXT UNIQUE NOT NULL)');
  commits = 0;
  const transaction = <T>(work: () => T): T => {
    const outer = !db.inTransaction;
    const value = db.transaction(work).immediate();
    if (outer) commits++;
    return value;
  };
  group = new GroupCommit(transaction, 3);
});
afterEach(() => db.close());

const insert = (name: string) => (): number => Number(db.prepare('INSERT INTO t (name) VALUES (?)').run(name).lastInsertRowid);
const names = (): string[] => (db.prepare('SELECT name FROM t ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);

describe('GroupCommit', () => {
  it('commits the units queued in one turn together, at most maxUnits per transaction', async () => {
    const ids = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => group.run(insert(n))));
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    expect(names()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(commits).toBe(2);
  });

  it('rolls back only the unit that throws; the others of its batch commit', async () => {
    const results = await Promise.allSettled([
      group.run(insert('a')),
      group.run(() => {
        insert('b')();
        insert('a')(); // UNIQUE violation: b must go too
      }),
      group.run(insert('c')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(names()).toEqual(['a', 'c']);
    expect(commits).toBe(1);
  });
});
