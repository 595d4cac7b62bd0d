/**
 * Runs flows. Every decision a resume depends on is written to the run store first: an item is
 * journaled `started` (committed) before its side effect is attempted and `succeeded`/`failed`
 * after, and each loop records how far every item is done. So after a crash or a cancel, a resume
 * skips what succeeded, reconciles what was in flight, and goes on from the loop's cursor.
 */
import { randomBytes } from 'node:crypto';
import type { Filerobot } from '@sfx/client';
import type { CompiledFlow, CompiledStep } from '../definition/load.js';
import { evaluateTemplate, type Scope, type Template } from '../expressions.js';
import type { SourceItem, StepAction, StepContext } from '../step-action.js';
import { idempotencyKey, inProcess, pageKey, type Dispatcher, type DispatcherFactory, type ItemJob, type PageJob } from './dispatcher.js';
import { backoffMs, errorRecord, OutcomeUnknownError, RecordedError, retries, StepInputError, StepTimeoutError } from './failures.js';
import type { ErrorRecord, ItemCounts, ItemLease, ItemRecord, LoopPage, RunRecord, RunStatus, RunStore, RunTrigger, StepRecord, StepStatus } from './run-store.js';
import { processOwner } from './sqlite-run-store.js';

export type Logger = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

/**
 * Opens the client of one of a flow's connections (a stored name, null for the default, or inline).
 * `heldUntil` settles once the caller (a run, a worker's item) is done with the client: an opener
 * that shares clients may close one it replaced only then, never under requests still in flight.
 * `fingerprint`, when given, changes whenever what (name, spec) opens does (a stored key replaced,
 * the connection removed): a long-lived holder of clients compares it before reusing one.
 */
export interface ConnectionOpener {
  (name: string, spec: string | null | Record<string, unknown>, heldUntil?: Promise<unknown>): Filerobot | Promise<Filerobot>;
  fingerprint?: (name: string, spec: string | null | Record<string, unknown>) => Promise<string | undefined>;
}

export interface EngineOptions {
  store: RunStore;
  openConnection?: ConnectionOpener;
  /** Where `$env` and, unless `secret` is given, `$secrets` are read from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  secret?: (name: string) => string | undefined;
  dispatcher?: DispatcherFactory;
  clock?: () => number;
  log?: Logger;
  /** After a cancel, how long in-flight items may run on before they are aborted. */
  graceMs?: number;
  /** Write a loop's checkpoint at least every this many finished items. */
  checkpointEvery?: number;
  /**
   * Items per page when a dispatcher has a loop's source read in page jobs (a cluster): a page is
   * read by one worker and journaled, and the coordinator holds at most two. Default 500.
   */
  sourcePageSize?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * Awaited right before each attempt of an action that writes through one of the flow's
   * connections, and before an `onError` fallback that does (built-ins without one are not
   * paced): a rate per connection shared with other processes (`--tps`). `spec` is what the
   * flow's `connections:` gives for it.
   */
  throttle?: (signal: AbortSignal, connection: { name: string; spec: string | null | Record<string, unknown> }) => Promise<void>;
}

export type RunEvent =
  | { type: 'run-started'; runId: string; flow: string; resumed: boolean }
  | { type: 'step-started'; runId: string; step: string; loop: boolean; index: number; of: number }
  /** A loop over a list knows its size up front (a streamed source does not). */
  | { type: 'step-total'; runId: string; step: string; total: number }
  | { type: 'item'; runId: string; step: string; index: number; status: 'succeeded' | 'failed' | 'skipped'; error?: ErrorRecord; reconciled?: boolean }
  | { type: 'step-finished'; runId: string; step: string; status: StepStatus; counts?: StepCounts; error?: ErrorRecord }
  | { type: 'run-finished'; runId: string; status: RunStatus; error?: ErrorRecord };

export interface StepCounts {
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
}

export interface StepSummary extends Partial<StepCounts> {
  id: string;
  status: StepStatus | 'pending' | 'source';
  error?: ErrorRecord;
  startedAt?: number;
  endedAt?: number;
}

export interface RunResult {
  runId: string;
  status: RunStatus;
  error?: ErrorRecord;
  steps: StepSummary[];
}

export interface RunOptions {
  inputs?: Record<string, unknown>;
  trigger?: RunTrigger;
  /** Aborting stops taking items, lets in-flight ones finish (up to the grace time) and leaves a resumable run. */
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  /** Run reads; report writes with the input they would get, changing nothing. */
  dryRun?: boolean;
  runId?: string;
}

export interface ResumeOptions extends Omit<RunOptions, 'inputs' | 'trigger' | 'runId'> {
  /** Run the failed items again too (and redo the idempotent single steps after the first one retried). */
  retryFailed?: boolean;
}

/** A run is stopped: not a failure of the flow. */
class Cancelled extends Error {
  override name = 'Cancelled';
}

function newRunId(clock: () => number): string {
  const t = new Date(clock()).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `r${t}-${randomBytes(3).toString('hex')}`;
}

