/**
 * The run journal in PostgreSQL, for runs shared by processes on several machines. Same records
 * as the SQLite journal; what differs is ownership: a run is held by its owner under a lease the
 * owner renews (heartbeat), so a run whose coordinator died can be claimed by another once the
 * lease runs out, while a live owner keeps it.
 */
import pg from 'pg';
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
import { liveLease, ownerAlive, RunBusyError, UnknownRunError } from './sqlite-run-store.js';
import { itemOf, pageHolds, pageOf, pageRow, runOf, stepOf, type ItemRow, type PageRow, type RunRow, type StepRow } from './journal-rows.js';

const SCHEMA_VERSION = 3;

const SCHEMA_V1 = `
CREATE TABLE runs (
  id text PRIMARY KEY,
  flow text NOT NULL,
  flow_hash text NOT NULL,
  flow_file text,
  source text NOT NULL,
  base_dir text NOT NULL,
  trigger text NOT NULL,
  trigger_id text,
  inputs text NOT NULL,
  status text NOT NULL,
  error text,
  started_at bigint NOT NULL,
  ended_at bigint,
  owner text,
  lease_until bigint,
  UNIQUE (flow, trigger_id)
);
CREATE INDEX runs_by_start ON runs (started_at DESC, id DESC);
CREATE INDEX runs_by_status ON runs (status, started_at DESC);
CREATE TABLE steps (
  run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step text NOT NULL,
  status text NOT NULL,
  output text,
  error text,
  next_index bigint NOT NULL DEFAULT 0,
  cursor text,
  started_at bigint NOT NULL,
  ended_at bigint,
  PRIMARY KEY (run_id, step)
);
CREATE TABLE items (
  run_id text NOT NULL,
  step text NOT NULL,
  idx bigint NOT NULL,
  status text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  item text,
  output text,
  error text,
  started_at bigint NOT NULL,
  ended_at bigint,
  PRIMARY KEY (run_id, step, idx)
);
CREATE INDEX items_by_status ON items (run_id, step, status, idx);
CREATE TABLE trigger_state (
  flow text NOT NULL,
  key text NOT NULL,
  state text NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (flow, key)
);
`;

/** Later versions: `MIGRATIONS[n]` takes a journal from version n to n + 1. */
const MIGRATIONS: Record<number, string> = {
  // 2: a started item's owner (one delivery of its job) and lease, so a second delivery leaves a live one alone.
  1: 'ALTER TABLE items ADD COLUMN owner text, ADD COLUMN lease_until bigint',
  // 3: the pages a paged loop source read, so a resumed or redelivered read finds the same items.
  2: `
CREATE TABLE loop_pages (
  run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step text NOT NULL,
  first_index bigint NOT NULL,
  count bigint NOT NULL,
  items text NOT NULL,
  at_end boolean NOT NULL,
  error text,
  created_at bigint NOT NULL,
  PRIMARY KEY (run_id, step, first_index)
)`,
};

/** Serializes schema creation between processes opening an empty database at once. */
const MIGRATION_LOCK = 0x5f5e_0001;

export interface PostgresRunStoreOptions {
  /**
   * The schema its tables live in, created when missing (which needs CREATE on the database):
   * default `sfx`, so they never meet an application's own tables. Also `?schema=` in the URL.
   */
  schema?: string;
  /** How long a run's owner holds it without renewing; renewed every third of it. Default 30 s. */
  leaseMs?: number;
  clock?: () => number;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** Called when a run this process held was claimed by another (its lease ran out meanwhile). */
  onLeaseLost?: (runId: string, owner: string) => void;
}

