import type { Filerobot } from '@sfx/client';
import type { z } from 'zod';

/**
 * What a step can `uses:`. Built-in connectors (fs, csv, json, http, transform, log) define these
 * directly; the Scaleflex connector's actions are adapted to this shape with their connection's
 * client.
 */
export interface StepAction<I = unknown> {
  /** `connector.verb`, as written after the connection or built-in name: `read`, `upload-asset`. */
  id: string;
  title: string;
  description: string;
  /** Validates and defaults `with:`; its problems are reported at the step's line and column. */
  input: z.ZodType<I>;
  /** `read` changes nothing; `write` adds or changes; `destructive` removes or replaces. */
  kind: 'read' | 'write' | 'destructive';
  /** Running it twice with the same input leaves the same state as once: safe to redo on resume. */
  idempotent: boolean;
  /**
   * A source: yields items lazily, each with a cursor from which `items` can be called again to go
   * on after that item (resume). Such an action runs only as a `forEach` source, or as the
   * stream handed to an input that takes one (`csv.write` rows).
   */
  items?: (ctx: StepContext, input: I, after?: string) => AsyncIterable<SourceItem>;
  run?: (ctx: StepContext, input: I) => Promise<unknown>;
  /**
   * Given a stream in an input, `run` returns a stream (a lazy map or filter). Such a step is then a
   * source itself: later steps loop over it or hand it on, and it is never journaled whole.
   */
  streamsThrough?: boolean;
  /**
   * Finds out whether an attempt whose outcome is unknown (the process died mid-call) took
   * effect, and with what output, so it is not done twice (an upload: the DAM's sha1 lookup).
   * `undefined` means it did not, and the attempt is made again.
   */
  reconcile?: (ctx: StepContext, input: I) => Promise<{ output: unknown } | undefined>;
}

export interface SourceItem {
  item: unknown;
  /** Opaque: where to start again to get the items after this one. */
  cursor: string;
}

export interface StepContext {
  /** Aborted when the run is cancelled or the step's `timeout` passes. */
  signal: AbortSignal;
  /** `runId:stepPath:index`: stable across retries and resumes of the same item. */
  idempotencyKey: string;
  /** Relative paths in a flow resolve against the flow file's folder. */
  baseDir: string;
  /** The connection's client, for actions of a connection. */
  client?: Filerobot;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** A built-in connector: a name (`csv`) and its actions (`read`, `write`). */
export interface BuiltinConnector {
  name: string;
  description: string;
  actions: readonly StepAction<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Defines a step action with its input type inferred from the schema. */
export function defineStepAction<S extends z.ZodType>(
  action: Omit<StepAction<z.output<S>>, 'input'> & { input: S },
): StepAction<z.output<S>> {
  if (!action.items && !action.run) throw new TypeError(`step action ${action.id} needs run() or items().`);
  return action as unknown as StepAction<z.output<S>>;
}

/** A value handed to an input that takes a stream: every item of a source or an earlier loop. */
export function isItemStream(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value && !Array.isArray(value);
}
