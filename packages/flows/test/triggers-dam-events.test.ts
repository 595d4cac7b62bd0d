/**
 * dam.events end to end: the service subscribes itself on a real local server, which delivers
 * signed events over HTTP; an upload in the watched folder starts one run, a redelivery of the
 * same event (before and after a restart) starts none, an unsigned one is refused.
 */
import { Filerobot, type FileObject } from '@sfx/client';
import { signBody } from '@sfx/connector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/src/index.js';
import type { FlowService } from '../src/index.js';
import { fixture, recorded, waitFor, type Fixture } from './triggers-fixture.js';

const SECRET = 'dam-events-secret-for-tests';
let server: RunningServer;
let dam: Filerobot;
let f: Fixture;

beforeAll(async () => {
  server = await startServer({
    port: 0,
    data: ':memory:',
    rootKey: 'root-key-for-dam-events-tests',
    logLevel: 'silent',
    allowPrivateWebhooks: true,
    webhooks: { retryBaseMs: 50, pollMs: 50, timeoutMs: 3000, maxAttempts: 4 },
  });
  dam = new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: server.rootKey });
  f = await fixture('dam-events', new Date().toISOString());
  await f.write(
    'watch.yaml',
    `
name: watch
connections: { dam: null }
secrets: [DAM_SECRET]
trigger: { type: dam.events, connection: dam, events: [file.uploaded], folder: /watched, secret: "{% $secrets.DAM_SECRET %}" }
steps:
  - id: note
    uses: t.record
    with: { value: "{% $trigger.file.name %}" }
`,
  );
});

afterAll(async () => {
  await f?.close();
  await dam?.close();
  await server?.close();
});

function start(port = 0): Promise<FlowService> {
  return f.start({
    port,
    env: { DAM_SECRET: SECRET },
    openConnection: () =>
      new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: server.rootKey }),
  });
}

describe('dam.events trigger', () => {
  it('subscribes once, runs once per event, and drops redeliveries across a restart', async () => {
    let service = await start();
    const hooks = await dam.webhooks.list();
    expect(hooks.map((h) => h.url)).toEqual([`${service.url}/events/watch`]);
    expect(hooks[0]!.has_secret).toBe(true);

    await dam.files.upload({ data: Buffer.from('elsewhere'), name: 'elsewhere.txt' }, { folder: '/other' });
    await dam.files.upload({ data: Buffer.from('watched'), name: 'watched.txt' }, { folder: '/watched' });
    await waitFor('the run', () => recorded.length === 1);
    const [run] = await service.store.listRuns();
    expect(run!.trigger.type).toBe('dam.events');
    const event = run!.trigger.event as {
      id: string;
      event: string;
      file: FileObject;
      project: string;
      occurredAt: string;
    };
    expect(event.event).toBe('file.uploaded');
    expect(run!.trigger.id).toBe(`event:${event.id}`);
    expect(recorded).toEqual(['watched.txt']);

    // The same event delivered again (a retry), signed as the DAM signs it.
    const body = JSON.stringify({
      id: event.id,
      type: 'file.uploaded',
      occurred_at: event.occurredAt,
      project: event.project,
      data: { file: event.file },
    });
    const redeliver = (s: FlowService, signature = signBody(SECRET, body)) =>
      fetch(`${s.url}/events/watch`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-sfx-delivery': `again-${Math.random()}`,
          'x-sfx-signature': signature,
        },
      });
    expect((await redeliver(service)).status).toBe(200);
    expect((await redeliver(service, signBody('wrong-secret-123', body))).status).toBe(401);

    const port = Number(new URL(service.url).port);
    await service.stop();
    service = await start(port);
    // The subscription made before is reused, not doubled.
    expect((await dam.webhooks.list()).length).toBe(1);
    const again = await redeliver(service);
    expect(again.status).toBe(200);
    expect(f.logs.some((l) => l.msg === 'DAM event already has a run' && l.eventId === event.id)).toBe(true);
    expect((await service.store.listRuns()).length).toBe(1);
    expect(recorded).toEqual(['watched.txt']);
  });
});
