/**
 * `sfx flow validate|run|resume` and `sfx runs [show|retry]`: flows from YAML files, run with live
 * progress and kept in a run journal (default .sfx/runs.db) so any run can be resumed.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { CONNECTOR_ID, CONNECTOR_VERSION, InvalidConnectionError, openConnection, type Connection } from '@sfx/connector';
import {
  defaultRegistry,
  checkQueue,
  Engine,
  ItemQueue,
  formatProblem,
  loadFlow,
  resolveInputs,
  RunBusyError,
  SqliteRunStore,
  UnknownRunError,
  type CompiledFlow,
  type ConnectionOpener,
  type RunEvent,
  type RunRecord,
  type ItemRecord,
  type RunResult,
  type RunStore,
} from '@sfx/flows';
import { ConnectionStore } from './connections-store.js';
import { queueCounts, queueLine, queueUrlOption, type QueueFlags } from './queue-status.js';
import { CliError, EXIT_FAILED, EXIT_INTERRUPTED, UsageError } from './errors.js';
import { readJsonOption } from './input.js';
import { formatCount, formatDuration, RunProgress } from './progress.js';
import { openStored } from './run.js';
import { keyValues, table } from './table.js';
import { registerRunStop } from './run-stop.js';
import { print } from './output.js';
import { DEFAULT_JOURNAL, getRun, openJournal, STORE_OPTION, type JournalFlags } from './journal.js';

async function readFlowFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `no flow file at ${file}.` : `cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Loads and checks a flow file; every problem is printed as file:line:column. */
export async function compileFlowFile(file: string): Promise<CompiledFlow> {
  const text = await readFlowFile(file);
  const { flow, problems } = loadFlow(text, { registry: defaultRegistry(), file, baseDir: dirname(resolve(file)) });
  if (!flow) throw new UsageError(`${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
  return flow;
}

/** The flow a run was started with (its YAML is kept in the journal). */
function flowOfRun(run: RunRecord): CompiledFlow {
  const { flow, problems } = loadFlow(run.source, { registry: defaultRegistry(), ...(run.flowFile ? { file: run.flowFile } : {}), baseDir: run.baseDir });
  if (!flow) throw new CliError(`run ${run.id}'s flow no longer validates with this sfx:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
  return flow;
}

/**
 * Opens a flow's connections: a stored name, null (the default stored one), or a connection given
 * inline. Its fingerprint is the connection store's (the one the console checks), so `sfx serve`
 * reopens a client once the stored connection or its secret changed.
 */
export function connectionOpener(defaultName: string | undefined): ConnectionOpener {
  const opener: ConnectionOpener = async (name, spec) => {
    if (spec === null) return (await openStored(defaultName)).client;
    if (typeof spec === 'string') return (await openStored(spec)).client;
    const store = new ConnectionStore();
    const conn = inlineConnection(name, spec);
    try {
      const secrets = await store.secretsFor(conn).catch(() => undefined);
      return openConnection(conn, secrets ? { secrets } : {});
    } catch (error) {
      if (error instanceof InvalidConnectionError)
        throw new CliError(`the flow's connection "${name}" cannot be used:\n${error.problems.map((p) => `  ${p.path || '(connection)'}: ${p.message}`).join('\n')}`);
      throw error;
    }
  };
  opener.fingerprint = async (name, spec) => {
    const store = new ConnectionStore();
    if (typeof spec === 'object' && spec !== null) return store.fingerprintOf(inlineConnection(name, spec));
    const stored = spec ?? (await defaultConnectionName(store, defaultName));
    // No single default: opening fails and says why (a client that failed to open is never kept).
    return stored === undefined ? undefined : store.fingerprint(stored);
  };
  return opener;
}

function inlineConnection(name: string, spec: Record<string, unknown>): Connection {
  return { connector: `${CONNECTOR_ID}@${CONNECTOR_VERSION}`, name, ...spec } as unknown as Connection;
}

/** The stored connection a flow's default connection (null) opens, as openStored chooses it; undefined when none is chosen. */
async function defaultConnectionName(store: ConnectionStore, defaultName: string | undefined): Promise<string | undefined> {
  const wanted = defaultName ?? (process.env.SFX_CONNECTION || undefined);
  if (wanted !== undefined) return wanted;
  const all = await store.list();
  return all.length === 1 ? all[0]!.name : undefined;
}

function parseInputs(pairs: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--input ${pair}: write it as name=value, e.g. --input folder=/photos.`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

interface RunFlags extends JournalFlags, QueueFlags {
  input?: string[];
  /** The event a triggered flow gets as $trigger, to try it by hand: JSON, @file.json or - (stdin). */
  trigger?: string;
  dryRun?: boolean;
  json?: boolean;
  connection?: string;
}

/** Runs with progress on stderr (or JSON lines on stdout), Ctrl-C stopping cleanly. */
async function execute(
  start: (engine: Engine, options: { signal: AbortSignal; onEvent: (e: RunEvent) => void }) => Promise<RunResult>,
  flags: RunFlags,
  store: RunStore,
): Promise<RunResult> {
  const progress = flags.json ? undefined : new RunProgress(process.stderr);
  // A dry run's writes are stand-ins made here; a worker would make them for real.
  if (flags.queue && flags.dryRun) throw new UsageError('--dry-run runs in this process: leave out --queue.');
  if (flags.queue) {
    try {
      await checkQueue(flags.queue);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  }
  const itemQueue = flags.queue ? new ItemQueue({ url: flags.queue, name: flags.queueName ?? 'sfx-items' }) : undefined;
  const engine = new Engine({
    store,
    // This process drives the run; its loop items go to the cluster's workers (sfx serve --role worker).
    ...(itemQueue ? { dispatcher: itemQueue.dispatcher(store) } : {}),
    openConnection: connectionOpener(flags.connection),
    // log.* steps speak at info; the engine's own notes at warn and error. Debug stays quiet.
    log: (level, message, fields) => {
      if (level === 'debug' || flags.json) return;
      const where = typeof fields?.step === 'string' ? `[${fields.step}] ` : '';
      progress?.note(`${level === 'info' ? '' : `${level}: `}${where}${message}${fields?.error ? ` (${String(fields.error)})` : ''}`);
    },
  });
  const stop = new AbortController();
  let presses = 0;
  const onSignal = (): void => {
    presses++;
    if (presses === 1) {
      process.stderr.write('\nstopping: no new items; in-flight ones finish (Ctrl-C again to quit at once; resume goes on either way)\n');
      stop.abort();
    } else process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await start(engine, {
      signal: stop.signal,
      onEvent: (event) => {
        if (flags.json) print(JSON.stringify(event));
        else progress!.onEvent(event);
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await itemQueue?.close();
  }
}

function finish(result: RunResult, flags: { json?: boolean }): void {
  if (!flags.json) {
    print(summaryTable(result));
    if (result.status === 'failed') print(`\nFailed: ${result.error?.message ?? ''}${result.error?.hint ? `\nHint: ${result.error.hint}` : ''}\nDetails: sfx runs show ${result.runId}`);
    if (result.status === 'interrupted') print(`\nStopped. Go on with: sfx flow resume ${result.runId}`);
  }
  if (result.status === 'failed') process.exitCode = EXIT_FAILED;
  if (result.status === 'interrupted') process.exitCode = EXIT_INTERRUPTED;
}

export function summaryTable(result: RunResult): string {
  const rows = result.steps.map((s) => [
    s.id,
    s.status,
    s.total !== undefined ? formatCount(s.total) : '',
    s.succeeded !== undefined ? formatCount(s.succeeded) : '',
    s.failed !== undefined ? formatCount(s.failed) : '',
    s.skipped !== undefined ? formatCount(s.skipped) : '',
    s.startedAt && s.endedAt ? formatDuration(s.endedAt - s.startedAt) : '',
  ]);
  return `\nrun ${result.runId}: ${result.status}\n${table(['STEP', 'STATUS', 'ITEMS', 'OK', 'FAILED', 'SKIPPED', 'TIME'], rows)}`;
}

async function runFlow(file: string, flags: RunFlags): Promise<void> {
  const flow = await compileFlowFile(file);
  const { values, problems } = resolveInputs(flow, parseInputs(flags.input));
  if (problems.length) throw new UsageError(`${file}: ${problems.join('\n')}`);
  // A dry run keeps no journal: it changes nothing and leaves nothing to resume.
  const event = flags.trigger === undefined ? undefined : await readJsonOption('--trigger', flags.trigger);
  const { store } = flags.dryRun ? { store: new SqliteRunStore(':memory:') } : await openJournal(flags);
  try {
    const trigger = { type: event === undefined ? 'manual' : flow.trigger.type, ...(event === undefined ? {} : { event }) };
    const result = await execute((engine, o) => engine.run(flow, { ...o, inputs: values, trigger, dryRun: flags.dryRun ?? false }), flags, store);
    finish(result, flags);
  } finally {
    await store.close();
  }
}

async function resumeRun(id: string, flags: RunFlags & { failed?: boolean }): Promise<void> {
  const journal = await openJournal(flags);
  const store = journal.store;
  try {
    const run = await getRun(journal, id);
    if (run.status === 'succeeded' && !flags.failed) throw new UsageError(`run ${id} succeeded: there is nothing to resume.`);
    const flow = flowOfRun(run);
    const result = await execute((engine, o) => engine.resume(flow, id, { ...o, retryFailed: flags.failed ?? false }), flags, store);
    finish(result, flags);
  } catch (error) {
    if (error instanceof RunBusyError || error instanceof UnknownRunError) throw new CliError(error.message);
    throw error;
  } finally {
    await store.close();
  }
}

async function listRuns(flags: JournalFlags & QueueFlags & { json?: boolean; flow?: string; status?: string; limit?: string }): Promise<void> {
  const queue = await queueCounts(flags);
  const journal = await openJournal(flags);
  const store = journal.store;
  try {
    const limit = flags.limit === undefined ? 20 : Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a whole number >= 1.');
    const statuses = ['running', 'succeeded', 'failed', 'interrupted'];
    if (flags.status && !statuses.includes(flags.status)) throw new UsageError(`--status must be one of ${statuses.join(', ')}.`);
    const runs = await store.listRuns({ limit, ...(flags.flow ? { flow: flags.flow } : {}), ...(flags.status ? { status: flags.status as RunRecord['status'] } : {}) });
    const engine = new Engine({ store });
    const rows: Array<{ run: RunRecord; counts: { succeeded: number; failed: number; skipped: number } }> = [];
    for (const run of runs) {
      const summary = await engine.summary(undefined, run.id);
      const loops = summary.steps.filter((s) => s.total !== undefined);
      const sum = (k: 'succeeded' | 'failed' | 'skipped'): number => loops.reduce((n, s) => n + (s[k] ?? 0), 0);
      rows.push({ run, counts: { succeeded: sum('succeeded'), failed: sum('failed'), skipped: sum('skipped') } });
    }
    if (flags.json) {
      const list = rows.map(({ run, counts }) => ({ id: run.id, flow: run.flow, trigger: run.trigger.type, status: run.status, ...counts, startedAt: new Date(run.startedAt).toISOString(), endedAt: run.endedAt ? new Date(run.endedAt).toISOString() : null }));
      // With --queue the runs come with the queue's counts; without, the list stays a plain array.
      print(JSON.stringify(queue ? { runs: list, queue } : list, null, 2));
      return;
    }
    if (queue) print(queueLine(queue));
    if (rows.length === 0) {
      print(`No runs in ${journal.where} yet. Start one with: sfx flow run FLOW.yaml`);
      return;
    }
    print(
      table(
        ['RUN', 'FLOW', 'TRIGGER', 'STATUS', 'OK', 'FAILED', 'SKIPPED', 'STARTED', 'DURATION'],
        rows.map(({ run, counts }) => [
          run.id,
          run.flow,
          run.trigger.type,
          run.status,
          formatCount(counts.succeeded),
          formatCount(counts.failed),
          formatCount(counts.skipped),
          new Date(run.startedAt).toISOString().replace('T', ' ').slice(0, 19),
          run.endedAt ? formatDuration(run.endedAt - run.startedAt) : run.status === 'running' ? 'running' : '',
        ]),
      ),
    );
  } finally {
    await store.close();
  }
}

async function showRun(id: string, flags: JournalFlags & { json?: boolean }): Promise<void> {
  const journal = await openJournal(flags);
  const store = journal.store;
  try {
    const run = await getRun(journal, id);
    let flow: CompiledFlow | undefined;
    try {
      flow = flowOfRun(run);
    } catch {
      flow = undefined;
    }
    const summary = await new Engine({ store }).summary(flow, id);
    const failures: Array<ItemRecord & { step: string }> = [];
    for (const s of summary.steps) for (const item of await store.items(id, s.id, { status: 'failed', limit: 20 })) failures.push({ step: s.id, ...item });
    if (flags.json) {
      print(JSON.stringify({ ...summary, flow: run.flow, trigger: run.trigger, inputs: run.inputs, startedAt: run.startedAt, endedAt: run.endedAt ?? null, failures }, null, 2));
      return;
    }
    print(
      keyValues([
        ['run', run.id],
        ['flow', `${run.flow}${run.flowFile ? ` (${run.flowFile})` : ''}`],
        ['trigger', run.trigger.type],
        ['status', run.status],
        ['started', new Date(run.startedAt).toISOString()],
        ['duration', run.endedAt ? formatDuration(run.endedAt - run.startedAt) : '-'],
        ...(run.error ? ([['error', run.error.message]] as Array<[string, string]>) : []),
        ...(run.error?.hint ? ([['hint', run.error.hint]] as Array<[string, string]>) : []),
      ]),
    );
    print(summaryTable(summary).split('\n').slice(2).join('\n'));
    if (failures.length) {
      print('\nFailed items (first 20 per step):');
      print(
        table(
          ['STEP', 'ITEM', 'KIND', 'ERROR'],
          failures.map((f) => [f.step, String(f.index), f.error?.kind ?? '', `${f.error?.message ?? ''}${f.error?.hint ? ` (hint: ${f.error.hint})` : ''}`]),
        ),
      );
      print(`\nRun them again with: sfx runs retry ${id} --failed`);
    }
  } finally {
    await store.close();
  }
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const FLOW_HELP = `
Examples:
  sfx flow validate examples/flows/import-products.yaml
  sfx flow run examples/flows/import-products.yaml --input csv=./products.csv
  sfx flow run my-flow.yaml --dry-run          # reads run, writes are only shown
  sfx flow run my-flow.yaml --json > events.jsonl
  sfx flow resume r20261203-4f2a1c

Runs are kept in .sfx/runs.db (--journal FILE or $SFX_JOURNAL to change; --store postgres://...
or $SFX_STORE for PostgreSQL); see them with sfx runs.
Writing flows: docs/flows.md.`;

const RUNS_HELP = `
Examples:
  sfx runs                          # the latest 20 runs
  sfx runs --flow import-products --status failed
  sfx runs show r20261203-4f2a1c    # steps, counts and failed items with their errors
  sfx runs retry r20261203-4f2a1c --failed
  sfx runs stop r20261203-4f2a1c --queue redis://10.0.0.5:6379   # a run a cluster's coordinator drives
  SFX_STORE=postgres://sfx@db.internal/sfx sfx runs   # runs in a PostgreSQL journal (password: $PGPASSWORD)`;

export function registerFlowCommands(program: Command): void {
  const flow = program.command('flow').description('Validate, run and resume flows (YAML workflows)').addHelpText('after', FLOW_HELP);
  flow
    .command('validate')
    .description('Check a flow file: YAML, fields, actions, inputs, expressions and step references, each problem at its line and column')
    .argument('<file>', 'the flow file (.yaml)')
    .addHelpText('after', '\nExamples:\n  sfx flow validate examples/flows/import-products.yaml\n\nExit codes: 0 valid; 2 problems found (each printed as file:line:column: path: message).')
    .action(async (file: string) => {
      const flowDef = await compileFlowFile(file);
      const loops = flowDef.steps.filter((s) => s.forEach).length;
      print(`${file}: ${flowDef.name} is valid (${flowDef.steps.length} step${flowDef.steps.length === 1 ? '' : 's'}, ${loops} loop${loops === 1 ? '' : 's'}, trigger ${flowDef.trigger.type}).`);
    });
  flow
    .command('run')
    .description('Run a flow now, with live progress and a summary at the end')
    .argument('<file>', 'the flow file (.yaml)')
    .option('--input <name=value>', 'a value for one of the flow\'s inputs (repeatable)', collect)
    .option('--dry-run', 'run read actions only; show what each write would get, change nothing')
    .option('--trigger <json>', 'the event a triggered flow gets as $trigger (JSON, @file.json or - for stdin), to try it by hand')
    .option('--json', 'print run events as JSON lines on stdout instead of progress')
    .option('--connection <name>', 'the stored connection for connections given as null (default: $SFX_CONNECTION, or the only one)')
    .option('--journal <file>', `the run journal (default: $SFX_JOURNAL or ${DEFAULT_JOURNAL})`)
    .option('--store <url>', STORE_OPTION)
    .option('--queue <url>', 'send loop items to the workers on this Redis (redis://HOST:PORT; docs/scale-out.md)', queueUrlOption)
    .option('--queue-name <name>', 'with --queue: the queue the workers take jobs from', 'sfx-items')
    .addHelpText('after', `\nExamples:\n  sfx flow run examples/flows/import-products.yaml\n  sfx flow run export.yaml --input folder=/catalogue --input size=800\n  sfx flow run my-flow.yaml --dry-run\n  sfx flow run examples/flows/tag-new-assets.yaml --trigger @asset.json   # a poll flow, by hand\n\nExit codes: 0 succeeded; 1 failed (sfx runs show RUN says why); 2 invalid flow or inputs; 130 stopped (resumable).`)
    .action((file: string, flags: RunFlags) => runFlow(file, flags));
  flow
    .command('resume')
    .description('Go on with a stopped, crashed or failed run: what succeeded is not done again')
    .argument('<run>', 'the run id (sfx runs lists them)')
    .option('--failed', 'run the failed items again too')
    .option('--json', 'print run events as JSON lines on stdout instead of progress')
    .option('--connection <name>', 'the stored connection for connections given as null')
    .option('--journal <file>', `the run journal (default: $SFX_JOURNAL or ${DEFAULT_JOURNAL})`)
    .option('--store <url>', STORE_OPTION)
    .option('--queue <url>', 'send loop items to the workers on this Redis (redis://HOST:PORT; docs/scale-out.md)', queueUrlOption)
    .option('--queue-name <name>', 'with --queue: the queue the workers take jobs from', 'sfx-items')
    .addHelpText('after', '\nExamples:\n  sfx flow resume r20261203-4f2a1c\n  sfx flow resume r20261203-4f2a1c --failed')
    .action((id: string, flags: RunFlags & { failed?: boolean }) => resumeRun(id, flags));

  const runs = program
    .command('runs')
    .description('List flow runs (newest first); show one; retry its failed items')
    .option('--flow <name>', 'only runs of this flow')
    .option('--status <status>', 'only runs with this status: running, succeeded, failed, interrupted')
    .option('--limit <n>', 'how many runs (default 20)')
    .option('--json', 'print the runs as JSON')
    .option('--journal <file>', `the run journal (default: $SFX_JOURNAL or ${DEFAULT_JOURNAL})`)
    .option('--store <url>', STORE_OPTION)
    .option('--queue <url>', 'a cluster\'s Redis (redis://HOST:PORT): show its item jobs waiting, in flight and failed too (runs retry sends its items there)', queueUrlOption)
    .option('--queue-name <name>', 'with --queue: the queue\'s name', 'sfx-items')
    .addHelpText('after', RUNS_HELP)
    .action((flags: JournalFlags & QueueFlags & { json?: boolean; flow?: string; status?: string; limit?: string }) => listRuns(flags));
  runs
    .command('show')
    .description('One run: its steps with counts and durations, and its failed items with their errors')
    .argument('<run>', 'the run id')
    .option('--json', 'print it as JSON')
    .option('--journal <file>', `the run journal (default: $SFX_JOURNAL or ${DEFAULT_JOURNAL})`)
    .option('--store <url>', STORE_OPTION)
    .addHelpText('after', '\nExamples:\n  sfx runs show r20261203-4f2a1c\n  sfx runs show r20261203-4f2a1c --json | jq .failures')
    .action((id: string, flags: JournalFlags & { json?: boolean }) => showRun(id, { ...runs.opts<JournalFlags>(), ...flags }));
  runs
    .command('retry')
    .description('Run the failed items of a run again (and go on where it stopped)')
    .argument('<run>', 'the run id')
    .requiredOption('--failed', 'retry the failed items (required, so a retry is never by accident)')
    .option('--json', 'print run events as JSON lines on stdout instead of progress')
    .option('--connection <name>', 'the stored connection for connections given as null')
    .option('--journal <file>', `the run journal (default: $SFX_JOURNAL or ${DEFAULT_JOURNAL})`)
    .option('--store <url>', STORE_OPTION)
    .addHelpText('after', '\nExamples:\n  sfx runs retry r20261203-4f2a1c --failed')
    .action((id: string, flags: RunFlags & { failed?: boolean }) => resumeRun(id, { ...runs.opts<JournalFlags>(), ...flags, failed: true }));
  registerRunStop(runs);
}
