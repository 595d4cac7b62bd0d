/**
 * `sfx run ACTION`, `sfx describe ID` and `sfx poll TRIGGER`: any catalogue action or polling
 * trigger, against a stored connection, from the command line.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  ACTIONS,
  ActionInputError,
  exportCatalog,
  getAction,
  getTrigger,
  InvalidConnectionError,
  openConnection,
  PollStateSchema,
  problemsOf,
  schemaFields,
  TRIGGERS,
  TriggerConfigError,
  TriggerStateError,
  type Action,
  type CatalogAction,
  type CatalogTrigger,
  type Connection,
  type OpenOptions,
  type PollState,
  type Problem,
  type Trigger,
} from '@sfx/connector';
import { editDistance } from '@sfx/flows';
import { ConnectionStore, writeAtomic } from './connections-store.js';
import { CliError, EXIT_INTERRUPTED, UsageError } from './errors.js';
import { parseJson, readJsonOption, applySets } from './input.js';
import { renderOutput, renderTable } from './render.js';
import { keyValues, table } from './table.js';
import { print } from './output.js';

type Client = ReturnType<typeof openConnection>;

/** Output fields that hold a secret for one action, besides the usual names (secret, password ...). */
const SECRET_OUTPUT: Record<string, string[]> = { 'access.exchange': ['key'] };

function note(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

// ---- ids ----

/** Known ids close to `id`: containing it, contained in it, or a few edits away. */
export function nearIds(id: string, known: readonly string[], max = 5): string[] {
  const wanted = id.toLowerCase();
  // A few edits away, or related by name (holding it, or its last word); closest first.
  const scored = known
    .map((candidate) => ({
      candidate,
      // One holding the whole id given comes first: "keys.create" is most likely access.keys.create.
      distance: candidate.includes(wanted) ? 0 : editDistance(wanted, candidate),
      related: candidate.includes(wanted) || (wanted.length >= 4 && wanted.includes(candidate.split('.').pop()!)),
    }))
    .filter(
      ({ candidate, distance, related }) =>
        related || distance <= Math.max(2, Math.floor(Math.min(wanted.length, candidate.length) / 3)),
    )
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate));
  return scored.slice(0, max).map((s) => s.candidate);
}

function unknownId(what: 'action' | 'trigger', id: string): UsageError {
  const known = what === 'action' ? ACTIONS.map((a) => a.id) : TRIGGERS.map((t) => t.id);
  const near = nearIds(id, known);
  const list = what === 'action' ? 'sfx catalog lists them all' : `the triggers are ${known.join(', ')}`;
  return new UsageError(`No ${what} "${id}".${near.length ? ` Did you mean ${near.join(', ')}?` : ''} (${list}.)`);
}

function findAction(id: string): Action {
  try {
    return getAction(id);
  } catch (error) {
    if (error instanceof RangeError) {
      if (TRIGGERS.some((t) => t.id === id))
        throw new UsageError(`"${id}" is a trigger, not an action: poll it with sfx poll ${id}.`);
      throw unknownId('action', id);
    }
    throw error;
  }
}

function findTrigger(id: string): Trigger {
  try {
    return getTrigger(id);
  } catch (error) {
    if (error instanceof RangeError) {
      if (ACTIONS.some((a) => a.id === id))
        throw new UsageError(`"${id}" is an action, not a trigger: run it with sfx run ${id}.`);
      throw unknownId('trigger', id);
    }
    throw error;
  }
}

// ---- connections ----

/** `--connection NAME`, else $SFX_CONNECTION, else the only stored connection. */
export async function chooseConnection(store: ConnectionStore, name: string | undefined): Promise<Connection> {
  const wanted = name ?? (process.env.SFX_CONNECTION || undefined);
  if (wanted !== undefined) return store.get(wanted);
  const all = await store.list();
  if (all.length === 1) return all[0]!;
  if (all.length === 0)
    throw new CliError(
      `No connection is stored in ${store.connectionsFile}: add one with sfx connection add NAME --endpoint URL --api-key env:FILEROBOT_KEY (for sfx server, the URL it prints), then try again.`,
    );
  throw new CliError(
    `${all.length} connections are stored (${all.map((c) => c.name).join(', ')}): choose one with --connection NAME, or set SFX_CONNECTION=NAME.`,
  );
}

/** `client`: options to add (a request rate, a concurrency) to what the connection says. */
export async function openStored(name: string | undefined, client?: OpenOptions['client']): Promise<{ conn: Connection; client: Client }> {
  const store = new ConnectionStore();
  const conn = await chooseConnection(store, name);
  const secrets = await store.secretsFor(conn);
  try {
    return { conn, client: openConnection(conn, { ...(secrets && { secrets }), ...(client && { client }) }) };
  } catch (error) {
    if (error instanceof InvalidConnectionError)
      throw new CliError(
        `connection "${conn.name}" cannot be used:\n${listProblems(error.problems)}\nCheck it with: sfx connection test ${conn.name}`,
      );
    throw error;
  }
}

