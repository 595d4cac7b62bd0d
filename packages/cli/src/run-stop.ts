/**
 * `sfx runs stop RUN --queue URL`: stops one run a cluster's coordinator drives, as the console's
 * Stop run does. The request goes to every coordinator of the queue; the one that drives the run
 * answers and stops it (it ends `interrupted`, resumable, and is not resumed by itself). A run of
 * a single process is stopped in that process: this says which.
 */
import type { Command } from 'commander';
import { checkQueue, redactQueueUrl, RunStops, StopNotSentError, type RunRecord } from '@sfx/flows';
import { CliError, UsageError } from './errors.js';
import { DEFAULT_JOURNAL, getRun, openJournal, STORE_OPTION, type JournalFlags } from './journal.js';
import { queueUrlOption, type QueueFlags } from './queue-status.js';
import { print } from './output.js';

type StopFlags = JournalFlags & QueueFlags & { json?: boolean; waitMs?: string };

export function registerRunStop(runs: Command): void {
  runs
    .command('stop')
    .description('Stop a running run that a cluster\'s coordinator drives (it ends interrupted, resumable)')
    .argument('<run>', 'the run id')
    .option('--queue <url>', 'the cluster\'s Redis (redis://HOST:PORT), where its coordinators listen', queueUrlOption)
    // No default here: `sfx runs` has these options too, and takes their values wherever they stand.
    .option('--queue-name <name>', 'with --queue: the queue\'s name (default: sfx-items)')
    .option('--json', 'print the outcome as JSON')
    .option('--journal <file>', `the run journal (default: $SFX_JOURNAL or ${DEFAULT_JOURNAL})`)
    .option('--store <url>', STORE_OPTION)
    .addHelpText(
      'after',
      `
Examples:
  sfx runs stop r20261203-4f2a1c --queue redis://10.0.0.5:6379 --store postgres://sfx@db/sfx
  sfx flow resume r20261203-4f2a1c --queue redis://10.0.0.5:6379    # go on later

Items already running on workers finish there; those still queued after the grace time are
withdrawn. A run of sfx flow run (without --queue) stops with Ctrl-C in its terminal, and a run of
a single sfx serve with Stop run on its console page.`,
    )
    .action((id: string, flags: StopFlags) => stopRun(id, { ...runs.opts<JournalFlags & QueueFlags>(), ...definedOnly(flags) }));
}

async function stopRun(id: string, flags: StopFlags): Promise<void> {
  const journal = await openJournal(flags);
  try {
    const run = await getRun(journal, id);
    if (run.status !== 'running')
      throw new CliError(`run ${id} is not running: it ${run.status === 'interrupted' ? 'was interrupted' : run.status}.${run.status === 'succeeded' ? '' : ' sfx flow resume RUN goes on with it.'}`);
    if (!flags.queue)
      throw new UsageError(
        `run ${id} is run by ${ownerOf(run)}. A run of sfx flow run stops with Ctrl-C in its terminal; one of sfx serve with Stop run on its console page; on a cluster, give --queue redis://HOST:PORT to send the stop to its coordinator.`,
      );
    try {
      await checkQueue(flags.queue);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
    const stops = new RunStops({ url: flags.queue, name: flags.queueName ?? 'sfx-items', onStop: () => false });
    let answered: boolean;
    try {
      await stops.ready();
      answered = await stops.request(id);
    } catch (error) {
      if (error instanceof StopNotSentError) throw new CliError(`the stop could not be sent on ${redactQueueUrl(flags.queue)}: ${error.message}`);
      throw error;
    } finally {
      await stops.close();
    }
    if (!answered)
      throw new CliError(
        `no coordinator on ${redactQueueUrl(flags.queue)} (queue ${flags.queueName ?? 'sfx-items'}) drives run ${id}; it is run by ${ownerOf(run)}. A run of sfx flow run --queue stops with Ctrl-C in its terminal; a run whose coordinator died is taken over by another within about 30 s: stop it then.`,
      );
    // The coordinator lets the items in flight end (up to its grace time) before the run ends.
    const status = await endOf(journal.store, id, Number(flags.waitMs ?? 60_000));
    if (flags.json) print(JSON.stringify({ run: id, status }));
    else print(status === 'running' ? `Run ${id}: stop requested; it ends interrupted once its items in flight end.` : `Run ${id}: ${status}. sfx flow resume ${id} goes on from where it stopped.`);
  } finally {
    await journal.store.close();
  }
}

function definedOnly<T extends object>(flags: T): Partial<T> {
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function ownerOf(run: RunRecord): string {
  return run.owner ? `process ${run.owner}` : 'another process';
}

async function endOf(store: { getRun(id: string): unknown }, id: string, ms: number): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    const run = (await (store.getRun(id) as Promise<RunRecord | undefined> | RunRecord | undefined)) ?? undefined;
    const status = run?.status ?? 'interrupted';
    if (status !== 'running' || Date.now() >= until) return status;
    await new Promise((r) => setTimeout(r, 250));
  }
}
