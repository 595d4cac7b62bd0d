/**
 * A FlowService over a throwaway flows folder, with a test connector whose actions record what
 * they were given and can be held until released, a manual clock and the log lines kept.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import {
  ActionRegistry,
  defineStepAction,
  FlowService,
  ManualClock,
  type BuiltinConnector,
  type FlowServiceOptions,
} from '../src/index.js';

/** Every `t.record` call's value, in order. */
export const recorded: unknown[] = [];
/** Held `t.hold` calls wait until this is resolved (replace it to hold again). */
export const gate = { release: () => {}, wait: Promise.resolve() };

export function holdRuns(): void {
  let release!: () => void;
  gate.wait = new Promise<void>((resolve) => (release = resolve));
  gate.release = release;
}

const t: BuiltinConnector = {
  name: 't',
  description: 'test actions',
  actions: [
    defineStepAction({
      id: 'record',
      title: 'record',
      description: 'keeps its value',
      input: z.strictObject({ value: z.unknown() }),
      kind: 'write',
      idempotent: true,
      async run(_ctx, input) {
        recorded.push(input.value);
        return { value: input.value };
      },
    }),
    defineStepAction({
      id: 'hold',
      title: 'hold',
      description: 'waits for the gate, or the run to be cancelled',
      input: z.strictObject({}),
      kind: 'write',
      idempotent: true,
      async run(ctx) {
        await new Promise<void>((resolve, reject) => {
          void gate.wait.then(resolve);
          ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        });
        return { held: true };
      },
    }),
  ],
};

export const registry = new ActionRegistry([t]);

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface Fixture {
  dir: string;
  journal: string;
  clock: ManualClock;
  logs: LogLine[];
  write(name: string, yaml: string): Promise<void>;
  start(options?: Partial<FlowServiceOptions>): Promise<FlowService>;
  close(): Promise<void>;
}

export async function fixture(name: string, startAt: string): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), `sfx-${name}-`));
  const services: FlowService[] = [];
  const logs: LogLine[] = [];
  const clock = new ManualClock(Date.parse(startAt));
  const journal = join(dir, 'journal', 'runs.db');
  return {
    dir,
    journal,
    clock,
    logs,
    write: (file, yaml) => writeFile(join(dir, file), yaml),
    async start(options = {}) {
      const service = new FlowService({
        flowsDir: dir,
        journal,
        registry,
        clock,
        logLevel: 'debug',
        write: (line) => logs.push(JSON.parse(line) as LogLine),
        ...options,
      });
      services.push(service);
      await service.start();
      return service;
    },
    async close() {
      gate.release();
      await Promise.all(services.map((s) => s.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
