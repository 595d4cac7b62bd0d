import jsonata from 'jsonata';
import { BuiltinError } from './errors.js';

export type Compiled = jsonata.Expression;

/** Compiles a JSONata expression once per action call; a syntax error names the field and position. */
export function compile(actionId: string, field: string, text: string): Compiled {
  try {
    return jsonata(text);
  } catch (err) {
    const e = err as { message?: string; position?: number };
    const at = typeof e.position === 'number' ? ` at character ${e.position}` : '';
    throw new BuiltinError('EXPRESSION_ERROR', `${actionId}: ${field} is not a valid JSONata expression${at}: ${e.message ?? String(err)}.`, 'Write it without {% %}: the action evaluates it.');
  }
}

export async function evaluate(actionId: string, field: string, expression: Compiled, input: unknown, bindings?: Record<string, unknown>): Promise<unknown> {
  try {
    return await expression.evaluate(input, bindings);
  } catch (err) {
    const e = err as { message?: string; position?: number };
    const at = typeof e.position === 'number' ? ` at character ${e.position}` : '';
    throw new BuiltinError('EXPRESSION_ERROR', `${actionId}: evaluating ${field} failed${at}: ${e.message ?? String(err)}.`);
  }
}

/** JSONata's `$boolean`: what `filter` keeps. */
export function truthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === '' || value === 0) return false;
  if (typeof value === 'number') return !Number.isNaN(value);
  if (Array.isArray(value)) return value.some(truthy);
  if (typeof value === 'function') return false;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** A JSONata sequence of one is a bare value and an empty one undefined; lists are what callers want. */
export function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
