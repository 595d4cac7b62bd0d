/**
 * `sfx serve`: the flows of a folder, each on its trigger (schedule, poll, webhook, dam.events),
 * in one long-running process with a health endpoint, JSON logs on stdout and a shutdown
 * (SIGTERM, Ctrl-C) that leaves every run resumable.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { TrustedProxies } from '@sfx/console';
import { defaultRegistry, FlowService, type LogLevel, type ServiceRole, type TpsLimits } from '@sfx/flows';
import { CliError, EXIT_INTERRUPTED, UsageError } from './errors.js';
import { consoleExposureWarning, consoleHook, consoleLoginLine } from './console.js';
import { connectionOpener } from './flows.js';
import { journalTarget } from './journal.js';
import { ConnectionStore } from './connections-store.js';
import { queueUrlOption } from './queue-status.js';
import { httpUrlOption } from './url-option.js';

const DEFAULT_PORT = 7020;

interface ServeFlags {
  flows: string;
  port: number;
  host: string;
  journal?: string;
  store?: string;
  connection?: string;
  publicUrl?: string;
  concurrency: number;
  maxBody: number;
  log: LogLevel;
  /** false with --no-console. */
  console: boolean;
  consoleToken?: string;
  trustedProxy: string[];
  queue?: string;
  queueName?: string;
  role?: ServiceRole;
  tps?: TpsLimits;
  lockMs?: number;
  pageSize?: number;
}

function role(value: string): ServiceRole {
  if (value === 'coordinator' || value === 'worker' || value === 'all') return value;
  throw new InvalidArgumentError('--role must be coordinator, worker or all.');
}

/**
 * `--tps N` (every connection) or `--tps NAME=N` (one stored connection), repeatable: collected
 * into one set of limits, the last given for a name winning.
 */
export function tpsOption(value: string, previous: TpsLimits | undefined): TpsLimits {
  const limits: TpsLimits = { ...previous, connections: { ...previous?.connections } };
  const eq = value.indexOf('=');
  const name = eq < 0 ? undefined : value.slice(0, eq);
  const rate = Number(eq < 0 ? value : value.slice(eq + 1));
  if (name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(name))
    throw new InvalidArgumentError(`--tps ${value}: "${name}" is not a connection name; write --tps NAME=N with a stored connection's name (sfx connection list), e.g. --tps acme=10.`);
  if (!Number.isFinite(rate) || rate <= 0 || /^\s*$/.test(eq < 0 ? value : value.slice(eq + 1)))
    throw new InvalidArgumentError(`--tps ${value}: give writes per second above 0, as --tps 20 (every connection) or --tps acme=10 (one connection).`);
  if (name === undefined) limits.default = rate;
  else limits.connections![name] = rate;
  return limits;
}

