import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { StepAction, StepContext } from '../step-action.js';
import { getBuiltin } from './index.js';

export interface LogLine {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

export function makeContext(baseDir: string, signal = new AbortController().signal): StepContext & { logs: LogLine[] } {
  const logs: LogLine[] = [];
  return { signal, idempotencyKey: 'run1:step1:0', baseDir, logs, log: (level, message, fields) => logs.push({ level, message, fields }) };
}

/** A fresh temp folder for each test (`dirs.current`), removed afterwards. */
export function useTempDir(): { current: string } {
  const holder = { current: '' };
  beforeEach(async () => {
    holder.current = await mkdtemp(path.join(tmpdir(), 'sfx-builtins-'));
  });
  afterEach(async () => {
    await rm(holder.current, { recursive: true, force: true });
  });
  return holder;
}

export function action(connector: string, id: string): StepAction {
  const a = getBuiltin(connector, id);
  if (!a) throw new Error(`no built-in ${connector}.${id}`);
  return a;
}

/** As the engine does: validate `with` against the schema, then run. */
export async function runAction(ctx: StepContext, connector: string, id: string, input: unknown): Promise<unknown> {
  const a = action(connector, id);
  return a.run!(ctx, a.input.parse(input));
}

export async function collectItems(
  ctx: StepContext,
  connector: string,
  id: string,
  input: unknown,
  after?: string,
): Promise<{ item: unknown; cursor: string }[]> {
  const a = action(connector, id);
  const out: { item: unknown; cursor: string }[] = [];
  for await (const x of a.items!(ctx, a.input.parse(input), after)) out.push(x);
  return out;
}
