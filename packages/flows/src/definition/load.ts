/**
 * Loads a flow file: YAML -> shape -> expressions -> references and actions. Every problem is
 * collected (not just the first) with its line and column and what to write instead.
 */
import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { compileTemplate, expressionsOf, ExpressionError, literalOf, type Expression, type Template } from '../expressions.js';
import type { ActionRegistry, ResolvedAction } from '../registry.js';
import { FlowSchema, type FlowFile, type InputFile, type RetryFile, type TriggerFile } from './schema.js';

export interface Problem {
  file?: string;
  line: number;
  column: number;
  /** Where in the flow: `steps[2].with.folder`. */
  path: string;
  message: string;
}

export class FlowValidationError extends Error {
  constructor(readonly problems: Problem[]) {
    super(`the flow has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'FlowValidationError';
  }
}

export function formatProblem(p: Problem): string {
  return `${p.file ?? 'flow'}:${p.line}:${p.column}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

export interface CompiledStep {
  id: string;
  index: number;
  name?: string;
  uses: string;
  resolved: ResolvedAction;
  with: Template;
  if?: Template;
  forEach?: { template: Template; /** `$steps.X` alone: X's items are streamed, never held whole. */ streamFrom?: string };
  concurrency: number;
  batchSize?: number;
  toleratedFailurePercent: number;
  retry?: RetryFile;
  onError: 'fail' | 'continue' | { uses: string; resolved: ResolvedAction; with: Template };
  timeoutMs?: number;
  output?: Template;
  /** A source step (csv.read, fs.list): not run on its own; its items stream into a forEach or an input. */
  deferred: boolean;
  /** Inputs given as `$steps.X` alone where X streams: handed to the action as an async iterable. */
  streamInputs: Record<string, string>;
  line: number;
}

export interface CompiledFlow {
  name: string;
  description?: string;
  file?: string;
  /** The flow file's folder: relative paths in the flow resolve against it. */
  baseDir: string;
  /** The YAML text, kept with each run so a resume runs what was started. */
  source: string;
  hash: string;
  trigger: TriggerFile;
  triggerTemplates: { secret?: Template; basicAuth?: Template; with?: Template };
  connections: Record<string, string | null | Record<string, unknown>>;
  inputs: Record<string, InputFile>;
  env: string[];
  secrets: string[];
  steps: CompiledStep[];
}

export interface LoadOptions {
  registry: ActionRegistry;
  file?: string;
  baseDir?: string;
}

type Path = Array<string | number>;

function pathText(path: Path): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out;
}

/** Positions in the YAML text for paths into its data. */
class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** The deepest node on `path` that exists; with `offset`, the column inside a one-line string. */
  at(path: Path, offset?: number): { line: number; column: number } {
    let node: Node | null = this.doc.contents as Node | null;
    let found = node;
    let exact = true;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
        node = (pair?.value as Node | null) ?? (pair?.key as Node | null) ?? null;
      } else if (isSeq(node) && typeof key === 'number') {
        node = (node.items[key] as Node | null) ?? null;
      } else {
        node = null;
      }
      if (!node) {
        exact = false;
        break;
      }
      found = node;
    }
    const start = found?.range?.[0] ?? 0;
    const pos = this.lines.linePos(start);
    if (exact && offset !== undefined && isScalar(found)) {
      const quoted = found.type === 'QUOTE_DOUBLE' || found.type === 'QUOTE_SINGLE' ? 1 : 0;
      if (found.type === 'PLAIN' || quoted) return { line: pos.line, column: pos.col + quoted + offset };
      // Block scalars: the text starts on the next line; count the lines of the offset.
      const value = String(found.value);
      const before = value.slice(0, offset);
      const extraLines = before.split('\n').length;
      return { line: pos.line + extraLines, column: before.length - before.lastIndexOf('\n') };
    }
    return { line: pos.line, column: pos.col };
  }
}

const STEP_REF_HINT = 'Steps see the outputs of the steps before them: $steps.<id> of an earlier step.';