function whole(flag: string, min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** Repeatable, or comma-separated; each range checked as it is read, so a typo stops at once. */
function proxyRanges(value: string, previous: string[]): string[] {
  const ranges = value.split(',').map((v) => v.trim()).filter(Boolean);
  try {
    new TrustedProxies(ranges);
  } catch (error) {
    throw new InvalidArgumentError(`--trusted-proxy: ${(error as Error).message}`);
  }
  return [...previous, ...ranges];
}

function level(value: string): LogLevel {
  if (value === 'debug' || value === 'info' || value === 'warn' || value === 'error') return value;
  throw new InvalidArgumentError('--log must be debug, info, warn or error.');
}

function publicUrl(value: string): string {
  httpUrlOption('--public-url', value, 'a URL such as https://hooks.example.com');
  return value.replace(/\/+$/, '');
}

const HELP = `
Examples:
  sfx serve --flows flows/
      every flows/*.yaml on its trigger; webhooks on http://127.0.0.1:${DEFAULT_PORT}/hooks/<path>
  sfx serve --flows flows/ --host 0.0.0.0 --port 8080 --public-url https://hooks.example.com
      reachable from other machines; dam.events flows subscribe https://hooks.example.com/events/<flow>
  sfx serve --flows flows/ --connection production --journal /var/lib/sfx/runs.db
  PGPASSWORD=... sfx serve --flows flows/ --store postgres://sfx@db.internal:5432/sfx
      the journal in PostgreSQL (a run is held under a lease; another process takes over a dead one's)
  sfx serve --flows flows/ --store $PG --queue redis://10.0.0.5:6379 --role coordinator
  sfx serve --store $PG --queue redis://10.0.0.5:6379 --role worker --concurrency 8 --tps 20
      a cluster: the coordinator runs triggers and runs, workers (any number, any machine) run
      the loop items; writes to each DAM connection at most 20 per second across all workers
  sfx serve --store $PG --queue redis://10.0.0.5:6379 --role worker --tps 20 --tps acme-prod=5
      the same, but the stored connection acme-prod at most 5 per second (see docs/scale-out.md)

  curl -X POST http://127.0.0.1:${DEFAULT_PORT}/hooks/new-products \\
       -H "X-Sfx-Signature: sha256=$(openssl dgst -sha256 -hmac "$HOOK_SECRET" -hex < body.json | cut -d' ' -f2)" \\
       -H 'content-type: application/json' --data-binary @body.json
  curl http://127.0.0.1:${DEFAULT_PORT}/health     # liveness
  curl http://127.0.0.1:${DEFAULT_PORT}/ready      # readiness: journal open, flows loaded

The web console is served at http://127.0.0.1:${DEFAULT_PORT}/ui (assets, connections, flows, runs):
open the login URL printed at start. Its token is new at each start unless given with
--console-token or SFX_CONSOLE_TOKEN; SFX_CONSOLE_PASSWORD adds an admin password for the login
form. --no-console leaves it out. Behind an HTTPS reverse proxy, --trusted-proxy with its address
makes the session cookie Secure (from its X-Forwarded-Proto). The console: docs/console.md.

A flow that does not validate is logged (file:line:column) and skipped; the others run. Logs are
JSON lines on stdout, one per event (run id, flow, trigger). SIGTERM or Ctrl-C stops the triggers,
cancels running runs resumably and exits 0; the next sfx serve on the same journal resumes them,
and runs a crashed process left running. Schedules do not replay ticks missed while stopped.
Writing flows and triggers: docs/flows.md.`;

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the flows of a folder on their triggers (schedule, poll, webhook, dam.events) until stopped',
    )
    .option('--flows <dir>', 'the folder of flow files (*.yaml, *.yml)', 'flows')
    .option(
      '--port <port>',
      'HTTP port for webhooks and probes (0 picks a free one)',
      whole('--port', 0, 65535),
      DEFAULT_PORT,
    )
    .option('--host <host>', 'interface to listen on (0.0.0.0 for other machines)', '127.0.0.1')
    .option('--journal <file>', 'the run journal (default: $SFX_JOURNAL or .sfx/runs.db)')
    .option(
      '--store <url>',
      'the run journal in PostgreSQL, postgres://USER@HOST:PORT/DB (password from $PGPASSWORD; default: $SFX_STORE)',
    )
    .option(
      '--connection <name>',
      'stored connection for flows whose connection is null (default: $SFX_CONNECTION, or the only one stored)',
    )
    .option(
      '--public-url <url>',
      'where the DAM reaches this process, for dam.events subscriptions (default: the listening URL)',
      publicUrl,
    )
    .option(
      '--concurrency <n>',
      'runs of one flow at once, more events wait; with --queue, a worker\'s item jobs at once too',
      whole('--concurrency', 1, 1000),
      4,
    )
    .option('--queue <url>', 'run loop items as jobs on this Redis, shared by every worker (redis://HOST:PORT)', queueUrlOption)
    .option('--role <role>', 'with --queue: coordinator (triggers, runs), worker (item jobs) or all', role)
    .option(
      '--tps <n|name=n>',
      'with --queue: writes per second to each connection across all workers; NAME=N for one stored connection (repeatable)',
      tpsOption,
    )
    .option('--queue-name <name>', 'with --queue: the queue every process of one cluster shares', 'sfx-items')
    .option(
      '--lock-ms <ms>',
      'with --queue: a killed worker\'s jobs go to another after about this long',
      whole('--lock-ms', 1000, 3_600_000),
    )
    .option(
      '--page-size <n>',
      'with --queue: items in each page job that reads a loop\'s source (default 500)',
      whole('--page-size', 1, 100_000),
    )
    .option('--max-body <bytes>', 'largest webhook body; larger get 413', whole('--max-body', 1), 1024 * 1024)
    .option('--log <level>', 'lowest log level written: debug, info, warn or error', level, 'info')
    .option('--console-token <token>', 'login token of the web console at /ui (default: $SFX_CONSOLE_TOKEN, or a new one printed at start)')
    .option('--no-console', 'do not serve the web console at /ui')
    .option(
      '--trusted-proxy <cidr>',
      'reverse proxy whose X-Forwarded-Proto and X-Forwarded-For the web console believes (repeatable, or comma-separated)',
      proxyRanges,
      [],
    )
    .addHelpText('after', HELP)
    .action(async (flags: ServeFlags) => serve(flags));
}

