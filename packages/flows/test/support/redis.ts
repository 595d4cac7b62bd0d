/**
 * A private redis-server for a test: its own random port, nothing written to disk, stopped after.
 * Tests never share a Redis with each other or with anything else on the machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';

export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const candidates = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

export function redisServerPath(): string | undefined {
  return process.env.SFX_REDIS_SERVER ?? candidates.find((p) => existsSync(p));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<TestRedis> {
  const binary = redisServerPath();
  if (!binary) throw new Error('redis-server is not installed: apt-get install redis-server (or set SFX_REDIS_SERVER).');
  // A port found free can be taken before redis binds it: try a few.
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'notice'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ready = await waitReady(child);
    if (ready === true) {
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        stop: () => stop(child),
      };
    }
    if (tries >= 4) throw new Error(`redis-server did not start: ${ready}`);
  }
}

function waitReady(child: ChildProcess): Promise<true | string> {
  return new Promise((resolve) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (/Ready to accept connections/i.test(output)) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(true);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => resolve(`exited with ${code}: ${output.slice(-500)}`));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** A private Redis for the calling test file: started before its tests, stopped after them. */
export function useRedis(): { readonly url: string } {
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);
  afterAll(async () => {
    await redis?.stop();
  });
  return {
    get url(): string {
      if (!redis) throw new Error('useRedis(): the Redis is started in beforeAll; read its url inside a test.');
      return redis.url;
    },
  };
}