export function loadFlow(text: string, options: LoadOptions): { flow?: CompiledFlow; problems: Problem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  const file = options.file;
  const add = (line: number, column: number, path: Path, message: string): void => {
    problems.push({ ...(file ? { file } : {}), line, column, path: pathText(path), message });
  };
  for (const error of doc.errors) {
    const start = lines.linePos(error.pos[0]);
    const lineText = text.split('\n')[(start?.line ?? 1) - 1] ?? '';
    const hint = lineText.includes('{%') ? ' Quote values that hold {% %} expressions: path: "{% $item.path %}".' : '';
    add(start?.line ?? 1, start?.col ?? 1, [], `YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}.${hint}`);
  }
  if (problems.length) return { problems };
  const where = new Locator(doc, lines);
  const at = (path: Path, message: string, offset?: number): void => {
    const pos = where.at(path, offset);
    add(pos.line, pos.column, path, message);
  };

  const data: unknown = doc.toJS();
  const parsed = FlowSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) reportIssue(issue, [], at);
    return { problems };
  }
  const flowFile = parsed.data;
  const flow = compile(flowFile, text, options, at, (path) => where.at(path).line);
  return problems.length ? { problems } : { flow: flow!, problems };
}

function reportIssue(issue: z.core.$ZodIssue, base: Path, at: (path: Path, message: string) => void): void {
  const path = [...base, ...(issue.path as Path)];
  if (issue.code === 'unrecognized_keys') {
    for (const key of issue.keys) at([...path, key], `"${key}" is not a field here.${knownFields(path)}`);
    return;
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0 && issue.message === 'Invalid input') {
    // Report the alternative that got furthest, rather than zod's "invalid input".
    const best = issue.errors.reduce((a, b) => (b.length < a.length ? b : a));
    for (const inner of best) reportIssue(inner, path, at);
    return;
  }
  const missing = issue.code === 'invalid_type' && issue.input === undefined;
  at(path, missing ? `is required: ${issue.message}` : issue.message);
}

function knownFields(path: Path): string {
  const last = path[path.length - 1];
  if (path.length === 0) return ' A flow has name, description, trigger, connections, inputs, env, secrets and steps.';
  if (path[0] === 'steps' && typeof last === 'number')
    return ' A step has id, name, uses, with, if, forEach, concurrency, batchSize, toleratedFailurePercent, retry, onError, timeout and output.';
  return '';
}

