/**
 * Pieces for scale-out tests: `sfx serve` processes whose JSON log lines can be awaited, and an
 * HTTP proxy in front of the DAM server that adds a fixed latency per request (so that items take
 * long enough to be killed mid-way) and records when each request arrived (to measure a rate).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/sfx.js');

export interface LogLine {
  msg: string;
  [field: string]: unknown;
}

export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  logs: LogLine[];
  stderr(): string;
  /** Resolves with the first log line (from the start) that passes `test`. */
  logged(what: string, test: (l: LogLine) => boolean): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill9(): Promise<void>;
}

export function spawnServe(args: string[], env: NodeJS.ProcessEnv): ServeProcess {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  let stderr = '';
  let partial = '';
  const waiters: Array<() => void> = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
    }
    wake();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('close', (code, signal) => {
      done({ code, signal });
      wake();
    }),
  );
  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    async logged(what, test) {
      for (;;) {
        const found = logs.find(test);
        if (found) return found;
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`sfx serve ${args.join(' ')} exited before ${what}:\n${stderr}\n${JSON.stringify(logs.slice(-20))}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export { startDelayProxy, type DelayProxy } from '../../../../bench/lib/delay-proxy.mjs';
