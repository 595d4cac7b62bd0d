/**
 * Stop run in a browser: the button on a live run's page (accessible, fits a phone's width),
 * clicked, stops the run; the page says so and shows the run interrupted with Resume, without a
 * reload, under the console's CSP, with no console error or failed request.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultRegistry, FlowService } from '@sfx/flows';
import { registerConsole, type RegisteredConsole } from '../src/index.js';
import { checkA11y, openBrowser, type E2E } from './e2e/harness.js';
import { gate, HELD_FLOW, type Gate } from './pages-fixture.js';

let dir: string;
let held: Gate;
let service: FlowService;
let e2e: E2E;

beforeAll(async () => {
  held = await gate();
  dir = await mkdtemp(join(tmpdir(), 'sfx-console-stop-e2e-'));
  await writeFile(join(dir, 'held.yaml'), HELD_FLOW);
  let registered: RegisteredConsole | undefined;
  service = new FlowService({
    flowsDir: dir,
    journal: join(dir, 'runs.db'),
    registry: defaultRegistry(),
    port: 0,
    graceMs: 200,
    write: () => undefined,
    http: async (fastify, svc) => {
      registered = await registerConsole(fastify, { service: svc, connections: { list: async () => [], open: () => Promise.reject(new Error('none')) }, token: 'tok-stop-e2e-7730' });
    },
  });
  await service.start();
  e2e = await openBrowser({ loginUrl: registered!.loginUrl(service.url) });
  await e2e.login();
}, 120_000);

afterAll(async () => {
  await e2e?.close();
  await held?.close();
  await service?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('stops a live run from its page; the run shows interrupted, with Resume', async () => {
  const { page } = e2e;
  const runId = await service.startManualRun('held', { url: held.url });
  await page.goto(`${service.url}/ui/runs/${runId}`);
  const run = page.locator('#run');
  await run.locator('.page-head .badge-running').waitFor();
  const stop = page.getByRole('button', { name: 'Stop run' });
  await stop.waitFor();
  await checkA11y(page);
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBeLessThanOrEqual(0);
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.evaluate('window.sfxSamePage = true');
  await stop.click();
  await page.getByRole('status').filter({ hasText: 'Stopped: the run is interrupted; Resume goes on from where it stopped.' }).waitFor();
  await run.locator('.page-head .badge-interrupted').waitFor();
  await page.getByRole('button', { name: 'Resume' }).waitFor();
  expect(await page.getByRole('button', { name: 'Stop run' }).count()).toBe(0);
  expect(await page.evaluate('window.sfxSamePage')).toBe(true);
  expect((await service.runDetail(runId)).run.status).toBe('interrupted');
  await checkA11y(page);
  e2e.assertClean();
});
