/**
 * `npm start` / `sfx demo`: the main job end to end on the embedded server. A fresh server, a
 * connection to it, the import-products example flow run with live progress, its summary and
 * report, then the server stays up to be explored with sfx and in the web console, which a flows
 * service (over a copy of examples/ in the demo's folder, so the browser never edits the repo's
 * flows) serves at /ui.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultRegistry, Engine, FlowService, resolveInputs, SqliteRunStore } from '@sfx/flows';
import { startServer, type RunningServer } from '@sfx/server';
import { keyForExamples, rootKeyLine } from './banner.js';
import { ConnectionStore } from './connections-store.js';
import { consoleHook, consoleLoginLine } from './console.js';
import { CliError } from './errors.js';
import { compileFlowFile, connectionOpener, summaryTable } from './flows.js';
import { RunProgress } from './progress.js';

const EXAMPLES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples');
/** Marks a data folder as the demo's own, so a fresh start may wipe it. */
const MARKER = '.sfx-demo';

export interface DemoOptions {
  port: number;
  data: string;
  /** Keep what an earlier demo left (assets, runs) instead of starting fresh. */
  keep?: boolean;
  /** Port of the flows service and web console; default 7020, or any free one when `port` is 0. */
  consolePort?: number;
}

export interface RunningDemo {
  server: RunningServer;
  service: FlowService;
  close(): Promise<void>;
}

async function freshFolder(dir: string): Promise<void> {
  if (existsSync(dir) && !existsSync(join(dir, MARKER)))
    throw new CliError(`${dir} exists and was not made by sfx demo: give another folder with --data, or remove it yourself.`);
  await rm(dir, { recursive: true, force: true });
}

export async function runDemo(options: DemoOptions): Promise<RunningDemo> {
  const data = resolve(options.data);
  if (!options.keep) await freshFolder(data);
  const server = await startServer({ port: options.port, data: join(data, 'server'), token: 'demo', durability: 'relaxed', logLevel: 'warn' });
  await writeFile(join(data, MARKER), 'made by sfx demo; removed and made again at each start\n');
  const api = `${server.url}/${server.token}/v5`;
  const say = (text = ''): void => void process.stdout.write(`${text}\n`);
  say(`sfx demo: a local Filerobot-compatible server on ${server.url} (project "${server.token}")`);
  say(rootKeyLine(server));

  // A connection of its own, in a config folder of its own: the user's connections are left alone.
  const config = join(data, 'config');
  process.env.SFX_CONFIG_DIR = config;
  const store = new ConnectionStore(config);
  // A key the user gave through SFX_ROOT_KEY is referred to, never copied into the demo's files.
  const apiKey = server.rootKeySource === 'env' ? { env: 'SFX_ROOT_KEY' } : { value: server.rootKey };
  await store.add({ name: 'demo', endpointUrl: `${server.url}/${server.token}`, authentication: 'apikey', apiKey }, { replace: true });

  const flowFile = join(EXAMPLES, 'flows/import-products.yaml');
  const report = join(data, 'out/product-urls.csv');
  const flow = await compileFlowFile(flowFile);
  const { values, problems } = resolveInputs(flow, { report });
  if (problems.length) throw new CliError(problems.join('\n'));
  say();
  say(`Running the example flow ${relative(process.cwd(), flowFile)}:`);
  say(`  ${flow.description?.trim().replace(/\s+/g, ' ') ?? ''}`);
  say();
  const journal = join(data, 'runs.db');
  const runs = new SqliteRunStore(journal);
  const progress = new RunProgress(process.stdout);
  let result;
  try {
    const engine = new Engine({
      store: runs,
      openConnection: connectionOpener('demo'),
      log: (level, message) => {
        if (level !== 'debug') progress.note(message);
      },
    });
    result = await engine.run(flow, { inputs: values, onEvent: (e) => progress.onEvent(e) });
  } finally {
    runs.close();
  }
  say(summaryTable(result));
  if (result.status !== 'succeeded') throw new CliError(`the demo flow ${result.status}: ${result.error?.message ?? ''}`);
  const lines = (await readFile(report, 'utf8')).trim().split('\n');
  say();
  say(`Report ${relative(process.cwd(), report)} (first rows of ${lines.length - 1}):`);
  for (const line of lines.slice(0, 4)) say(`  ${line}`);

  // The flows service with the console, over a copy of the examples (kept with --keep: edits survive).
  const examples = join(data, 'examples');
  await cp(join(EXAMPLES, 'flows'), join(examples, 'flows'), { recursive: true, force: false });
  await cp(join(EXAMPLES, 'data'), join(examples, 'data'), { recursive: true, force: false });
  const log = createWriteStream(join(data, 'serve.log'), { flags: 'a' });
  const ui = consoleHook({ connection: 'demo' });
  const service = new FlowService({
    flowsDir: join(examples, 'flows'),
    journal,
    registry: defaultRegistry(),
    openConnection: connectionOpener('demo'),
    port: options.consolePort ?? (options.port === 0 ? 0 : 7020),
    write: (line) => void log.write(`${line}\n`),
    http: ui.hook,
  });
  try {
    await service.start();
  } catch (error) {
    await service.stop('start failed').catch(() => undefined);
    await server.close();
    throw new CliError(`the demo's web console could not start: ${(error as Error).message} (another one running? try --console-port 0)`);
  }
  const mounted = ui.mounted()!;

  const env = `SFX_CONFIG_DIR=${relative(process.cwd(), config) || '.'} SFX_JOURNAL=${relative(process.cwd(), journal)}`;
  say();
  say('Explore it from another terminal in this folder:');
  say(`  export ${env}`);
  say('  npx sfx runs                                   # the run you just saw');
  say(`  npx sfx runs show ${result.runId}`);
  say('  npx sfx run files.list --set folder=/products --set recursive=true');
  say(`  npx sfx flow run ${relative(process.cwd(), flowFile)}   # again: nothing is uploaded twice`);
  say(`  curl -s -H "X-Filerobot-Key: ${keyForExamples(server)}" "${api}/files?recursive=1&q=%23summer"`);
  say('Write your own flow: docs/flows.md.');
  // Last, so it is what the terminal shows when the demo is ready: the first thing to open.
  say();
  say('Now open the web console in a browser (the assets, connections, flows and the run you just saw):');
  say();
  say(`  ${consoleLoginLine(mounted, service.url, {}).replace(/^console: /, '')}`);
  say();
  say(`Its flows are a copy of examples/flows in ${relative(process.cwd(), join(examples, 'flows'))} (log: ${relative(process.cwd(), join(data, 'serve.log'))}).`);
  say('Press Ctrl+C to stop the demo.');
  return {
    server,
    service,
    async close() {
      await service.stop('demo stopped');
      log.end();
      await server.close();
    },
  };
}
