import type { z } from 'zod';

/** One problem with a value: where it is (`source.path`, `items[2].url`) and what to do about it. */
export interface Problem {
  path: string;
  message: string;
}

/** A connection that cannot be used as given; `problems` names each field and its fix. */
export class InvalidConnectionError extends Error {
  override name = 'InvalidConnectionError';
  constructor(readonly problems: Problem[]) {
    super(`The connection is not valid:\n${listProblems(problems)}`);
  }
}

/** An action was given input it cannot run with. Thrown before any request is sent. */
export class ActionInputError extends Error {
  override name = 'ActionInputError';
  constructor(
    readonly actionId: string,
    readonly problems: Problem[],
  ) {
    super(`Invalid input for action "${actionId}":\n${listProblems(problems)}`);
  }
}

/**
 * An action produced output that does not match its declared schema: the API replied in a shape
 * the connector does not expect (a contract change), never a caller's mistake.
 */
export class ActionOutputError extends Error {
  override name = 'ActionOutputError';
  constructor(
    readonly actionId: string,
    readonly problems: Problem[],
  ) {
    super(
      `Action "${actionId}" got a reply it cannot describe with its output schema (has the API changed?):\n${listProblems(problems)}`,
    );
  }
}

function listProblems(problems: Problem[]): string {
  return problems.map((p) => `  - ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n');
}

// zod's own messages say what is wrong but not what to do; ours (given with `error:`) say both.
const ZOD_DEFAULT = /^(Invalid input|Invalid option|Too small|Too big|Unrecognized key|Invalid string|Invalid |Expected )/;

/** Turns zod issues into problems whose message says the fix. Values are never quoted: they may be secrets. */
export function problemsOf(issues: readonly z.core.$ZodIssue[], prefix = ''): Problem[] {
  return issues.flatMap((issue) => describe(issue, prefix));
}

function describe(issue: z.core.$ZodIssue, prefix: string): Problem[] {
  const path = joinPath(prefix, issue.path);
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // The branch with the fewest problems is the one the caller most likely meant.
    const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
    const inner = problemsOf(closest, path);
    if (inner.length > 0 && closest.length > 0) return inner;
  }
  if (!ZOD_DEFAULT.test(issue.message)) return [{ path, message: issue.message }];
  return [{ path, message: fixFor(issue) }];
}

function fixFor(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return /received undefined/.test(issue.message)
        ? `is required: give ${article(issue.expected)}.`
        : `must be ${article(issue.expected)}.`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}.`;
    case 'too_small':
      return issue.origin === 'string'
        ? Number(issue.minimum) <= 1
          ? 'must not be empty.'
          : `must be at least ${issue.minimum} characters long.`
        : issue.origin === 'array' || issue.origin === 'set'
          ? `needs at least ${issue.minimum} item${Number(issue.minimum) === 1 ? '' : 's'}.`
          : `must be ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}.`;
    case 'too_big':
      return issue.origin === 'string'
        ? `must be at most ${issue.maximum} characters long.`
        : issue.origin === 'array' || issue.origin === 'set'
          ? `takes at most ${issue.maximum} items; split the work into several calls.`
          : `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}.`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: remove ${issue.keys.length > 1 ? 'them' : 'it'} or check the spelling.`;
    case 'invalid_format':
      return `is not a valid ${issue.format}.`;
    case 'invalid_union':
      return 'matches none of the accepted forms; see the input schema.';
    default:
      return issue.message;
  }
}

function article(type: string): string {
  if (type === 'array') return 'a list';
  if (type === 'object') return 'an object';
  if (type === 'int') return 'a whole number';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}
