/**
 * `{% ... %}` templates: JSONata inside a value (the AWS Step Functions convention). A string
 * that is one expression and nothing else evaluates to the expression's value, of any type; an
 * expression inside other text is written into it as text. Expressions are compiled once, when the
 * flow is loaded.
 */
import jsonata from 'jsonata';

/** The variables a flow's expressions see (the `$` names), and `$result` in `output`. */
export const FLOW_VARIABLES = ['inputs', 'trigger', 'steps', 'item', 'index', 'env', 'secrets', 'result'] as const;
export type FlowVariable = (typeof FLOW_VARIABLES)[number];

/** A use of a flow variable: `$steps.upload` is `{ variable: 'steps', name: 'upload' }`. */
export interface Reference {
  variable: FlowVariable;
  name?: string;
  /** Offset in the expression's source. */
  position: number;
}

export interface Expression {
  source: string;
  /** Where it was written: keys and indexes from the template's root. */
  path: Array<string | number>;
  /** Offset of `source` in the string it was written in (for columns in errors). */
  offset: number;
  references: Reference[];
  evaluate(scope: Scope): Promise<unknown>;
}

export type Scope = Partial<Record<FlowVariable, unknown>>;

export type Template =
  | { kind: 'literal'; value: unknown }
  | { kind: 'expression'; expression: Expression }
  | { kind: 'text'; parts: Array<string | Expression> }
  | { kind: 'object'; entries: Array<[string, Template]> }
  | { kind: 'array'; items: Template[] };

export class ExpressionError extends Error {
  constructor(
    message: string,
    /** Where in the value: keys and indexes from the template's root. */
    readonly path: Array<string | number>,
    /** Offset in the string at `path`, when known. */
    readonly offset?: number,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

const OPEN = '{%';
const CLOSE = '%}';

function collectReferences(node: unknown, into: Reference[]): void {
  if (Array.isArray(node)) {
    for (const n of node) collectReferences(n, into);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const n = node as { type?: string; value?: unknown; steps?: unknown[]; position?: number };
  if (n.type === 'path' && Array.isArray(n.steps)) {
    const [first, second] = n.steps as Array<{ type?: string; value?: unknown; position?: number }>;
    if (first?.type === 'variable' && isFlowVariable(first.value)) {
      into.push({
        variable: first.value,
        ...(second?.type === 'name' && typeof second.value === 'string' ? { name: second.value } : {}),
        position: first.position ?? 0,
      });
      // The rest of the path (filters, later steps) may hold more references.
      for (const [key, value] of Object.entries(first)) if (key !== 'value') collectReferences(value, into);
      collectReferences(n.steps.slice(1), into);
      return;
    }
  }
  if (n.type === 'variable' && isFlowVariable(n.value)) into.push({ variable: n.value, position: n.position ?? 0 });
  for (const [key, value] of Object.entries(n)) if (key !== 'value' || typeof value === 'object') collectReferences(value, into);
}

function isFlowVariable(value: unknown): value is FlowVariable {
  return typeof value === 'string' && (FLOW_VARIABLES as readonly string[]).includes(value);
}

/** Compiles one JSONata expression; `path` and `offset` say where it was written, for errors. */
export function compileExpression(source: string, path: Array<string | number> = [], offset = 0): Expression {
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(source);
  } catch (error) {
    const e = error as { message?: string; position?: number; token?: string };
    const at = typeof e.position === 'number' ? Math.max(0, e.position - 1) : 0;
    throw new ExpressionError(`invalid JSONata: ${e.message ?? String(error)}`, path, offset + at);
  }
  const references: Reference[] = [];
  collectReferences(compiled.ast(), references);
  return {
    source,
    path,
    offset,
    references,
    async evaluate(scope) {
      try {
        return await compiled.evaluate({}, scope as Record<string, unknown>);
      } catch (error) {
        const e = error as { message?: string; code?: string };
        throw new ExpressionError(`the expression {% ${source.trim()} %} failed: ${e.message ?? String(error)}`, path, offset);
      }
    },
  };
}

/** Compiles every `{% %}` in a value from the flow file (strings, objects and arrays within). */
export function compileTemplate(value: unknown, path: Array<string | number> = []): Template {
  if (typeof value === 'string') return compileString(value, path);
  if (Array.isArray(value)) return { kind: 'array', items: value.map((v, i) => compileTemplate(v, [...path, i])) };
  if (typeof value === 'object' && value !== null) {
    return { kind: 'object', entries: Object.entries(value).map(([k, v]) => [k, compileTemplate(v, [...path, k])]) };
  }
  return { kind: 'literal', value };
}

function compileString(text: string, path: Array<string | number>): Template {
  if (!text.includes(OPEN)) return { kind: 'literal', value: text };
  const parts: Array<string | Expression> = [];
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf(OPEN, at);
    if (open < 0) {
      parts.push(text.slice(at));
      break;
    }
    if (open > at) parts.push(text.slice(at, open));
    const close = text.indexOf(CLOSE, open + OPEN.length);
    if (close < 0) throw new ExpressionError('"{%" is not closed: end the expression with "%}".', path, open);
    const source = text.slice(open + OPEN.length, close);
    if (source.trim() === '') throw new ExpressionError('"{% %}" is empty: write a JSONata expression inside.', path, open);
    parts.push(compileExpression(source, path, open + OPEN.length));
    at = close + CLOSE.length;
  }
  if (parts.length === 1 && typeof parts[0] !== 'string') return { kind: 'expression', expression: parts[0]! };
  return { kind: 'text', parts };
}

/** Every expression in a template, depth first. */
export function expressionsOf(template: Template): Expression[] {
  switch (template.kind) {
    case 'literal':
      return [];
    case 'expression':
      return [template.expression];
    case 'text':
      return template.parts.filter((p): p is Expression => typeof p !== 'string');
    case 'object':
      return template.entries.flatMap(([, t]) => expressionsOf(t));
    case 'array':
      return template.items.flatMap((t) => expressionsOf(t));
  }
}

/** The template's value when it holds no expression; `undefined` (unknown yet) otherwise. */
export function literalOf(template: Template): { value: unknown } | undefined {
  switch (template.kind) {
    case 'literal':
      return { value: template.value };
    case 'expression':
    case 'text':
      return undefined;
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, t] of template.entries) {
        const v = literalOf(t);
        if (!v) return undefined;
        out[k] = v.value;
      }
      return { value: out };
    }
    case 'array': {
      const out: unknown[] = [];
      for (const t of template.items) {
        const v = literalOf(t);
        if (!v) return undefined;
        out.push(v.value);
      }
      return { value: out };
    }
  }
}

export async function evaluateTemplate(template: Template, scope: Scope): Promise<unknown> {
  switch (template.kind) {
    case 'literal':
      return template.value;
    case 'expression':
      return template.expression.evaluate(scope);
    case 'text': {
      let out = '';
      for (const part of template.parts) {
        if (typeof part === 'string') out += part;
        else out += asText(await part.evaluate(scope));
      }
      return out;
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, t] of template.entries) {
        const v = await evaluateTemplate(t, scope);
        // An expression with no value (a missing field) leaves the key out, as JSONata does.
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
    case 'array': {
      const out: unknown[] = [];
      for (const t of template.items) out.push(await evaluateTemplate(t, scope));
      return out;
    }
  }
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
