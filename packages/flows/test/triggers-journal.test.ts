/**
 * The journal's trigger side: version 1 journals migrate to version 2 (trigger state, one run
 * per triggering event) keeping their runs; state round-trips; a second run for the same event
 * id is refused by the journal itself. Older journals also migrate on to the current version
 * (loop pages, version 4).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteRunStore } from '../src/index.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sfx-journal-'));
  dirs.push(dir);
  return join(dir, 'runs.db');
}

/** The version 1 layout, as sfx wrote it before triggers. */
const V1 = `
CREATE TABLE runs (id TEXT PRIMARY KEY, flow TEXT NOT NULL, flow_hash TEXT NOT NULL, flow_file TEXT, source TEXT NOT NULL,
  base_dir TEXT NOT NULL, trigger TEXT NOT NULL, inputs TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
  started_at INTEGER NOT NULL, ended_at INTEGER, owner TEXT);
CREATE INDEX runs_by_start ON runs (started_at DESC);
CREATE TABLE steps (run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, step TEXT NOT NULL, status TEXT NOT NULL,
  output TEXT, error TEXT, next_index INTEGER NOT NULL DEFAULT 0, cursor TEXT, started_at INTEGER NOT NULL, ended_at INTEGER,
  PRIMARY KEY (run_id, step)) WITHOUT ROWID;
CREATE TABLE items (run_id TEXT NOT NULL, step TEXT NOT NULL, idx INTEGER NOT NULL, status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, item TEXT, output TEXT, error TEXT, started_at INTEGER NOT NULL, ended_at INTEGER,
  PRIMARY KEY (run_id, step, idx)) WITHOUT ROWID;
`;

const run = (id: string, trigger: object) => ({
  id,
  flow: 'f',
  flowHash: 'h',
  source: 'name: f',
  baseDir: '/',
  trigger: trigger as { type: string },
  inputs: {},
});

describe('the run journal, version 2', () => {
  it('migrates a version 1 journal: its runs stay, trigger state and event ids work', async () => {
    const file = await tempFile();
    const old = new Database(file);
    old.exec(V1);
    old
      .prepare(
        "INSERT INTO runs (id, flow, flow_hash, source, base_dir, trigger, inputs, status, started_at) VALUES (?, 'f', 'h', 'name: f', '/', ?, '{}', 'succeeded', 1)",
      )
      .run('r-old', JSON.stringify({ type: 'manual' }));
    old.pragma('user_version = 1');
    old.close();

    const store = new SqliteRunStore(file);
    expect(store.db.pragma('user_version', { simple: true })).toBe(4);
    expect(store.getRun('r-old')?.status).toBe('succeeded');
    expect(store.getTriggerState('f', 'poll:dam.assets.new')).toBeUndefined();
    store.setTriggerState('f', 'poll:dam.assets.new', '{"watermark":"a"}');
    store.setTriggerState('f', 'poll:dam.assets.new', '{"watermark":"b"}');
    store.setTriggerState('g', 'poll:dam.assets.new', '{"watermark":"other flow"}');
    expect(store.getTriggerState('f', 'poll:dam.assets.new')).toBe('{"watermark":"b"}');
    store.createRun(run('r-1', { type: 'poll', id: 'assets.new:u1' }));
    expect(store.findRunByTrigger('f', 'assets.new:u1')?.id).toBe('r-1');
    expect(store.findRunByTrigger('f', 'assets.new:u2')).toBeUndefined();
    expect(store.savePage('r-1', 'each', { firstIndex: 0, items: [{ item: 'a', cursor: 'c1' }], end: true })).toBe(true);
    store.close();

    // Opened again: already the current version, nothing re-applied, everything kept.
    const again = new SqliteRunStore(file);
    expect(again.getTriggerState('f', 'poll:dam.assets.new')).toBe('{"watermark":"b"}');
    expect(
      again
        .listRuns()
        .map((r) => r.id)
        .sort(),
    ).toEqual(['r-1', 'r-old']);
    expect(again.getPage('r-1', 'each', 0)).toEqual({ firstIndex: 0, items: [{ item: 'a', cursor: 'c1' }], end: true });
    again.close();
  });

  it('migrates a version 3 journal: its runs and leased items stay, and it gains the loop pages, which go with their run', async () => {
    const file = await tempFile();
    const v3 = new SqliteRunStore(file);
    v3.createRun(run('r', { type: 'manual' }));
    v3.startStep('r', 'each');
    v3.tryBeginItem('r', 'each', 0, 'x', { lease: { owner: 'w:1:t', ms: 60_000 } });
    v3.db.exec('DROP TABLE loop_pages');
    v3.db.pragma('user_version = 3');
    v3.close();

    const store = new SqliteRunStore(file);
    expect(store.db.pragma('user_version', { simple: true })).toBe(4);
    expect(store.getItem('r', 'each', 0)).toMatchObject({ status: 'started', item: 'x', owner: 'w:1:t' });
    const page = { firstIndex: 0, items: [{ item: { id: 1 }, cursor: 'c1' }], end: false, error: { message: 'HTTP 503' } };
    expect(store.savePage('r', 'each', page)).toBe(true);
    expect(store.getPage('r', 'each', 0)).toEqual(page);
    store.db.prepare('DELETE FROM runs').run();
    expect(store.getPage('r', 'each', 0)).toBeUndefined();
    store.close();
  });

  it('holds one run per flow and event id; runs without an id are not limited', () => {
    const store = new SqliteRunStore(':memory:');
    store.createRun(run('r-1', { type: 'dam.events', id: 'event:e1' }));
    expect(() => store.createRun(run('r-2', { type: 'dam.events', id: 'event:e1' }))).toThrow(/UNIQUE/);
    store.createRun(run('r-3', { type: 'manual' }));
    store.createRun(run('r-4', { type: 'manual' }));
    expect(store.listRuns().length).toBe(3);
    store.close();
  });

  it('refuses a journal written by a newer version', async () => {
    const file = await tempFile();
    const future = new Database(file);
    future.pragma('user_version = 5');
    future.close();
    expect(() => new SqliteRunStore(file)).toThrow(/newer sfx \(schema 5\)/);
  });
});
