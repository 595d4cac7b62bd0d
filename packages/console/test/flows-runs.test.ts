/**
 * The Flows and Runs pages over HTTP (the real service and console, fastify inject and a real
 * socket for server-sent events): CSRF on every write, the schedule switch, the YAML check and
 * save, Run now with inputs, live progress, filters, retry of failed items.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRegistry, loadFlow } from '@sfx/flows';
import { startStack, type Stack } from './e2e/harness.js';
import { flowFiles, gate, HELD_FLOW, NIGHTLY_FLOW, type Gate } from './pages-fixture.js';

let stack: Stack;
let held: Gate;
let session: { cookie: string; csrf: string };

const BROKEN = 'name: broken\nsteps:\n  - id: a\n    uses: log.infoo\n    with: { message: hi }\n';

beforeAll(async () => {
  held = await gate();
  stack = await startStack({ token: 'tok-flows-runs-123', flows: await flowFiles({ 'held.yaml': HELD_FLOW, 'nightly.yaml': NIGHTLY_FLOW }) });
  const res = await stack.app.inject({ method: 'GET', url: '/ui/login?token=tok-flows-runs-123' });
  const cookie = String(res.headers['set-cookie']).split(';')[0]!;
  const page = await stack.app.inject({ method: 'GET', url: '/ui/flows', headers: { cookie } });
  session = { cookie, csrf: /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)![1]! };
});
afterAll(async () => {
  await held?.close();
  await stack?.close();
});

function get(url: string) {
  return stack.app.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
}

function post(url: string, form: Record<string, string>, options: { csrf?: boolean; hx?: boolean; json?: boolean } = {}) {
  return stack.app.inject({
    method: 'POST',
    url,
    headers: {
      cookie: session.cookie,
      'content-type': 'application/x-www-form-urlencoded',
      ...(options.csrf === false ? {} : { 'x-csrf-token': session.csrf }),
      ...(options.hx === false ? {} : { 'hx-request': 'true' }),
      ...(options.json ? { accept: 'application/json' } : {}),
    },
    payload: new URLSearchParams(form).toString(),
  });
}

/** Reads server-sent events from a real connection until `until` says stop. */
async function readEvents(url: string, until: (events: Array<{ event: string; data: string }>) => boolean) {
  const response = await fetch(`${stack.url}${url}`, { headers: { cookie: session.cookie } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: Array<{ event: string; data: string }> = [];
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      if (!event) continue;
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      events.push({ event, data });
    }
    if (until(events)) break;
  }
  await reader.cancel().catch(() => undefined);
  return events;
}

describe('Flows page', () => {
  it('lists flows with trigger and next tick; the schedule switch needs the CSRF token and is kept', async () => {
    const page = await get('/ui/flows');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('cron 0 2 * * * (UTC)');
    expect(page.body).toMatch(/next \d{4}-\d\d-\d\d 02:00:00 UTC/);
    expect(page.body).toContain('aria-checked="true"');

    const forged = await post('/ui/flows/nightly/schedule', { enabled: 'false' }, { csrf: false });
    expect(forged.statusCode).toBe(403);
    expect((await stack.service.listFlows()).flows.find((f) => f.name === 'nightly')!.schedule!.enabled).toBe(true);

    const off = await post('/ui/flows/nightly/schedule', { enabled: 'false' });
    expect(off.statusCode).toBe(200);
    expect(off.body).toContain('aria-checked="false"');
    expect(off.body).toContain('ticks are skipped');
    expect((await stack.service.listFlows()).flows.find((f) => f.name === 'nightly')!.schedule).toEqual({ enabled: false });
    expect((await post('/ui/flows/held/schedule', { enabled: 'false' })).statusCode).toBe(409);
    expect((await post('/ui/flows/nightly/schedule', { enabled: 'maybe' })).statusCode).toBe(400);
    await post('/ui/flows/nightly/schedule', { enabled: 'true' });
  });

  it('checks YAML with sfx flow validate\'s problems at line:column, and saves only a valid flow', async () => {
    const check = await post('/ui/flows/check', { file: 'broken.yaml', text: BROKEN }, { json: true });
    const expected = loadFlow(BROKEN, { registry: defaultRegistry(), file: 'broken.yaml' }).problems;
    expect(check.json().problems).toEqual(expected);
    expect(expected[0]).toMatchObject({ line: 4, column: 11, path: 'steps[0].uses' });
    const fragment = await post('/ui/flows/check', { file: 'broken.yaml', text: BROKEN });
    expect(fragment.body).toContain('data-line="4" data-column="11"');
    expect(fragment.body).toContain('broken.yaml:4:11');

    const file = join(stack.dir, 'flows', 'nightly.yaml');
    const before = await readFile(file, 'utf8');
    const forged = await post('/ui/flows/save', { file: 'nightly.yaml', text: NIGHTLY_FLOW.replace('0 2', '0 3') }, { csrf: false });
    expect(forged.statusCode).toBe(403);
    const invalid = await post('/ui/flows/save', { file: 'nightly.yaml', text: BROKEN.replace('broken', 'nightly') });
    expect(invalid.body).toContain('Not saved: 1 problem');
    expect(await readFile(file, 'utf8')).toBe(before);

    const saved = await post('/ui/flows/save', { file: 'nightly.yaml', text: NIGHTLY_FLOW.replace('"0 2', '"0 3') });
    expect(saved.body).toContain('is loaded');
    expect(await readFile(file, 'utf8')).toContain('"0 3 * * *"');
    expect((await get('/ui/flows')).body).toContain('cron 0 3 * * * (UTC)');
    expect((await post('/ui/flows/save', { file: '../x.yaml', text: NIGHTLY_FLOW })).body).toContain('is not a flow file name');
  });
});

