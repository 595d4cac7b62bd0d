/**
 * The runs list costs the same whatever the journal holds: a page of 50 runs at most, with
 * "Older runs" for the next (keyset), and the counts of a page in one journal query, never each
 * run's detail. The counts are the loops' items, as on a run's page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './e2e/harness.js';
import { HELD_FLOW, memoryConnections } from './pages-fixture.js';

let stack: Stack;
let cookie: string;
const calls = { runDetail: 0, runItemCounts: 0, counts: 0 };

beforeAll(async () => {
  stack = await startStack({ token: 'tok-runs-list-123', console: { connections: memoryConnections() } });
  const store = stack.service.store;
  // 120 finished runs of a flow with a single step ("wait") and a loop ("each").
  for (let i = 0; i < 120; i++) {
    const id = `run-${String(i).padStart(3, '0')}`;
    await store.createRun({ id, flow: 'held', flowHash: 'held-v1', source: HELD_FLOW, baseDir: stack.dir, trigger: { type: 'manual' }, inputs: {}, startedAt: 1_700_000_000_000 + i * 1000 });
    await store.finishItem(id, 'wait', 0, 'succeeded', {});
    await store.finishItem(id, 'each', 0, 'succeeded', {});
    await store.finishItem(id, 'each', 1, 'failed', { error: { message: 'no' } });
    await store.finishItem(id, 'each', 2, i % 2 ? 'skipped' : 'succeeded', {});
    await store.finishRun(id, 'failed', { message: 'an item failed' });
  }
  const service = stack.service;
  const runDetail = service.runDetail.bind(service);
  service.runDetail = (id) => (calls.runDetail++, runDetail(id));
  const runItemCounts = store.runItemCounts.bind(store);
  store.runItemCounts = (ids) => (calls.runItemCounts++, runItemCounts(ids));
  const counts = store.counts.bind(store);
  store.counts = (run, step) => (calls.counts++, counts(run, step));
  const res = await stack.app.inject({ method: 'GET', url: '/ui/login?token=tok-runs-list-123' });
  cookie = String(res.headers['set-cookie']).split(';')[0]!;
});
afterAll(async () => stack?.close());

const get = (url: string) => stack.app.inject({ method: 'GET', url, headers: { cookie } });
const ids = (body: string) => [...body.matchAll(/<td><a href="\/ui\/runs\/(run-\d+)">/g)].map((m) => m[1]!);
const older = (body: string) => /<a class="button" href="(\/ui\/runs\?[^"]*before=[^"]+)">Older runs<\/a>/.exec(body)?.[1]?.replace(/&amp;/g, '&');

describe('the runs list', () => {
  it('shows 50 runs a page with their loop counts from one journal query, and pages to the oldest', async () => {
    Object.assign(calls, { runDetail: 0, runItemCounts: 0, counts: 0 });
    const first = await get('/ui/runs?limit=1000');
    expect(first.statusCode).toBe(200);
    expect(ids(first.body)).toHaveLength(50);
    expect(ids(first.body)[0]).toBe('run-119');
    expect(calls).toEqual({ runDetail: 0, runItemCounts: 1, counts: 0 });
    // run-119: "each" has 1 succeeded, 1 failed, 1 skipped; the single step "wait" is not an item.
    const row = /<tr>\s*<td><a href="\/ui\/runs\/run-119">[\s\S]*?<\/tr>/.exec(first.body)![0];
    expect([...row.matchAll(/<td class="num">([^<]*)<\/td>/g)].map((m) => m[1])).toEqual(['1', '1', '1']);

    const seen = [...ids(first.body)];
    let next = older(first.body);
    while (next) {
      const page = await get(next);
      expect(ids(page.body).length).toBeLessThanOrEqual(50);
      seen.push(...ids(page.body));
      expect(page.body).toContain('Newest runs');
      next = older(page.body);
    }
    expect(seen).toHaveLength(120);
    expect(new Set(seen).size).toBe(120);
    expect(seen.at(-1)).toBe('run-000');
  });

  it('keeps the filters on the next page, and the table fragment refreshes the page it is on', async () => {
    const first = await get('/ui/runs?flow=held&status=failed');
    const next = older(first.body)!;
    expect(next).toMatch(/flow=held&status=failed&before=\d+\.run-070/);
    const fragment = await get(next.replace('/ui/runs?', '/ui/runs/table?'));
    expect(ids(fragment.body)[0]).toBe('run-069');
    expect((await get('/ui/runs?status=succeeded')).body).toContain('No run matches these filters.');
  });
});
