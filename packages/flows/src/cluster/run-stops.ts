/**
 * Stop requests between the coordinators of a cluster. A run is driven by one coordinator, and a
 * person may ask any of them (its console) to stop it: the request goes out on Redis pub/sub, and
 * the coordinator that drives the run aborts it. A message is fire-and-forget, so the asker
 * watches the journal for the run's end rather than waiting for an answer.
 */
import type { Redis } from 'ioredis';
import { closeWithin, connect, DEFAULT_QUEUE, redisAnswers } from './queue.js';

export function stopRunChannel(queue = DEFAULT_QUEUE): string {
  return `sfx:${queue}:stop-run`;
}

export interface RunStopsOptions {
  url: string;
  /** The cluster's item queue name: every coordinator of the cluster shares it. */
  name?: string;
  /** A coordinator asked for this run to stop (perhaps this one); called whether or not it drives it. */
  onStop: (runId: string) => void;
}

/** Raised when the request could not be sent: Redis does not answer. */
export class StopNotSentError extends Error {
  override name = 'StopNotSentError';
}

export class RunStops {
  readonly channel: string;
  /** A connection in subscriber mode takes no other commands: requests go out on their own. */
  private readonly subscriber: Redis;
  private readonly publisher: Redis;

  constructor(options: RunStopsOptions) {
    this.channel = stopRunChannel(options.name);
    this.subscriber = connect(options.url);
    this.publisher = connect(options.url);
    this.subscriber.on('message', (channel: string, runId: string) => {
      if (channel === this.channel && runId) options.onStop(runId);
    });
  }

  /** Subscribed: requests from now on reach this coordinator (ioredis subscribes again after a reconnect). */
  async ready(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
  }

  /** Asks every coordinator to stop the run; the one that drives it does. */
  async request(runId: string, waitMs = 5000): Promise<void> {
    // With Redis away the publish would wait for it to come back: the person asking is told instead.
    if (!redisAnswers(this.publisher)) throw new StopNotSentError('the queue\'s Redis does not answer.');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StopNotSentError(`the queue's Redis did not answer within ${waitMs} ms.`)), waitMs);
    });
    try {
      await Promise.race([this.publisher.publish(this.channel, runId), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (redisAnswers(this.subscriber)) await closeWithin(this.subscriber.unsubscribe(this.channel));
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}