describe('Runs page', () => {
  it('runs a flow with inputs from the form and follows it live over server-sent events', async () => {
    const missing = await post('/ui/flows/held/run', {});
    expect(missing.body).toContain('the input &quot;url&quot; is required');
    const started = await post('/ui/flows/held/run', { url: held.url });
    expect(started.statusCode).toBe(204);
    const to = started.headers['hx-redirect'] as string;
    expect(to).toMatch(/^\/ui\/runs\/r\d{14}-[0-9a-f]{6}$/);
    const runId = to.split('/').pop()!;

    const page = await get(to);
    expect(page.body).toContain('badge-running');
    expect(page.body).toContain(`data-run-live="/ui/runs/${runId}/events"`);
    expect(page.body).toContain(JSON.stringify({ url: held.url }).replace(/"/g, '&quot;'));

    const events = await readEvents(`/ui/runs/${runId}/events`, (seen) => {
      if (seen.length === 1) held.release();
      return seen.some((e) => e.event === 'end');
    });
    expect(events[0]!.event).toBe('update');
    expect(events[0]!.data).toContain('badge-running');
    expect(events.at(-1)).toEqual({ event: 'end', data: 'succeeded' });
    const last = events.filter((e) => e.event === 'update').at(-1)!.data;
    expect(last).toContain('badge-succeeded');
    expect(last).toContain('3 / 3');
    expect(last).not.toContain('Resume');

    const list = await get('/ui/runs?status=succeeded&flow=held');
    expect(list.body).toContain(runId);
    expect((await get('/ui/runs?status=failed')).body).not.toContain(runId);
    const items = await get(`/ui/runs/${runId}/steps/each`);
    expect(items.body).toMatch(/<td class="num">2<\/td><td><span class="badge badge-succeeded">/);
  });

  it('retries the failed items of a run from its page', async () => {
    held.release();
    held.failing = true;
    const started = await post('/ui/flows/held/run', { url: held.url });
    const runId = (started.headers['hx-redirect'] as string).split('/').pop()!;
    await expect.poll(async () => (await stack.service.runDetail(runId)).run.status, { timeout: 20_000 }).toBe('failed');
    await expect.poll(() => stack.service.isRunLive(runId)).toBe(false);
    const page = await get(`/ui/runs/${runId}`);
    expect(page.body).toContain('badge-failed');
    expect(page.body).toContain('Resume');
    expect(page.body).toContain(`/ui/runs/${runId}/steps/wait`);
    expect(page.body).toMatch(/Retry 1 failed item\b/);
    expect(page.body).toContain('400');

    expect((await stack.app.inject({ method: 'POST', url: `/ui/runs/${runId}/retry`, headers: { cookie: session.cookie } })).statusCode).toBe(403);
    held.failing = false;
    const retried = await post(`/ui/runs/${runId}/retry`, {});
    expect(retried.statusCode).toBe(204);
    expect(retried.headers['hx-redirect']).toBe(`/ui/runs/${runId}`);
    await expect.poll(async () => (await stack.service.runDetail(runId)).run.status, { timeout: 20_000 }).toBe('succeeded');
    await expect.poll(() => stack.service.isRunLive(runId)).toBe(false);
    const again = await post(`/ui/runs/${runId}/resume`, {});
    expect(again.body).toContain('there is nothing to resume');
  });

  it('says what to do on an empty filter, and 404s an unknown run', async () => {
    expect((await get('/ui/runs?flow=nope')).body).toContain('No run matches these filters.');
    const unknown = await get('/ui/runs/r-nope');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('no run has the id');
  });
});