function compile(
  file: FlowFile,
  source: string,
  options: LoadOptions,
  at: (path: Path, message: string, offset?: number) => void,
  lineOf: (path: Path) => number,
): CompiledFlow | undefined {
  const connections = Object.keys(file.connections);
  const builtins = options.registry.builtinNames();
  for (const name of connections) {
    if (builtins.includes(name)) at(['connections', name], `"${name}" is the name of a built-in connector: name the connection otherwise, e.g. "dam".`);
  }
  const compileAt = (value: unknown, path: Path): Template | undefined => {
    try {
      return compileTemplate(value, path);
    } catch (error) {
      if (error instanceof ExpressionError) {
        at(error.path, error.message, error.offset);
        return undefined;
      }
      throw error;
    }
  };

  // The trigger's values may hold expressions over secrets and env (a shared secret).
  const triggerTemplates: CompiledFlow['triggerTemplates'] = {};
  const trigger = file.trigger;
  if (trigger.type === 'schedule') {
    try {
      new Cron(trigger.cron, { timezone: trigger.timezone, paused: true }).stop();
    } catch (error) {
      at(['trigger', 'cron'], `is not a valid cron expression: ${(error as Error).message}. Example: "0 2 * * *" (2 AM every day).`);
    }
    if (trigger.timezone && !validTimeZone(trigger.timezone))
      at(['trigger', 'timezone'], `"${trigger.timezone}" is not a time zone: use an IANA name such as Europe/Paris or UTC.`);
  }
  if (trigger.type === 'poll') {
    const dot = trigger.uses.indexOf('.');
    const prefix = trigger.uses.slice(0, dot);
    if (!connections.includes(prefix)) at(['trigger', 'uses'], `"${prefix}" is not a connection of this flow: declare it under connections.`);
    const found = options.registry.trigger(trigger.uses.slice(dot + 1));
    if ('problem' in found) at(['trigger', 'uses'], found.problem);
    const t = compileAt(trigger.with ?? {}, ['trigger', 'with']);
    if (t) triggerTemplates.with = t;
  }
  if (trigger.type === 'webhook' || trigger.type === 'dam.events') {
    if (trigger.secret !== undefined) {
      const t = compileAt(trigger.secret, ['trigger', 'secret']);
      if (t) triggerTemplates.secret = t;
    }
  }
  if (trigger.type === 'webhook' && trigger.basicAuth) {
    const t = compileAt(trigger.basicAuth, ['trigger', 'basicAuth']);
    if (t) triggerTemplates.basicAuth = t;
  }
  if (trigger.type === 'dam.events' && !connections.includes(trigger.connection))
    at(['trigger', 'connection'], `"${trigger.connection}" is not a connection of this flow: declare it under connections.`);

  for (const [name, input] of Object.entries(file.inputs)) {
    if (input.default !== undefined && !matchesType(input.default, input.type))
      at(['inputs', name, 'default'], `is not of the input's type ${input.type}.`);
  }

  const steps: CompiledStep[] = [];
  const seen = new Map<string, number>();
  /** Steps whose items stream: sources, and loops (their per-item results, from the journal). */
  const streaming = new Set<string>();
  for (const [index, step] of file.steps.entries()) {
    const base: Path = ['steps', index];
    if (seen.has(step.id)) at([...base, 'id'], `"${step.id}" is already the id of step ${seen.get(step.id)! + 1}: step ids must be unique.`);
    const resolved = options.registry.resolve(step.uses, connections);
    if ('problem' in resolved) at([...base, 'uses'], resolved.problem);
    const withT = compileAt(step.with ?? {}, [...base, 'with']);
    const ifT = step.if === undefined ? undefined : compileAt(step.if, [...base, 'if']);
    const forEachT = step.forEach === undefined ? undefined : compileAt(step.forEach, [...base, 'forEach']);
    const outputT = step.output === undefined ? undefined : compileAt(step.output, [...base, 'output']);
    // A tolerance means "go through every item, and fail only past it": it implies continue.
    let onError: CompiledStep['onError'] = step.toleratedFailurePercent > 0 ? 'continue' : 'fail';
    if (step.onError === 'fail' && step.toleratedFailurePercent > 0)
      at([...base, 'toleratedFailurePercent'], 'has no effect with onError: fail (the loop stops at the first failure): drop onError, or set it to continue.');
    if (typeof step.onError === 'string') onError = step.onError;
    else if (step.onError) {
      const fallback = options.registry.resolve(step.onError.uses, connections);
      const fallbackWith = compileAt(step.onError.with ?? {}, [...base, 'onError', 'with']);
      if ('problem' in fallback) at([...base, 'onError', 'uses'], fallback.problem);
      else if (fallbackWith) onError = { uses: step.onError.uses, resolved: fallback, with: fallbackWith };
    }
    const isLoop = step.forEach !== undefined;
    const action = 'problem' in resolved ? undefined : resolved.action;
    const streamInputs: Record<string, string> = {};
    if (withT?.kind === 'object') {
      for (const [key, t] of withT.entries) {
        const only = onlyStepReference(t);
        if (only && streaming.has(only)) streamInputs[key] = only;
      }
    }
    // A source, or a map/filter over a stream: its items flow on lazily, it never runs on its own.
    const deferred = (Boolean(action?.items) || (Boolean(action?.streamsThrough) && Object.keys(streamInputs).length > 0)) && !isLoop;
    if (action?.items && isLoop)
      at([...base, 'forEach'], `${step.uses} yields items itself: drop forEach here, and loop over it in a later step with forEach: "{% $steps.${step.id} %}".`);
    if (action && !action.items && !action.run) at([...base, 'uses'], `${step.uses} cannot run as a step.`);
    if (step.batchSize && !isLoop) at([...base, 'batchSize'], 'only applies to a step with forEach.');
    if (step.concurrency > 1 && !isLoop) at([...base, 'concurrency'], 'only applies to a step with forEach.');

    // References: earlier steps only; $item/$index in loops; $result in output; declared env, secrets, inputs.
    const checkRefs = (template: Template | undefined, field: string, allowed: { item: boolean; result: boolean }): void => {
      if (!template) return;
      for (const expression of expressionsOf(template)) checkExpression(expression, field, allowed);
    };
    const checkExpression = (expression: Expression, field: string, allowed: { item: boolean; result: boolean }): void => {
      for (const ref of expression.references) {
        // JSONata positions point just past the token; the variable starts at its "$".
        const column = expression.offset + Math.max(0, ref.position - (ref.variable.length + 1));
        const complain = (message: string): void => at(expression.path, message, column);
        if (ref.variable === 'steps' && ref.name !== undefined) {
          if (ref.name === step.id) complain(`$steps.${ref.name} is this step itself: a step cannot use its own output. ${STEP_REF_HINT}`);
          else if (!seen.has(ref.name)) {
            const later = file.steps.findIndex((s) => s.id === ref.name);
            complain(later >= 0 ? `$steps.${ref.name} runs later (step ${later + 1}). ${STEP_REF_HINT}` : `no step has the id "${ref.name}". ${STEP_REF_HINT}`);
          } else if (streaming.has(ref.name) && !isStreamPosition(field, expression)) {
            const source = steps.find((s) => s.id === ref.name)?.deferred;
            if (source)
              complain(`$steps.${ref.name} yields items one by one: loop over it with forEach: "{% $steps.${ref.name} %}", or hand it whole to an input that takes a stream (csv.write rows).`);
          }
        }
        if ((ref.variable === 'item' || ref.variable === 'index') && !allowed.item)
          complain(`$${ref.variable} is only defined in a step with forEach (in its with, if and output).`);
        if (ref.variable === 'result' && !allowed.result) complain('$result is only defined in output (the action\'s result).');
        if (ref.variable === 'env' && ref.name !== undefined && !file.env.includes(ref.name))
          complain(`$env.${ref.name} is not declared: add it to the flow's env list (env: [${[...file.env, ref.name].join(', ')}]).`);
        if (ref.variable === 'secrets' && ref.name !== undefined && !file.secrets.includes(ref.name))
          complain(`$secrets.${ref.name} is not declared: add it to the flow's secrets list (secrets: [${[...file.secrets, ref.name].join(', ')}]).`);
        if (ref.variable === 'inputs' && ref.name !== undefined && !(ref.name in file.inputs))
          complain(`$inputs.${ref.name} is not an input of this flow: declare it under inputs (${Object.keys(file.inputs).join(', ') || 'none yet'}).`);
      }
    };
    checkRefs(withT, 'with', { item: isLoop, result: false });
    checkRefs(ifT, 'if', { item: isLoop, result: false });
    checkRefs(forEachT, 'forEach', { item: false, result: false });
    checkRefs(outputT, 'output', { item: isLoop, result: true });
    // A fallback sees the failure as $result.error.
    if (typeof onError === 'object') checkRefs(onError.with, 'onError', { item: isLoop, result: true });

    let streamFrom: string | undefined;
    if (forEachT) {
      const only = onlyStepReference(forEachT);
      if (only && streaming.has(only)) streamFrom = only;
      else if (forEachT.kind === 'literal' && !Array.isArray(forEachT.value))
        at([...base, 'forEach'], 'must be a list, or an expression giving one: forEach: "{% $steps.rows %}".');
    }
    if (action && withT) checkInput(action, withT, streamInputs, [...base, 'with'], at);

    if (action) {
      steps.push({
        id: step.id,
        index,
        ...(step.name ? { name: step.name } : {}),
        uses: step.uses,
        resolved: resolved as ResolvedAction,
        with: withT ?? { kind: 'object', entries: [] },
        ...(ifT ? { if: ifT } : {}),
        ...(forEachT ? { forEach: { template: forEachT, ...(streamFrom ? { streamFrom } : {}) } } : {}),
        concurrency: step.concurrency,
        ...(step.batchSize ? { batchSize: step.batchSize } : {}),
        toleratedFailurePercent: step.toleratedFailurePercent,
        ...(step.retry ? { retry: step.retry } : {}),
        onError,
        ...(step.timeout !== undefined ? { timeoutMs: step.timeout } : {}),
        ...(outputT ? { output: outputT } : {}),
        deferred,
        streamInputs,
        line: lineOf(base),
      });
    }
    seen.set(step.id, index);
    if (deferred || isLoop) streaming.add(step.id);
  }
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  return {
    name: file.name,
    ...(file.description ? { description: file.description } : {}),
    ...(options.file ? { file: options.file } : {}),
    baseDir: options.baseDir ?? process.cwd(),
    source,
    hash,
    trigger,
    triggerTemplates,
    connections: file.connections,
    inputs: file.inputs,
    env: file.env,
    secrets: file.secrets,
    steps,
  };
}

