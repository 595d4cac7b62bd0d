import type { z } from 'zod';
import type { ActionContext, ConditionalPermission, EndpointKind } from '../action.js';
import { problemsOf, type Problem } from '../errors.js';
import { isPermission, type Permission } from '../permissions.js';
import type { ExampleSeed } from '../seed.js';

/** What a trigger runs with: the connection's client (and an abort signal). */
export type TriggerContext = ActionContext;

/**
 * `polling`: the runner calls `poll()` on a schedule and keeps the state it returns.
 * `webhook`: the DAM POSTs its events to a receiver, which hands each request to `handle()`.
 */
export type TriggerKind = 'polling' | 'webhook';

/** What every trigger declares, as plain data the catalogue exports (config and output as zod). */
export interface TriggerInfo<C extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  /** `group.noun`, e.g. `assets.new`. */
  id: string;
  title: string;
  description: string;
  group: string;
  /** Every permission the trigger's calls need. */
  permissions: readonly Permission[];
  /** Permissions needed only in some cases (e.g. for test mode), and when. */
  alsoNeeds?: readonly ConditionalPermission[];
  kind: TriggerKind;
  endpoint: EndpointKind;
  /** The trigger's configuration (folder, filters, secrets ...). */
  input: C;
  /** One emitted item. */
  output: O;
  /** A configuration that works against a project holding the seed's objects. */
  example: (seed: ExampleSeed) => NoInfer<z.input<C>>;
}

/** The config, parsed against the trigger's schema; throws TriggerConfigError naming each bad field. */
export function parseConfig<C extends z.ZodType>(trigger: Pick<TriggerInfo<C>, 'id' | 'input'>, raw: unknown): z.output<C> {
  const result = trigger.input.safeParse(raw);
  if (!result.success) throw new TriggerConfigError(trigger.id, problemsOf(result.error.issues));
  return result.data;
}

/** Checks an emitted item against the output schema (the API replied in an unexpected shape). */
export function checkOutput<O extends z.ZodType>(trigger: Pick<TriggerInfo<z.ZodType, O>, 'id' | 'output'>, item: unknown): z.output<O> {
  const result = trigger.output.safeParse(item);
  if (!result.success) throw new TriggerOutputError(trigger.id, problemsOf(result.error.issues));
  return result.data;
}

const ID = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/;

/** The checks defineAction makes, for triggers: a well-formed id and known permissions. */
export function checkTriggerInfo(info: Pick<TriggerInfo, 'id' | 'permissions' | 'alsoNeeds'>): void {
  if (!ID.test(info.id)) throw new TypeError(`trigger id "${info.id}" must be lower-case words joined by . or -.`);
  for (const permission of [...info.permissions, ...(info.alsoNeeds ?? []).map((c) => c.permission)]) {
    if (!isPermission(permission)) throw new TypeError(`trigger ${info.id}: unknown permission "${permission}".`);
  }
}

function listProblems(problems: Problem[]): string {
  return problems.map((p) => `  - ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n');
}

/** A trigger was configured with something it cannot run with. Thrown before any request. */
export class TriggerConfigError extends Error {
  override name = 'TriggerConfigError';
  constructor(
    readonly triggerId: string,
    readonly problems: Problem[],
  ) {
    super(`Invalid configuration for trigger "${triggerId}":\n${listProblems(problems)}`);
  }
}

/** The state handed to `poll()` is not one this trigger wrote (another trigger's, or damaged). */
export class TriggerStateError extends Error {
  override name = 'TriggerStateError';
  constructor(
    readonly triggerId: string,
    readonly problems: Problem[],
  ) {
    super(
      `The state given to trigger "${triggerId}" is not one it wrote; pass the state its last poll returned, or none to start again from now:\n${listProblems(problems)}`,
    );
  }
}

/** The API replied with an item the trigger's output schema cannot describe (has the API changed?). */
export class TriggerOutputError extends Error {
  override name = 'TriggerOutputError';
  constructor(
    readonly triggerId: string,
    readonly problems: Problem[],
  ) {
    super(`Trigger "${triggerId}" got an item it cannot describe with its output schema (has the API changed?):\n${listProblems(problems)}`);
  }
}
