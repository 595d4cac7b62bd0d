/**
 * The JSON a command runs with: `--input JSON`, `--input @file.json` or `--input -` (stdin), then
 * `--set a.b=value` fields over it. Errors name the flag and the fix; they never quote what was
 * given (an input may hold a secret).
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from './errors.js';

/** Reads `--input`/`--config`-style JSON: inline, `@path`, or `-` for stdin. Undefined when not given. */
export async function readJsonOption(
  flag: string,
  value: string | undefined,
  stdin: () => Promise<string> = readStdin,
): Promise<unknown> {
  if (value === undefined) return undefined;
  if (value === '-') {
    const text = await stdin();
    if (text.trim() === '')
      throw new UsageError(`${flag} - read nothing from stdin: pipe the JSON in, e.g. echo '{"folder":"/"}' | sfx run ... ${flag} -`);
    return parseJson(text, `${flag} - (stdin)`);
  }
  if (value.startsWith('@')) {
    const path = value.slice(1);
    if (path === '') throw new UsageError(`${flag} @ needs a file name: ${flag} @input.json.`);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(
        code === 'ENOENT'
          ? `${flag} @${path}: no such file. Give the path of a JSON file, or the JSON itself.`
          : `${flag} @${path}: cannot read it (${code ?? 'error'}).`,
      );
    }
    return parseJson(text, `${flag} @${path}`);
  }
  return parseJson(value, flag);
}

/** JSON.parse with an error that says where, never what (the text may hold a secret). */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    const position = /position (\d+)/.exec(message);
    let at = '';
    if (position) {
      const offset = Number(position[1]);
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      const column = offset - before.lastIndexOf('\n');
      at = ` at line ${line}, column ${column}`;
    } else if (/end of (JSON )?input/i.test(message)) at = ': it ends too early';
    throw new UsageError(
      `${where} is not valid JSON${at}. Quote it for the shell, e.g. --input '{"folder": "/photos"}', or put it in a file: --input @input.json.`,
    );
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Reading JSON from stdin (end with Ctrl-D)...\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

/** `a.b[0].c` as keys and list indexes; throws naming the --set when it is not a field path. */
export function fieldPath(path: string, flag: string): Array<string | number> {
  const bad = (): UsageError =>
    new UsageError(
      `${flag}: "${path}" is not a field path: give names joined by dots (and [n] for list items), e.g. --set meta.title.en=Hero or --set tags[0]=summer.`,
    );
  const parts: Array<string | number> = [];
  for (const segment of path.split('.')) {
    const match = /^([^[\]]+)?((?:\[\d+\])*)$/.exec(segment);
    if (!match || (!match[1] && !match[2])) throw bad();
    if (match[1] !== undefined) {
      if (FORBIDDEN.has(match[1])) throw new UsageError(`${flag}: "${match[1]}" cannot be set.`);
      parts.push(match[1]);
    }
    for (const index of match[2]!.matchAll(/\[(\d+)\]/g)) parts.push(Number(index[1]));
  }
  if (typeof parts[0] !== 'string') throw bad();
  return parts;
}

/** The value of `--set key=value`: JSON when it parses as JSON (numbers, true, [..], {..}, "quoted"), else the text. */
export function setValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Applies `key=value` assignments over `base` (an object, or nothing), creating objects and lists
 * on the way. Returns a new value; `base` is left as it was.
 */
export function applySets(base: unknown, sets: readonly string[]): unknown {
  if (sets.length === 0) return base;
  const root: unknown = base === undefined ? {} : structuredClone(base);
  if (!isObject(root))
    throw new UsageError(
      `--set needs the input to be a JSON object, but --input gave ${describeType(root)}: give an object, or leave --set out.`,
    );
  for (const assignment of sets) {
    const eq = assignment.indexOf('=');
    if (eq <= 0)
      throw new UsageError(
        `--set takes key=value, e.g. --set folder=/photos or --set tags='["a","b"]'; ${eq === 0 ? 'one --set has no key before "="' : 'one --set has no "="'}.`,
      );
    const key = assignment.slice(0, eq);
    const flag = `--set ${key}`;
    const path = fieldPath(key, flag);
    let node: Record<string | number, unknown> = root as Record<string, unknown>;
    for (let depth = 0; depth < path.length - 1; depth += 1) {
      const part = path[depth]!;
      const nextIsIndex = typeof path[depth + 1] === 'number';
      let child = node[part];
      if (child === undefined || child === null) {
        child = nextIsIndex ? [] : {};
        node[part] = child;
      } else if (nextIsIndex ? !Array.isArray(child) : !isObject(child)) {
        const where = path.slice(0, depth + 1).join('.');
        throw new UsageError(
          `${flag}: ${where} is ${describeType(child)} in the input, so it cannot hold ${nextIsIndex ? 'list items' : 'fields'}: set ${where} itself, or fix --input.`,
        );
      }
      node = child as Record<string | number, unknown>;
    }
    const last = path[path.length - 1]!;
    if (typeof last === 'number' && !Array.isArray(node))
      throw new UsageError(`${flag}: [${last}] applies to a list, and ${path.slice(0, -1).join('.')} is not one.`);
    if (typeof last === 'number' && last > (node as unknown as unknown[]).length)
      throw new UsageError(
        `${flag}: the list has ${(node as unknown as unknown[]).length} items, so [${last}] would leave a gap: set [${(node as unknown as unknown[]).length}] next.`,
      );
    node[last] = setValue(assignment.slice(eq + 1));
  }
  return root;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