const INT8 = 20;
/** Timestamps (ms), indexes and counts fit a double: read bigint columns as numbers. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** `postgres://user:***@host/db`: a journal URL fit to print. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()]) if (/pass|secret|key/i.test(key)) parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class PostgresRunStore implements RunStore {
  readonly pool: pg.Pool;
  readonly schema: string;
  private readonly now: () => number;
  private readonly leaseMs: number;
  /** Runs this process holds, by id, with the owner it holds them as: their leases are renewed. */
  private readonly held = new Map<string, string>();
  private heartbeat: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private closed = false;

  /** Connects, and creates or migrates the journal's tables. */
  static async open(url: string, options: PostgresRunStoreOptions = {}): Promise<PostgresRunStore> {
    const store = new PostgresRunStore(url, options);
    try {
      await store.migrate();
    } catch (error) {
      await store.pool.end().catch(() => undefined);
      throw error;
    }
    return store;
  }

  private constructor(url: string, options: PostgresRunStoreOptions) {
    const parsed = new URL(url);
    const schema = options.schema ?? parsed.searchParams.get('schema') ?? 'sfx';
    parsed.searchParams.delete('schema');
    if (!SCHEMA_NAME.test(schema)) throw new Error(`the journal schema "${schema}" is not a plain name: use lowercase letters, digits and _.`);
    this.schema = schema;
    this.now = options.clock ?? Date.now;
    this.leaseMs = options.leaseMs ?? 30_000;
    if (options.onLeaseLost) this.leaseListeners.push(options.onLeaseLost);
    this.pool = new pg.Pool({
      connectionString: parsed.toString(),
      max: options.poolSize ?? 10,
      types,
      options: `-c search_path=${schema}`,
      application_name: 'sfx',
    });
    // An idle connection the server dropped: the next query reconnects or fails where it is awaited.
    this.pool.on('error', () => undefined);
  }

  private readonly leaseListeners: Array<(runId: string, owner: string) => void> = [];
  /** Runs this process held until another took them: what it still writes of them must not win. */
  private readonly lost = new Set<string>();

  onLeaseLost(listener: (runId: string, owner: string) => void): void {
    this.leaseListeners.push(listener);
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (db) => {
      await db.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      // Checked first: CREATE SCHEMA IF NOT EXISTS needs the right to create even when it exists.
      const exists = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
      if (!exists.rowCount) await db.query(`CREATE SCHEMA ${this.schema}`);
      await db.query('CREATE TABLE IF NOT EXISTS journal_version (version integer NOT NULL)');
      const found = await db.query<{ version: number }>('SELECT version FROM journal_version');
      let at = found.rows[0]?.version ?? 0;
      if (at > SCHEMA_VERSION)
        throw new Error(`the run journal in schema ${this.schema} was written by a newer sfx (schema ${at}); upgrade sfx to read it.`);
      if (at === 0) {
        await db.query(SCHEMA_V1);
        await db.query('INSERT INTO journal_version (version) VALUES (1)');
        at = 1;
      }
      for (; at < SCHEMA_VERSION; at++) await db.query(MIGRATIONS[at]!);
      await db.query('UPDATE journal_version SET version = $1', [SCHEMA_VERSION]);
    });
  }

  private async transaction<T>(work: (db: pg.PoolClient) => Promise<T>): Promise<T> {
    const db = await this.pool.connect();
    try {
      await db.query('BEGIN');
      const result = await work(db);
      await db.query('COMMIT');
      return result;
    } catch (error) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      db.release();
    }
  }

  private async rows<T extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T>(sql, args)).rows;
  }

  // ---- leases ----

  private hold(runId: string, owner: string): void {
    this.held.set(runId, owner);
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => void this.renewLeases(), Math.max(50, Math.floor(this.leaseMs / 3)));
      this.heartbeat.unref();
    }
  }

  private release(runId: string): void {
    this.held.delete(runId);
    if (this.held.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  /** Extends the lease of every run this process holds; one it no longer holds is let go. */
  renewLeases(): Promise<void> {
    this.renewing ??= this.renew().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const ids = [...this.held.keys()];
    const owners = ids.map((id) => this.held.get(id)!);
    let kept: Set<string>;
    try {
      const rows = await this.rows<{ id: string }>(
        `UPDATE runs SET lease_until = $1
         FROM unnest($2::text[], $3::text[]) AS h (id, owner)
         WHERE runs.id = h.id AND runs.owner = h.owner AND runs.status = 'running'
         RETURNING runs.id`,
        [this.now() + this.leaseMs, ids, owners],
      );
      kept = new Set(rows.map((r) => r.id));
    } catch {
      return; // the database is unreachable for now: the next beat tries again
    }
    for (const [i, id] of ids.entries()) {
      if (kept.has(id) || this.held.get(id) !== owners[i]) continue;
      this.release(id);
      this.lost.add(id);
      for (const listener of this.leaseListeners) listener(id, owners[i]!);
    }
  }

  // ---- runs ----

  async createRun(run: Omit<RunRecord, 'status' | 'startedAt'> & { startedAt?: number }): Promise<RunRecord> {
    const rows = await this.rows<RunRow>(
      `INSERT INTO runs (id, flow, flow_hash, flow_file, source, base_dir, trigger, trigger_id, inputs, status, started_at, owner, lease_until)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'running', $10, $11, $12) RETURNING *`,
      [
        run.id,
        run.flow,
        run.flowHash,
        run.flowFile ?? null,
        run.source,
        run.baseDir,
        JSON.stringify(run.trigger),
        run.trigger.id ?? null,
        JSON.stringify(run.inputs),
        run.startedAt ?? this.now(),
        run.owner ?? null,
        run.owner ? this.now() + this.leaseMs : null,
      ],
    );
    if (run.owner) this.hold(run.id, run.owner);
    return runOf(rows[0]!);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const [row] = await this.rows<RunRow>('SELECT * FROM runs WHERE id = $1', [id]);
    return row ? runOf(row) : undefined;
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.flow) {
      args.push(filter.flow);
      where.push(`flow = $${args.length}`);
    }
    if (filter.status) {
      args.push(filter.status);
      where.push(`status = $${args.length}`);
    }
    if (filter.before) {
      args.push(filter.before.startedAt, filter.before.id);
      where.push(`(started_at, id) < ($${args.length - 1}, $${args.length})`);
    }
    args.push(filter.limit ?? 50);
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC LIMIT $${args.length}`;
    return (await this.rows<RunRow>(sql, args)).map(runOf);
  }

  /**
   * Takes the run for `owner` under a fresh lease. Refused while another owner holds it: its
   * lease has not run out and, when it is a process on this machine, that process is alive.
   */
  async claimRun(id: string, owner: string): Promise<void> {
    await this.transaction(async (db) => {
      const [row] = (await db.query<RunRow>('SELECT * FROM runs WHERE id = $1 FOR UPDATE', [id])).rows;
      if (!row) throw new UnknownRunError(id);
      const now = this.now();
      const heldByOther = row.status === 'running' && row.owner && row.owner !== owner;
      if (heldByOther && row.lease_until != null && row.lease_until > now && ownerAlive(row.owner!)) throw new RunBusyError(id, row.owner!);
      await db.query("UPDATE runs SET owner = $1, lease_until = $2, status = 'running', ended_at = NULL, error = NULL WHERE id = $3", [owner, now + this.leaseMs, id]);
    });
    this.lost.delete(id);
    this.hold(id, owner);
  }

  /** Ends the run, unless another process has taken it over from this one meanwhile. */
  async finishRun(id: string, status: Exclude<RunStatus, 'running'>, error?: ErrorRecord): Promise<void> {
    if (this.lost.delete(id)) return;
    const owner = this.held.get(id) ?? null;
    this.release(id);
    await this.pool.query(
      `UPDATE runs SET status = $1, error = $2, ended_at = $3, owner = NULL, lease_until = NULL
       WHERE id = $4 AND ($5::text IS NULL OR owner = $5 OR owner IS NULL)`,
      [status, error ? JSON.stringify(error) : null, this.now(), id, owner],
    );
  }

  // ---- steps ----

  async getStep(runId: string, step: string): Promise<StepRecord | undefined> {
    const [row] = await this.rows<StepRow>('SELECT * FROM steps WHERE run_id = $1 AND step = $2', [runId, step]);
    return row ? stepOf(row) : undefined;
  }

  async steps(runId: string): Promise<StepRecord[]> {
    return (await this.rows<StepRow>('SELECT * FROM steps WHERE run_id = $1 ORDER BY started_at, step', [runId])).map(stepOf);
  }

  async startStep(runId: string, step: string): Promise<StepRecord> {
    const rows = await this.rows<StepRow>(
      `INSERT INTO steps (run_id, step, status, started_at) VALUES ($1, $2, 'running', $3)
       ON CONFLICT (run_id, step) DO UPDATE SET status = 'running', ended_at = NULL, error = NULL
       RETURNING *`,
      [runId, step, this.now()],
    );
    return stepOf(rows[0]!);
  }

  async finishStep(runId: string, step: string, status: Exclude<StepStatus, 'running'>, output?: unknown, error?: ErrorRecord): Promise<void> {
    await this.pool.query('UPDATE steps SET status = $1, output = $2, error = $3, ended_at = $4 WHERE run_id = $5 AND step = $6', [
      status,
      toJson(output),
      error ? JSON.stringify(error) : null,
      this.now(),
      runId,
      step,
    ]);
  }

  async reopenStep(runId: string, step: string): Promise<void> {
    await this.pool.query("UPDATE steps SET status = 'running', ended_at = NULL, error = NULL WHERE run_id = $1 AND step = $2", [runId, step]);
  }

  async checkpoint(runId: string, step: string, nextIndex: number, cursor: string | undefined): Promise<void> {
    await this.pool.query('UPDATE steps SET next_index = $1, cursor = $2 WHERE run_id = $3 AND step = $4', [nextIndex, cursor ?? null, runId, step]);
  }

  // ---- items ----

  async getItem(runId: string, step: string, index: number): Promise<ItemRecord | undefined> {
    const [row] = await this.rows<ItemRow>('SELECT * FROM items WHERE run_id = $1 AND step = $2 AND idx = $3', [runId, step, index]);
    return row ? itemOf(row) : undefined;
  }

  async maxItemIndex(runId: string, step: string): Promise<number> {
    const [row] = await this.rows<{ m: number | null }>('SELECT max(idx) AS m FROM items WHERE run_id = $1 AND step = $2', [runId, step]);
    return row?.m ?? -1;
  }

  async beginItem(runId: string, step: string, index: number, item: unknown): Promise<void> {
    await this.pool.query(
      `INSERT INTO items (run_id, step, idx, status, attempts, item, started_at) VALUES ($1, $2, $3, 'started', 1, $4, $5)
       ON CONFLICT (run_id, step, idx) DO UPDATE SET status = 'started', attempts = items.attempts + 1, error = NULL, ended_at = NULL,
         owner = NULL, lease_until = NULL`,
      [runId, step, index, toJson(item, Infinity), this.now()],
    );
  }

  async tryBeginItem(runId: string, step: string, index: number, item: unknown, options: { redo?: ItemStatus[]; lease?: ItemLease } = {}): Promise<BeginItemResult> {
    const now = this.now();
    const owner = options.lease?.owner ?? null;
    const leaseUntil = options.lease ? now + options.lease.ms : null;
    return this.transaction(async (db) => {
      // A new row, or the existing one locked: whoever comes second sees what the first wrote.
      const inserted = await db.query<ItemRow>(
        `INSERT INTO items (run_id, step, idx, status, attempts, item, started_at, owner, lease_until) VALUES ($1, $2, $3, 'started', 1, $4, $5, $6, $7)
         ON CONFLICT (run_id, step, idx) DO NOTHING RETURNING *`,
        [runId, step, index, toJson(item, Infinity), now, owner, leaseUntil],
      );
      if (inserted.rowCount) return { began: true };
      const [row] = (await db.query<ItemRow>('SELECT * FROM items WHERE run_id = $1 AND step = $2 AND idx = $3 FOR UPDATE', [runId, step, index])).rows;
      const previous = itemOf(row!);
      if (previous.status !== 'started' && !(options.redo ?? []).includes(previous.status)) return { began: false, previous };
      const heldUntil = liveLease(previous, options.lease, now);
      if (heldUntil !== undefined) return { began: false, previous, heldUntil };
      await db.query(
        `UPDATE items SET status = 'started', attempts = attempts + 1, error = NULL, ended_at = NULL, owner = $4, lease_until = $5
         WHERE run_id = $1 AND step = $2 AND idx = $3`,
        [runId, step, index, owner, leaseUntil],
      );
      return { began: true, previous };
    });
  }

  async renewItemLease(runId: string, step: string, index: number, lease: ItemLease): Promise<boolean> {
    const renewed = await this.pool.query(
      "UPDATE items SET lease_until = $1 WHERE run_id = $2 AND step = $3 AND idx = $4 AND status = 'started' AND owner = $5",
      [this.now() + lease.ms, runId, step, index, lease.owner],
    );
    return (renewed.rowCount ?? 0) > 0;
  }

  async finishItem(
    runId: string,
    step: string,
    index: number,
    status: Exclude<ItemStatus, 'started'>,
    result: { output?: unknown; error?: ErrorRecord; item?: unknown },
  ): Promise<void> {
    const now = this.now();
    await this.pool.query(
      `INSERT INTO items (run_id, step, idx, status, attempts, item, output, error, started_at, ended_at)
       VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $8)
       ON CONFLICT (run_id, step, idx) DO UPDATE SET status = $4, output = $6, error = $7, ended_at = $8,
         item = coalesce(items.item, $5), owner = NULL, lease_until = NULL`,
      [runId, step, index, status, toJson(result.item, Infinity), toJson(result.output), result.error ? JSON.stringify(result.error) : null, now],
    );
  }

  async items(runId: string, step: string, options: { status?: ItemStatus; afterIndex?: number; limit?: number } = {}): Promise<ItemRecord[]> {
    const after = options.afterIndex ?? -1;
    const limit = options.limit ?? 1000;
    const rows = options.status
      ? await this.rows<ItemRow>('SELECT * FROM items WHERE run_id = $1 AND step = $2 AND status = $3 AND idx > $4 ORDER BY idx LIMIT $5', [runId, step, options.status, after, limit])
      : await this.rows<ItemRow>('SELECT * FROM items WHERE run_id = $1 AND step = $2 AND idx > $3 ORDER BY idx LIMIT $4', [runId, step, after, limit]);
    return rows.map(itemOf);
  }

  async counts(runId: string, step: string): Promise<ItemCounts> {
    const out: ItemCounts = { succeeded: 0, failed: 0, skipped: 0, started: 0 };
    const rows = await this.rows<{ status: ItemStatus; n: number }>('SELECT status, count(*) AS n FROM items WHERE run_id = $1 AND step = $2 GROUP BY status', [runId, step]);
    for (const row of rows) out[row.status] = row.n;
    return out;
  }

  async runItemCounts(runIds: readonly string[]): Promise<Map<string, RunItemCounts>> {
    const out = new Map<string, RunItemCounts>();
    if (runIds.length === 0) return out;
    const rows = await this.rows<{ run_id: string; step: string; status: ItemStatus; n: number }>(
      'SELECT run_id, step, status, count(*) AS n FROM items WHERE run_id = ANY($1) GROUP BY run_id, step, status',
      [[...runIds]],
    );
    for (const row of rows) addCountRow(out, row);
    return out;
  }

  // ---- loop pages ----

  async savePage(runId: string, step: string, page: LoopPage): Promise<boolean> {
    const row = pageRow(page);
    const saved = await this.pool.query(
      `INSERT INTO loop_pages (run_id, step, first_index, count, items, at_end, error, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (run_id, step, first_index) DO NOTHING`,
      [runId, step, row.first_index, row.count, row.items, row.at_end, row.error, this.now()],
    );
    return saved.rowCount === 1;
  }

  async getPage(runId: string, step: string, index: number): Promise<LoopPage | undefined> {
    const [row] = await this.rows<PageRow>(
      'SELECT * FROM loop_pages WHERE run_id = $1 AND step = $2 AND first_index <= $3 ORDER BY first_index DESC LIMIT 1',
      [runId, step, index],
    );
    return row && pageHolds(row, index) ? pageOf(row) : undefined;
  }

  async dropPages(runId: string, step: string, belowIndex?: number): Promise<void> {
    if (belowIndex === undefined) {
      await this.pool.query('DELETE FROM loop_pages WHERE run_id = $1 AND step = $2', [runId, step]);
      return;
    }
    await this.pool.query(
      `DELETE FROM loop_pages WHERE run_id = $1 AND step = $2
         AND ((count > 0 AND first_index + count <= $3) OR (count = 0 AND first_index < $3))`,
      [runId, step, belowIndex],
    );
  }

  // ---- triggers ----

  async findRunByTrigger(flow: string, triggerId: string): Promise<RunRecord | undefined> {
    const [row] = await this.rows<RunRow>('SELECT * FROM runs WHERE flow = $1 AND trigger_id = $2', [flow, triggerId]);
    return row ? runOf(row) : undefined;
  }

  async getTriggerState(flow: string, key: string): Promise<string | undefined> {
    const [row] = await this.rows<{ state: string }>('SELECT state FROM trigger_state WHERE flow = $1 AND key = $2', [flow, key]);
    return row?.state;
  }

  async setTriggerState(flow: string, key: string, json: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO trigger_state (flow, key, state, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (flow, key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      [flow, key, json, this.now()],
    );
  }

  /** Stops renewing leases (a run held here is claimable once its lease runs out) and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.held.clear();
    await this.renewing;
    await this.pool.end();
  }
}
