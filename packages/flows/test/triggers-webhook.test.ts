/**
 * The service over HTTP: webhook flows (signature, basic auth, body cap), the probes, flows that
 * do not validate, and stopping and starting again with runs in flight or left by a crash.
 */
import { hostname } from 'node:os';
import { signBody } from '@sfx/connector';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteRunStore, type FlowService } from '../src/index.js';
import { fixture, gate, holdRuns, recorded, waitFor, type Fixture } from './triggers-fixture.js';

const SECRET = 'hook-secret-for-tests-5b1e';
const env = { HOOK_SECRET: SECRET, HOOK_PASS: 'basic-pass-for-tests' };

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
  recorded.length = 0;
});

const SIGNED = `
name: products
secrets: [HOOK_SECRET]
trigger: { type: webhook, path: /new-products, secret: "{% $secrets.HOOK_SECRET %}" }
steps:
  - id: note
    uses: t.record
    with: { value: "{% $trigger %}" }
`;

function post(
  service: FlowService,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${service.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

describe('webhook trigger', () => {
  it('a signed request gets 202 once its run is journaled; the run sees the body, not the credentials', async () => {
    f = await fixture('hook-good', '2026-06-01T00:00:00Z');
    await f.write('products.yaml', SIGNED);
    const service = await f.start({ env });
    const payload = JSON.stringify({ sku: 'A-1', images: ['a.jpg'] });
    const res = await post(service, '/hooks/new-products', payload, {
      'x-sfx-signature': signBody(SECRET, payload),
      'x-request-id': 'req-7',
    });
    expect(res.status).toBe(202);
    const reply = (await res.json()) as { status: string; runId: string };
    expect(reply.status).toBe('success');
    const run = (await service.store.getRun(reply.runId))!;
    expect(run.trigger.type).toBe('webhook');
    const event = run.trigger.event as { body: unknown; headers: Record<string, string>; receivedAt: string };
    expect(event.body).toEqual({ sku: 'A-1', images: ['a.jpg'] });
    expect(event.headers['x-request-id']).toBe('req-7');
    expect(event.headers['x-sfx-signature']).toBeUndefined();
    expect(event.receivedAt).toBe('2026-06-01T00:00:00.000Z');
    await waitFor('the run to end', async () => (await service.store.getRun(reply.runId))?.status === 'succeeded');
    expect((recorded[0] as { body: unknown }).body).toEqual({ sku: 'A-1', images: ['a.jpg'] });
    expect(
      f.logs.some(
        (l) =>
          l.msg === 'webhook accepted' &&
          l.runId === reply.runId &&
          l.flow === 'products' &&
          l.trigger === 'webhook',
      ),
    ).toBe(true);
  });

  it('refuses a bad or missing signature with 401 and starts no run; never shows the secret', async () => {
    f = await fixture('hook-bad', '2026-06-01T00:00:00Z');
    await f.write('products.yaml', SIGNED);
    const service = await f.start({ env });
    const payload = JSON.stringify({ sku: 'A-1' });
    const wrong = await post(service, '/hooks/new-products', payload, {
      'x-sfx-signature': signBody('not-the-secret', payload),
    });
    const wrongText = await wrong.text();
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrongText)).toMatchObject({ status: 'error', code: 'BAD_SIGNATURE' });
    // Signed, then changed on the way.
    const tampered = await post(service, '/hooks/new-products', JSON.stringify({ sku: 'B-2' }), {
      'x-sfx-signature': signBody(SECRET, payload),
    });
    expect(tampered.status).toBe(401);
    const missing = await post(service, '/hooks/new-products', payload);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { code: string }).code).toBe('MISSING_SIGNATURE');
    expect(await service.store.listRuns()).toEqual([]);
    expect(wrongText).not.toContain(SECRET);
    expect(JSON.stringify(f.logs)).not.toContain(SECRET);
  });

  it('answers 413 past the body cap, 404 for an unknown hook, and the probes', async () => {
    f = await fixture('hook-limits', '2026-06-01T00:00:00Z');
    await f.write('products.yaml', SIGNED);
    const service = await f.start({ env, maxBodyBytes: 1024 });
    const big = JSON.stringify({ data: 'x'.repeat(4096) });
    const res = await post(service, '/hooks/new-products', big, { 'x-sfx-signature': signBody(SECRET, big) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');
    expect(await service.store.listRuns()).toEqual([]);
    expect((await post(service, '/hooks/elsewhere', '{}')).status).toBe(404);
    expect((await fetch(`${service.url}/health`)).status).toBe(200);
    const ready = await fetch(`${service.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', flows: 1 });
  });

  it('checks basic auth, and keeps the Authorization header from the run', async () => {
    f = await fixture('hook-basic', '2026-06-01T00:00:00Z');
    await f.write(
      'basic.yaml',
      `
name: basic
secrets: [HOOK_PASS]
trigger: { type: webhook, path: /hooks/basic, basicAuth: { username: feeder, password: "{% $secrets.HOOK_PASS %}" } }
steps:
  - id: note
    uses: t.record
    with: { value: "{% $trigger.body %}" }
`,
    );
    const service = await f.start({ env });
    const auth = (pass: string) => `Basic ${Buffer.from(`feeder:${pass}`).toString('base64')}`;
    const bad = await post(service, '/hooks/basic', 'plain text', {
      'content-type': 'text/plain',
      authorization: auth('wrong'),
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('Basic');
    const good = await post(service, '/hooks/basic', 'plain text', {
      'content-type': 'text/plain',
      authorization: auth(env.HOOK_PASS),
    });
    expect(good.status).toBe(202);
    const { runId } = (await good.json()) as { runId: string };
    const event = (await service.store.getRun(runId))!.trigger.event as {
      body: unknown;
      headers: Record<string, string>;
    };
    expect(event.body).toBe('plain text');
    expect(event.headers.authorization).toBeUndefined();
  });
});

describe('the flows folder', () => {
  it('skips a flow that does not validate (file:line:column) or has an open webhook; the others run', async () => {
    f = await fixture('hook-folder', '2026-06-01T00:00:00Z');
    await f.write('products.yaml', SIGNED);
    await f.write(
      'broken.yml',
      `name: broken
trigger: { type: webhook, path: /broken, secret: x }
steps:
  - id: note
    uses: t.recrod
`,
    );
    await f.write(
      'open.yaml',
      `name: open\ntrigger: { type: webhook, path: /open }\nsteps:\n  - { id: note, uses: t.record, with: { value: 1 } }\n`,
    );
    await f.write('notes.txt', 'not a flow');
    const service = await f.start({ env });
    expect([...service.flows.keys()]).toEqual(['products']);
    const broken = service.problems.find((p) => p.file?.endsWith('broken.yml'));
    expect(broken).toMatchObject({ line: 5, column: 11, path: 'steps[0].uses' });
    expect(broken?.message).toMatch(/Did you mean t\.record/);
    const logged = f.logs.find(
      (l) => l.msg === 'flow skipped' && String(l.problem).includes('broken.yml:5:11'),
    );
    expect(logged).toBeDefined();
    expect(service.problems.find((p) => p.file?.endsWith('open.yaml'))?.message).toMatch(
      /needs a secret .* or basicAuth/,
    );
    const payload = '{"sku":"C-3"}';
    expect(
      (await post(service, '/hooks/new-products', payload, { 'x-sfx-signature': signBody(SECRET, payload) }))
        .status,
    ).toBe(202);
    expect((await post(service, '/hooks/open', payload)).status).toBe(404);
  });
});

describe('stop and start again', () => {
  it('a stop interrupts running runs resumably; the next start resumes them to the end', async () => {
    f = await fixture('hook-stop', '2026-06-01T00:00:00Z');
    await f.write(
      'slow.yaml',
      `
name: slow
secrets: [HOOK_SECRET]
trigger: { type: webhook, path: /slow, secret: "{% $secrets.HOOK_SECRET %}" }
steps:
  - id: wait
    uses: t.hold
  - id: note
    uses: t.record
    with: { value: "{% $trigger.body.n %}" }
`,
    );
    holdRuns();
    const service = await f.start({ env, graceMs: 20 });
    const payload = '{"n":1}';
    const res = await post(service, '/hooks/slow', payload, { 'x-sfx-signature': signBody(SECRET, payload) });
    const { runId } = (await res.json()) as { runId: string };
    await service.stop('test');
    // Closed: no more requests are taken.
    await expect(fetch(`${service.url}/health`)).rejects.toThrow();
    const store = new SqliteRunStore(f.journal);
    expect(store.getRun(runId)?.status).toBe('interrupted');
    store.close();
    expect(recorded).toEqual([]);

    gate.release();
    const again = await f.start({ env });
    expect(f.logs.some((l) => l.msg === 'resuming a run interrupted by a stop' && l.runId === runId)).toBe(
      true,
    );
    await waitFor('the resumed run to end', async () => (await again.store.getRun(runId))?.status === 'succeeded');
    expect(recorded).toEqual([1]);
    expect((await again.store.listRuns()).length).toBe(1);
  });

  it('resumes a run a crashed process left running', async () => {
    f = await fixture('hook-crash', '2026-06-01T00:00:00Z');
    const source = `
name: crashed
steps:
  - id: note
    uses: t.record
    with: { value: "{% $trigger.body %}" }
`;
    const store = new SqliteRunStore(f.journal);
    // A pid no process has: the owner died without finishing the run.
    store.createRun({
      id: 'r-crashed',
      flow: 'crashed',
      flowHash: 'h',
      source,
      baseDir: f.dir,
      trigger: { type: 'webhook', event: { body: 'left over' } },
      inputs: {},
      owner: `${hostname()}:2147483646`,
    });
    store.close();
    const service = await f.start();
    expect(
      f.logs.some(
        (l) => l.msg === 'resuming a run left running by a process that ended' && l.runId === 'r-crashed',
      ),
    ).toBe(true);
    await waitFor('the resumed run to end', async () => (await service.store.getRun('r-crashed'))?.status === 'succeeded');
    expect(recorded).toEqual(['left over']);
  });
});