function isStreamPosition(field: string, expression: Expression): boolean {
  return (field === 'forEach' || field === 'with') && /^\s*\$steps\.[A-Za-z][A-Za-z0-9_-]*\s*$/.test(expression.source);
}

/** `X` when the template is `{% $steps.X %}` and nothing else. */
function onlyStepReference(template: Template): string | undefined {
  if (template.kind !== 'expression') return undefined;
  const m = /^\s*\$steps\.([A-Za-z][A-Za-z0-9_-]*)\s*$/.exec(template.expression.source);
  return m?.[1];
}

/**
 * Checks `with` against the action's input schema as far as it is known before the run: unknown
 * fields, missing required fields, and literal values. Values from expressions are checked when
 * the step runs.
 */
function checkInput(
  action: ResolvedAction['action'],
  withT: Template,
  streamInputs: Record<string, string>,
  path: Path,
  at: (path: Path, message: string) => void,
): void {
  const literal = literalOf(withT);
  if (literal) {
    const result = action.input.safeParse(literal.value);
    if (!result.success) for (const issue of result.error.issues) reportIssue(issue, path, at);
    return;
  }
  const shape = objectShape(action.input);
  if (!shape || withT.kind !== 'object') return;
  const given = new Set(withT.entries.map(([k]) => k));
  for (const [key, t] of withT.entries) {
    const field = shape.fields[key];
    if (!field) {
      if (shape.strict) at([...path, key], `${action.id} has no input "${key}"; its inputs are ${Object.keys(shape.fields).join(', ')}.`);
      continue;
    }
    if (key in streamInputs) continue;
    const value = literalOf(t);
    if (value) {
      const result = field.safeParse(value.value);
      if (!result.success) for (const issue of result.error.issues) reportIssue(issue, [...path, key], at);
    }
  }
  for (const [key, field] of Object.entries(shape.fields)) {
    if (!given.has(key) && !field.safeParse(undefined).success) at(path, `is missing the input "${key}" that ${action.id} needs.`);
  }
}

