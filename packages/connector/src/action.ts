import type { Filerobot } from '@sfx/client';
import type { z } from 'zod';
import { ActionInputError, ActionOutputError, problemsOf } from './errors.js';
import { isPermission, type Permission } from './permissions.js';
import type { ExampleSeed } from './seed.js';

/** `read` changes nothing; `write` changes or adds; `destructive` removes or replaces something. */
export type ActionKind = 'read' | 'write' | 'destructive';

/**
 * What the action's calls rest on. `documented`: endpoints the reference has public evidence for
 * (Scaleflex's docs, or the code of Scaleflex's or integrators' clients), so they exist on the real
 * service. `inferred`: no endpoint was found, so it is designed in the API's style (or relies on
 * behaviour the evidence does not show); it may differ from the real service. `extension`: only the
 * sfx server serves it.
 */
export type EndpointKind = 'documented' | 'inferred' | 'extension';

export interface ActionContext {
  client: Filerobot;
  signal?: AbortSignal;
}

/** A permission an action needs only in some cases, and when. */
export interface ConditionalPermission {
  permission: Permission;
  when: string;
}

export interface ActionSpec<I extends z.ZodType, O extends z.ZodType> {
  /** `group.verb` for one API operation (`files.list`), a plain verb phrase for task-level actions. */
  id: string;
  title: string;
  description: string;
  group: string;
  /** Every permission the action always needs; a key missing one gets a PermissionDeniedError naming it. */
  permissions: readonly Permission[];
  /** Permissions needed only in some cases (e.g. to fetch an existing asset after a duplicate upload). */
  alsoNeeds?: readonly ConditionalPermission[];
  kind: ActionKind;
  /** Running it twice with the same input leaves the same state as running it once. */
  idempotent: boolean;
  endpoint: EndpointKind;
  input: I;
  output: O;
  /** An input that works against a project holding the seed's objects. */
  example: (seed: ExampleSeed) => NoInfer<z.input<I>>;
  run: (ctx: ActionContext, input: NoInfer<z.output<I>>) => Promise<Loose<z.input<NoInfer<O>>>>;
}

/**
 * A schema's type without its open index signatures, so the client's interfaces (which name their
 * fields) can be returned where a schema keeps unknown fields. The output is still validated at
 * run time.
 */
export type Loose<T> = T extends readonly (infer E)[]
  ? Loose<E>[]
  : T extends object
    ? { [K in keyof T as string extends K ? never : K]: Loose<T[K]> }
    : T;

export interface Action<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType>
  extends Omit<ActionSpec<I, O>, 'run'> {
  /**
   * Validates the input (throwing ActionInputError, before any request, when it is wrong), runs the
   * action and validates its output against `output`.
   */
  run(ctx: ActionContext, input: z.input<I>): Promise<z.output<O>>;
}

const ID = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/;

export function defineAction<I extends z.ZodType, O extends z.ZodType>(spec: ActionSpec<I, O>): Action<I, O> {
  if (!ID.test(spec.id)) throw new TypeError(`action id "${spec.id}" must be lower-case words joined by . or -.`);
  for (const permission of [...spec.permissions, ...(spec.alsoNeeds ?? []).map((c) => c.permission)]) {
    if (!isPermission(permission)) throw new TypeError(`action ${spec.id}: unknown permission "${permission}".`);
  }
  const { run: perform, ...described } = spec;
  return Object.freeze({
    ...described,
    async run(ctx: ActionContext, raw: z.input<I>): Promise<z.output<O>> {
      const input = spec.input.safeParse(raw);
      if (!input.success) throw new ActionInputError(spec.id, problemsOf(input.error.issues));
      ctx.signal?.throwIfAborted();
      const result = await perform(ctx, input.data);
      const output = spec.output.safeParse(result);
      if (!output.success) throw new ActionOutputError(spec.id, problemsOf(output.error.issues));
      return output.data;
    },
  });
}
