/**
 * Stopping one run from its page, over HTTP (fastify inject, the real service and console): the
 * Stop button is on a running run's page only; the POST needs the CSRF token, stops the run
 * (interrupted, resumable) and answers with what happened and the run's body as it is now.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { defaultRegistry, FlowService } from '@sfx/flows';
import { registerConsole } from '../src/index.js';
import { gate, HELD_FLOW, type Gate } from './pages-fixture.js';

const TOKEN = 'tok-runs-stop-5821';
let dir: string;
let held: Gate;
let service: FlowService;
let app: FastifyInstance;
let session: { cookie: string; csrf: string };

beforeAll(async () => {
  held = await gate();
  dir = await mkdtemp(join(tmpdir(), 'sfx-console-stop-'));
  await writeFile(join(dir, 'held.yaml'), HELD_FLOW);
  service = new FlowService({
    flowsDir: dir,
    journal: join(dir, 'runs.db'),
    registry: defaultRegistry(),
    port: 0,
    // The held request is cut off soon after the stop: the test does not wait the default 10 s.
    graceMs: 200,
    write: () => undefined,
    http: async (fastify, svc) => {
      app = fastify;
      await registerConsole(fastify, { service: svc, connections: { list: async () => [], open: () => Promise.reject(new Error('none')) }, token: TOKEN });
    },
  });
  await service.start();
  const login = await app.inject({ method: 'GET', url: `/ui/login?token=${TOKEN}` });
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  const page = await app.inject({ method: 'GET', url: '/ui/runs', headers: { cookie } });
  session = { cookie, csrf: /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)![1]! };
});

afterAll(async () => {
  await held?.close();
  await service?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function get(url: string) {
  return app.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
}

function post(url: string, options: { csrf?: boolean; hx?: boolean } = {}) {
  return app.inject({
    method: 'POST',
    url,
    headers: {
      cookie: session.cookie,
      'content-type': 'application/x-www-form-urlencoded',
      ...(options.csrf === false ? {} : { 'x-csrf-token': session.csrf }),
      ...(options.hx === false ? {} : { 'hx-request': 'true' }),
    },
    payload: '',
  });
}

async function heldRun(): Promise<string> {
  const before = held.requests;
  const runId = await service.startManualRun('held', { url: held.url });
  await expect.poll(() => held.requests, { timeout: 20_000 }).toBeGreaterThan(before);
  return runId;
}

describe('Stop on a run page', () => {
  it('is shown while the run runs; needs the CSRF token; stops the run, which can then be resumed', async () => {
    const runId = await heldRun();
    const stopForm = `action="/ui/runs/${runId}/stop"`;
    const running = await get(`/ui/runs/${runId}`);
    expect(running.body).toContain(stopForm);
    expect(running.body).toMatch(/<button type="submit">Stop run<\/button>/);
    // Where the answer goes stays put while live updates replace the run's body.
    expect(running.body).toMatch(/<\/div>\s*<div id="run-actions-result" aria-live="polite"><\/div>/);

    const forged = await post(`/ui/runs/${runId}/stop`, { csrf: false });
    expect(forged.statusCode).toBe(403);
    expect(service.isRunLive(runId)).toBe(true);

    const stopped = await post(`/ui/runs/${runId}/stop`);
    expect(stopped.statusCode).toBe(200);
    expect(stopped.body).toContain('Stopped: the run is interrupted; Resume goes on from where it stopped.');
    expect(stopped.body).toContain('<div id="run" hx-swap-oob="innerHTML">');
    expect(stopped.body).toContain('badge-interrupted');
    expect(stopped.body).not.toContain(stopForm);
    expect(service.isRunLive(runId)).toBe(false);
    const detail = await service.runDetail(runId);
    expect(detail.run.status).toBe('interrupted');
    expect(detail.steps[0]).toMatchObject({ id: 'wait', status: 'running' });

    const after = await get(`/ui/runs/${runId}`);
    expect(after.body).toContain('badge-interrupted');
    expect(after.body).not.toContain(stopForm);
    expect(after.body).toContain(`/ui/runs/${runId}/resume`);
    const again = await post(`/ui/runs/${runId}/stop`);
    expect(again.body).toContain('role="alert"');
    expect(again.body).toContain(`run ${runId} is not running: it was interrupted.`);

    held.release();
    const resumed = await post(`/ui/runs/${runId}/resume`);
    expect(resumed.statusCode).toBe(204);
    // The request was cut off mid-way and http.request is not idempotent: the resume says so
    // rather than sending it again, and Retry sends it once it has been checked.
    await expect.poll(async () => (await service.runDetail(runId)).run.status, { timeout: 20_000 }).toBe('failed');
    await expect.poll(() => service.isRunLive(runId)).toBe(false);
    expect((await service.runDetail(runId)).run.error?.message).toContain('outcome is unknown');
    expect((await post(`/ui/runs/${runId}/retry`)).statusCode).toBe(204);
    await expect.poll(async () => (await service.runDetail(runId)).run.status, { timeout: 20_000 }).toBe('succeeded');
    await expect.poll(() => service.isRunLive(runId)).toBe(false);
    const done = await get(`/ui/runs/${runId}`);
    expect(done.body).toContain('badge-succeeded');
    expect(done.body).not.toContain(stopForm);
    held.hold();
  });

  it('without htmx, redirects to the run page; an unknown run is a 404', async () => {
    const runId = await heldRun();
    const stopped = await post(`/ui/runs/${runId}/stop`, { hx: false });
    expect(stopped.statusCode).toBe(303);
    expect(stopped.headers.location).toBe(`/ui/runs/${runId}`);
    expect((await service.runDetail(runId)).run.status).toBe('interrupted');
    const unknown = await post('/ui/runs/r-nope/stop', { hx: false });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('no run has the id');
  });
});
