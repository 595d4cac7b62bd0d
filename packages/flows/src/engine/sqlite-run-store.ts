import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type {
  RunItemCounts,
  BeginItemResult,
  ErrorRecord,
  ItemCounts,
  ItemRecord,
  ItemLease,
  ItemStatus,
  LoopPage,
  RunFilter,
  RunRecord,
  RunStatus,
  RunStore,
  StepRecord,
  StepStatus,
} from './run-store.js';
import { addCountRow } from './run-store.js';
import { toJson } from './journal-json.js';
import { itemOf, pageHolds, pageOf, pageRow, runOf, stepOf, type ItemRow, type PageRow, type RunRow, type StepRow } from './journal-rows.js';

const SCHEMA_VERSION = 4;

/** Version 1: runs, steps, items. Later versions are the migrations below, applied in order. */
const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  flow TEXT NOT NULL,
  flow_hash TEXT NOT NULL,
  flow_file TEXT,
  source TEXT NOT NULL,
  base_dir TEXT NOT NULL,
  trigger TEXT NOT NULL,
  inputs TEXT NOT NULL,
  status TEXT NOT NULL,
  error TEXT,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  owner TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at DESC);
CREATE TABLE IF NOT EXISTS steps (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step TEXT NOT NULL,
  status TEXT NOT NULL,
  output TEXT,
  error TEXT,
  next_index INTEGER NOT NULL DEFAULT 0,
  cursor TEXT,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items (
  run_id TEXT NOT NULL,
  step TEXT NOT NULL,
  idx INTEGER NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  item TEXT,
  output TEXT,
  error TEXT,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  PRIMARY KEY (run_id, step, idx)
) WITHOUT ROWID;
`;

/** `MIGRATIONS[n]` takes a journal from version n to n + 1. */
const MIGRATIONS: Record<number, string> = {
  // 2: trigger state, and at most one run per flow and triggering event (NULL ids are distinct).
  1: `
CREATE TABLE trigger_state (
  flow TEXT NOT NULL,
  key TEXT NOT NULL,
  state TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (flow, key)
) WITHOUT ROWID;
CREATE UNIQUE INDEX runs_by_trigger_id ON runs (flow, json_extract(trigger, '$.id'));
`,
  // 3: a started item's owner (one delivery of its job) and lease, so a second delivery leaves a live one alone.
  2: `
ALTER TABLE items ADD COLUMN owner TEXT;
ALTER TABLE items ADD COLUMN lease_until INTEGER;
`,
  // 4: the pages a paged loop source read, so a resumed or redelivered read finds the same items.
  3: `
CREATE TABLE loop_pages (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step TEXT NOT NULL,
  first_index INTEGER NOT NULL,
  count INTEGER NOT NULL,
  items TEXT NOT NULL,
  at_end INTEGER NOT NULL,
  error TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, step, first_index)
) WITHOUT ROWID;
`,
};

export class RunBusyError extends Error {
  constructor(
    readonly runId: string,
    readonly owner: string,
  ) {
    super(`run ${runId} is being run by process ${owner}: stop it first, or wait for it to end.`);
    this.name = 'RunBusyError';
  }
}

export class UnknownRunError extends Error {
  constructor(readonly runId: string) {
    super(`no run has the id "${runId}": sfx runs lists them.`);
    this.name = 'UnknownRunError';
  }
}

/** Is `owner` (`host:pid`) a live process on this machine? Another machine's is taken as alive. */
export function ownerAlive(owner: string): boolean {
  const at = owner.lastIndexOf(':');
  const host = owner.slice(0, at);
  const pid = Number(owner.slice(at + 1));
  if (host !== hostname()) return true;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When a `started` item is held by another delivery whose lease has not run out: until when.
 * An item begun without a lease (a single process's run) is never held: its owner is the run's.
 */
export function liveLease(previous: ItemRecord | undefined, lease: ItemLease | undefined, now: number): number | undefined {
  if (previous?.status !== 'started' || previous.leaseUntil === undefined || previous.owner === lease?.owner) return undefined;
  return previous.leaseUntil > now ? previous.leaseUntil : undefined;
}

export function processOwner(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * The run journal in one SQLite file (WAL). `synchronous = NORMAL`: a committed record survives
 * the process being killed at any point (the guarantee runs rely on); `full` adds power loss.
 */
export class SqliteRunStore implements RunStore {
  readonly db: Database.Database;
  private readonly now: () => number;
  private readonly stmt: ReturnType<SqliteRunStore['prepare']>;

  constructor(path: string, options: { clock?: () => number; durability?: 'normal' | 'full' } = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new Error(`the run journal ${path} was written by a newer sfx (schema ${version}); upgrade sfx to read it.`);
    this.db.transaction(() => {
      let at = version;
      if (at === 0) {
        this.db.exec(SCHEMA_V1);
        at = 1;
      }
      for (; at < SCHEMA_VERSION; at++) this.db.exec(MIGRATIONS[at]!);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
    this.now = options.clock ?? Date.now;
    this.stmt = this.prepare();
  }

  private prepare() {
    const db = this.db;
    return {
      insertRun: db.prepare(
        `INSERT INTO runs (id, flow, flow_hash, flow_file, source, base_dir, trigger, inputs, status, started_at, owner)
         VALUES (@id, @flow, @flow_hash, @flow_file, @source, @base_dir, @trigger, @inputs, 'running', @started_at, @owner)`,
      ),
      getRun: db.prepare('SELECT * FROM runs WHERE id = ?'),
      claim: db.prepare("UPDATE runs SET owner = ?, status = 'running', ended_at = NULL, error = NULL WHERE id = ?"),
      finishRun: db.prepare('UPDATE runs SET status = ?, error = ?, ended_at = ?, owner = NULL WHERE id = ?'),
      getStep: db.prepare('SELECT * FROM steps WHERE run_id = ? AND step = ?'),
      steps: db.prepare('SELECT * FROM steps WHERE run_id = ? ORDER BY started_at, step'),
      startStep: db.prepare(
        `INSERT INTO steps (run_id, step, status, started_at) VALUES (?, ?, 'running', ?)
         ON CONFLICT (run_id, step) DO UPDATE SET status = 'running', ended_at = NULL, error = NULL`,
      ),
      finishStep: db.prepare('UPDATE steps SET status = ?, output = ?, error = ?, ended_at = ? WHERE run_id = ? AND step = ?'),
      reopenStep: db.prepare("UPDATE steps SET status = 'running', ended_at = NULL, error = NULL WHERE run_id = ? AND step = ?"),
      checkpoint: db.prepare('UPDATE steps SET next_index = ?, cursor = ? WHERE run_id = ? AND step = ?'),
      getItem: db.prepare('SELECT * FROM items WHERE run_id = ? AND step = ? AND idx = ?'),
      maxIndex: db.prepare('SELECT max(idx) AS m FROM items WHERE run_id = ? AND step = ?'),
      beginItem: db.prepare(
        `INSERT INTO items (run_id, step, idx, status, attempts, item, started_at, owner, lease_until) VALUES (?, ?, ?, 'started', 1, ?, ?, ?, ?)
         ON CONFLICT (run_id, step, idx) DO UPDATE SET status = 'started', attempts = attempts + 1, error = NULL, ended_at = NULL,
           owner = excluded.owner, lease_until = excluded.lease_until`,
      ),
      renewItemLease: db.prepare("UPDATE items SET lease_until = ? WHERE run_id = ? AND step = ? AND idx = ? AND status = 'started' AND owner = ?"),
      finishItem: db.prepare(
        `INSERT INTO items (run_id, step, idx, status, attempts, item, output, error, started_at, ended_at)
         VALUES (@run_id, @step, @idx, @status, 0, @item, @output, @error, @now, @now)
         ON CONFLICT (run_id, step, idx) DO UPDATE SET status = @status, output = @output, error = @error, ended_at = @now,
           item = coalesce(items.item, @item), owner = NULL, lease_until = NULL`,
      ),
      itemsAll: db.prepare('SELECT * FROM items WHERE run_id = ? AND step = ? AND idx > ? ORDER BY idx LIMIT ?'),
      itemsByStatus: db.prepare('SELECT * FROM items WHERE run_id = ? AND step = ? AND status = ? AND idx > ? ORDER BY idx LIMIT ?'),
      counts: db.prepare('SELECT status, count(*) AS n FROM items WHERE run_id = ? AND step = ? GROUP BY status'),
      savePage: db.prepare(
        `INSERT INTO loop_pages (run_id, step, first_index, count, items, at_end, error, created_at)
         VALUES (@run_id, @step, @first_index, @count, @items, @at_end, @error, @created_at)
         ON CONFLICT (run_id, step, first_index) DO NOTHING`,
      ),
      getPage: db.prepare('SELECT * FROM loop_pages WHERE run_id = ? AND step = ? AND first_index <= ? ORDER BY first_index DESC LIMIT 1'),
      dropPagesBelow: db.prepare(
        `DELETE FROM loop_pages WHERE run_id = @run_id AND step = @step
           AND ((count > 0 AND first_index + count <= @below) OR (count = 0 AND first_index < @below))`,
      ),
      dropPages: db.prepare('DELETE FROM loop_pages WHERE run_id = ? AND step = ?'),
      runByTrigger: db.prepare("SELECT * FROM runs WHERE flow = ? AND json_extract(trigger, '$.id') = ?"),
      getTriggerState: db.prepare('SELECT state FROM trigger_state WHERE flow = ? AND key = ?'),
      setTriggerState: db.prepare(
        `INSERT INTO trigger_state (flow, key, state, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (flow, key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      ),
    };
  }

  createRun(run: Omit<RunRecord, 'status' | 'startedAt'> & { startedAt?: number }): RunRecord {
    this.stmt.insertRun.run({
      id: run.id,
      flow: run.flow,
      flow_hash: run.flowHash,
      flow_file: run.flowFile ?? null,
      source: run.source,
      base_dir: run.baseDir,
      trigger: JSON.stringify(run.trigger),
      inputs: JSON.stringify(run.inputs),
      started_at: run.startedAt ?? this.now(),
      owner: run.owner ?? null,
    });
    return this.getRun(run.id)!;
  }

  getRun(id: string): RunRecord | undefined {
    const row = this.stmt.getRun.get(id) as RunRow | undefined;
    return row ? runOf(row) : undefined;
  }

  listRuns(filter: RunFilter = {}): RunRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.flow) {
      where.push('flow = ?');
      args.push(filter.flow);
    }
    if (filter.status) {
      where.push('status = ?');
      args.push(filter.status);
    }
    if (filter.before) {
      where.push('(started_at < ? OR (started_at = ? AND id < ?))');
      args.push(filter.before.startedAt, filter.before.startedAt, filter.before.id);
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? 50) as RunRow[]).map(runOf);
  }

  claimRun(id: string, owner: string): void {
    this.db.transaction(() => {
      const run = this.getRun(id);
      if (!run) throw new UnknownRunError(id);
      if (run.status === 'running' && run.owner && run.owner !== owner && ownerAlive(run.owner)) throw new RunBusyError(id, run.owner);
      this.stmt.claim.run(owner, id);
    }).immediate();
  }

  finishRun(id: string, status: Exclude<RunStatus, 'running'>, error?: ErrorRecord): void {
    this.stmt.finishRun.run(status, error ? JSON.stringify(error) : null, this.now(), id);
  }

  getStep(runId: string, step: string): StepRecord | undefined {
    const row = this.stmt.getStep.get(runId, step) as StepRow | undefined;
    return row ? stepOf(row) : undefined;
  }

  steps(runId: string): StepRecord[] {
    return (this.stmt.steps.all(runId) as StepRow[]).map(stepOf);
  }

  startStep(runId: string, step: string): StepRecord {
    this.stmt.startStep.run(runId, step, this.now());
    return this.getStep(runId, step)!;
  }

  finishStep(runId: string, step: string, status: Exclude<StepStatus, 'running'>, output?: unknown, error?: ErrorRecord): void {
    this.stmt.finishStep.run(status, toJson(output), error ? JSON.stringify(error) : null, this.now(), runId, step);
  }

  reopenStep(runId: string, step: string): void {
    this.stmt.reopenStep.run(runId, step);
  }

  checkpoint(runId: string, step: string, nextIndex: number, cursor: string | undefined): void {
    this.stmt.checkpoint.run(nextIndex, cursor ?? null, runId, step);
  }

  getItem(runId: string, step: string, index: number): ItemRecord | undefined {
    const row = this.stmt.getItem.get(runId, step, index) as ItemRow | undefined;
    return row ? itemOf(row) : undefined;
  }

  maxItemIndex(runId: string, step: string): number {
    const row = this.stmt.maxIndex.get(runId, step) as { m: number | null };
    return row.m ?? -1;
  }

  beginItem(runId: string, step: string, index: number, item: unknown, lease?: ItemLease): void {
    const now = this.now();
    this.stmt.beginItem.run(runId, step, index, toJson(item, Infinity), now, lease?.owner ?? null, lease ? now + lease.ms : null);
  }

  tryBeginItem(runId: string, step: string, index: number, item: unknown, options: { redo?: ItemStatus[]; lease?: ItemLease } = {}): BeginItemResult {
    return this.db.transaction((): BeginItemResult => {
      const previous = this.getItem(runId, step, index);
      if (previous && previous.status !== 'started' && !(options.redo ?? []).includes(previous.status)) return { began: false, previous };
      const heldUntil = liveLease(previous, options.lease, this.now());
      if (heldUntil !== undefined) return { began: false, previous: previous!, heldUntil };
      this.beginItem(runId, step, index, item, options.lease);
      return previous ? { began: true, previous } : { began: true };
    }).immediate();
  }

  renewItemLease(runId: string, step: string, index: number, lease: ItemLease): boolean {
    return this.stmt.renewItemLease.run(this.now() + lease.ms, runId, step, index, lease.owner).changes > 0;
  }

  finishItem(
    runId: string,
    step: string,
    index: number,
    status: Exclude<ItemStatus, 'started'>,
    result: { output?: unknown; error?: ErrorRecord; item?: unknown },
  ): void {
    this.stmt.finishItem.run({
      run_id: runId,
      step,
      idx: index,
      status,
      item: toJson(result.item, Infinity),
      output: toJson(result.output),
      error: result.error ? JSON.stringify(result.error) : null,
      now: this.now(),
    });
  }

  items(runId: string, step: string, options: { status?: ItemStatus; afterIndex?: number; limit?: number } = {}): ItemRecord[] {
    const after = options.afterIndex ?? -1;
    const limit = options.limit ?? 1000;
    const rows = options.status
      ? (this.stmt.itemsByStatus.all(runId, step, options.status, after, limit) as ItemRow[])
      : (this.stmt.itemsAll.all(runId, step, after, limit) as ItemRow[]);
    return rows.map(itemOf);
  }

  counts(runId: string, step: string): ItemCounts {
    const out: ItemCounts = { succeeded: 0, failed: 0, skipped: 0, started: 0 };
    for (const row of this.stmt.counts.all(runId, step) as Array<{ status: ItemStatus; n: number }>) out[row.status] = row.n;
    return out;
  }

  runItemCounts(runIds: readonly string[]): Map<string, RunItemCounts> {
    const out = new Map<string, RunItemCounts>();
    // In slices, under SQLite's limit on bound parameters; one statement for a page of the list.
    for (let i = 0; i < runIds.length; i += 500) {
      const ids = runIds.slice(i, i + 500);
      const rows = this.db
        .prepare(`SELECT run_id, step, status, count(*) AS n FROM items WHERE run_id IN (${ids.map(() => '?').join(',')}) GROUP BY run_id, step, status`)
        .all(...ids) as Array<{ run_id: string; step: string; status: ItemStatus; n: number }>;
      for (const row of rows) addCountRow(out, row);
    }
    return out;
  }

  savePage(runId: string, step: string, page: LoopPage): boolean {
    const row = pageRow(page);
    return this.stmt.savePage.run({ ...row, at_end: row.at_end ? 1 : 0, run_id: runId, step, created_at: this.now() }).changes === 1;
  }

  getPage(runId: string, step: string, index: number): LoopPage | undefined {
    const row = this.stmt.getPage.get(runId, step, index) as PageRow | undefined;
    return row && pageHolds(row, index) ? pageOf(row) : undefined;
  }

  dropPages(runId: string, step: string, belowIndex?: number): void {
    if (belowIndex === undefined) this.stmt.dropPages.run(runId, step);
    else this.stmt.dropPagesBelow.run({ run_id: runId, step, below: belowIndex });
  }

  findRunByTrigger(flow: string, triggerId: string): RunRecord | undefined {
    const row = this.stmt.runByTrigger.get(flow, triggerId) as RunRow | undefined;
    return row ? runOf(row) : undefined;
  }

  getTriggerState(flow: string, key: string): string | undefined {
    return (this.stmt.getTriggerState.get(flow, key) as { state: string } | undefined)?.state;
  }

  setTriggerState(flow: string, key: string, json: string): void {
    this.stmt.setTriggerState.run(flow, key, json, this.now());
  }

  close(): void {
    this.db.close();
  }
}
