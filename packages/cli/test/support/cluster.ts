/**
 * Pieces for scale-out tests: `sfx serve` processes whose JSON log lines can be awaited, and an
 * HTTP proxy in front of the DAM server that adds a fixed latency per request (so that items take
 * long enough to be killed mid-way) and records when each request arrived (to measure a rate).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
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

export interface DelayProxy {
  url: string;
  /** Arrival time (ms, performance.now) and method + path of every request, in order. */
  requests: Array<{ at: number; method: string; path: string }>;
  close(): Promise<void>;
}

/** Forwards every request to `target` after `delayMs`, streaming both ways. */
export async function startDelayProxy(target: string, delayMs: number): Promise<DelayProxy> {
  const upstream = new URL(target);
  const requests: DelayProxy['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ at: performance.now(), method: req.method ?? 'GET', path: req.url ?? '/' });
    req.pause();
    setTimeout(() => {
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
        },
      );
      out.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(out);
      req.resume();
    }, delayMs);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
