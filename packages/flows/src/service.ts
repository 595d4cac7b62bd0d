/**
 * The long-running side of flows (`sfx serve`): every flow of a folder with its trigger
 * (schedule, poll, webhook, dam.events), one HTTP server for the webhooks and the probes, one
 * journal, JSON logs (one line per event), and a shutdown that leaves every run resumable.
 *
 * - A flow that does not validate is logged with file:line:column and skipped; the others run.
 * - Runs left `running` by a process that died, and runs a trigger started that a shutdown
 *   interrupted, are resumed on start (logged as such).
 * - Each flow runs at most `concurrency` runs at once; events past that wait (a poll waits, a
 *   webhook request waits up to `maxQueued` deep, then gets 503 + Retry-After).
 * - One run can be stopped alone (`stopRun`, the console's Stop): it ends `interrupted`, resumable
 *   (by a person: it is not resumed on start); on a cluster the request reaches the coordinator
 *   that drives it.
 * - Stop (SIGTERM/SIGINT in `sfx serve`): triggers stop, the HTTP server stops taking requests,
 *   running runs are cancelled through their AbortSignal (in-flight items get `graceMs` to
 *   finish) and end `interrupted`, resumable; then the journal is closed.
 * - With a queue (docs/scale-out.md), loop items are BullMQ jobs: a `coordinator` runs triggers and
 *   drives runs, a `worker` runs item jobs, `all` does both. Coordinators also take over runs
 *   whose coordinator died, so a standby one finishes them.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Filerobot } from '@sfx/client';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  formatProblem,
  loadFlow,
  resolveInputs,
  type CompiledFlow,
  type Problem,
} from './definition/load.js';
import {
  Engine,
  type ConnectionOpener,
  type RunEvent,
  type RunResult,
  type StepSummary,
} from './engine/engine.js';
import type { ItemRecord, ItemStatus, RunFilter, RunRecord, RunStatus, RunStore, RunTrigger } from './engine/run-store.js';
import type { InputFile } from './definition/schema.js';
import { writeFileAtomic } from './atomic-write.js';
import { flowFilePath } from './flow-files.js';
import { ServiceRequestError } from './service-errors.js';
import { openRunStore } from './engine/open-run-store.js';
import { processOwner, RunBusyError, UnknownRunError } from './engine/sqlite-run-store.js';
import type { Scope } from './expressions.js';
import type { ActionRegistry } from './registry.js';
import { systemClock, type Clock } from './triggers/clock.js';
import { DamEventsTrigger, eventsPath } from './triggers/dam-events.js';
import { checkQueue, ItemQueue, ItemWorker, redactUrl, type TpsLimits } from './cluster/queue.js';
import { ScheduleQueue } from './cluster/schedules.js';
import { RunStops, StopNotSentError } from './cluster/run-stops.js';
import {
  ServiceBusyError,
  ServiceStoppingError,
  type Log,
  type LogLevel,
  type RunningTrigger,
  type StartedRun,
  type TriggerHost,
} from './triggers/host.js';
import { PollTrigger } from './triggers/poll.js';
import { scheduleEnabled, ScheduleTrigger, setScheduleEnabled } from './triggers/schedule.js';
import {
  error as errorReply,
  hookCredentials,
  hookPath,
  WebhookTrigger,
  type HookReply,
  type HookRequest,
} from './triggers/webhook.js';

export interface FlowServiceOptions {
  /** The folder whose `*.yaml` / `*.yml` files are the flows (not its sub-folders). */
  flowsDir: string;
  /** The journal: a SQLite file path, a `postgres://` URL, or a store. Default `<flowsDir>/.sfx/runs.db`. */
  journal?: string | RunStore;
  registry: ActionRegistry;
  openConnection?: ConnectionOpener;
  /** HTTP port; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** Where the DAM reaches this process, for dam.events subscriptions. Default the listening URL. */
  publicUrl?: string;
  env?: Record<string, string | undefined>;
  secret?: (name: string) => string | undefined;
  clock?: Clock;
  /** Receives one JSON line per event. Default: stdout. */
  write?: (line: string) => void;
  /** Lowest level written. Default info. */
  logLevel?: LogLevel;
  /** Runs of one flow at once. Default 4. */
  concurrency?: number;
  /** Webhook requests waiting for a run slot, per flow, before 503. Default 100. */
  maxQueued?: number;
  /** Largest webhook body; larger get 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** After a stop, how long in-flight items may finish before they are aborted. Default 10 s. */
  graceMs?: number;
  /**
   * Adds routes to the service's HTTP server before it listens: the web console
   * (`registerConsole` of @sfx/console) mounts itself at /ui this way. Its own encapsulated
   * context keeps its body parsers and 404 page; the webhooks keep theirs.
   */
  http?: (app: FastifyInstance, service: FlowService) => void | Promise<void>;
  /** Loop items as jobs on this Redis, shared by every worker (docs/scale-out.md). */
  queue?: ServiceQueueOptions;
  /** `coordinator`: triggers and runs; `worker`: item jobs only; `all` (default): both. */
  role?: ServiceRole;
  /** The stored connection a flow's `null` connection opens, as `queue.tps` names it. Default `default`. */
  defaultConnection?: string;
}

/** A client the service shares, the fingerprint of what it was opened from, and the runs using it. */
interface HeldClient {
  client: Promise<Filerobot>;
  fingerprint: string | undefined;
  users: number;
}

export type ServiceRole = 'coordinator' | 'worker' | 'all';

export interface ServiceQueueOptions {
  /** `redis://host:port`. */
  url: string;
  /** The queue's name; every process of one cluster uses the same. Default `sfx-items`. */
  name?: string;
  /** Item jobs this worker runs at once. Default 4. */
  itemConcurrency?: number;
  /** Writes per second to each connection across all workers: a default, and per stored connection name. */
  tps?: TpsLimits;
  /** A dead worker's jobs go to others after about this long. Default 30 s. */
  lockMs?: number;
  /** Items in each page job reading a loop's source (see EngineOptions.sourcePageSize). Default 500. */
  pageSize?: number;
  /** A schedule's tick taken later than this (no coordinator was up) is skipped. Default 60 s. */
  lateTickMs?: number;
  /** How often a coordinator looks for runs whose coordinator died. Default 5 s. */
  takeoverMs?: number;
}

export interface LoadedFlow {
  flow: CompiledFlow;
  trigger?: RunningTrigger;
}

/** A flow as the console lists it. */
export interface FlowListing {
  name: string;
  description?: string;
  /** The file's name in the flows folder. */
  file: string;
  trigger: { type: string; /** One line a person reads: "0 2 * * * (Europe/Paris)", "/hooks/x". */ detail: string };
  /** Schedule flows: the switch, and the next tick while it is on. */
  schedule?: { enabled: boolean; next?: string };
  inputs: Record<string, InputFile>;
  /** Runs of this flow running in this process now. */
  running: number;
  lastRun?: Pick<RunRecord, 'id' | 'status' | 'startedAt' | 'endedAt'>;
}

