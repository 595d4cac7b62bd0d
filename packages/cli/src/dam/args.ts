/**
 * Small pieces the write commands share: `k=v` metadata flags, repeatable options, an error as one
 * short reason, Ctrl-C as an abort, and a yes/no question on the terminal.
 */
import { createInterface } from 'node:readline/promises';
import { APIError, type FileObject, type Meta, type MetaValue } from '@sfx/client';
import { CliError, EXIT_INTERRUPTED, UsageError } from '../errors.js';
import { setValue } from '../input.js';

/** commander collector for a flag given several times. */
export function repeatable(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `key=value` pairs into metadata; a value that parses as JSON (5, true, ["a"], {"en":"x"}) is kept as JSON. */
export function parseMetaPairs(pairs: readonly string[], flag: string): Meta {
  const meta: Meta = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new UsageError(`${flag} takes key=value (e.g. ${flag} color=red or ${flag} 'sizes=["S","M"]'), got ${JSON.stringify(pair)}.`);
    meta[pair.slice(0, eq).trim()] = setValue(pair.slice(eq + 1)) as MetaValue;
  }
  return meta;
}

/** Tag labels from `--tag` (each may also be comma-separated), trimmed, without empties or repeats. */
export function parseTags(values: readonly string[]): string[] {
  const labels = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return [...new Map(labels.map((l) => [l.toLowerCase(), l])).values()];
}

/** Every tag label an asset has, in any language. */
export function tagLabels(file: FileObject): string[] {
  const tags = (file.tags ?? {}) as Record<string, Array<{ label: string }>>;
  return [...new Set(Object.values(tags).flatMap((list) => list.map((t) => t.label)))];
}

/** The API's own words for a failure (code, message and hint), else the error's message. */
export function reasonOf(error: unknown): string {
  if (error instanceof APIError && (error.msg || error.code)) {
    const what = [error.code, error.msg].filter(Boolean).join(': ');
    return error.hint ? `${what} ${error.hint}` : what;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A metadata value as one line: text as is, anything else as JSON. */
export function showValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number >= 1, got ${JSON.stringify(value)}.`);
    return n;
  };
}

/**
 * Runs `work` with a signal that Ctrl-C aborts; a second Ctrl-C exits at once. An interrupted run
 * ends with exit 130.
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    process.stderr.write('\ninterrupted: stopping (Ctrl-C again to quit at once)\n');
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await work(controller.signal);
    if (controller.signal.aborted) throw new CliError('interrupted.', EXIT_INTERRUPTED);
    return result;
  } catch (error) {
    if (controller.signal.aborted) throw new CliError('interrupted.', EXIT_INTERRUPTED);
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Asks on the terminal; anything but y/yes is a no. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