/**
 * The stored connection a flow's `null` connection opens (--connection, $SFX_CONNECTION, or the
 * only one stored): the name `--tps NAME=N` paces it under. Only looked up when it matters.
 */
async function defaultConnection(flags: ServeFlags): Promise<string | undefined> {
  const named = flags.connection ?? (process.env.SFX_CONNECTION || undefined);
  if (named || !flags.tps?.connections || Object.keys(flags.tps.connections).length === 0) return named;
  const stored = await new ConnectionStore().list().catch(() => []);
  return stored.length === 1 ? stored[0]!.name : undefined;
}

async function serve(flags: ServeFlags): Promise<void> {
  if (!flags.queue && (flags.role || flags.tps || flags.lockMs || flags.pageSize))
    throw new UsageError(
      `${flags.role ? '--role' : flags.tps ? '--tps' : flags.lockMs ? '--lock-ms' : '--page-size'} is for a cluster: give --queue redis://HOST:PORT too (docs/scale-out.md).`,
    );
  if (flags.role === 'worker' && flags.pageSize)
    throw new UsageError('--page-size applies to the coordinators that read the loops\' sources: give it to sfx serve --role coordinator (or all).');
  if (flags.role === 'coordinator' && (flags.tps || flags.lockMs))
    throw new UsageError(
      `${flags.tps ? '--tps' : '--lock-ms'} applies to the workers that run the items: give it to sfx serve --role worker (or all).`,
    );
  const worker = flags.queue !== undefined && flags.role === 'worker';
  const flowsDir = resolve(flags.flows);
  const found = await stat(flowsDir).catch(() => undefined);
  // A worker runs what coordinators send, with the flow each run started with: it needs no folder.
  if (!worker && !found?.isDirectory())
    throw new UsageError(
      `--flows ${flags.flows}: no such folder. Give the folder holding your flow files (*.yaml).`,
    );
  const ui = consoleHook(flags);
  const nullConnection = flags.queue ? await defaultConnection(flags) : undefined;
  const service = new FlowService({
    flowsDir,
    journal: journalTarget(flags),
    registry: defaultRegistry(),
    openConnection: connectionOpener(flags.connection),
    ...(nullConnection ? { defaultConnection: nullConnection } : {}),
    port: flags.port,
    host: flags.host,
    ...(flags.publicUrl ? { publicUrl: flags.publicUrl } : {}),
    concurrency: flags.concurrency,
    maxBodyBytes: flags.maxBody,
    logLevel: flags.log,
    http: ui.hook,
    ...(flags.queue
      ? {
          queue: {
            url: flags.queue,
            name: flags.queueName ?? 'sfx-items',
            itemConcurrency: flags.concurrency,
            ...(flags.tps ? { tps: flags.tps } : {}),
            ...(flags.lockMs ? { lockMs: flags.lockMs } : {}),
            ...(flags.pageSize ? { pageSize: flags.pageSize } : {}),
          },
          role: flags.role ?? 'all',
        }
      : {}),
  });
  try {
    await service.start();
  } catch (error) {
    await service.stop('start failed').catch(() => undefined);
    throw new CliError(`sfx serve could not start: ${(error as Error).message}`);
  }
  if (service.flows.size === 0 && !worker) {
    await service.stop('no flows');
    throw new UsageError(
      `no flow to serve in ${flags.flows}: ${service.problems.length ? `${service.problems.length} problem(s) above; fix them (sfx flow validate FILE)` : 'add flow files (*.yaml)'} and start again.`,
    );
  }
  process.stderr.write(
    worker
      ? `sfx serve: worker on ${service.url} (Ctrl-C to stop)\n`
      : `sfx serve: ${service.flows.size} flow${service.flows.size === 1 ? '' : 's'} on ${service.url} (Ctrl-C to stop)\n`,
  );
  const mounted = ui.mounted();
  if (mounted) {
    const warning = consoleExposureWarning(flags.host, flags);
    if (warning) process.stderr.write(`sfx serve: ${warning}\n`);
    process.stderr.write(`sfx serve: ${consoleLoginLine(mounted, service.url, flags)}\n`);
  }

  await new Promise<void>((done) => {
    const stop = (signal: NodeJS.Signals): void => {
      // A second signal does not wait for the runs to wind down; they stay resumable all the same.
      process.once(signal, () => process.exit(EXIT_INTERRUPTED));
      service.stop(signal).then(done, (error: unknown) => {
        process.stderr.write(`sfx serve: stopping failed: ${(error as Error).message}\n`);
        process.exitCode = 1;
        done();
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