/** A flow file sfx serve skipped, with why. */
export interface SkippedFlowFile {
  file: string;
  problems: Problem[];
}

export interface FlowCheck {
  /** Empty when the text would load. */
  problems: Problem[];
  flow?: { name: string; trigger: string; steps: number };
}

/** A run as the runs list shows it: its record, whether it runs here, its loops' items. */
export type RunSummaryListing = Omit<RunRecord, 'source'> & {
  live: boolean;
  items: { succeeded: number; failed: number; skipped: number };
};

export interface RunDetail {
  run: Omit<RunRecord, 'source'>;
  steps: StepSummary[];
  /** The run runs in this process now: its events can be watched. */
  live: boolean;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

interface ActiveRun {
  flow: string;
  trigger: string;
  controller: AbortController;
  done: Promise<unknown>;
}

/** A counting semaphore with a bounded queue, per flow. */
class Slots {
  private active = 0;
  private readonly waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  constructor(
    private readonly limit: number,
    private readonly maxQueued: number,
  ) {}

  acquire(flow: string, queueLimited: boolean): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    if (queueLimited && this.waiting.length >= this.maxQueued)
      return Promise.reject(new ServiceBusyError(flow));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next.resolve();
    else this.active--;
  }

  rejectAll(error: Error): void {
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }
}

export class FlowService implements TriggerHost {
  readonly clock: Clock;
  readonly log: Log;
  readonly flows = new Map<string, LoadedFlow>();
  /** Flow files that were skipped, with why. */
  readonly problems: Problem[] = [];
  private storeInstance: RunStore | undefined;
  private engine!: Engine;
  private app: FastifyInstance | undefined;
  private readonly active = new Map<string, ActiveRun>();
  private readonly slots = new Map<string, Slots>();
  /** Open clients by connection spec, each with the fingerprint of what it was opened from. */
  private readonly clients = new Map<string, HeldClient>();
  /** Clients replaced while runs still used them: each closes when its last user is done. */
  private readonly retired = new Set<HeldClient>();
  private readonly hooks = new Map<string, WebhookTrigger>();
  private readonly events = new Map<string, DamEventsTrigger>();
  /** Listeners of each run's events (the console's live view). */
  private readonly feeds = new Map<string, Set<(event: RunEvent) => void>>();
  /** Flow-file saves, one at a time: each reload sees the one before it done. */
  private saving: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private ready = false;
  private stopped: Promise<void> | undefined;
  private listeningUrl = '';
  private itemQueue: ItemQueue | undefined;
  private itemWorker: ItemWorker | undefined;
  /** A coordinator's share of the cluster's schedules. */
  private schedules: ScheduleQueue | undefined;
  /** A coordinator's line to the others: stop requests for runs another one drives. */
  private runStops: RunStops | undefined;
  private takeoverTimer: NodeJS.Timeout | undefined;
  /** Loop step ids of each flow version seen in the runs list, by flow hash (bounded). */
  private readonly loopsByHash = new Map<string, Set<string> | undefined>();

  constructor(private readonly options: FlowServiceOptions) {
    this.clock = options.clock ?? systemClock;
    const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
    const min = LEVELS[options.logLevel ?? 'info'];
    this.log = (level, msg, fields = {}) => {
      if (LEVELS[level] < min) return;
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
    };
  }

  get store(): RunStore {
    if (!this.storeInstance) throw new Error('the service is not started.');
    return this.storeInstance;
  }

  /** `http://host:port` the service listens on. */
  get url(): string {
    return this.listeningUrl;
  }

  async start(): Promise<void> {
    const o = this.options;
    const journal = o.journal ?? join(o.flowsDir, '.sfx', 'runs.db');
    this.storeInstance = typeof journal === 'string' ? (await openRunStore(journal)).store : journal;
    // Another process took over a run of ours (our lease ran out: a long pause, a lost connection):
    // two processes must not drive one run, so this one lets go of it.
    this.storeInstance.onLeaseLost?.((runId) => {
      const run = this.active.get(runId);
      this.log('warn', 'another process took this run over; stopping it here', { runId, ...(run ? { flow: run.flow } : {}) });
      run?.controller.abort();
    });
    const role = this.role;
    const queue = o.queue;
    if (queue) await checkQueue(queue.url);
    if (queue && role !== 'worker') {
      this.itemQueue = new ItemQueue({ url: queue.url, ...(queue.name ? { name: queue.name } : {}), log: (level, message, fields) => this.log(level, message, fields) });
      await this.itemQueue.ready();
      this.schedules = new ScheduleQueue({
        url: queue.url,
        ...(queue.name ? { name: queue.name } : {}),
        onTick: (flow, at) => this.clusterTick(flow, at),
        log: (level, message, fields) => this.log(level, message, fields),
      });
      await this.schedules.ready();
      this.runStops = new RunStops({
        url: queue.url,
        ...(queue.name ? { name: queue.name } : {}),
        onStop: (runId) => this.stopAsked(runId),
      });
      await this.runStops.ready();
    }
    this.engine = new Engine({
      store: this.store,
      ...(this.itemQueue ? { dispatcher: this.itemQueue.dispatcher(this.store) } : {}),
      ...(queue?.pageSize ? { sourcePageSize: queue.pageSize } : {}),
      ...(queue?.tps && role !== 'coordinator' ? { throttle: (signal, connection) => this.itemWorker!.pace(this.paceName(connection), signal) } : {}),
      openConnection: (name, spec, heldUntil) => this.client(name, spec, heldUntil),
      ...(o.env ? { env: o.env } : {}),
      ...(o.secret ? { secret: o.secret } : {}),
      graceMs: o.graceMs ?? 10_000,
      // The engine's lines name the run; the flow and its trigger are added from the runs this process runs.
      log: (level, message, fields) => {
        const run = typeof fields?.runId === 'string' ? this.active.get(fields.runId) : undefined;
        this.log(level, message, run ? { flow: run.flow, trigger: run.trigger, ...fields } : fields);
      },
    });
    if (queue && role !== 'coordinator') {
      this.itemWorker = new ItemWorker({
        url: queue.url,
        ...(queue.name ? { name: queue.name } : {}),
        engine: this.engine,
        loadRunFlow: (runId) => this.runFlow(runId),
        concurrency: queue.itemConcurrency ?? 4,
        ...(queue.tps ? { tps: queue.tps } : {}),
        ...(queue.lockMs ? { lockMs: queue.lockMs } : {}),
        drainMs: (o.graceMs ?? 10_000) + 5000,
        log: (level, message, fields) => this.log(level, message, fields),
      });
      await this.itemWorker.ready();
      this.itemWorker.start();
    }
    if (role === 'worker') {
      await this.listen();
      this.ready = true;
      this.log('info', 'sfx serve ready', { url: this.url, role, queue: redactUrl(queue!.url), concurrency: queue!.itemConcurrency ?? 4 });
      return;
    }
    await this.loadFlows();
    await this.listen();
    await this.resumeLeftRuns();
    if (queue) {
      // A standby coordinator finishes the runs of one that died.
      this.takeoverTimer = setInterval(() => void this.takeOver(), queue.takeoverMs ?? 5000);
      this.takeoverTimer.unref();
    }
    for (const loaded of this.flows.values()) await this.startTrigger(loaded);
    await this.pruneSchedules();
    this.schedules?.start();
    this.ready = true;
    this.log('info', 'sfx serve ready', {
      url: this.url,
      flows: [...this.flows.keys()],
      skipped: this.problems.length,
      ...(queue ? { role, queue: redactUrl(queue.url) } : {}),
    });
  }