/** The fields of an object schema, through defaults, refinements and pipes. */
function objectShape(schema: z.ZodType): { fields: Record<string, z.ZodType>; strict: boolean } | undefined {
  let s = schema as unknown as { def?: Record<string, unknown>; shape?: Record<string, z.ZodType>; _zod?: { def: Record<string, unknown> } };
  for (let i = 0; i < 8; i++) {
    const def = s._zod?.def;
    if (!def) return undefined;
    if (def.type === 'object') {
      const catchall = def.catchall as { _zod?: { def: { type: string } } } | undefined;
      return { fields: def.shape as Record<string, z.ZodType>, strict: catchall?._zod?.def.type === 'never' };
    }
    const inner = (def.innerType ?? def.in ?? def.schema) as typeof s | undefined;
    if (!inner) return undefined;
    s = inner;
  }
  return undefined;
}

function matchesType(value: unknown, type: InputFile['type']): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
  }
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Coerces `--input k=v` text and checks given inputs against the flow's declarations. */
export function resolveInputs(flow: CompiledFlow, given: Record<string, unknown>): { values: Record<string, unknown>; problems: string[] } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of Object.keys(given)) {
    if (!(key in flow.inputs)) problems.push(`"${key}" is not an input of ${flow.name}; its inputs are ${Object.keys(flow.inputs).join(', ') || 'none'}.`);
  }
  for (const [name, spec] of Object.entries(flow.inputs)) {
    let value = given[name];
    if (value === undefined) value = spec.default;
    if (value === undefined) {
      problems.push(`the input "${name}" is required${spec.description ? ` (${spec.description})` : ''}: give it with --input ${name}=...`);
      continue;
    }
    if (typeof value === 'string' && spec.type !== 'string') value = coerce(value, spec.type);
    if (!matchesType(value, spec.type)) {
      problems.push(`the input "${name}" must be of type ${spec.type}; got ${JSON.stringify(given[name])}.`);
      continue;
    }
    if (spec.enum && !spec.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
      problems.push(`the input "${name}" must be one of ${spec.enum.map((e) => JSON.stringify(e)).join(', ')}.`);
    values[name] = value;
  }
  return { values, problems };
}

function coerce(text: string, type: InputFile['type']): unknown {
  if (type === 'number' || type === 'integer') return text.trim() === '' ? text : Number(text);
  if (type === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