// ---- running ----

function listProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `  ${p.path || '(input)'}: ${p.message}`).join('\n');
}

function inputError(id: string, problems: readonly Problem[], what = 'input', how = `sfx describe ${id}`): UsageError {
  return new UsageError(`invalid ${what} for ${id}:\n${listProblems(problems)}\nFields and an example: ${how}`);
}

/**
 * Runs `work` with an abort signal tied to Ctrl-C and, on a terminal, a progress line on stderr
 * (never on stdout, so --json output stays clean). Errors become CliErrors with their exit code.
 */
async function running<T>(label: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  const stop = progress(label);
  try {
    return await work(controller.signal);
  } catch (error) {
    if (controller.signal.aborted) throw new CliError(`${label}: interrupted.`, EXIT_INTERRUPTED);
    throw error;
  } finally {
    stop();
    process.off('SIGINT', onSigint);
  }
}

/** A spinner with the time spent, on stderr, only when stderr is a terminal; returns its stop. */
function progress(label: string): () => void {
  if (!process.stderr.isTTY) return () => undefined;
  const started = Date.now();
  const frames = ['|', '/', '-', '\\'];
  let frame = 0;
  let shown = false;
  const timer = setInterval(() => {
    shown = true;
    process.stderr.write(`\r${frames[frame++ % frames.length]} ${label} ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }, 250);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (shown) process.stderr.write('\r\x1b[K');
  };
}

/** An error from the action or the API as one message (the client's messages hold no secret). */
function failure(id: string, error: unknown): Error {
  if (error instanceof CliError) return error;
  if (error instanceof ActionInputError) return inputError(id, error.problems);
  if (error instanceof InvalidConnectionError)
    return new CliError(`${id}: the connection cannot be used:\n${listProblems(error.problems)}`);
  return new CliError(`${id} failed: ${error instanceof Error ? error.message : String(error)}`);
}

interface RunFlags {
  connection?: string;
  input?: string;
  set?: string[];
  json?: boolean;
  describe?: boolean;
}

async function runAction(id: string, stdinArg: string | undefined, flags: RunFlags): Promise<void> {
  if (flags.describe) return describe(id, { json: flags.json });
  const action = findAction(id);
  if (stdinArg !== undefined && stdinArg !== '-')
    throw new UsageError(
      'sfx run takes one action id; the input goes in --input JSON, --input @file.json, --input - (stdin) or --set key=value.',
    );
  if (stdinArg === '-' && flags.input !== undefined)
    throw new UsageError('give the input once: --input, or "-" to read it from stdin, not both.');
  const given = await readJsonOption('--input', flags.input ?? stdinArg);
  const input = applySets(given, flags.set ?? []) ?? {};
  // Checked before anything else (no connection needed, nothing sent).
  const checked = action.input.safeParse(input);
  if (!checked.success) throw inputError(action.id, problemsOf(checked.error.issues));
  const { client } = await openStored(flags.connection);
  let output: unknown;
  try {
    output = await running(action.id, (signal) => action.run({ client, signal }, input as never));
  } catch (error) {
    throw failure(action.id, error);
  } finally {
    await client.close();
  }
  print(
    flags.json
      ? JSON.stringify(output, null, 2)
      : renderOutput(output, { secretFields: SECRET_OUTPUT[action.id] ?? [] }),
  );
}

// ---- describe ----

function unescapeType(type: string): string {
  return type.replace(/\\\|/g, '|');
}

async function describe(id: string, flags: { json?: boolean }): Promise<void> {
  const catalog = exportCatalog();
  const item: CatalogAction | CatalogTrigger | undefined =
    catalog.actions.find((a) => a.id === id) ?? catalog.triggers.find((t) => t.id === id);
  if (!item) {
    const near = nearIds(id, [...catalog.actions.map((a) => a.id), ...catalog.triggers.map((t) => t.id)]);
    throw new UsageError(`No action or trigger "${id}".${near.length ? ` Did you mean ${near.join(', ')}?` : ''} (sfx catalog lists them all.)`);
  }
  if (flags.json) return print(JSON.stringify(item, null, 2));
  const isAction = 'idempotent' in item;
  const out = [`${item.id}: ${item.title}`, ''];
  if (item.description) out.push(item.description, '');
  const facts: Array<[string, string]> = [
    ['kind', isAction ? `${item.kind}${item.idempotent ? ', idempotent' : ', not idempotent'}` : `${item.kind} trigger`],
    ['endpoint', item.endpoint],
    ['permissions', item.permissions.length ? item.permissions.join(', ') : '-'],
  ];
  for (const also of item.alsoNeeds) facts.push(['also needs', `${also.permission} when ${also.when}`]);
  facts.push(['group', item.group]);
  out.push(keyValues(facts), '');
  const fields = schemaFields(item.input);
  out.push(isAction ? 'Input:' : 'Configuration:');
  if (fields.length === 0) out.push('  none: give {}');
  else
    out.push(
      table(
        ['FIELD', 'TYPE', 'REQUIRED', 'DESCRIPTION'],
        fields.map((f) => [f.name, unescapeType(f.type), f.required ? 'yes' : 'no', f.description.replace(/\s*\n\s*/g, ' ')]),
        '  ',
      ),
    );
  out.push('', isAction ? 'Example input:' : 'Example configuration:', JSON.stringify(item.example, null, 2), '');
  const example = `'${JSON.stringify(item.example)}'`;
  out.push(
    isAction
      ? `Run it: sfx run ${item.id} --input ${example}`
      : item.kind === 'polling'
        ? `Poll it: sfx poll ${item.id} --config ${example} --state ${item.id}.state.json`
        : `Samples: sfx poll ${item.id} --test --config ${example} (events themselves need a receiver: docs/connector.md, "Triggers")`,
  );
  print(out.join('\n'));
}

// ---- poll ----

interface PollFlags {
  connection?: string;
  config?: string;
  state?: string;
  json?: boolean;
  test?: boolean;
}

async function readState(file: string, triggerId: string): Promise<PollState | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`--state ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  const fix = `fix it, or delete it to start again from now`;
  let data: unknown;
  try {
    data = parseJson(text, `--state ${file}`);
  } catch {
    throw new UsageError(`--state ${file} is not valid JSON: ${fix}.`);
  }
  const parsed = PollStateSchema.safeParse(data);
  if (!parsed.success)
    throw new UsageError(`--state ${file} is not a poll state:\n${listProblems(problemsOf(parsed.error.issues))}\nFix it, or delete it to start again from now.`);
  if (parsed.data.trigger !== triggerId)
    throw new UsageError(
      `--state ${file} was written by trigger "${parsed.data.trigger}", not ${triggerId}: each trigger keeps its own state file; give another --state.`,
    );
  return parsed.data;
}

function printItems(items: readonly unknown[], json: boolean | undefined): void {
  if (json) {
    for (const item of items) process.stdout.write(`${JSON.stringify(item)}\n`);
    return;
  }
  if (items.length > 0) print(renderTable(items as Array<Record<string, unknown>>));
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

async function poll(id: string, flags: PollFlags): Promise<void> {
  const trigger = findTrigger(id);
  // Said before anything else: no config or connection would make it pollable.
  if (trigger.kind === 'webhook' && !flags.test) throw notPollable(trigger.id);

  const config = (await readJsonOption('--config', flags.config)) ?? {};
  const checked = trigger.input.safeParse(config);
  if (!checked.success)
    throw inputError(trigger.id, problemsOf(checked.error.issues), 'configuration', `sfx describe ${trigger.id}`);
  // Human summaries go to stdout beside a table, to stderr beside JSON lines.
  const say = flags.json ? note : print;

  if (flags.test) {
    if (flags.state !== undefined) note(`--test reads and writes no state: ${flags.state} is left as it is.`);
    const { client } = await openStored(flags.connection);
    let samples: unknown[];
    try {
      samples = await running(`${trigger.id} (test)`, (signal) => trigger.test({ client, signal }, config as never));
    } catch (error) {
      throw triggerFailure(trigger.id, error);
    } finally {
      await client.close();
    }
    say(
      samples.length === 0
        ? `No samples: nothing the trigger could emit is there yet (test mode: no state read or written).`
        : `${plural(samples.length, 'sample')} of ${trigger.id} (test mode: no state read or written):`,
    );
    printItems(samples, flags.json);
    return;
  }

  if (trigger.kind === 'webhook') throw notPollable(trigger.id);
  const state = flags.state !== undefined ? await readState(flags.state, trigger.id) : null;
  const { client } = await openStored(flags.connection);
  let result: Awaited<ReturnType<typeof trigger.poll>>;
  try {
    result = await running(trigger.id, (signal) => trigger.poll({ client, signal }, config as never, state));
  } catch (error) {
    throw triggerFailure(trigger.id, error);
  } finally {
    await client.close();
  }
  const { items } = result;
  if (items.length > 0 && !flags.json) say(`${plural(items.length, 'new item')}:`);
  printItems(items, flags.json);
  // The state is saved only once the items are out: a crash in between emits them again, never loses them.
  if (flags.state !== undefined) await writeAtomic(flags.state, `${JSON.stringify(result.state, null, 2)}\n`, 0o600);
  const lines: string[] = [];
  if (items.length === 0)
    lines.push(
      state === null && checked.data && !(checked.data as { from?: string }).from
        ? `No new items: a first poll starts from now${result.state.watermark ? ` (${result.state.watermark})` : ''}; what arrives after it comes with the next poll.`
        : 'No new items.',
    );
  else if (flags.json) lines.push(`${plural(items.length, 'new item')}.`);
  if (result.more) lines.push('More items are waiting: poll again.');
  lines.push(
    flags.state !== undefined
      ? `State saved to ${flags.state}.`
      : 'No --state file: the next poll starts from now again; give --state FILE to carry on where this one stopped.',
  );
  say(lines.join('\n'));
}

function notPollable(id: string): UsageError {
  return new UsageError(
    `${id} is a webhook trigger: the DAM posts its events to a receiver, so there is nothing to poll. ` +
      'Run a receiver (startWebhookReceiver) and register its URL (sfx run webhooks.create): see docs/connector.md, "Triggers". ' +
      `sfx poll ${id} --test shows samples of its events.`,
  );
}

function triggerFailure(id: string, error: unknown): Error {
  if (error instanceof TriggerConfigError) return inputError(id, error.problems, 'configuration');
  if (error instanceof TriggerStateError) return new UsageError(error.message);
  return failure(id, error);
}

// ---- commands ----

function repeat(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const RUN_HELP = `
Input: --input '{"folder": "/photos"}', --input @input.json, or - (stdin); then each --set over it.
--set a.b=value sets a field (a value that parses as JSON is JSON: 10, true, ["a","b"], "quoted"; else text).

Examples:
  sfx run files.list --set folder=/photos
  sfx run upload-asset --set source.path=./hero.jpg --set folder=/catalogue --set 'tags=["summer"]'
  echo '{"q": "#summer"}' | sfx run files.search - --json
  sfx run --describe upload-asset

The connection: --connection NAME, else $SFX_CONNECTION, else the only stored one (sfx connection list).
Exit codes: 0 done; 1 failed (API error, connection); 2 bad input, refused before any request; 130 interrupted.`;

const POLL_HELP = `
Without a state file a poll starts from now and emits nothing (unless the config gives "from");
the new state is written to --state FILE (atomically) after the items are printed.

Examples:
  sfx poll assets.new --config '{"folder": "/incoming"}' --state incoming.state.json
  sfx poll assets.updated --config @watch.json --state updated.state.json --json
  sfx poll assets.new --test

Exit codes: 0 done; 1 failed (API error, connection); 2 bad config or state file; 130 interrupted.`;

export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description('Run a catalogue action against a stored connection (sfx catalog lists the actions)')
    .argument('<action-id>', 'the action, e.g. files.list or upload-asset')
    .argument('[-]', 'a dash reads the input JSON from stdin (same as --input -)')
    .option('--connection <name>', 'the stored connection to use (default: $SFX_CONNECTION, or the only one)')
    .option('--input <json>', 'the input: JSON, @file.json, or - for stdin')
    .option('--set <key=value>', 'set an input field, e.g. folder=/photos or meta.title.en=Hero (repeatable)', repeat)
    .option('--json', "print the action's output as JSON")
    .option('--describe', "describe the action (fields, permissions, example) instead of running it")
    .addHelpText('after', RUN_HELP)
    .action((id: string, stdinArg: string | undefined, flags: RunFlags) => runAction(id, stdinArg, flags));
  program
    .command('describe')
    .description("Describe an action or trigger: kind, permissions, input fields and an example")
    .argument('<id>', 'an action or trigger id')
    .option('--json', 'its catalogue entry as JSON (with the input and output JSON Schemas)')
    .action((id: string, flags: { json?: boolean }) => describe(id, flags));
  program
    .command('poll')
    .description('Poll a trigger once: print the new items and keep the state for the next poll')
    .argument('<trigger-id>', 'a polling trigger: assets.new or assets.updated')
    .option('--connection <name>', 'the stored connection to use (default: $SFX_CONNECTION, or the only one)')
    .option('--config <json>', "the trigger's configuration: JSON, @file.json, or - for stdin")
    .option('--state <file>', 'where the poll state is kept (read before, replaced after); absent: start from now')
    .option('--json', 'print the items as JSON lines')
    .option('--test', 'print up to 3 recent samples instead (no state read or written)')
    .addHelpText('after', POLL_HELP)
    .action((id: string, flags: PollFlags) => poll(id, flags));
}