  /**
   * The name a connection is paced under: the stored connection's (so flows that share one share
   * its rate), the default one's for `null`, and the flow's own name for one given inline.
   */
  private paceName(connection: { name: string; spec: string | null | Record<string, unknown> }): string {
    if (typeof connection.spec === 'string') return connection.spec;
    if (connection.spec === null) return this.options.defaultConnection ?? 'default';
    return connection.name;
  }

  get role(): ServiceRole {
    return this.options.queue ? (this.options.role ?? 'all') : 'all';
  }

  /** Queue depth, in-flight and failed item jobs, when items go through a queue. */
  queueCounts(): ReturnType<ItemQueue['counts']> | undefined {
    return this.itemQueue?.counts();
  }

  /** The flow a run started with, as its journal keeps it: what a worker runs the run's items with. */
  private async runFlow(runId: string): Promise<CompiledFlow> {
    const run = await this.store.getRun(runId);
    if (!run) throw new Error(`no run has the id "${runId}" in this journal: give the workers the coordinator's --store.`);
    const { flow, problems } = loadFlow(run.source, {
      registry: this.options.registry,
      ...(run.flowFile ? { file: run.flowFile } : {}),
      baseDir: run.baseDir,
    });
    if (!flow) throw new Error(`run ${runId}: its flow no longer loads here: ${problems.map(formatProblem).join('; ')}`);
    return flow;
  }

  // ---- flows ----

