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
 * - Stop (SIGTERM/SIGINT in `sfx serve`): triggers stop, the HTTP server stops taking requests,
 *   running runs are cancelled through their AbortSignal (in-flight items get `graceMs` to
 *   finish) and end `interrupted`, resumable; then the journal is closed.
 * - With a queue (docs/scale-out.md), loop items are BullMQ jobs: a `coordinator` runs triggers and
 *   drives runs, a `worker` runs item jobs, `all` does both. Coordinators also take over runs
 *   whose coordinator died, so a standby one finishes them.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Filerobot } from '@sfx/client';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  formatProblem,
  loadFlow,
  resolveInputs,
  type CompiledFlow,
  type Problem,
} from './definition/load.js';
import { Engine, type ConnectionOpener, type RunEvent, type RunResult } from './engine/engine.js';
import type { RunRecord, RunStore, RunTrigger } from './engine/run-store.js';
import { openRunStore } from './engine/open-run-store.js';
import { processOwner, RunBusyError } from './engine/sqlite-run-store.js';
import type { Scope } from './expressions.js';
import type { ActionRegistry } from './registry.js';
import { systemClock, type Clock } from './triggers/clock.js';
import { DamEventsTrigger, eventsPath } from './triggers/dam-events.js';
import { checkQueue, ItemQueue, ItemWorker, redactUrl } from './cluster/queue.js';
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
import { ScheduleTrigger } from './triggers/schedule.js';
import {
  error as errorReply,
  hookCredentials,
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
  /** Loop items as jobs on this Redis, shared by every worker (docs/scale-out.md). */
  queue?: ServiceQueueOptions;
  /** `coordinator`: triggers and runs; `worker`: item jobs only; `all` (default): both. */
  role?: ServiceRole;
}

export type ServiceRole = 'coordinator' | 'worker' | 'all';

export interface ServiceQueueOptions {
  /** `redis://host:port`. */
  url: string;
  /** The queue's name; every process of one cluster uses the same. Default `sfx-items`. */
  name?: string;
  /** Item jobs this worker runs at once. Default 4. */
  itemConcurrency?: number;
  /** Item jobs started per second across all workers. */
  tps?: number;
  /** A dead worker's jobs go to others after about this long. Default 30 s. */
  lockMs?: number;
  /** How often a coordinator looks for runs whose coordinator died. Default 5 s. */
  takeoverMs?: number;
}

