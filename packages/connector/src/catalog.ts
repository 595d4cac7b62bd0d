import { z } from 'zod';
import type { ActionKind, ConditionalPermission, EndpointKind } from './action.js';
import { ConnectionSchema } from './connection.js';
import { manifest } from './manifest.js';
import type { Permission } from './permissions.js';
import { DOC_SEED, type ExampleSeed } from './seed.js';
import type { TriggerInfo, TriggerKind } from './triggers/trigger.js';

/** A JSON Schema (draft 2020-12) as zod 4 emits it. */
export type JsonSchema = z.core.JSONSchema.JSONSchema;

export interface CatalogAction {
  id: string;
  title: string;
  description: string;
  group: string;
  permissions: Permission[];
  /** Permissions needed only in some cases, and when. */
  alsoNeeds: ConditionalPermission[];
  kind: ActionKind;
  idempotent: boolean;
  endpoint: EndpointKind;
  /** What a caller may give (defaults make fields optional). */
  input: JsonSchema;
  /** What the action returns. */
  output: JsonSchema;
  /** An input rendered with the documentation seed's placeholder ids. */
  example: unknown;
}

export interface CatalogTrigger {
  id: string;
  title: string;
  description: string;
  group: string;
  permissions: Permission[];
  /** Permissions needed only in some cases, and when. */
  alsoNeeds: ConditionalPermission[];
  /** `polling`: run on a schedule, keeping a watermark; `webhook`: the DAM posts its events to a receiver. */
  kind: TriggerKind;
  /** What the trigger's calls rest on, as for actions. */
  endpoint: EndpointKind;
  /** The trigger's configuration (what a flow gives it). */
  input: JsonSchema;
  /** What each event it emits holds. */
  output: JsonSchema;
  example: unknown;
}

/** The connector as data (DESIGN.md §6): what `sfx catalog --json` prints and docs/actions.md is made from. */
export interface CatalogJson {
  manifest: { id: string; version: string; title: string; description: string };
  /** The connection settings a user fills in. */
  connection: JsonSchema;
  actions: CatalogAction[];
  triggers: CatalogTrigger[];
}

export interface CatalogOptions {
  /** The ids examples are rendered with. Default DOC_SEED (placeholders with the shape of real ids). */
  seed?: ExampleSeed;
}

/**
 * A zod schema as JSON Schema. `io: 'input'` describes what may be given (a field with a default
 * is optional, a transform is described by what it accepts); `'output'` what comes out. Refinements
 * (checks written in code) cannot be expressed and are left out: the schema then admits a little
 * more than the action, which still validates. Anything else JSON Schema cannot express (a custom
 * type, a transform on the output side) becomes `{}` ("any value") rather than failing the export.
 */
export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
}

/** Every action and trigger of the connector, with JSON Schemas of their inputs and outputs. */
export function exportCatalog(options: CatalogOptions = {}): CatalogJson {
  const seed = options.seed ?? DOC_SEED;
  return {
    manifest: {
      id: manifest.id,
      version: manifest.version,
      title: manifest.title,
      description: manifest.description,
    },
    connection: toJsonSchema(ConnectionSchema, 'input'),
    actions: manifest.actions.map((action) => {
      const where = `action ${action.id}`;
      return {
        id: action.id,
        title: action.title,
        description: action.description,
        group: action.group,
        permissions: [...action.permissions],
        alsoNeeds: (action.alsoNeeds ?? []).map((c) => ({ permission: c.permission, when: c.when })),
        kind: action.kind,
        idempotent: action.idempotent,
        endpoint: action.endpoint,
        input: exported(action.input, 'input', `${where} input`),
        output: exported(action.output, 'output', `${where} output`),
        example: jsonValue(action.example(seed), `${where} example`),
      };
    }),
    triggers: manifest.triggers.map((trigger) => exportTrigger(trigger, seed)),
  };
}

function exported(schema: z.ZodType, io: 'input' | 'output', where: string): JsonSchema {
  try {
    return toJsonSchema(schema, io);
  } catch (error) {
    throw new Error(
      `${where}: cannot be exported as JSON Schema: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
}

function exportTrigger(trigger: TriggerInfo, seed: ExampleSeed): CatalogTrigger {
  const where = `trigger ${trigger.id}`;
  return {
    id: trigger.id,
    title: trigger.title,
    description: trigger.description,
    group: trigger.group,
    permissions: [...trigger.permissions],
    alsoNeeds: (trigger.alsoNeeds ?? []).map((c) => ({ permission: c.permission, when: c.when })),
    kind: trigger.kind,
    endpoint: trigger.endpoint,
    input: exported(trigger.input, 'input', `${where} input`),
    output: exported(trigger.output, 'output', `${where} output`),
    example: jsonValue(trigger.example(seed), `${where} example`),
  };
}

/** The value as JSON would carry it; refuses what JSON cannot (functions, bigints, cycles). */
function jsonValue(value: unknown, where: string): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch (error) {
    throw new Error(
      `${where}: is not plain JSON: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
