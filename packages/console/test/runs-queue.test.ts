/**
 * The Runs page of a service whose loop items go through a queue (sfx serve --queue) shows the
 * queue's counts at the top, read from a real (private) Redis; a service without a queue shows
 * no such panel. Over HTTP (fastify inject), through the real service and console.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { defaultRegistry, FlowService, ItemQueue, type FlowServiceOptions } from '@sfx/flows';
import { registerConsole } from '../src/index.js';
import { startRedis, type TestRedis } from '../../flows/test/support/redis.js';

const TOKEN = 'tok-runs-queue-4471';
let redis: TestRedis;
let dir: string;

beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'sfx-console-queue-'));
});
afterAll(async () => {
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A service with the console mounted, and a logged-in GET. */
async function start(name: string, extra: Partial<FlowServiceOptions>): Promise<{ get: (url: string) => Promise<string>; stop: () => Promise<void> }> {
  let app: FastifyInstance | undefined;
  const service = new FlowService({
    flowsDir: dir,
    journal: join(dir, `${name}.db`),
    registry: defaultRegistry(),
    port: 0,
    write: () => undefined,
    http: async (fastify, svc) => {
      app = fastify;
      await registerConsole(fastify, { service: svc, connections: { list: async () => [], open: () => Promise.reject(new Error('none')) }, token: TOKEN });
    },
    ...extra,
  });
  await service.start();
  const login = await app!.inject({ method: 'GET', url: `/ui/login?token=${TOKEN}` });
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  return {
    async get(url) {
      const res = await app!.inject({ method: 'GET', url, headers: { cookie } });
      expect(res.statusCode).toBe(200);
      return res.body;
    },
    stop: () => service.stop(),
  };
}

describe('the Runs page and the item queue', () => {
  it('shows the queue counts (waiting, in flight, to retry, failed) when the service has a queue', async () => {
    const name = 'console-panel';
    // Two jobs no worker takes: the service is a coordinator only.
    const sender = new ItemQueue({ url: redis.url, name });
    const job = (index: number) => ({ runId: 'r-none', step: 'each', index, key: `r-none:each:${index}`, item: index, unknown: false, seenAttempts: 0 });
    await sender.queue.add('item', job(0), { jobId: 'r-none%3Aeach%3A0' });
    await sender.queue.add('item', job(1), { jobId: 'r-none%3Aeach%3A1' });
    await sender.close();
    const service = await start('with-queue', { queue: { url: redis.url, name }, role: 'coordinator' });
    try {
      const page = await service.get('/ui/runs');
      const panel = /<section class="notice queue-panel"[\s\S]*?<\/section>/.exec(page)?.[0];
      expect(panel).toBeDefined();
      expect(panel).toContain('Item queue');
      const counts = Object.fromEntries([...panel!.matchAll(/<dd data-count="(\w+)">([^<]*)<\/dd>/g)].map((m) => [m[1], m[2]]));
      expect(counts).toEqual({ waiting: '2', active: '0', delayed: '0', failed: '0' });
      // At the top: before the filters and the runs.
      expect(page.indexOf('queue-panel')).toBeLessThan(page.indexOf('class="filters"'));
      expect(page).not.toContain(redis.url);
    } finally {
      await service.stop();
    }
  });

  it('shows no queue panel when the service runs its items itself', async () => {
    const service = await start('no-queue', {});
    try {
      const page = await service.get('/ui/runs');
      expect(page).toContain('<h1>Runs</h1>');
      expect(page).not.toContain('queue-panel');
      expect(page).not.toContain('Item queue');
    } finally {
      await service.stop();
    }
  });
});
