/**
 * The journal of runs: what was started, what each step and each item did, and where each loop
 * stands. The engine decides nothing from memory that it has not first written here, so a run
 * can be resumed from this alone after a crash. One interface; SQLite by default.
 *
 * Methods may answer now or later (`Awaitable`): SQLite answers synchronously, a networked store
 * (PostgreSQL) with a promise. Callers always `await`, and must not assume two calls they did not
 * await in turn reach the store in order.
 */

export type Awaitable<T> = T | Promise<T>;

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';
export type StepStatus = 'running' | 'succeeded' | 'failed' | 'skipped';
/** `started`: sent, outcome unknown until finished (a crash leaves it so; resume reconciles it). */
export type ItemStatus = 'started' | 'succeeded' | 'failed' | 'skipped';

export interface ErrorRecord {
  message: string;
  code?: string;
  kind?: string;
  hint?: string;
  status?: number;
}

/**
 * What started a run. `id` names the triggering event (an asset version, a DAM event id, a
 * schedule tick): the journal holds at most one run per flow and id, which is how a trigger that
 * sees an event again after a crash knows it already started a run for it.
 */
export interface RunTrigger {
  type: string;
  event?: unknown;
  id?: string;
}

export interface RunRecord {
  id: string;
  flow: string;
  flowHash: string;
  flowFile?: string;
  /** The flow's YAML as it was when the run started: resume runs this, not the file as it is now. */
  source: string;
  baseDir: string;
  trigger: RunTrigger;
  inputs: Record<string, unknown>;
  status: RunStatus;
  error?: ErrorRecord;
  startedAt: number;
  endedAt?: number;
  /** `host:pid` of the process running it, while it runs. */
  owner?: string;
}

export interface StepRecord {
  runId: string;
  step: string;
  status: StepStatus;
  output?: unknown;
  error?: ErrorRecord;
  /** Loops: every item below this index is done. */
  nextIndex: number;
  /** Loops: where the source goes on after item `nextIndex - 1`. */
  cursor?: string;
  startedAt: number;
  endedAt?: number;
}

export interface ItemRecord {
  index: number;
  status: ItemStatus;
  attempts: number;
  item?: unknown;
  output?: unknown;
  error?: ErrorRecord;
  startedAt: number;
  endedAt?: number;
  /** A worker's delivery running a `started` item, and until when it holds it (see `ItemLease`). */
  owner?: string;
  leaseUntil?: number;
}

/**
 * Who runs a `started` item, for how long without renewal. A worker's lock on a job can lapse
 * while the worker lives (a long GC pause, a stalled event loop): the job is then delivered to
 * another worker while the first still runs it. The lease in the journal is what that second
 * delivery consults: a live one means "running elsewhere, come back later", not "cut off".
 */
export interface ItemLease {
  /** One delivery: unique per attempt, so two deliveries in one process are told apart. */
  owner: string;
  ms: number;
}

export interface ItemCounts {
  succeeded: number;
  failed: number;
  skipped: number;
  started: number;
}

export interface BeginItemResult {
  /** False: the item already has an outcome, in `previous`; nothing was written. */
  began: boolean;
  previous?: ItemRecord;
  /** Not begun because another delivery holds the item under a live lease, until this time. */
  heldUntil?: number;
}

export interface RunFilter {
  flow?: string;
  status?: RunStatus;
  limit?: number;
  /** Only runs after this one in the newest-first order: the next page (keyset, not offset). */
  before?: { startedAt: number; id: string };
}

/**
 * A page of a loop's source, read in one job by whichever worker took it (Engine.readPage) and
 * kept in the journal until the loop's checkpoint passes it: the coordinator dispatches items from
 * pages, so no process reads or holds a large source whole, and a coordinator that takes a run
 * over finds the pages already read instead of reading them again.
 */
export interface LoopPage {
  /** The loop index of the page's first item (of the next one, for an empty last page). */
  firstIndex: number;
  /** The loop's items in order, each with the source cursor that goes on after it. */
  items: Array<{ item: unknown; cursor: string }>;
  /** The source has no items after these. */
  end: boolean;
  /** The source failed after these items: the loop fails with this, as if it had read them itself. */
  error?: ErrorRecord;
}

/** Item counts of each step of a run that has items, by step id. */
export type RunItemCounts = Map<string, ItemCounts>;

/** Adds a `{run_id, step, status, n}` row of a GROUP BY to the counts it builds. */
export function addCountRow(into: Map<string, RunItemCounts>, row: { run_id: string; step: string; status: ItemStatus; n: number }): void {
  let steps = into.get(row.run_id);
  if (!steps) into.set(row.run_id, (steps = new Map()));
  let counts = steps.get(row.step);
  if (!counts) steps.set(row.step, (counts = { succeeded: 0, failed: 0, skipped: 0, started: 0 }));
  counts[row.status] = row.n;
}

