/**
 * `sfx runs --queue URL`: where a cluster's item jobs stand (queue depth, in flight, waiting to be
 * retried, failed for good), next to the runs the journal lists.
 */
import { InvalidArgumentError } from 'commander';
import { checkQueue, ItemQueue, parseQueueUrl, redactQueueUrl, type QueueCounts } from '@sfx/flows';
import { CliError } from './errors.js';

export interface QueueFlags {
  queue?: string;
  queueName?: string;
}

export async function queueCounts(flags: QueueFlags): Promise<(QueueCounts & { queue: string }) | undefined> {
  if (!flags.queue) return undefined;
  const name = flags.queueName ?? 'sfx-items';
  try {
    await checkQueue(flags.queue);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const queue = new ItemQueue({ url: flags.queue, name });
  try {
    // A Redis that is down must not leave `sfx runs` waiting for ever.
    const counts = await Promise.race([
      queue.counts(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer in 5 s')), 5000).unref()),
    ]);
    return { queue: name, ...counts };
  } catch (error) {
    throw new CliError(`cannot read the queue ${name} at ${redactQueueUrl(flags.queue)}: ${(error as Error).message}`);
  } finally {
    await queue.close();
  }
}

export function queueLine(c: QueueCounts & { queue: string }): string {
  return `Queue ${c.queue}: ${c.waiting} waiting, ${c.active} in flight, ${c.delayed} to retry, ${c.failed} failed.`;
}

/** Commander's check of a --queue value: a redis:// URL, refused before anything connects. */
export function queueUrlOption(value: string): string {
  try {
    parseQueueUrl(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
}