  private async loadFlows(): Promise<void> {
    const dir = resolve(this.options.flowsDir);
    const files = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile() && /\.ya?ml$/i.test(e.name))
      .map((e) => e.name)
      .sort();
    for (const name of files) await this.addFlowFile(join(dir, name));
  }

  /** Loads one flow file and registers it (its trigger not started); false when it is skipped. */
  private async addFlowFile(file: string): Promise<LoadedFlow | undefined> {
    const skip = (problem: Problem): void => {
      this.problems.push(problem);
      this.log('error', 'flow skipped', { file: problem.file, problem: formatProblem(problem) });
    };
    const text = await readFile(file, 'utf8');
    const { flow, problems } = this.checkFlowText(text, file);
    if (!flow) {
      for (const problem of problems) skip(problem);
      return undefined;
    }
    try {
      const loaded: LoadedFlow = { flow, ...(await this.triggerOf(flow)) };
      this.flows.set(flow.name, loaded);
      if (!this.slots.has(flow.name))
        this.slots.set(flow.name, new Slots(this.options.concurrency ?? 4, this.options.maxQueued ?? 100));
      if (flow.trigger.type === 'manual')
        this.log(
          'info',
          'flow loaded; its trigger is manual, so sfx serve never starts it (sfx flow run does)',
          { flow: flow.name, file, trigger: 'manual' },
        );
      else this.log('info', 'flow loaded', { flow: flow.name, file, trigger: flow.trigger.type });
      return loaded;
    } catch (error) {
      skip({ file, line: 1, column: 1, path: 'trigger', message: (error as Error).message });
      return undefined;
    }
  }

  /**
   * What `sfx flow validate` checks (loadFlow), plus what makes sfx serve skip a valid flow: a
   * name another file already has, a triggered flow with an input that has no default.
   */
  private checkFlowText(text: string, file: string): { flow?: CompiledFlow; problems: Problem[] } {
    const { flow, problems } = loadFlow(text, { registry: this.options.registry, file, baseDir: dirname(file) });
    if (!flow) return { problems };
    const at = (message: string, path: string): Problem => ({ file, ...keyPosition(text, path), path, message });
    const other = this.flows.get(flow.name);
    if (other && other.flow.file !== file)
      return {
        problems: [
          at(
            `another file (${other.flow.file}) already has a flow named "${flow.name}": flow names must be unique.`,
            'name',
          ),
        ],
      };
    const inputs = flow.trigger.type === 'manual' ? { problems: [] } : resolveInputs(flow, {});
    if (inputs.problems.length)
      return {
        problems: [
          at(
            `a triggered flow gets no inputs, so every input needs a default: ${inputs.problems.join(' ')}`,
            'inputs',
          ),
        ],
      };
    if (flow.trigger.type === 'webhook') {
      const taken = this.hooks.get(hookPath(flow.trigger.path));
      if (taken && this.flows.get(taken.flow)?.flow.file !== file)
        return {
          problems: [
            at(
              `the webhook path ${hookPath(flow.trigger.path)} is already served for flow ${taken.flow}: give each flow its own path.`,
              'trigger.path',
            ),
          ],
        };
    }
    return { flow, problems: [] };
  }

  private async triggerOf(flow: CompiledFlow): Promise<{ trigger?: RunningTrigger }> {
    switch (flow.trigger.type) {
      case 'manual':
        return {};
      case 'schedule':
        return { trigger: new ScheduleTrigger(this, flow, this.schedules ? { queue: this.schedules, ...(this.options.queue?.lateTickMs ? { lateMs: this.options.queue.lateTickMs } : {}) } : undefined) };
      case 'poll':
        return { trigger: new PollTrigger(this, flow) };
      case 'webhook': {
        const hook = new WebhookTrigger(this, flow, await hookCredentials(this, flow));
        const taken = this.hooks.get(hook.path);
        if (taken)
          throw new Error(
            `the webhook path ${hook.path} is already served for flow ${taken.flow}: give each flow its own path.`,
          );
        this.hooks.set(hook.path, hook);
        return { trigger: hook };
      }
      case 'dam.events': {
        const path = eventsPath(flow.name);
        if (this.events.has(path))
          throw new Error(
            `the events path ${path} is already served for flow ${this.events.get(path)!.flow}: rename one of the flows.`,
          );
        const trigger = new DamEventsTrigger(
          this,
          flow,
          () => this.options.publicUrl?.replace(/\/+$/, '') ?? this.url,
        );
        this.events.set(path, trigger);
        return { trigger };
      }
    }
  }

  /** Starts a flow's trigger; one that cannot start is logged and its flow unloaded. Returns why, if so. */
  private async startTrigger(loaded: LoadedFlow): Promise<string | undefined> {
    try {
      await loaded.trigger?.start();
      return undefined;
    } catch (error) {
      const message = (error as Error).message;
      this.log('error', 'trigger could not start; the flow is skipped', { flow: loaded.flow.name, trigger: loaded.flow.trigger.type, error: message });
      await loaded.trigger?.stop();
      this.unregister(loaded);
      return message;
    }
  }

  private unregister(loaded: LoadedFlow): void {
    this.flows.delete(loaded.flow.name);
    for (const [path, hook] of this.hooks) if (hook.flow === loaded.flow.name) this.hooks.delete(path);
    for (const [path, trigger] of this.events)
      if (trigger.flow === loaded.flow.name) this.events.delete(path);
  }

  /**
   * The cluster's schedulers of flows this coordinator's folder no longer has as schedules (a file
   * deleted, or edited on disk, while no coordinator ran): removed, or their ticks would come for
   * ever. Coordinators of one cluster serve the same folder, so this one's is the cluster's.
   */
  private async pruneSchedules(): Promise<void> {
    if (!this.schedules) return;
    try {
      for (const scheduled of await this.schedules.list()) {
        if (this.flows.get(scheduled.flow)?.trigger instanceof ScheduleTrigger) continue;
        await this.schedules.remove(scheduled.flow);
        this.log('info', 'schedule removed from the queue: no flow of this folder has it now', { flow: scheduled.flow, cron: scheduled.cron });
      }
    } catch (error) {
      this.log('warn', 'the queue\'s schedules could not be checked', { error: (error as Error).message });
    }
  }

  /** A tick this coordinator took from the cluster's scheduler. */
  private async clusterTick(flow: string, at: number): Promise<void> {
    const trigger = this.flows.get(flow)?.trigger;
    if (!(trigger instanceof ScheduleTrigger)) {
      // Coordinators of one cluster serve the same flows folder: this one is behind or ahead (a
      // deploy under way), so the tick goes to another coordinator (its job's next attempt).
      this.log('warn', 'a schedule tick came for a flow this coordinator has no schedule for; handed on', { flow, scheduledAt: new Date(at).toISOString() });
      throw new Error(`flow ${flow} has no schedule on this coordinator.`);
    }
    await trigger.clusterTick(at);
  }

  // ---- TriggerHost ----

  scopeFor(flow: CompiledFlow): Scope {
    const env = this.options.env ?? process.env;
    const secret = this.options.secret ?? ((name: string) => env[name]);
    const secrets: Record<string, string> = {};
    for (const name of flow.secrets) {
      const value = secret(name);
      if (value !== undefined && value !== '') secrets[name] = value;
    }
    return {
      inputs: {},
      trigger: {},
      steps: {},
      env: Object.fromEntries(flow.env.filter((n) => env[n] !== undefined).map((n) => [n, env[n]])),
      secrets,
    };
  }

  openConnection(flow: CompiledFlow, name: string, heldUntil?: Promise<unknown>): Promise<Filerobot> {
    return this.client(name, flow.connections[name] ?? null, heldUntil);
  }

  /**
   * One client per connection spec, shared by triggers and runs, closed on stop. It is reused
   * only while the opener's fingerprint of the connection is unchanged, so a key replaced or a
   * connection removed (`sfx connection add --force`, `remove`) is seen by the next run without a
   * restart; the replaced client closes once the runs holding it (`heldUntil`) are done.
   */
  private async client(name: string, spec: string | null | Record<string, unknown>, heldUntil?: Promise<unknown>): Promise<Filerobot> {
    const opener = this.options.openConnection;
    if (!opener)
      throw new Error(`the flow uses the connection "${name}", and sfx serve was given no way to open connections.`);
    const key = JSON.stringify(typeof spec === 'object' && spec !== null ? { name, spec } : { spec });
    const fingerprint = await opener.fingerprint?.(name, spec);
    let held = this.clients.get(key);
    if (held && held.fingerprint !== fingerprint) {
      this.retire(key, held);
      held = undefined;
    }
    if (!held) {
      const entry: HeldClient = { client: Promise.resolve().then(() => opener(name, spec)), fingerprint, users: 0 };
      // A connection that cannot be opened (removed, its secret gone) is tried afresh next time.
      entry.client.catch(() => {
        if (this.clients.get(key) === entry) this.clients.delete(key);
      });
      this.clients.set(key, entry);
      held = entry;
    }
    if (heldUntil) {
      const user = held;
      user.users++;
      void heldUntil.then(
        () => this.release(user),
        () => this.release(user),
      );
    }
    return held.client;
  }

  private retire(key: string, held: HeldClient): void {
    if (this.clients.get(key) === held) this.clients.delete(key);
    this.retired.add(held);
    if (held.users === 0) void this.closeRetired(held);
  }

  private release(held: HeldClient): void {
    held.users--;
    if (held.users === 0 && this.retired.has(held)) void this.closeRetired(held);
  }

  private async closeRetired(held: HeldClient): Promise<void> {
    this.retired.delete(held);
    await held.client.then(
      (c) => c.close(),
      () => undefined,
    );
  }

  activeRuns(flow: string): number {
    let n = 0;
    for (const run of this.active.values()) if (run.flow === flow) n++;
    return n;
  }

  async startRun(flow: CompiledFlow, trigger: RunTrigger): Promise<StartedRun> {
    if (this.stopping) throw new ServiceStoppingError();
    const slots = this.slots.get(flow.name)!;
    // A webhook caller is kept waiting: bound how many; a poll or a tick waits its turn.
    await slots.acquire(flow.name, trigger.type === 'webhook' || trigger.type === 'dam.events');
    if (this.stopping) {
      slots.release();
      throw new ServiceStoppingError();
    }
    const existing = trigger.id ? await this.store.findRunByTrigger(flow.name, trigger.id) : undefined;
    if (existing) {
      slots.release();
      return { runId: existing.id, duplicate: true };
    }
    const controller = new AbortController();
    let started: { runId: string; done: Promise<RunResult> };
    try {
      started = await this.engine.start(flow, {
        inputs: resolveInputs(flow, {}).values,
        trigger,
        signal: controller.signal,
        onEvent: (event) => this.onRunEvent(flow.name, trigger.type, event),
      });
    } catch (error) {
      slots.release();
      // Another start of the same event (here or in another process sharing the journal) got in
      // between the check above and the insert: the journal holds one run per event id.
      const winner = trigger.id ? await this.store.findRunByTrigger(flow.name, trigger.id) : undefined;
      if (winner) return { runId: winner.id, duplicate: true };
      throw error;
    }
    const { runId, done } = started;
    this.track(runId, flow.name, trigger.type, controller, done, () => slots.release());
    return { runId, duplicate: false, done };
  }

  private track(
    runId: string,
    flow: string,
    trigger: string,
    controller: AbortController,
    done: Promise<RunResult>,
    release?: () => void,
  ): void {
    const settled = done.then(
      () => undefined,
      (error: unknown) => this.log('error', 'run crashed', { runId, flow, error: (error as Error).message }),
    );
    this.active.set(runId, { flow, trigger, controller, done: settled });
    void settled.finally(() => {
      this.active.delete(runId);
      release?.();
    });
  }

  private onRunEvent(flow: string, trigger: string, event: RunEvent): void {
    for (const listener of this.feeds.get(event.runId) ?? []) {
      try {
        listener(event);
      } catch (error) {
        this.log('warn', 'a run event listener failed', { runId: event.runId, error: (error as Error).message });
      }
    }
    switch (event.type) {
      case 'run-started':
        this.log('info', event.resumed ? 'run resumed' : 'run started', {
          runId: event.runId,
          flow,
          trigger,
        });
        break;
      case 'run-finished':
        this.log(event.status === 'succeeded' ? 'info' : 'warn', 'run finished', {
          runId: event.runId,
          flow,
          trigger,
          status: event.status,
          ...(event.error ? { error: event.error.message } : {}),
        });
        break;
      case 'step-finished':
        if (event.status === 'failed')
          this.log('warn', 'step failed', {
            runId: event.runId,
            flow,
            trigger,
            step: event.step,
            error: event.error?.message,
          });
        break;
      case 'item':
        if (event.status === 'failed')
          this.log('warn', 'item failed', {
            runId: event.runId,
            flow,
            trigger,
            step: event.step,
            index: event.index,
            error: event.error?.message,
          });
        break;
      default:
        break;
    }
  }

  // ---- resume ----

  private takingOver = false;

  /** One look at a time for runs whose coordinator died (claimRun refuses those a live one holds). */
  private async takeOver(): Promise<void> {
    if (this.takingOver) return;
    this.takingOver = true;
    try {
      await this.resumeLeftRuns(true);
    } catch (error) {
      this.log('error', 'looking for runs to take over failed', { error: (error as Error).message });
    } finally {
      this.takingOver = false;
    }
  }

  /**
   * Runs a crashed process left `running`, and runs a trigger started that a stop interrupted:
   * they go on from their journal (the flow as it was when they started).
   */
  private async resumeLeftRuns(onlyOrphans = false): Promise<void> {
    if (this.stopping) return;
    const left: RunRecord[] = [
      ...(await this.store.listRuns({ status: 'running', limit: 100_000 })),
      ...(onlyOrphans
        ? []
        : (await this.store.listRuns({ status: 'interrupted', limit: 100_000 })).filter((r) => r.trigger.type !== 'manual' && r.error?.code !== STOPPED_ON_REQUEST)),
    ];
    for (const run of left.reverse()) {
      if (this.active.has(run.id)) continue;
      const why = run.status === 'running' ? 'left running by a process that ended' : 'interrupted by a stop';
      try {
        await this.store.claimRun(run.id, processOwner());
      } catch (error) {
        if (error instanceof RunBusyError) continue; // another live process runs it
        throw error;
      }
      const { flow, problems } = loadFlow(run.source, {
        registry: this.options.registry,
        ...(run.flowFile ? { file: run.flowFile } : {}),
        baseDir: run.baseDir,
      });
      if (!flow) {
        await this.store.finishRun(run.id, 'interrupted', {
          message: `cannot resume: the flow it ran no longer loads: ${problems.map(formatProblem).join('; ')}`,
          kind: 'cancelled',
        });
        this.log('error', 'run cannot be resumed: its flow no longer loads', {
          runId: run.id,
          flow: run.flow,
          problem: problems.map(formatProblem).join('; '),
        });
        continue;
      }
      this.log('info', `resuming a run ${why}`, { runId: run.id, flow: run.flow, trigger: run.trigger.type });
      const controller = new AbortController();
      const done = this.engine.resume(flow, run.id, {
        signal: controller.signal,
        onEvent: (event) => this.onRunEvent(run.flow, run.trigger.type, event),
      });
      this.track(run.id, run.flow, run.trigger.type, controller, done);
    }
  }

  // ---- console: flows ----

  /** Every loaded flow with its trigger, schedule switch and next tick; and the files skipped. */
  async listFlows(): Promise<{ flows: FlowListing[]; skipped: SkippedFlowFile[] }> {
    const flows: FlowListing[] = [];
    const loaded = [...this.flows.values()].sort((a, b) => a.flow.name.localeCompare(b.flow.name));
    for (const { flow, trigger } of loaded) {
      const last = (await this.store.listRuns({ flow: flow.name, limit: 1 }))[0];
      let schedule: FlowListing['schedule'];
      if (trigger instanceof ScheduleTrigger) {
        const enabled = await scheduleEnabled(this.store, flow.name);
        const next = enabled ? trigger.nextAfter(this.clock.now()) : undefined;
        schedule = { enabled, ...(next === undefined ? {} : { next: new Date(next).toISOString() }) };
      }
      flows.push({
        name: flow.name,
        ...(flow.description ? { description: flow.description } : {}),
        file: basename(flow.file ?? ''),
        trigger: { type: flow.trigger.type, detail: triggerDetail(flow) },
        ...(schedule ? { schedule } : {}),
        inputs: flow.inputs,
        running: this.activeRuns(flow.name),
        ...(last
          ? {
              lastRun: {
                id: last.id,
                status: last.status,
                startedAt: last.startedAt,
                ...(last.endedAt === undefined ? {} : { endedAt: last.endedAt }),
              },
            }
          : {}),
      });
    }
    const byFile = new Map<string, Problem[]>();
    for (const problem of this.problems) {
      const file = basename(problem.file ?? '');
      byFile.set(file, [...(byFile.get(file) ?? []), { ...problem, file }]);
    }
    return { flows, skipped: [...byFile].map(([file, problems]) => ({ file, problems })) };
  }

  /** The text of a flow file of the flows folder (by its file name, e.g. `import-products.yaml`). */
  async readFlowFile(name: string): Promise<string> {
    const path = flowFilePath(resolve(this.options.flowsDir), name);
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new ServiceRequestError(
          'UNKNOWN_FLOW',
          `the flows folder has no file ${name}.`,
          'Pick a flow from the list of flows, or create one.',
        );
      throw error;
    }
  }

  /**
   * Checks a flow's YAML as `sfx flow validate` does, plus what would make sfx serve skip it here
   * (a name or webhook path another file has). Problems name the file by its name, not its path.
   */
  checkFlow(text: string, name = 'new-flow.yaml'): FlowCheck {
    const file = flowFilePath(resolve(this.options.flowsDir), name);
    const { flow, problems } = this.checkFlowText(text, file);
    return {
      problems: problems.map((p) => ({ ...p, file: name })),
      ...(flow ? { flow: { name: flow.name, trigger: flow.trigger.type, steps: flow.steps.length } } : {}),
    };
  }

  /**
   * Saves a flow file, only if it validates (so the folder never holds a flow sfx serve would
   * skip; the editor keeps the text until it does), and reloads it: the old version's trigger
   * stops, the new one starts. Runs already running go on with the version they started with.
   */
  saveFlowFile(name: string, text: string): Promise<{ flow: string; loaded: boolean; problems: Problem[] }> {
    const saved = this.saving.then(() => this.save(name, text));
    this.saving = saved.catch(() => undefined);
    return saved;
  }

  private async save(name: string, text: string): Promise<{ flow: string; loaded: boolean; problems: Problem[] }> {
    if (this.stopping) throw stoppingError();
    const file = flowFilePath(resolve(this.options.flowsDir), name);
    const check = this.checkFlowText(text, file);
    if (!check.flow)
      throw new ServiceRequestError(
        'INVALID_FLOW',
        `${name} has ${check.problems.length} problem${check.problems.length === 1 ? '' : 's'}: it was not saved.`,
        'Fix each problem at its line and column, then save again.',
        check.problems.map((p) => ({ ...p, file: name })),
      );
    await writeFileAtomic(file, text);
    const old = [...this.flows.values()].find((l) => l.flow.file === file);
    if (old) {
      // A schedule the file may no longer have: a cluster's scheduler for it goes (the new one is upserted below).
      await (old.trigger instanceof ScheduleTrigger ? old.trigger.retire() : old.trigger?.stop());
      this.unregister(old);
    }
    for (let i = this.problems.length - 1; i >= 0; i--) if (this.problems[i]!.file === file) this.problems.splice(i, 1);
    let loaded = await this.addFlowFile(file);
    if (loaded && this.ready) {
      const problem = await this.startTrigger(loaded);
      if (problem) {
        this.problems.push({ file, line: 1, column: 1, path: 'trigger', message: problem });
        loaded = undefined;
      }
    }
    this.log('info', 'flow file saved', { file, flow: check.flow.name, loaded: Boolean(loaded) });
    return {
      flow: check.flow.name,
      loaded: Boolean(loaded),
      problems: this.problems.filter((p) => p.file === file).map((p) => ({ ...p, file: name })),
    };
  }

  /** Switches a schedule flow's ticks on or off; kept in the journal, so it outlives restarts. */
  async setSchedule(flowName: string, enabled: boolean): Promise<NonNullable<FlowListing['schedule']>> {
    const loaded = this.loadedFlow(flowName);
    if (!(loaded.trigger instanceof ScheduleTrigger))
      throw new ServiceRequestError(
        'NOT_A_SCHEDULE',
        `flow ${flowName} has a ${loaded.flow.trigger.type} trigger, not a schedule.`,
        'Only flows with trigger {type: schedule, cron} can be switched on and off.',
      );
    await setScheduleEnabled(this.store, flowName, enabled);
    this.log('info', enabled ? 'schedule enabled' : 'schedule disabled', { flow: flowName, trigger: 'schedule' });
    const next = enabled ? loaded.trigger.nextAfter(this.clock.now()) : undefined;
    return { enabled, ...(next === undefined ? {} : { next: new Date(next).toISOString() }) };
  }

  private loadedFlow(name: string): LoadedFlow {
    const loaded = this.flows.get(name);
    if (!loaded)
      throw new ServiceRequestError(
        'UNKNOWN_FLOW',
        `no flow is named "${name}".`,
        'The list of flows shows the flows sfx serve loaded; a file that does not validate is listed with its problems.',
      );
    return loaded;
  }

  // ---- console: runs ----

  /** Starts a run of a flow by hand with these inputs; resolves with its id once it is journaled. */
  async startManualRun(flowName: string, given: Record<string, unknown>): Promise<string> {
    const { flow } = this.loadedFlow(flowName);
    const { values, problems } = resolveInputs(flow, given);
    if (problems.length)
      throw new ServiceRequestError(
        'INVALID_INPUTS',
        problems.map((p) => p.replace(/: give it with --input \S+$/, '.')).join(' '),
        'Fill in every input without a default, each of its type.',
      );
    const slots = this.slots.get(flow.name)!;
    try {
      await slots.acquire(flow.name, true);
    } catch (error) {
      if (error instanceof ServiceBusyError)
        throw new ServiceRequestError('SERVICE_BUSY', error.message, 'Wait for a run of the flow to end.');
      if (error instanceof ServiceStoppingError) throw stoppingError();
      throw error;
    }
    const trigger: RunTrigger = { type: 'manual' };
    return this.launch(flow.name, trigger.type, (o) => this.engine.run(flow, { ...o, inputs: values, trigger }), () =>
      slots.release(),
    );
  }

  /**
   * Goes on with an interrupted or failed run from its journal (the flow as it was when it
   * started); with `retryFailed`, its failed items are run again too.
   */
  async resumeRun(runId: string, options: { retryFailed?: boolean } = {}): Promise<string> {
    const run = await this.runRecord(runId);
    const retryFailed = options.retryFailed ?? false;
    if (this.active.has(runId))
      throw new ServiceRequestError(
        'RUN_ACTIVE',
        `run ${runId} is running.`,
        'Watch it on its page; once it ends, resume it or retry its failed items.',
      );
    if (run.status === 'succeeded' && !retryFailed)
      throw new ServiceRequestError('NOTHING_TO_RESUME', `run ${runId} succeeded: there is nothing to resume.`, 'Start a new run of the flow instead.');
    if (retryFailed && !(await this.hasFailedItems(run)))
      throw new ServiceRequestError(
        'NOTHING_TO_RESUME',
        `run ${runId} has no failed items to retry.`,
        run.status === 'succeeded' ? 'Start a new run of the flow instead.' : 'Resume the run instead.',
      );
    const { flow, problems } = loadFlow(run.source, {
      registry: this.options.registry,
      ...(run.flowFile ? { file: run.flowFile } : {}),
      baseDir: run.baseDir,
    });
    if (!flow)
      throw new ServiceRequestError(
        'INVALID_FLOW',
        `run ${runId}'s flow no longer loads with this sfx.`,
        'Start a new run of the flow as it is now.',
        problems,
      );
    if (this.stopping) throw stoppingError();
    return this.launch(run.flow, run.trigger.type, (o) => this.engine.resume(flow, runId, { ...o, retryFailed }));
  }

  /**
   * Stops one running run, as a stop of the whole service would: it takes no more items, those in
   * flight get the grace time, and it ends `interrupted`, resumable. Resolves with its status once
   * it has ended; `running` when it is driven by another coordinator that has not ended it yet
   * (its in-flight items are finishing).
   */
  async stopRun(runId: string, by?: string): Promise<RunStatus> {
    const run = await this.runRecord(runId);
    const local = this.active.get(runId);
    if (!local && run.status !== 'running')
      throw new ServiceRequestError(
        'RUN_NOT_RUNNING',
        `run ${runId} is not running: it ${run.status === 'interrupted' ? 'was interrupted' : run.status}.`,
        run.status === 'succeeded' ? 'There is nothing to stop.' : 'There is nothing to stop; an interrupted or failed run can be resumed from its page.',
      );
    if (!local && !this.runStops)
      throw new ServiceRequestError(
        'RUN_ELSEWHERE',
        `run ${runId} is run by another process${run.owner ? ` (${run.owner})` : ''}, not by this sfx serve.`,
        'Stop that process (Ctrl-C in its terminal): the run ends interrupted, and can be resumed here.',
      );
    this.log('info', 'run stop requested', { runId, flow: run.flow, ...(by ? { by } : {}) });
    const waitMs = (this.options.graceMs ?? 10_000) + 5000;
    if (local) {
      local.controller.abort(stoppedOnRequest());
      // Items in flight on a cluster's workers are withdrawn or finish there: bounded all the same.
      await Promise.race([local.done, new Promise((r) => setTimeout(r, waitMs).unref())]);
      return (await this.store.getRun(runId))?.status ?? 'interrupted';
    }
    let answered: boolean;
    try {
      answered = await this.runStops!.request(runId);
    } catch (error) {
      if (!(error instanceof StopNotSentError)) throw error;
      throw new ServiceRequestError(
        'QUEUE_UNAVAILABLE',
        `run ${runId} is run by another coordinator, and the stop could not be sent to it: ${error.message}`,
        'Try again once Redis is back, or stop the coordinator that runs it.',
      );
    }
    if (!answered)
      throw new ServiceRequestError(
        'RUN_ELSEWHERE',
        `run ${runId} is run by ${run.owner ? `process ${run.owner}` : 'another process'}, which did not answer the stop: no coordinator of this cluster drives it.`,
        'A run of sfx flow run --queue stops with Ctrl-C in its terminal. A run whose coordinator died is taken over by another within about 30 s; stop it then.',
      );
    return this.waitForEnd(runId, waitMs);
  }

  /** Another coordinator (or this one) asked for a run to stop: this one stops it if it drives it. */
  private stopAsked(runId: string): boolean {
    const run = this.active.get(runId);
    if (!run) return false;
    this.log('info', 'stopping a run at the request of another coordinator', { runId, flow: run.flow, trigger: run.trigger });
    run.controller.abort(stoppedOnRequest());
    return true;
  }

  /** The run's status once it has left `running`, or `running` still after `ms`. */
  private async waitForEnd(runId: string, ms: number): Promise<RunStatus> {
    const until = Date.now() + ms;
    for (;;) {
      const status = (await this.store.getRun(runId))?.status ?? 'interrupted';
      if (status !== 'running' || Date.now() >= until || this.stopping) return status;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async hasFailedItems(run: RunRecord): Promise<boolean> {
    for (const step of await this.store.steps(run.id)) {
      if (step.status === 'failed') return true;
      if ((await this.store.counts(run.id, step.step)).failed > 0) return true;
    }
    return false;
  }

  /** Runs `start`, tracked like every run of this process; resolves once the run is journaled. */
  private async launch(
    flow: string,
    trigger: string,
    start: (options: { signal: AbortSignal; onEvent: (event: RunEvent) => void }) => Promise<RunResult>,
    release?: () => void,
  ): Promise<string> {
    const controller = new AbortController();
    let begun!: (runId: string) => void;
    const started = new Promise<string>((resolve) => (begun = resolve));
    const done = start({
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'run-started') begun(event.runId);
        this.onRunEvent(flow, trigger, event);
      },
    });
    let runId: string;
    try {
      runId = await Promise.race([
        started,
        done.then(() => Promise.reject(new Error('the run was not created.'))),
      ]);
    } catch (error) {
      release?.();
      if (error instanceof RunBusyError)
        throw new ServiceRequestError('RUN_ACTIVE', error.message, 'Wait for that process to end the run, or stop it.');
      if (error instanceof UnknownRunError)
        throw new ServiceRequestError('UNKNOWN_RUN', error.message, 'The runs page lists the runs of this journal.');
      throw error;
    }
    this.track(runId, flow, trigger, controller, done, release);
    return runId;
  }

  /** Runs, newest first, without their flow's YAML. */
  async listRunRecords(filter: RunFilter = {}): Promise<Array<Omit<RunRecord, 'source'> & { live: boolean }>> {
    return (await this.store.listRuns(filter)).map(({ source: _source, ...run }) => ({
      ...run,
      live: this.active.has(run.id),
    }));
  }

  /**
   * A page of runs, newest first (`before`: the next page), each with the item counts of its loop
   * steps summed: one journal query for the runs and one for all their counts, whatever the page.
   */
  async listRunSummaries(filter: RunFilter = {}): Promise<RunSummaryListing[]> {
    const runs = await this.store.listRuns(filter);
    const counts = await this.store.runItemCounts(runs.map((r) => r.id));
    return runs.map(({ source, ...run }) => {
      const loops = this.loopSteps(run.flowHash, source, run);
      const items = { succeeded: 0, failed: 0, skipped: 0 };
      for (const [step, c] of counts.get(run.id) ?? []) {
        // As the run page counts: loops' items only (a single step journals itself as item 0).
        const loop = loops ? loops.has(step) : c.succeeded + c.failed + c.skipped > 1;
        if (!loop) continue;
        items.succeeded += c.succeeded;
        items.failed += c.failed;
        items.skipped += c.skipped;
      }
      return { ...run, live: this.active.has(run.id), items };
    });
  }

  /** The loop steps of a flow version (undefined when it no longer compiles), kept by hash: runs share versions. */
  private loopSteps(hash: string, source: string, run: Pick<RunRecord, 'flowFile' | 'baseDir'>): Set<string> | undefined {
    if (this.loopsByHash.has(hash)) return this.loopsByHash.get(hash);
    const { flow } = loadFlow(source, { registry: this.options.registry, ...(run.flowFile ? { file: run.flowFile } : {}), baseDir: run.baseDir });
    const loops = flow ? new Set(flow.steps.filter((s) => s.forEach).map((s) => s.id)) : undefined;
    if (this.loopsByHash.size >= 256) this.loopsByHash.delete(this.loopsByHash.keys().next().value!);
    this.loopsByHash.set(hash, loops);
    return loops;
  }

  /** A run with its steps (counts, durations, errors with hints) from the journal. */
  async runDetail(runId: string): Promise<RunDetail> {
    const { source, ...run } = await this.runRecord(runId);
    const { flow } = loadFlow(source, {
      registry: this.options.registry,
      ...(run.flowFile ? { file: run.flowFile } : {}),
      baseDir: run.baseDir,
    });
    const summary = await this.engine.summary(flow, runId);
    return { run, steps: summary.steps, live: this.active.has(runId) };
  }

  /** One page of a step's items, in index order. */
  async runItems(
    runId: string,
    step: string,
    options: { status?: ItemStatus; afterIndex?: number; limit?: number } = {},
  ): Promise<ItemRecord[]> {
    await this.runRecord(runId);
    return this.store.items(runId, step, { ...options, limit: Math.min(Math.max(options.limit ?? 50, 1), 500) });
  }

  /**
   * Calls `listener` with each event of the run while it runs in this process (the console's live
   * view: read the journal after subscribing, then apply events). Returns the unsubscribe.
   */
  watchRun(runId: string, listener: (event: RunEvent) => void): () => void {
    let listeners = this.feeds.get(runId);
    if (!listeners) this.feeds.set(runId, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.feeds.get(runId) === listeners) this.feeds.delete(runId);
    };
  }

  isRunLive(runId: string): boolean {
    return this.active.has(runId);
  }

  private async runRecord(runId: string): Promise<RunRecord> {
    const run = await this.store.getRun(runId);
    if (!run)
      throw new ServiceRequestError('UNKNOWN_RUN', `no run has the id "${runId}".`, 'The runs page lists the runs of this journal.');
    return run;
  }

  // ---- HTTP ----

  private async listen(): Promise<void> {
    const limit = this.options.maxBodyBytes ?? 1024 * 1024;
    const app = Fastify({ logger: false, bodyLimit: limit });
    this.app = app;
    // Webhook bodies stay bytes: the signature is over exactly what was sent.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    const send = (reply: FastifyReply, out: HookReply): FastifyReply =>
      reply
        .code(out.status)
        .headers(out.headers ?? {})
        .send(out.body);

    app.get('/health', async () => ({ status: 'ok' }));
    app.get('/ready', async (_request, reply) => {
      if (this.ready && !this.stopping) return { status: 'ready', flows: this.flows.size };
      return send(reply, {
        ...errorReply(
          503,
          'NOT_READY',
          this.stopping
            ? 'the service is stopping.'
            : 'the service is starting: the journal is open, flows are loading.',
          'Ask again shortly.',
        ),
      });
    });
    const hook = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const path = request.url.split('?')[0]!.replace(/\/+$/, '');
      const target = this.hooks.get(path);
      if (!target)
        return send(
          reply,
          errorReply(
            404,
            'HOOK_NOT_FOUND',
            `no flow has a webhook at ${path}.`,
            'A flow with trigger {type: webhook, path: /x} is served at /hooks/x; sfx serve logs each path at start.',
          ),
        );
      return send(reply, await target.handle(hookRequest(request)));
    };
    app.post('/hooks', hook);
    app.post('/hooks/*', hook);
    app.post('/events/:flow', async (request, reply) => {
      const path = request.url.split('?')[0]!;
      const target = this.events.get(path);
      if (!target)
        return send(
          reply,
          errorReply(
            404,
            'EVENTS_NOT_FOUND',
            `no flow takes DAM events at ${path}.`,
            'A flow with trigger {type: dam.events} is served at /events/<flow name>.',
          ),
        );
      const out = await target.handle(hookRequest(request));
      return reply.code(out.status).headers(out.headers).send(out.body);
    });
    app.setNotFoundHandler((request, reply) =>
      send(
        reply,
        errorReply(
          404,
          'NOT_FOUND',
          `${request.method} ${request.url.split('?')[0]} is not served here.`,
          'sfx serve answers GET /health, GET /ready, POST /hooks/<path> and POST /events/<flow>.',
        ),
      ),
    );
    app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _request, reply) => {
      if (error.statusCode === 413)
        return send(
          reply,
          errorReply(
            413,
            'PAYLOAD_TOO_LARGE',
            `the body is larger than the ${limit} bytes a webhook takes.`,
            'Send a smaller body, or start sfx serve with a larger --max-body.',
          ),
        );
      const status =
        error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) this.log('error', 'request failed', { error: error.message });
      return send(
        reply,
        errorReply(
          status,
          error.code ?? 'REQUEST_FAILED',
          status === 500 ? 'the request failed.' : error.message,
          'See the sfx serve log.',
        ),
      );
    });
    await this.options.http?.(app, this);
    const host = this.options.host ?? '127.0.0.1';
    await app.listen({ port: this.options.port ?? 0, host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : (this.options.port ?? 0);
    const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
    this.listeningUrl = `http://${shown}:${port}`;
    this.log('info', 'listening', { url: this.url });
  }

  // ---- stop ----

  /** Stops triggers and HTTP, cancels running runs (they stay resumable), closes the journal. */
  stop(reason = 'stop requested'): Promise<void> {
    this.stopped ??= this.shutdown(reason);
    return this.stopped;
  }

  private async shutdown(reason: string): Promise<void> {
    this.log('info', 'stopping', { reason, running: this.active.size });
    this.stopping = true;
    clearInterval(this.takeoverTimer);
    for (const slots of this.slots.values()) slots.rejectAll(new ServiceStoppingError());
    // No more ticks here; the cluster's schedulers stay, for the other coordinators.
    await this.schedules?.close();
    await this.runStops?.close();
    await Promise.allSettled([...this.flows.values()].map((f) => f.trigger?.stop()));
    await this.app?.close();
    const running = [...this.active.entries()];
    for (const [, run] of running) run.controller.abort();
    const wound = Promise.allSettled(running.map(([, run]) => run.done));
    if (this.itemQueue) {
      // Items already sent are waited for up to the grace time; then their waits end, and the
      // runs end interrupted with those items left to the resume.
      const grace = new Promise((r) => setTimeout(r, (this.options.graceMs ?? 10_000) + 1000).unref());
      await Promise.race([wound, grace]);
      await this.itemQueue.close();
    }
    await wound;
    if (this.itemWorker) {
      await this.itemWorker.close();
      this.log('info', 'worker drained');
    }
    if (running.length)
      this.log('info', 'runs interrupted; they resume on the next start', {
        runs: running.map(([id]) => id),
      });
    for (const held of [...this.clients.values(), ...this.retired])
      await held.client.then(
        (c) => c.close(),
        () => undefined,
      );
    this.clients.clear();
    this.retired.clear();
    await this.storeInstance?.close();
    this.log('info', 'stopped');
  }
}

