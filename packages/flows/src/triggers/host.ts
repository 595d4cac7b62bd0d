/**
 * What a trigger needs from the process running it (FlowService): start a run and know it is in
 * the journal, see whether a flow is running, open a connection, log.
 */
import type { Filerobot } from '@sfx/client';
import type { CompiledFlow } from '../definition/load.js';
import type { RunResult } from '../engine/engine.js';
import type { RunStore, RunTrigger } from '../engine/run-store.js';
import { evaluateTemplate, type Scope, type Template } from '../expressions.js';
import type { Clock } from './clock.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

export type StartedRun =
  /** The run is in the journal; `done` settles when it ends. */
  | { runId: string; duplicate: false; done: Promise<RunResult> }
  /** The journal already holds a run for this trigger id: none was started. */
  | { runId: string; duplicate: true };

export interface TriggerHost {
  readonly clock: Clock;
  readonly store: RunStore;
  readonly log: Log;
  /**
   * Starts a run of `flow`; resolves once the run is journaled (not when it ends). Waits while
   * the flow already runs as many runs as allowed; rejects with ServiceStoppingError when the
   * service stops meanwhile.
   */
  startRun(flow: CompiledFlow, trigger: RunTrigger): Promise<StartedRun>;
  /** Runs of `flow` running in this process now. */
  activeRuns(flow: string): number;
  /** The connection's shared client; a replaced one is closed only once `heldUntil` settles. */
  openConnection(flow: CompiledFlow, name: string, heldUntil?: Promise<unknown>): Promise<Filerobot>;
  /** `$env` and `$secrets` for a flow's trigger values. */
  scopeFor(flow: CompiledFlow): Scope;
}

/** A trigger of one flow, started and stopped by the service. */
export interface RunningTrigger {
  readonly flow: string;
  readonly type: string;
  start(): void | Promise<void>;
  /** Stops taking events; resolves once no event is being turned into a run. */
  stop(): Promise<void>;
}

export class ServiceStoppingError extends Error {
  override name = 'ServiceStoppingError';
  constructor() {
    super('the service is stopping: no new runs are started.');
  }
}

/** The flow already has as many runs running and waiting as allowed: try again later. */
export class ServiceBusyError extends Error {
  override name = 'ServiceBusyError';
  constructor(flow: string) {
    super(`flow ${flow} has as many runs running and waiting as allowed: try again later.`);
  }
}

/** A trigger value that may hold `{% %}` over $secrets and $env, evaluated. */
export async function triggerValue(
  host: TriggerHost,
  flow: CompiledFlow,
  template: Template | undefined,
  fallback: unknown,
): Promise<unknown> {
  if (!template) return fallback;
  return evaluateTemplate(template, host.scopeFor(flow));
}

/** Runs `work` with one of the flow's connections, holding its client until `work` is done. */
export async function withConnection<T>(
  host: TriggerHost,
  flow: CompiledFlow,
  name: string,
  work: (client: Filerobot) => Promise<T>,
): Promise<T> {
  let done!: () => void;
  const heldUntil = new Promise<void>((resolve) => (done = resolve));
  try {
    return await work(await host.openConnection(flow, name, heldUntil));
  } finally {
    done();
  }
}
