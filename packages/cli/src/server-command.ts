import { Command, InvalidArgumentError } from 'commander';
import type { RunningServer, ServerOptions } from '@sfx/server';
import { keyForExamples, rootKeyLine } from './banner.js';
import { CLI_VERSION } from './version.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('--port must be a whole number from 0 to 65535.');
  return n;
}

function count(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a whole number >= 0.`);
    return n;
  };
}

function positive(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a whole number >= 1.`);
    return n;
  };
}

function stopOnSignal(server: Pick<RunningServer, 'close'>): void {
  const stop = (signal: string): void => {
    process.stderr.write(`\n${signal} received, stopping...\n`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

interface ServerFlags {
  port: number;
  host: string;
  data: string;
  token: string;
  rootKey?: string;
  durability: 'full' | 'relaxed';
  allowPrivateUrlImports?: boolean;
  rateLimit: number;
  maxTransformPixels?: number;
  transformBudget?: number;
  trustedProxy: string[];
  countryHeader?: string;
  log: ServerOptions['logLevel'];
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];
}

export function registerServerCommands(program: Command): void {
  program
    .command('server')
    .description('Start the local Filerobot-compatible server')
    .option('--port <port>', 'TCP port (0 picks a free one)', port, 7010)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--data <dir>', 'data folder (database and files)', '.sfx/server')
    .option('--token <token>', 'project token', 'demo')
    .option('--root-key <key>', 'root API key (default: SFX_ROOT_KEY, or one generated and kept in the data folder)')
    .option('--durability <mode>', 'full (survives power loss) or relaxed (survives crashes, faster)', 'full')
    .option('--allow-private-url-imports', 'let URL imports reach loopback and private addresses (local testing)')
    .option('--rate-limit <perMinute>', 'requests per minute per API key, answered with 429 past it (0: no limit)', count('--rate-limit'), 0)
    .option(
      '--max-transform-pixels <pixels>',
      'most pixels one CDN transform may write; larger requests get a 413 (default 25000000, i.e. 5000x5000)',
      positive('--max-transform-pixels'),
    )
    .option(
      '--transform-budget <megapixelsPerMinute>',
      'CDN render work per client address, in megapixels decoded+written a minute; past it new renders get a 429, cache hits and originals never (0: no limit; default 600)',
      count('--transform-budget'),
    )
    .option('--trusted-proxy <cidr>', 'reverse proxy whose X-Forwarded-For names the client (repeatable, or comma-separated)', collect, [])
    .option('--country-header <name>', 'header a trusted proxy sets to the client country (e.g. cf-ipcountry); else the bundled GeoIP data')
    .option('--log <level>', 'silent, error, warn, info or debug', 'warn')
    .action(async (flags: ServerFlags) => {
      if (flags.durability !== 'full' && flags.durability !== 'relaxed') throw new InvalidArgumentError('--durability must be full or relaxed.');
      // Loaded when used: the server (SQLite, sharp) is not needed by the other commands.
      const { startServer } = await import('@sfx/server');
      const server = await startServer({
        port: flags.port,
        host: flags.host,
        data: flags.data,
        token: flags.token,
        rootKey: flags.rootKey,
        durability: flags.durability,
        allowPrivateUrlImports: flags.allowPrivateUrlImports ?? false,
        limits: {
          requestsPerMinutePerKey: flags.rateLimit,
          ...(flags.maxTransformPixels !== undefined && { maxTransformPixels: flags.maxTransformPixels }),
          ...(flags.transformBudget !== undefined && { transformMegapixelsPerMinutePerIp: flags.transformBudget }),
        },
        trustedProxies: flags.trustedProxy,
        countryHeader: flags.countryHeader,
        logLevel: flags.log,
      });
      process.stdout.write(
        [
          `sfx server listening on ${server.url}`,
          `API base URL: ${server.url}/${server.token}/v5`,
          `Resumable (tus) uploads: ${server.connectorUrl}/files`,
          rootKeyLine(server),
          `Try: curl -H "X-Filerobot-Key: ${keyForExamples(server)}" ${server.url}/${server.token}/v5/files`,
          '',
        ].join('\n'),
      );
      stopOnSignal(server);
    });
  program
    .command('demo')
    .description('The main job, end to end: a fresh local server, the import-products example flow run against it, its report; then the server stays up to explore')
    .option('--port <port>', 'TCP port (0 picks a free one)', port, 7010)
    .option('--data <dir>', 'the demo\'s folder (server data, run journal, report); made afresh at each start', '.sfx/demo')
    .option('--keep', 'keep what an earlier demo left instead of starting fresh')
    .option('--console-port <port>', 'port of the web console and flows service (default 7020; any free one with --port 0)', port)
    .addHelpText('after', '\nExamples:\n  npm start                 # the same as: npx sfx demo\n  npx sfx demo --port 0     # any free port\n  npx sfx demo --keep       # keep the assets and runs of the last demo')
    .action(async (flags: { port: number; data: string; keep?: boolean; consolePort?: number }) => {
      const { runDemo } = await import('./demo.js');
      const demo = await runDemo(flags);
      stopOnSignal(demo);
    });
}

/**
 * `sfx` with only the local-server commands: what `sfx server` parses, so the long-lived server
 * process never loads the flows engine, queue clients, connector and console (about 40 MB of RSS).
 */
export function buildServerProgram(): Command {
  const program = new Command('sfx').version(CLI_VERSION, '-V, --version', 'print the sfx version');
  registerServerCommands(program);
  return program;
}