const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Cancelled('cancelled'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Cancelled('cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

export class Engine {
  readonly store: RunStore;
  private readonly options: EngineOptions;
  private readonly clock: () => number;
  private readonly log: Logger;

  constructor(options: EngineOptions) {
    this.options = options;
    this.store = options.store;
    this.clock = options.clock ?? Date.now;
    this.log = options.log ?? (() => {});
  }

  /** Starts a new run of `flow` and runs it to the end (or until cancelled). */
  async run(flow: CompiledFlow, options: RunOptions = {}): Promise<RunResult> {
    return (await this.start(flow, options)).done;
  }

  /**
   * Journals a new run of `flow`, then runs it: resolves once the run is in the journal (so a
   * caller can tell it was created, and its id), with `done` settling when the run ends.
   */
  async start(flow: CompiledFlow, options: RunOptions = {}): Promise<{ runId: string; done: Promise<RunResult> }> {
    const runId = options.runId ?? newRunId(this.clock);
    const trigger = options.trigger ?? { type: 'manual' };
    const store = this.store;
    await store.createRun({
      id: runId,
      flow: flow.name,
      flowHash: flow.hash,
      ...(flow.file ? { flowFile: flow.file } : {}),
      source: flow.source,
      baseDir: flow.baseDir,
      trigger,
      inputs: options.inputs ?? {},
      owner: processOwner(),
      startedAt: this.clock(),
    });
    const run = (await store.getRun(runId))!;
    options.onEvent?.({ type: 'run-started', runId, flow: flow.name, resumed: false });
    return { runId, done: new Execution(this, this.options, flow, run, options, false).go() };
  }

  /** Goes on with a run that was interrupted, crashed or failed, from its journal. */
  async resume(flow: CompiledFlow, runId: string, options: ResumeOptions = {}): Promise<RunResult> {
    await this.store.claimRun(runId, processOwner());
    const run = (await this.store.getRun(runId))!;
    options.onEvent?.({ type: 'run-started', runId, flow: flow.name, resumed: true });
    return new Execution(this, this.options, flow, run, { ...options, inputs: run.inputs, trigger: run.trigger }, options.retryFailed ?? false).go();
  }

  /**
   * Runs one dispatched item of a loop, as a worker does: the run's flow, inputs and earlier steps'
   * outputs come from the journal, so any process sharing the journal can run it. A job may be
   * delivered more than once (a worker killed mid-item); the journal decides what is left to do.
   */
  async runItem(flow: CompiledFlow, job: DispatchedItem, options: { signal?: AbortSignal; lease?: ItemLease } = {}): Promise<ItemRecord | undefined> {
    const run = await this.store.getRun(job.runId);
    if (!run) throw new Error(`no run has the id "${job.runId}": the journal the worker reads is not the coordinator's.`);
    const step = flow.steps.find((s) => s.id === job.step);
    if (!step?.forEach) throw new Error(`run ${job.runId}: the flow has no loop step "${job.step}".`);
    const record = await this.store.getItem(job.runId, job.step, job.index);
    let unknown = job.unknown;
    // Never redone once it succeeded.
    if (record?.status === 'succeeded') return record;
    if (record && record.attempts > job.seenAttempts) {
      // An earlier delivery of this very job already began it: finished, it is done; else its outcome is unknown.
      if (record.status !== 'started') return record;
      unknown = true;
    }
    // The claim is atomic: a delivery that raced this one and finished the item meanwhile wins,
    // and one that still runs it (its lease is live) keeps it.
    const lease = options.lease;
    const claim = await this.store.tryBeginItem(job.runId, job.step, job.index, undefined, {
      ...(record && record.status !== 'started' ? { redo: [record.status] } : {}),
      ...(lease ? { lease } : {}),
    });
    if (!claim.began) {
      if (claim.heldUntil !== undefined) throw new ItemHeldError(job, claim.heldUntil - this.clock());
      return claim.previous;
    }
    const execution = new Execution(this, this.options, flow, run, { inputs: run.inputs, trigger: run.trigger, ...(options.signal ? { signal: options.signal } : {}) }, false);
    // Renewed while the item runs; lost (another delivery took the item over after a pause longer
    // than the lease), the item stops here at once rather than write what the other now does.
    const lost = new AbortController();
    const renewal = lease
      ? setInterval(() => {
          Promise.resolve(this.store.renewItemLease(job.runId, job.step, job.index, lease)).then(
            (held) => held || lost.abort(),
            () => undefined, // the journal unreachable for now: the next beat tries again
          );
        }, Math.max(50, Math.floor(lease.ms / 3)))
      : undefined;
    try {
      await execution.runOne(step, { index: job.index, item: job.item, unknown, begun: true }, lost.signal);
    } finally {
      clearInterval(renewal);
    }
    return this.store.getItem(job.runId, job.step, job.index);
  }

  /**
   * Reads one page of a loop's source, as a worker does for a coordinator (see `PageJob`): the
   * source's input from the journal, the page journaled. A page already there is left as it is
   * (a job delivered again reads nothing; two deliveries at once both read, and the first page
   * journaled stands); what the source throws is journaled with the items before it, for the
   * coordinator to fail the loop with, as it would reading it itself.
   */
  async readPage(flow: CompiledFlow, job: PageJob, options: { signal?: AbortSignal } = {}): Promise<LoopPage> {
    const kept = await this.store.getPage(job.runId, job.step, job.firstIndex);
    if (kept) return kept;
    const run = await this.store.getRun(job.runId);
    if (!run) throw new Error(`no run has the id "${job.runId}": the journal the worker reads is not the coordinator's.`);
    const step = flow.steps.find((s) => s.id === job.step);
    if (!step?.forEach) throw new Error(`run ${job.runId}: the flow has no loop step "${job.step}".`);
    const execution = new Execution(this, this.options, flow, run, { inputs: run.inputs, trigger: run.trigger, ...(options.signal ? { signal: options.signal } : {}) }, false);
    const page = await execution.readOnePage(step, job);
    // A page read ahead for a loop that has ended since (an item failed under onError: fail) is
    // not kept: the loop dropped its pages, and a later retry reads the source afresh.
    if ((await this.store.getStep(job.runId, job.step))?.status !== 'running') return page;
    await this.store.savePage(job.runId, job.step, page);
    // Another delivery may have journaled the page first: that one stands.
    return (await this.store.getPage(job.runId, job.step, job.firstIndex)) ?? page;
  }

  /** What a run did, step by step, from the journal. */
  async summary(flow: CompiledFlow | undefined, runId: string): Promise<RunResult> {
    const run = await this.store.getRun(runId);
    if (!run) throw new Error(`no run has the id "${runId}".`);
    const recorded = new Map((await this.store.steps(runId)).map((s) => [s.step, s]));
    const ids = flow ? flow.steps.map((s) => s.id) : [...recorded.keys()];
    const steps: StepSummary[] = [];
    for (const id of ids) steps.push(await this.stepSummary(flow, runId, id, recorded.get(id)));
    return { runId, status: run.status, ...(run.error ? { error: run.error } : {}), steps };
  }

  private async stepSummary(flow: CompiledFlow | undefined, runId: string, id: string, record: StepRecord | undefined): Promise<StepSummary> {
    const step = flow?.steps.find((s) => s.id === id);
    if (step?.deferred) return { id, status: 'source' };
    if (!record) return { id, status: 'pending' };
    const counts = await this.store.counts(runId, id);
    const isLoop = step ? Boolean(step.forEach) : counts.succeeded + counts.failed + counts.skipped > 1;
    return {
      id,
      status: record.status,
      ...(isLoop ? { total: counts.succeeded + counts.failed + counts.skipped + counts.started, succeeded: counts.succeeded, failed: counts.failed, skipped: counts.skipped } : {}),
      ...(record.error ? { error: record.error } : {}),
      startedAt: record.startedAt,
      ...(record.endedAt ? { endedAt: record.endedAt } : {}),
    };
  }
}

/**
 * A delivery of an item that another delivery still runs under a live lease (a worker whose job
 * lock lapsed while it lived): not run here; the job comes back after `retryInMs`.
 */
export class ItemHeldError extends Error {
  readonly retryInMs: number;

  constructor(
    readonly job: DispatchedItem,
    retryInMs: number,
  ) {
    super(`item ${job.runId}:${job.step}:${job.index} is being run by another delivery; it is looked at again when that one's lease runs out.`);
    this.name = 'ItemHeldError';
    this.retryInMs = Math.max(0, retryInMs);
  }
}

/** A loop item sent to a worker: `seenAttempts` is the journal's attempts when it was sent. */
export interface DispatchedItem {
  runId: string;
  step: string;
  index: number;
  item: unknown;
  unknown: boolean;
  seenAttempts: number;
}

interface ItemPlan {
  index: number;
  item: unknown;
  /** The journal says it was sent and never finished: reconcile before trying again. */
  unknown: boolean;
  /** Already journaled `started` for this attempt (a worker's claim). */
  begun?: boolean;
}

/** One run in progress. */
class Execution {
  private readonly store: RunStore;
  private readonly runId: string;
  private readonly clients = new Map<string, Promise<Filerobot>>();
  /** Settles when this execution ends: the clients it was given are then free to close. */
  private readonly finished = settleable();
  private readonly scope: Scope;
  private readonly secretValues: string[];
  /** Soft stop: no new items. */
  private readonly stopping = new AbortController();
  /** Hard stop: in-flight calls are aborted too (after the grace time). */
  private readonly aborting = new AbortController();
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private dispatcher!: Dispatcher;
  private retried = false;
  private readonly log: Logger;

  constructor(
    private readonly engine: Engine,
    private readonly options: EngineOptions,
    private readonly flow: CompiledFlow,
    private readonly run: RunRecord,
    private readonly runOptions: RunOptions,
    private readonly retryFailed: boolean,
  ) {
    this.store = engine.store;
    this.runId = run.id;
    this.sleep = options.sleep ?? defaultSleep;
    const env = options.env ?? process.env;
    const secret = options.secret ?? ((name: string) => env[name]);
    const secrets: Record<string, string> = {};
    for (const name of flow.secrets) {
      const value = secret(name);
      if (value !== undefined && value !== '') secrets[name] = value;
    }
    this.secretValues = Object.values(secrets).filter((v) => v.length >= 4);
    // Errors and an action's own log lines may quote what it was given, secrets included.
    const log = options.log ?? (() => {});
    this.log = (level, message, fields) => log(level, this.redactText(message), fields && (this.redactValue(fields) as Record<string, unknown>));
    this.scope = {
      inputs: runOptions.inputs ?? {},
      trigger: runOptions.trigger?.event ?? {},
      env: Object.fromEntries(flow.env.filter((n) => env[n] !== undefined).map((n) => [n, env[n]])),
      secrets,
      steps: {},
    };
  }

  private emit(event: RunEvent): void {
    this.runOptions.onEvent?.(event);
  }

  async go(): Promise<RunResult> {
    const missing = this.flow.secrets.filter((n) => !(n in (this.scope.secrets as object)));
    const signal = this.runOptions.signal;
    const onAbort = (): void => {
      this.stopping.abort();
      const timer = setTimeout(() => this.aborting.abort(), this.options.graceMs ?? 10_000);
      timer.unref();
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.dispatcher = (this.options.dispatcher ?? inProcess)((job) => this.handle(job));
    let status: Exclude<RunStatus, 'running'> = 'succeeded';
    let error: ErrorRecord | undefined;
    try {
      if (missing.length)
        throw Object.assign(new Error(`the flow needs the secret${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: set ${missing.length > 1 ? 'them' : 'it'} in the environment.`), {
          code: 'SECRET_MISSING',
        });
      for (const step of this.flow.steps) {
        const outcome = await this.runStep(step);
        if (outcome === 'failed') {
          status = 'failed';
          const record = await this.store.getStep(this.runId, step.id);
          error = { message: `step ${step.id} failed${record?.error ? `: ${record.error.message}` : '.'}`, ...(record?.error?.code ? { code: record.error.code } : {}), ...(record?.error?.hint ? { hint: record.error.hint } : {}) };
          break;
        }
        if (this.stopping.signal.aborted) throw new Cancelled('the run was stopped');
      }
      if (status === 'succeeded' && this.continuedFailure) {
        status = 'failed';
        const record = await this.store.getStep(this.runId, this.continuedFailure);
        error = { message: `step ${this.continuedFailure} failed (the run went on, as its onError: continue says): ${record?.error?.message ?? ''}`, code: 'STEP_FAILED' };
      }
    } catch (e) {
      if (e instanceof Cancelled || this.stopping.signal.aborted) {
        status = 'interrupted';
        // A stop that says why (a person's request: not to be resumed by itself) leaves its code.
        const reason = signal?.reason as { code?: unknown; message?: unknown } | undefined;
        error =
          typeof reason?.code === 'string'
            ? { message: `${typeof reason.message === 'string' ? reason.message : 'the run was stopped'}; resume it to go on.`, kind: 'cancelled', code: reason.code }
            : { message: 'the run was stopped before it ended; resume it to go on.', kind: 'cancelled' };
      } else {
        status = 'failed';
        error = this.redact(errorRecord(e));
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await this.dispatcher.close();
      this.finished.settle();
    }
    await this.store.finishRun(this.runId, status, error);
    this.emit({ type: 'run-finished', runId: this.runId, status, ...(error ? { error } : {}) });
    return this.engine.summary(this.flow, this.runId);
  }

  /** One loop item outside a whole run (a worker's share): the earlier steps' outputs from the journal. */
  async runOne(step: CompiledStep, plan: ItemPlan, leaseLost?: AbortSignal): Promise<void> {
    try {
      await this.runOneItem(step, plan, leaseLost);
    } finally {
      this.finished.settle();
    }
  }

  /** A worker's view of the run: what the earlier steps gave, from the journal. */
  private async loadOutputs(except: string): Promise<void> {
    const steps = this.scope.steps as Record<string, unknown>;
    for (const record of await this.store.steps(this.runId)) if (record.step !== except) steps[record.step] = record.output ?? null;
  }

  /** One page of a loop's source, for a coordinator elsewhere (Engine.readPage). */
  async readOnePage(step: CompiledStep, job: PageJob): Promise<LoopPage> {
    try {
      await this.loadOutputs(step.id);
      const stop = this.runOptions.signal;
      const onAbort = (): void => this.aborting.abort();
      if (stop?.aborted) onAbort();
      stop?.addEventListener('abort', onAbort, { once: true });
      const items: LoopPage['items'] = [];
      const source = this.openLoopSource(step, job.firstIndex, job.cursor);
      try {
        let end = false;
        while (items.length < job.size) {
          const next = await source.next();
          if (next.done) {
            end = true;
            break;
          }
          items.push({ item: next.value.item, cursor: next.value.cursor });
        }
        // A source that ends quietly when told to stop has not ended: the page is not journaled short.
        if (this.aborting.signal.aborted) throw new Cancelled('the page read was stopped');
        return { firstIndex: job.firstIndex, items, end };
      } catch (error) {
        // A worker told to stop: the job goes to another, which reads the page again.
        if (this.aborting.signal.aborted) throw error;
        return { firstIndex: job.firstIndex, items, end: true, error: this.redact(errorRecord(error)) };
      } finally {
        stop?.removeEventListener('abort', onAbort);
        await source.return(undefined).catch(() => undefined);
      }
    } finally {
      this.finished.settle();
    }
  }

  private async runOneItem(step: CompiledStep, plan: ItemPlan, leaseLost?: AbortSignal): Promise<void> {
    await this.loadOutputs(step.id);
    const signal = this.runOptions.signal;
    const onAbort = (): void => {
      this.stopping.abort();
      const timer = setTimeout(() => this.aborting.abort(), this.options.graceMs ?? 10_000);
      timer.unref();
    };
    const onLost = (): void => {
      this.log('warn', 'another delivery took this item over (its lease ran out here); stopping it', { runId: this.runId, step: step.id, index: plan.index });
      this.stopping.abort();
      this.aborting.abort();
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    leaseLost?.addEventListener('abort', onLost, { once: true });
    try {
      await this.processItem(step, plan);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      leaseLost?.removeEventListener('abort', onLost);
    }
  }

  // ---- steps ----

  private async runStep(step: CompiledStep): Promise<'succeeded' | 'failed' | 'skipped' | 'source'> {
    const steps = this.scope.steps as Record<string, unknown>;
    if (step.deferred) return 'source';
    const recorded = await this.store.getStep(this.runId, step.id);
    const isLoop = Boolean(step.forEach);
    const redoAfterRetry = this.retried && !isLoop && step.resolved.action.idempotent && recorded?.status === 'succeeded';
    const retryHere =
      recorded !== undefined &&
      ((this.retryFailed && (await this.store.counts(this.runId, step.id)).failed > 0) || (isLoop && recorded.status === 'succeeded' && (await this.hasLateUpstreamItems(step))));
    if (recorded && (recorded.status === 'succeeded' || recorded.status === 'skipped') && !retryHere && !redoAfterRetry) {
      steps[step.id] = recorded.output ?? null;
      return recorded.status;
    }
    if (recorded && recorded.status !== 'running') await this.store.reopenStep(this.runId, step.id);
    else if (!recorded) await this.store.startStep(this.runId, step.id);
    if (retryHere || redoAfterRetry) this.retried = true;
    this.emit({ type: 'step-started', runId: this.runId, step: step.id, loop: isLoop, index: step.index, of: this.flow.steps.length });
    try {
      if (!isLoop && step.if && !truthy(await evaluateTemplate(step.if, this.scope))) {
        await this.store.finishItem(this.runId, step.id, 0, 'skipped', {});
        await this.store.finishStep(this.runId, step.id, 'skipped', null);
        steps[step.id] = null;
        this.emit({ type: 'step-finished', runId: this.runId, step: step.id, status: 'skipped' });
        return 'skipped';
      }
      if (isLoop) return await this.runLoop(step, Boolean(retryHere));
      return await this.runSingle(step, Boolean(retryHere || redoAfterRetry));
    } catch (e) {
      if (e instanceof Cancelled || this.stopping.signal.aborted) throw e instanceof Cancelled ? e : new Cancelled('stopped');
      const error = this.redact(errorRecord(e));
      // A loop whose source broke off: what it did so far, which is not all there was.
      const counts = isLoop ? await this.countsOf(step.id) : undefined;
      await this.store.finishStep(this.runId, step.id, 'failed', counts, error);
      this.emit({ type: 'step-finished', runId: this.runId, step: step.id, status: 'failed', ...(counts ? { counts } : {}), error });
      return 'failed';
    }
  }

  private async runSingle(step: CompiledStep, redo: boolean): Promise<'succeeded' | 'failed'> {
    const steps = this.scope.steps as Record<string, unknown>;
    const existing = await this.store.getItem(this.runId, step.id, 0);
    if (!existing || existing.status !== 'succeeded' || redo) {
      await this.processItem(step, { index: 0, item: undefined, unknown: existing?.status === 'started' && !redo });
    }
    const item = (await this.store.getItem(this.runId, step.id, 0))!;
    // Cut off by a stop: the action's outcome is unknown, so the step is not done; resume reconciles it.
    if (item.status === 'started') throw new Cancelled('the step was stopped before its action ended');
    if (item.status === 'failed') {
      const error = item.error ?? { message: 'failed' };
      if (step.onError === 'continue') {
        await this.store.finishStep(this.runId, step.id, 'failed', null, error);
        steps[step.id] = null;
        this.emit({ type: 'step-finished', runId: this.runId, step: step.id, status: 'failed', error });
        // "continue": later steps still run; the run is failed at the end all the same.
        this.continuedFailure ??= step.id;
        return 'succeeded';
      }
      await this.store.finishStep(this.runId, step.id, 'failed', undefined, error);
      this.emit({ type: 'step-finished', runId: this.runId, step: step.id, status: 'failed', error });
      return 'failed';
    }
    steps[step.id] = item.output ?? null;
    await this.store.finishStep(this.runId, step.id, 'succeeded', item.output);
    this.emit({ type: 'step-finished', runId: this.runId, step: step.id, status: 'succeeded' });
    return 'succeeded';
  }

  /** The first single step that failed under `onError: continue`: the run still fails at the end. */
  private continuedFailure: string | undefined;

  private async runLoop(step: CompiledStep, retryFailedItems: boolean): Promise<'succeeded' | 'failed'> {
    const steps = this.scope.steps as Record<string, unknown>;
    const state = (await this.store.getStep(this.runId, step.id))!;
    const concurrency = step.concurrency;
    const inFlight = new Set<Promise<void>>();
    let firstFailure: ErrorRecord | undefined;
    const failFast = step.onError === 'fail';

    /** Resolves once the item has a slot; the promise it gives settles to whether the item has an outcome. */
    const launch = async (plan: ItemPlan): Promise<{ job: Promise<boolean> }> => {
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
      // Stopped while waiting for a slot: the item is left for the resume.
      if (this.stopping.signal.aborted) return { job: Promise.resolve(false) };
      const job = this.dispatcher
        .execute({ runId: this.runId, step: step.id, index: plan.index, key: idempotencyKey(this.runId, step.id, plan.index), item: { plan }, signal: this.aborting.signal })
        .then(
          async () => {
            const done = await this.store.getItem(this.runId, step.id, plan.index);
            if (done?.status === 'failed' && !firstFailure) firstFailure = done.error ?? { message: 'failed' };
            // Items a worker elsewhere ran: their events are told here, from the journal.
            if (this.dispatcher.remote && done && done.status !== 'started')
              this.emit({ type: 'item', runId: this.runId, step: step.id, index: plan.index, status: done.status, ...(done.error ? { error: done.error } : {}) });
            // A cancelled item has none: the checkpoint must not pass it.
            return done !== undefined && done.status !== 'started';
          },
          (error: unknown) => {
            // Stopping, a wait cut short (the queue closed) is expected: the resume finds the item.
            this.log(this.stopping.signal.aborted ? 'debug' : 'error', 'an item job failed outside its action', { runId: this.runId, step: step.id, index: plan.index, error: String(error) });
            return false;
          },
        );
      const p: Promise<void> = job.then(() => undefined).finally(() => inFlight.delete(p));
      inFlight.add(p);
      return { job };
    };

    // The source is not read again below the checkpoint, so items there that are to run again come
    // from the journal, with the `$item` it kept for them: failed ones when asked, and any that a
    // stopped or crashed retry left started (their outcome is unknown: reconciled first).
    const fromJournal = async (status: 'failed' | 'started', below: number): Promise<void> => {
      let after = -1;
      while (!this.stopping.signal.aborted) {
        const page = (await this.store.items(this.runId, step.id, { status, afterIndex: after, limit: 500 })).filter((r) => r.index < below);
        if (page.length === 0) return;
        for (const record of page) {
          if (this.stopping.signal.aborted) return;
          await launch({ index: record.index, item: await this.journalItem(step, record), unknown: status === 'started' });
          after = record.index;
        }
      }
    };
    await fromJournal('started', state.nextIndex);
    if (retryFailedItems) await fromJournal('failed', Number.MAX_SAFE_INTEGER);
    for await (const late of this.lateUpstreamItems(step)) {
      if (this.stopping.signal.aborted) break;
      await launch({ ...late, unknown: false });
    }
    await Promise.all(inFlight);

    // The window of items read but not yet all done: their cursors, for the checkpoint.
    let next = state.nextIndex;
    let cursor = state.cursor;
    const pending = new Map<number, string>();
    const finished = new Set<number>();
    let sinceCheckpoint = 0;
    const checkpointEvery = this.options.checkpointEvery ?? 100;
    // Written one after another: a networked store could otherwise land an older checkpoint last.
    let checkpoints: Promise<void> = Promise.resolve();
    let checkpointError: unknown;
    let writeCheckpoint = (index: number, at: string | undefined): void => {
      checkpoints = checkpoints
        .then(() => this.store.checkpoint(this.runId, step.id, index, at))
        .catch((error: unknown) => {
          checkpointError ??= error;
        });
    };
    const advance = (): void => {
      let moved = false;
      while (finished.has(next)) {
        finished.delete(next);
        cursor = pending.get(next);
        pending.delete(next);
        next++;
        moved = true;
      }
      if (moved && ++sinceCheckpoint >= checkpointEvery) {
        sinceCheckpoint = 0;
        writeCheckpoint(next, cursor);
      }
    };
    const known = await this.store.maxItemIndex(this.runId, step.id);
    let read = next;
    const paged = this.readsInPages(step);
    if (paged) {
      // Pages the loop has gone past are done with; the rest stay for a coordinator that takes over.
      const write = writeCheckpoint;
      writeCheckpoint = (index, at) => {
        write(index, at);
        checkpoints = checkpoints.then(() => this.store.dropPages(this.runId, step.id, index)).catch((error: unknown) => {
          checkpointError ??= error;
        });
      };
    }
    const source = paged ? this.pagedItems(step, state.nextIndex, state.cursor) : this.openLoopSource(step, state.nextIndex, state.cursor);
    try {
      for await (const { item, cursor: itemCursor } of source) {
        const index = read++;
        pending.set(index, itemCursor);
        if (this.stopping.signal.aborted || (failFast && firstFailure)) break;
        const existing = index <= known ? await this.store.getItem(this.runId, step.id, index) : undefined;
        if (existing && existing.status !== 'started') {
          finished.add(index);
          advance();
          continue;
        }
        if (item instanceof UpstreamNotDone) {
          await this.skipForUpstream(step, index, item);
          finished.add(index);
          advance();
          continue;
        }
        const { job } = await launch({ index, item, unknown: existing?.status === 'started' });
        void job.then((hasOutcome) => {
          if (!hasOutcome) return;
          finished.add(index);
          advance();
        });
      }
    } finally {
      await Promise.allSettled(inFlight);
      await Promise.resolve();
      writeCheckpoint(next, cursor);
      // Stopped, the pages read ahead are kept for the resume; ended, none is needed again.
      if (paged && !this.stopping.signal.aborted) checkpoints = checkpoints.then(() => this.store.dropPages(this.runId, step.id)).catch(() => undefined);
      await checkpoints;
    }
    if (checkpointError !== undefined) throw checkpointError;
    if (this.stopping.signal.aborted) throw new Cancelled('stopped');

    const counts = await this.countsOf(step.id);
    if (failFast && firstFailure) {
      const error: ErrorRecord = { ...firstFailure, message: `an item failed (onError: fail), so the loop stopped after ${counts.total} items: ${firstFailure.message}` };
      await this.store.finishStep(this.runId, step.id, 'failed', counts, error);
      this.emit({ type: 'step-finished', runId: this.runId, step: step.id, status: 'failed', counts, error });
      return 'failed';
    }
    // Every item read must have an outcome; anything else is a bug, never a success.
    const unaccounted = read - (counts.succeeded + counts.failed + counts.skipped);
    if (unaccounted !== 0 || counts.total !== read) {
      const error: ErrorRecord = { message: `the loop read ${read} items but ${counts.succeeded + counts.failed + counts.skipped} have an outcome.`, code: 'LOOP_INCOMPLETE' };
      await this.store.finishStep(this.runId, step.id, 'failed', counts, error);
      this.emit({ type: 'step-finished', runId: this.runId, step: step.id, status: 'failed', counts, error });
      return 'failed';
    }
    steps[step.id] = counts;
    const failedPercent = counts.total === 0 ? 0 : (counts.failed / counts.total) * 100;
    if (counts.failed > 0 && failedPercent > step.toleratedFailurePercent) {
      const error: ErrorRecord = {
        message: `${counts.failed} of ${counts.total} items failed (${failedPercent.toFixed(1)}%), more than the ${step.toleratedFailurePercent}% tolerated.`,
        code: 'TOO_MANY_FAILURES',
        hint: 'sfx runs show RUN lists them; sfx runs retry RUN --failed runs them again.',
      };
      await this.store.finishStep(this.runId, step.id, 'failed', counts, error);
      this.emit({ type: 'step-finished', runId: this.runId, step: step.id, status: 'failed', counts, error });
      return 'failed';
    }
    await this.store.finishStep(this.runId, step.id, 'succeeded', counts);
    this.emit({ type: 'step-finished', runId: this.runId, step: step.id, status: 'succeeded', counts });
    return 'succeeded';
  }

  private async countsOf(step: string): Promise<StepCounts> {
    const c: ItemCounts = await this.store.counts(this.runId, step);
    return { total: c.succeeded + c.failed + c.skipped + c.started, succeeded: c.succeeded, failed: c.failed, skipped: c.skipped };
  }

  /**
   * The loop's items from `startIndex` on (after `cursor`): a source step read lazily, an earlier
   * loop's results from the journal, or a list from an expression. Batches group them.
   */
  private async *openLoopSource(step: CompiledStep, startIndex: number, cursor: string | undefined): AsyncGenerator<SourceItem> {
    const batch = step.batchSize;
    if (!batch) {
      yield* this.rawItems(step, startIndex, cursor);
      return;
    }
    // A batch's cursor is its last item's: a resume starts at the next whole batch.
    let group: unknown[] = [];
    let last = '';
    for await (const { item, cursor: c } of this.rawItems(step, startIndex * batch, cursor)) {
      group.push(item);
      last = c;
      if (group.length === batch) {
        yield { item: group, cursor: c };
        group = [];
      }
    }
    if (group.length) yield { item: group, cursor: last };
  }

  /**
   * A source that can go on from a cursor is read in page jobs when the dispatcher runs them
   * elsewhere (a cluster's workers): each page from the last one's cursor, journaled, and the next
   * one asked for while this one's items are dispatched. Expression lists and earlier loops'
   * results are read here: the first is one value already, the second is paged in the journal.
   */
  private readsInPages(step: CompiledStep): boolean {
    const from = step.forEach?.streamFrom;
    if (!this.dispatcher.readPage || !from) return false;
    const source = this.flow.steps.find((s) => s.id === from)!;
    return Boolean(source.deferred && source.resolved.action.items);
  }

  private async *pagedItems(step: CompiledStep, startIndex: number, cursor: string | undefined): AsyncGenerator<SourceItem> {
    const size = Math.max(1, this.options.sourcePageSize ?? 500);
    const fetch = (firstIndex: number, after: string | undefined): Promise<LoopPage> => {
      const page = this.loopPage(step, firstIndex, after, size);
      page.catch(() => undefined); // awaited below, unless the loop stops first
      return page;
    };
    let index = startIndex;
    let next = fetch(startIndex, cursor);
    for (;;) {
      const page = await next;
      const last = page.items.at(-1);
      if (!page.end && !page.error) {
        if (!last) throw new Error(`the page of step ${step.id} at item ${page.firstIndex} is empty but not the last one.`);
        next = fetch(page.firstIndex + page.items.length, last.cursor);
      }
      for (const entry of page.items.slice(Math.max(0, index - page.firstIndex))) {
        yield entry;
        index++;
      }
      if (page.error) throw new RecordedError(page.error);
      if (page.end) return;
    }
  }

  /** The page holding item `firstIndex`: journaled already (read ahead before a takeover), or read now by a job. */
  private async loopPage(step: CompiledStep, firstIndex: number, cursor: string | undefined, size: number): Promise<LoopPage> {
    const kept = await this.store.getPage(this.runId, step.id, firstIndex);
    if (kept) return kept;
    const job: PageJob = { runId: this.runId, step: step.id, firstIndex, ...(cursor !== undefined ? { cursor } : {}), size, key: pageKey(this.runId, step.id, firstIndex) };
    // A stop does not wait for a page: the job still journals it, for the resume.
    let onStop!: () => void;
    const stopped = new Promise<never>((_, reject) => (onStop = () => reject(new Cancelled('stopped while a page of the source was read'))));
    stopped.catch(() => undefined);
    if (this.stopping.signal.aborted) onStop();
    else this.stopping.signal.addEventListener('abort', onStop, { once: true });
    try {
      await Promise.race([this.dispatcher.readPage!(job), stopped]);
    } finally {
      this.stopping.signal.removeEventListener('abort', onStop);
    }
    const page = await this.store.getPage(this.runId, step.id, firstIndex);
    if (!page) throw new Error(`a worker read the page of step ${step.id} at item ${firstIndex} but it is not in the journal: do the workers use the coordinator's --store?`);
    return page;
  }

  private async *rawItems(step: CompiledStep, startIndex: number, cursor: string | undefined): AsyncGenerator<SourceItem> {
    const from = step.forEach!.streamFrom;
    if (from) {
      yield* this.streamOf(from, cursor, this.mirrorsLoop(step));
      return;
    }
    const list = await evaluateTemplate(step.forEach!.template, this.scope);
    if (list === undefined || list === null) return;
    if (!Array.isArray(list)) throw new StepInputError(`forEach gave ${typeName(list)}, not a list: it must give the items to loop over.`);
    this.emit({ type: 'step-total', runId: this.runId, step: step.id, total: step.batchSize ? Math.ceil(list.length / step.batchSize) : list.length });
    const start = cursor === undefined ? startIndex : Number(cursor) + 1;
    for (let i = start; i < list.length; i++) yield { item: list[i], cursor: String(i) };
  }

  /**
   * The items of a streaming step: a source's, or an earlier loop's succeeded outputs. With
   * `placeholders`, an earlier loop's other items come too, as `UpstreamNotDone`, so that the loop
   * reading them keeps the earlier loop's indexes.
   */
  private async *streamOf(stepId: string, after: string | undefined, placeholders = false): AsyncGenerator<SourceItem> {
    const source = this.flow.steps.find((s) => s.id === stepId)!;
    if (source.deferred) {
      const input = await this.inputFor(source, this.scope);
      const action = source.resolved.action;
      const ctx = await this.contextFor(source, `${this.runId}:${stepId}:source`, this.aborting.signal);
      if (action.items) {
        yield* action.items(ctx, input, after);
        return;
      }
      // A map or filter over a stream: read from the start, and skip what was consumed before.
      const skip = after === undefined ? 0 : Number(after) + 1;
      let index = 0;
      for await (const item of (await action.run!(ctx, input)) as AsyncIterable<unknown>) {
        if (index >= skip) yield { item, cursor: String(index) };
        index++;
      }
      return;
    }
    let afterIndex = after === undefined ? -1 : Number(after);
    for (;;) {
      const page = await this.store.items(this.runId, stepId, { ...(placeholders ? {} : { status: 'succeeded' as const }), afterIndex, limit: 500 });
      if (page.length === 0) return;
      for (const record of page) {
        const item = record.status === 'succeeded' ? (record.output ?? null) : new UpstreamNotDone(stepId, record.index, record.status);
        yield { item, cursor: String(record.index) };
        afterIndex = record.index;
      }
    }
  }

  // ---- loops over an earlier loop's results ----

  /**
   * A loop without batches over an earlier loop's results has an item for each of the earlier
   * loop's, at the same index, so an earlier item that succeeds later (retry --failed) is found and
   * run here too, instead of being left out for good. Batches group several, so they cannot.
   */
  private mirrorsLoop(step: CompiledStep): boolean {
    const from = step.forEach?.streamFrom;
    return from !== undefined && !step.batchSize && !this.flow.steps.find((s) => s.id === from)!.deferred;
  }

  private async skipForUpstream(step: CompiledStep, index: number, upstream: UpstreamNotDone): Promise<void> {
    const error: ErrorRecord = { message: `item ${upstream.index} of step ${upstream.step} ${upstream.status}, so there is nothing to run here.`, code: UPSTREAM_NOT_DONE };
    await this.store.finishItem(this.runId, step.id, index, 'skipped', { error });
    this.emit({ type: 'item', runId: this.runId, step: step.id, index, status: 'skipped', error });
  }

  /** Items skipped because the earlier loop's item had not succeeded, which now has. */
  private async *lateUpstreamItems(step: CompiledStep): AsyncGenerator<{ index: number; item: unknown }> {
    if (!this.mirrorsLoop(step)) return;
    const from = step.forEach!.streamFrom!;
    let after = -1;
    for (;;) {
      const page = await this.store.items(this.runId, step.id, { status: 'skipped', afterIndex: after, limit: 500 });
      if (page.length === 0) return;
      for (const record of page) {
        after = record.index;
        if (record.error?.code !== UPSTREAM_NOT_DONE) continue;
        const upstream = await this.store.getItem(this.runId, from, record.index);
        if (upstream?.status === 'succeeded') yield { index: record.index, item: upstream.output ?? null };
      }
    }
  }

  private async hasLateUpstreamItems(step: CompiledStep): Promise<boolean> {
    const late = this.lateUpstreamItems(step);
    const first = await late.next();
    await late.return(undefined);
    return !first.done;
  }

  /** An item to run again, from the journal: its own `$item`, or the earlier loop's output it mirrors. */
  private async journalItem(step: CompiledStep, record: ItemRecord): Promise<unknown> {
    if (!this.mirrorsLoop(step)) return record.item;
    return (await this.store.getItem(this.runId, step.forEach!.streamFrom!, record.index))?.output ?? null;
  }

  // ---- items ----

  private async handle(job: ItemJob): Promise<void> {
    const step = this.flow.steps.find((s) => s.id === job.step)!;
    await this.processItem(step, (job.item as { plan: ItemPlan }).plan);
  }

  /** One item (or a single step as item 0): journal, reconcile, attempt with retries, journal. */
  private async processItem(step: CompiledStep, plan: ItemPlan): Promise<void> {
    const isLoop = Boolean(step.forEach);
    const scope: Scope = isLoop ? { ...this.scope, item: plan.item, index: plan.index } : this.scope;
    const key = idempotencyKey(this.runId, step.id, plan.index);
    // `$item` is kept only for failed items (retry --failed runs them from it): an unfinished item
    // holds the checkpoint below it and is read from its source again, so it needs no copy.
    const storedItem = isLoop ? plan.item : undefined;
    const done = async (status: 'succeeded' | 'failed' | 'skipped', result: { output?: unknown; error?: ErrorRecord }, reconciled = false): Promise<void> => {
      const error = result.error ? this.redact(result.error) : undefined;
      await this.store.finishItem(this.runId, step.id, plan.index, status, {
        ...(result.output !== undefined ? { output: this.redactValue(result.output) } : {}),
        ...(error ? { error } : {}),
        ...(status === 'failed' ? { item: this.redactValue(storedItem) } : {}),
      });
      if (isLoop) this.emit({ type: 'item', runId: this.runId, step: step.id, index: plan.index, status, ...(error ? { error } : {}), ...(reconciled ? { reconciled } : {}) });
    };
    try {
      if (isLoop && step.if && !truthy(await evaluateTemplate(step.if, scope))) return await done('skipped', {});
      const action = step.resolved.action;
      let input: unknown;
      try {
        input = await this.inputFor(step, scope);
      } catch (error) {
        // In a dry run, an input built from a write's stand-in result cannot be right: say so, not fail.
        if (this.runOptions.dryRun && (error instanceof StepInputError || (error as Error).name === 'ExpressionError'))
          return await done('skipped', { output: { dryRun: true, action: step.uses, skipped: `its input depends on a write a dry run does not make: ${(error as Error).message}` } });
        throw error;
      }
      if (this.runOptions.dryRun && action.kind !== 'read') {
        return await done('succeeded', { output: { dryRun: true, action: step.uses, input: this.redactValue(input) } });
      }
      if (plan.unknown) {
        const outcome = await this.reconcile(step, action, input, key);
        if (outcome) return await done('succeeded', { output: await this.shape(step, scope, outcome.output) }, true);
      }
      if (!plan.begun) await this.store.beginItem(this.runId, step.id, plan.index, undefined);
      const result = await this.attempt(step, action, input, key);
      await done('succeeded', { output: await this.shape(step, scope, result) });
    } catch (e) {
      if (e instanceof Cancelled || this.aborting.signal.aborted) return; // stays `started`: reconciled on resume
      const primary = errorRecord(e);
      if (typeof step.onError === 'object') {
        try {
          const fallbackInput = await evaluateTemplate(step.onError.with, { ...scope, result: { error: primary } });
          const parsed = step.onError.resolved.action.input.safeParse(fallbackInput);
          if (!parsed.success) throw new StepInputError(`the fallback's input is wrong: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`);
          const fallback = step.onError.resolved.action;
          const ctx = await this.contextFor(step, `${key}:fallback`, this.aborting.signal, step.onError.uses);
          await this.pace(step.onError.uses, fallback, this.aborting.signal);
          const output = await fallback.run!(ctx, parsed.data);
          return await done('succeeded', { output: { fallback: true, error: primary, output } });
        } catch (fallbackError) {
          return await done('failed', { error: { ...errorRecord(fallbackError), message: `${primary.message} (and the fallback failed: ${(fallbackError as Error).message})` } });
        }
      }
      await done('failed', { error: primary });
    }
  }

  private async reconcile(step: CompiledStep, action: StepAction, input: unknown, key: string): Promise<{ output: unknown } | undefined> {
    if (action.reconcile) {
      const ctx = await this.contextFor(step, key, this.aborting.signal);
      const found = await action.reconcile(ctx, input);
      if (found) {
        this.log('info', 'reconciled an item whose outcome was unknown: it had taken effect', { runId: this.runId, step: step.id, key });
        return found;
      }
      return undefined;
    }
    if (action.idempotent || action.kind === 'read') return undefined;
    throw new OutcomeUnknownError(
      `${step.uses} was sent before the run stopped and its outcome is unknown; it is not idempotent, so it is not sent again. Check it, then run the failed items again with sfx runs retry ${this.runId} --failed.`,
    );
  }

  /** The action's input: `with` evaluated, stream inputs attached, then checked against its schema. */
  private async inputFor(step: CompiledStep, scope: Scope): Promise<unknown> {
    const value = (await evaluateTemplate(step.with, scope)) as Record<string, unknown>;
    for (const [key, from] of Object.entries(step.streamInputs)) value[key] = this.streamValues(from);
    const parsed = step.resolved.action.input.safeParse(value);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${['with', ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
      throw new StepInputError(`${step.uses} got a wrong input: ${problems}`);
    }
    return parsed.data;
  }

  private async *streamValues(from: string): AsyncGenerator<unknown> {
    for await (const { item } of this.streamOf(from, undefined)) yield item;
  }

  private async shape(step: CompiledStep, scope: Scope, result: unknown): Promise<unknown> {
    if (!step.output) return result;
    return evaluateTemplate(step.output, { ...scope, result });
  }

  private async attempt(step: CompiledStep, action: StepAction, input: unknown, key: string): Promise<unknown> {
    const policy = step.retry;
    const attempts = policy?.attempts ?? 1;
    for (let attempt = 1; ; attempt++) {
      const timeout = step.timeoutMs ? AbortSignal.timeout(step.timeoutMs) : undefined;
      const signal = timeout ? AbortSignal.any([this.aborting.signal, timeout]) : this.aborting.signal;
      try {
        const ctx = await this.contextFor(step, key, signal);
        await this.pace(step.uses, action, signal);
        return await action.run!(ctx, input);
      } catch (e) {
        if (this.aborting.signal.aborted) throw new Cancelled('aborted');
        const error = timeout?.aborted ? new StepTimeoutError(step.timeoutMs!) : e;
        if (!policy || attempt >= attempts || !retries(policy, error)) throw error;
        this.log('warn', 'attempt failed; retrying', { runId: this.runId, step: step.id, key, attempt, error: errorRecord(error).message });
        await this.sleep(backoffMs(policy, attempt), this.stopping.signal);
      }
    }
  }

  /**
   * A write through one of the flow's connections waits for that connection's pace (`--tps`,
   * shared across a cluster), whichever action sends it, a fallback too; reads, and built-ins
   * that have no connection, go at once. The `uses` prefix names the connection.
   */
  private async pace(uses: string, action: StepAction, signal: AbortSignal): Promise<void> {
    const connection = uses.slice(0, uses.indexOf('.'));
    if (this.options.throttle && action.kind !== 'read' && connection in this.flow.connections)
      await this.options.throttle(signal, { name: connection, spec: this.flow.connections[connection] ?? null });
  }

  private async contextFor(step: CompiledStep, key: string, signal: AbortSignal, uses = step.uses): Promise<StepContext> {
    const prefix = uses.slice(0, uses.indexOf('.'));
    const client = prefix in this.flow.connections ? await this.client(prefix) : undefined;
    return {
      signal,
      idempotencyKey: key,
      baseDir: this.flow.baseDir,
      ...(client ? { client } : {}),
      log: (level, message, fields) => this.log(level, message, { runId: this.runId, step: step.id, ...fields }),
    };
  }

  private client(name: string): Promise<Filerobot> {
    let client = this.clients.get(name);
    if (!client) {
      const opener = this.options.openConnection;
      if (!opener) throw new Error(`the flow uses the connection "${name}", and this engine was given no way to open connections.`);
      client = Promise.resolve(opener(name, this.flow.connections[name] ?? null, this.finished.promise));
      this.clients.set(name, client);
    }
    return client;
  }

  // ---- secrets stay out of the journal ----

  private redact(error: ErrorRecord): ErrorRecord {
    return { ...error, message: this.redactText(error.message), ...(error.hint ? { hint: this.redactText(error.hint) } : {}) };
  }

  private redactText(text: string): string {
    let out = text;
    for (const secret of this.secretValues) out = out.split(secret).join('[secret]');
    return out;
  }

  private redactValue(value: unknown): unknown {
    if (this.secretValues.length === 0) return value;
    if (typeof value === 'string') return this.redactText(value);
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v));
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.redactValue(v)]));
    return value;
  }
}

const UPSTREAM_NOT_DONE = 'UPSTREAM_NOT_DONE';

/** An earlier loop's item that did not succeed, read by a loop over its results. */
class UpstreamNotDone {
  constructor(
    readonly step: string,
    readonly index: number,
    readonly status: string,
  ) {}
}

function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return Boolean(value);
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export type { Template };

/** A promise and the function that resolves it (Promise.withResolvers is not in Node 20). */
function settleable(): { promise: Promise<void>; settle: () => void } {
  let settle!: () => void;
  const promise = new Promise<void>((resolve) => (settle = resolve));
  return { promise, settle };
}