export interface LoadedFlow {
  flow: CompiledFlow;
  trigger?: RunningTrigger;
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
  private readonly clients = new Map<string, Promise<Filerobot>>();
  private readonly hooks = new Map<string, WebhookTrigger>();
  private readonly events = new Map<string, DamEventsTrigger>();
  private stopping = false;
  private ready = false;
  private stopped: Promise<void> | undefined;
  private listeningUrl = '';
  private itemQueue: ItemQueue | undefined;
  private itemWorker: ItemWorker | undefined;
  private takeoverTimer: NodeJS.Timeout | undefined;

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
    }
    this.engine = new Engine({
      store: this.store,
      ...(this.itemQueue ? { dispatcher: this.itemQueue.dispatcher(this.store) } : {}),
      ...(queue?.tps && role !== 'coordinator' ? { throttle: (signal: AbortSignal) => this.itemWorker!.pace(signal) } : {}),
      openConnection: (name, spec) => this.client(name, spec),
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
    for (const loaded of this.flows.values()) {
      try {
        await loaded.trigger?.start();
      } catch (error) {
        this.log('error', 'trigger could not start; the flow is skipped', {
          flow: loaded.flow.name,
          trigger: loaded.flow.trigger.type,
          error: (error as Error).message,
        });
        await loaded.trigger?.stop();
        this.unregister(loaded);
      }
    }
    this.ready = true;
    this.log('info', 'sfx serve ready', {
      url: this.url,
      flows: [...this.flows.keys()],
      skipped: this.problems.length,
      ...(queue ? { role, queue: redactUrl(queue.url) } : {}),
    });
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
    const skip = (problem: Problem): void => {
      this.problems.push(problem);
      this.log('error', 'flow skipped', { file: problem.file, problem: formatProblem(problem) });
    };
    for (const name of files) {
      const file = join(dir, name);
      const { flow, problems } = loadFlow(await readFile(file, 'utf8'), {
        registry: this.options.registry,
        file,
        baseDir: dirname(file),
      });
      if (!flow) {
        for (const problem of problems) skip(problem);
        continue;
      }
      const at = (message: string, path = 'trigger'): Problem => ({
        file,
        line: 1,
        column: 1,
        path,
        message,
      });
      if (this.flows.has(flow.name)) {
        skip(
          at(
            `another file (${this.flows.get(flow.name)!.flow.file}) already has a flow named "${flow.name}": flow names must be unique.`,
            'name',
          ),
        );
        continue;
      }
      const inputs = flow.trigger.type === 'manual' ? { problems: [] } : resolveInputs(flow, {});
      if (inputs.problems.length) {
        skip(
          at(
            `a triggered flow gets no inputs, so every input needs a default: ${inputs.problems.join(' ')}`,
            'inputs',
          ),
        );
        continue;
      }
      try {
        const loaded: LoadedFlow = { flow, ...(await this.triggerOf(flow)) };
        this.flows.set(flow.name, loaded);
        this.slots.set(flow.name, new Slots(this.options.concurrency ?? 4, this.options.maxQueued ?? 100));
        if (flow.trigger.type === 'manual')
          this.log(
            'info',
            'flow loaded; its trigger is manual, so sfx serve never starts it (sfx flow run does)',
            { flow: flow.name, file, trigger: 'manual' },
          );
        else this.log('info', 'flow loaded', { flow: flow.name, file, trigger: flow.trigger.type });
      } catch (error) {
        skip(at((error as Error).message));
      }
    }
  }

  private async triggerOf(flow: CompiledFlow): Promise<{ trigger?: RunningTrigger }> {
    switch (flow.trigger.type) {
      case 'manual':
        return {};
      case 'schedule':
        return { trigger: new ScheduleTrigger(this, flow) };
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

  private unregister(loaded: LoadedFlow): void {
    this.flows.delete(loaded.flow.name);
    for (const [path, hook] of this.hooks) if (hook.flow === loaded.flow.name) this.hooks.delete(path);
    for (const [path, trigger] of this.events)
      if (trigger.flow === loaded.flow.name) this.events.delete(path);
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

  openConnection(flow: CompiledFlow, name: string): Promise<Filerobot> {
    return this.client(name, flow.connections[name] ?? null);
  }

  /** One client per connection spec, shared by triggers and runs, closed on stop. */
  private client(name: string, spec: string | null | Record<string, unknown>): Promise<Filerobot> {
    const opener = this.options.openConnection;
    if (!opener)
      return Promise.reject(
        new Error(
          `the flow uses the connection "${name}", and sfx serve was given no way to open connections.`,
        ),
      );
    const key = JSON.stringify(typeof spec === 'object' && spec !== null ? { name, spec } : { spec });
    let client = this.clients.get(key);
    if (!client) {
      client = Promise.resolve(opener(name, spec));
      client.catch(() => this.clients.delete(key));
      this.clients.set(key, client);
    }
    return client;
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
        : (await this.store.listRuns({ status: 'interrupted', limit: 100_000 })).filter((r) => r.trigger.type !== 'manual')),
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
    for (const client of this.clients.values())
      await client.then(
        (c) => c.close(),
        () => undefined,
      );
    await this.storeInstance?.close();
    this.log('info', 'stopped');
  }
}

function hookRequest(request: FastifyRequest): HookRequest {
  const body = request.body;
  return {
    headers: request.headers as HookRequest['headers'],
    rawBody: Buffer.isBuffer(body) ? body : Buffer.alloc(0),
  };
}