export interface RunStore {
  createRun(run: Omit<RunRecord, 'status' | 'startedAt'> & { startedAt?: number }): Awaitable<RunRecord>;
  getRun(id: string): Awaitable<RunRecord | undefined>;
  /** Newest first. */
  listRuns(filter?: RunFilter): Awaitable<RunRecord[]>;
  /** Takes the run for this process; refuses when another live process holds it. */
  claimRun(id: string, owner: string): Awaitable<void>;
  finishRun(id: string, status: Exclude<RunStatus, 'running'>, error?: ErrorRecord): Awaitable<void>;

  getStep(runId: string, step: string): Awaitable<StepRecord | undefined>;
  steps(runId: string): Awaitable<StepRecord[]>;
  startStep(runId: string, step: string): Awaitable<StepRecord>;
  finishStep(runId: string, step: string, status: Exclude<StepStatus, 'running'>, output?: unknown, error?: ErrorRecord): Awaitable<void>;
  /** Re-opens a finished step (retrying its failed items, redoing an idempotent step after them). */
  reopenStep(runId: string, step: string): Awaitable<void>;
  checkpoint(runId: string, step: string, nextIndex: number, cursor: string | undefined): Awaitable<void>;

  getItem(runId: string, step: string, index: number): Awaitable<ItemRecord | undefined>;
  /** Highest index with a record, or -1. */
  maxItemIndex(runId: string, step: string): Awaitable<number>;
  /** Written and committed before the item's side effect is attempted. */
  beginItem(runId: string, step: string, index: number, item: unknown): Awaitable<void>;
  /**
   * For a worker handed an item, perhaps again: journals it `started` unless it already has an
   * outcome (other than those in `redo`), atomically, so that of workers given the same item at
   * once only one finds it new. `previous` is the record found: `started` there means an earlier
   * attempt's outcome is unknown and must be reconciled before the side effect. With a `lease`,
   * the item is held by it; a `started` item whose lease (another owner's) has not run out is
   * not taken (`began: false, heldUntil`).
   */
  tryBeginItem(runId: string, step: string, index: number, item: unknown, options?: { redo?: ItemStatus[]; lease?: ItemLease }): Awaitable<BeginItemResult>;
  /** Extends the lease while the item runs; false when the item is no longer this owner's. */
  renewItemLease(runId: string, step: string, index: number, lease: ItemLease): Awaitable<boolean>;
  finishItem(runId: string, step: string, index: number, status: Exclude<ItemStatus, 'started'>, result: { output?: unknown; error?: ErrorRecord; item?: unknown }): Awaitable<void>;
  /** Items of a step in index order, a page at a time (never all in memory). */
  items(runId: string, step: string, options?: { status?: ItemStatus; afterIndex?: number; limit?: number }): Awaitable<ItemRecord[]>;
  counts(runId: string, step: string): Awaitable<ItemCounts>;
  /** Item counts per step of each of these runs, in one query (a page of the runs list); runs without items are absent. */
  runItemCounts(runIds: readonly string[]): Awaitable<Map<string, RunItemCounts>>;

  /**
   * Journals a page of a loop's source unless a page starting at the same index is there already:
   * the first read stands (a page job delivered twice, or a source that changed between reads).
   * True when this call wrote it.
   */
  savePage(runId: string, step: string, page: LoopPage): Awaitable<boolean>;
  /** The page holding loop index `index`, or the empty last page starting at it. */
  getPage(runId: string, step: string, index: number): Awaitable<LoopPage | undefined>;
  /** Drops the step's pages whose items all lie below `belowIndex`; every page of the step without it. */
  dropPages(runId: string, step: string, belowIndex?: number): Awaitable<void>;

  /** The run a trigger started for the event `triggerId`, if any. */
  findRunByTrigger(flow: string, triggerId: string): Awaitable<RunRecord | undefined>;
  /** A trigger's own state between its events (a polling trigger's watermark), as JSON text. */
  getTriggerState(flow: string, key: string): Awaitable<string | undefined>;
  setTriggerState(flow: string, key: string, json: string): Awaitable<void>;
  /**
   * A journal shared by processes (PostgreSQL) calls `listener` when a run this process held was
   * taken over by another (its lease ran out meanwhile): this process must stop driving it.
   */
  onLeaseLost?(listener: (runId: string) => void): void;
  close(): Awaitable<void>;
}