/** Where a top-level key (or `key.sub`, one level down) is written, for problems found past loadFlow. */
function keyPosition(text: string, path: string): { line: number; column: number } {
  const lines = text.split('\n');
  let line = 0;
  for (const [depth, key] of path.split('.').entries()) {
    const pattern = new RegExp(`^(${depth === 0 ? '' : '\\s+'})${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:`);
    const found = lines.findIndex((l, i) => i >= line && pattern.test(l));
    if (found < 0) break;
    line = found;
  }
  const column = (lines[line]?.length ?? 0) - (lines[line]?.trimStart().length ?? 0) + 1;
  return { line: line + 1, column };
}

function stoppingError(): ServiceRequestError {
  return new ServiceRequestError('SERVICE_STOPPING', 'the service is stopping: no new runs are started.', 'Start sfx serve again.');
}

/** A flow's trigger in one line a person reads. */
function triggerDetail(flow: CompiledFlow): string {
  const t = flow.trigger;
  switch (t.type) {
    case 'manual':
      return 'started by hand';
    case 'schedule':
      return `cron ${t.cron}${t.timezone ? ` (${t.timezone})` : ''}`;
    case 'poll':
      return `${t.uses} every ${t.every % 60_000 === 0 ? `${t.every / 60_000} min` : `${t.every / 1000} s`}`;
    case 'webhook':
      return `POST ${hookPath(t.path)}`;
    case 'dam.events':
      return `DAM events${t.events?.length ? ` ${t.events.join(', ')}` : ''} at POST ${eventsPath(flow.name)}`;
  }
}

function hookRequest(request: FastifyRequest): HookRequest {
  const body = request.body;
  return {
    headers: request.headers as HookRequest['headers'],
    rawBody: Buffer.isBuffer(body) ? body : Buffer.alloc(0),
  };
}

/**
 * The code an interrupted run keeps when a person stopped it (the console's Stop): such a run is
 * not resumed by itself when sfx serve starts again, as a run cut off by a shutdown is.
 */
export const STOPPED_ON_REQUEST = 'STOPPED_ON_REQUEST';

function stoppedOnRequest(): Error {
  return Object.assign(new Error('the run was stopped on request'), { code: STOPPED_ON_REQUEST });
}
