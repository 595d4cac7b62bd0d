/**
 * Pacing (`--tps`): the engine awaits its throttle before each write through one of the flow's
 * connections, with that connection's name, and an `onError` fallback is paced by the same rule as
 * the step it stands in for; a built-in fallback (no connection) is not. Against a local server
 * started in-process, with a throttle that records whom it was asked for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filerobot, type FolderObject } from '@sfx/client';
import { startServer, type RunningServer } from '@sfx/server';
import { defaultRegistry, Engine, loadFlow, SqliteRunStore } from '../src/index.js';

const ROOT_KEY = 'flows-pacing-test-root-key-5c21';
let server: RunningServer;
let client: Filerobot;

beforeAll(async () => {
  server = await startServer({ port: 0, data: ':memory:', rootKey: ROOT_KEY, logLevel: 'silent' });
  client = new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: ROOT_KEY, retry: { maxRetries: 0 } });
  // The primary of each flow creates this again: the server answers with a conflict.
  await client.folders.create('/taken');
});
afterAll(async () => {
  await client?.close();
  await server?.close();
});

/** Runs a flow whose step fails, with the given fallback; what the throttle was asked for. */
async function paced(fallback: string): Promise<{ status: string; output: unknown; asked: Array<{ name: string; spec: unknown }> }> {
  const { flow, problems } = loadFlow(
    `
name: paced-fallback
connections:
  dam: local-test
steps:
  - id: make
    uses: dam.folders.create
    with: { path: /taken }
    onError:
${fallback}
`,
    { registry: defaultRegistry() },
  );
  if (!flow) throw new Error(problems.map((p) => p.message).join('\n'));
  const asked: Array<{ name: string; spec: unknown }> = [];
  const engine = new Engine({
    store: new SqliteRunStore(':memory:'),
    openConnection: () => client,
    sleep: async () => {},
    log: () => undefined,
    throttle: async (_signal, connection) => void asked.push(connection),
  });
  const result = await engine.run(flow);
  return { status: result.status, output: (await engine.store.getStep(result.runId, 'make'))?.output, asked };
}

describe('pacing of onError fallbacks', () => {
  it('a fallback that writes through a connection waits for that connection, as the failed write did', async () => {
    const run = await paced(`      uses: dam.folders.create
      with: { path: /fallen-back }`);
    expect(run.status).toBe('succeeded');
    expect(run.output).toMatchObject({ fallback: true, error: { kind: 'conflict' } });
    // One for the primary's attempt, one for the fallback: both through dam.
    expect(run.asked).toEqual([
      { name: 'dam', spec: 'local-test' },
      { name: 'dam', spec: 'local-test' },
    ]);
    expect(((await client.folders.findByPath('/fallen-back')) as FolderObject | undefined)?.name).toBe('fallen-back');
  });

  it('a built-in fallback (log.info) has no connection and is not paced; a read through one is not either', async () => {
    const logged = await paced(`      uses: log.info
      with: { message: "{% 'could not create: ' & $result.error.kind %}" }`);
    expect(logged.status).toBe('succeeded');
    expect(logged.asked).toEqual([{ name: 'dam', spec: 'local-test' }]);

    const read = await paced(`      uses: dam.folders.list
      with: {}`);
    expect(read.status).toBe('succeeded');
    expect(read.asked).toEqual([{ name: 'dam', spec: 'local-test' }]);
  });
});
