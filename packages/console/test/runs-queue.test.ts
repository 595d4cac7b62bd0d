/**
 * The Runs page of a service whose loop items go through a queue (sfx serve --queue) shows the
 * queue's counts at the top, read from a real (private) Redis; a service without a queue shows
 * no such panel. The panel re-reads itself from a fragment route while the page is open: each GET
 * answers the counts of that moment, behind the session like every route. Over HTTP (fastify
 * inject), through the real service and console.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { defaultRegistry, FlowService, ItemQueue, type FlowServiceOptions } from '@sfx/flows';
import { registerConsole } from '../src/index.js';
import { redisServerPath, startRedis, type TestRedis } from '../../flows/test/support/redis.js';

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
async function start(
  name: string,
  extra: Partial<FlowServiceOptions>,
): Promise<{ get: (url: string) => Promise<string>; anonymous: (url: string, headers?: Record<string, string>) => Promise<LightMyRequestResponse>; stop: () => Promise<void> }> {
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
    anonymous: (url, headers = {}) => app!.inject({ method: 'GET', url, headers }),
    stop: () => service.stop(),
  };
}

/** A redis-server on a port given (the one a stopped test Redis had), stopped after. */
async function redisOnPort(port: number): Promise<{ stop: () => Promise<void> }> {
  const child = spawn(redisServerPath()!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** The counts the panel shows, by their data-count name. */
function countsOf(panel: string): Record<string, string> {
  return Object.fromEntries([...panel.matchAll(/<dd data-count="(\w+)">([^<]*)<\/dd>/g)].map((m) => [m[1]!, m[2]!]));
}

const job = (runId: string, index: number) => ({ runId, step: 'each', index, key: `${runId}:each:${index}`, item: index, unknown: false, seenAttempts: 0 });

describe('the Runs page and the item queue', () => {
  it('shows the queue counts (waiting, in flight, to retry, failed) when the service has a queue', async () => {
    const name = 'console-panel';
    // Two jobs no worker takes: the service is a coordinator only.
    const sender = new ItemQueue({ url: redis.url, name });
    await sender.queue.add('item', job('r-none', 0), { jobId: 'r-none%3Aeach%3A0' });
    await sender.queue.add('item', job('r-none', 1), { jobId: 'r-none%3Aeach%3A1' });
    await sender.close();
    const service = await start('with-queue', { queue: { url: redis.url, name }, role: 'coordinator' });
    try {
      const page = await service.get('/ui/runs');
      const panel = /<section class="notice queue-panel"[\s\S]*?<\/section>/.exec(page)?.[0];
      expect(panel).toBeDefined();
      expect(panel).toContain('Item queue');
      expect(countsOf(panel!)).toEqual({ waiting: '2', active: '0', delayed: '0', failed: '0' });
      // At the top: before the filters and the runs.
      expect(page.indexOf('queue-panel')).toBeLessThan(page.indexOf('class="filters"'));
      expect(page).not.toContain(redis.url);
    } finally {
      await service.stop();
    }
  });

  it('refreshes the panel while the page is open: its fragment answers the counts of each moment, to a session only', async () => {
    const name = 'console-live';
    const sender = new ItemQueue({ url: redis.url, name });
    const service = await start('live-queue', { queue: { url: redis.url, name }, role: 'coordinator' });
    try {
      // The page's panel asks for its own fragment, and replaces itself with it.
      const page = await service.get('/ui/runs');
      const opening = /<section class="notice queue-panel"[^>]*>/.exec(page)?.[0];
      expect(opening).toContain('hx-get="/ui/runs/queue"');
      expect(opening).toContain('hx-trigger="every 2s"');
      expect(opening).toContain('hx-swap="outerHTML"');
      // Counts that change at every poll are not announced.
      expect(opening).not.toContain('aria-live');

      const before = await service.get('/ui/runs/queue');
      expect(before).toMatch(/^<section class="notice queue-panel"[^>]* hx-get="\/ui\/runs\/queue"/);
      expect(countsOf(before)).toEqual({ waiting: '0', active: '0', delayed: '0', failed: '0' });
      await sender.queue.add('item', job('r-live', 0), { jobId: 'r-live%3Aeach%3A0' });
      await sender.queue.add('item', job('r-live', 1), { jobId: 'r-live%3Aeach%3A1' });
      await sender.queue.add('item', job('r-live', 2), { jobId: 'r-live%3Aeach%3A2', delay: 60_000 });
      const after = await service.get('/ui/runs/queue');
      expect(countsOf(after)).toEqual({ waiting: '2', active: '0', delayed: '1', failed: '0' });
      expect(after).not.toContain(redis.url);

      // Without a session: sent to the login like every page, and htmx is told to load it.
      const plain = await service.anonymous('/ui/runs/queue');
      expect(plain.statusCode).toBe(303);
      expect(plain.headers.location).toBe('/ui/login?next=%2Fui%2Fruns%2Fqueue');
      const polled = await service.anonymous('/ui/runs/queue', { 'hx-request': 'true' });
      expect(polled.statusCode).toBe(401);
      expect(polled.headers['hx-redirect']).toBe('/ui/login?next=%2Fui%2Fruns%2Fqueue');
      expect(polled.body).not.toContain('data-count');
    } finally {
      await sender.close();
      await service.stop();
    }
  });

  it('keeps polling in the error state while the Redis does not answer, and shows the counts again once it does', async () => {
    const own = await startRedis();
    const name = 'console-down';
    const service = await start('down-queue', { queue: { url: own.url, name }, role: 'coordinator' });
    let restarted: { stop: () => Promise<void> } | undefined;
    try {
      expect(countsOf(await service.get('/ui/runs/queue'))).toEqual({ waiting: '0', active: '0', delayed: '0', failed: '0' });
      await own.stop();
      const down = await service.get('/ui/runs/queue');
      expect(down).toMatch(/^<section class="notice error queue-panel"[^>]* hx-get="\/ui\/runs\/queue" hx-trigger="every 2s"/);
      expect(down).toContain("The queue's counts cannot be read");
      expect(down).not.toContain(own.url);
      // The same Redis back on its port: the next polls show the counts again.
      restarted = await redisOnPort(own.port);
      let back = '';
      for (let tries = 0; tries < 100 && !back.includes('data-count'); tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        back = await service.get('/ui/runs/queue');
      }
      expect(countsOf(back)).toEqual({ waiting: '0', active: '0', delayed: '0', failed: '0' });
    } finally {
      // Stopped while its Redis answers: a queue closing without one waits for it.
      await service.stop();
      await restarted?.stop();
    }
  });

  it('shows no queue panel when the service runs its items itself, and its fragment is empty (a poll would remove the panel)', async () => {
    const service = await start('no-queue', {});
    try {
      const page = await service.get('/ui/runs');
      expect(page).toContain('<h1>Runs</h1>');
      expect(page).not.toContain('queue-panel');
      expect(page).not.toContain('Item queue');
      expect(page).not.toContain('/ui/runs/queue');
      expect(await service.get('/ui/runs/queue')).toBe('');
    } finally {
      await service.stop();
    }
  });
});
