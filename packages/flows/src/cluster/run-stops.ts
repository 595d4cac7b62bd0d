/**
 * Stop requests between the coordinators of a cluster. A run is driven by one coordinator, and a
 * person may ask any of them (its console) to stop it: the request goes out on Redis pub/sub, and
 * the coordinator that drives the run aborts it and says so on a second channel. No answer means
 * no coordinator drives it (a `sfx flow run --queue` in a terminal, or a coordinator that died and
 * whose run is not taken over yet): the asker is told, rather than left believing it stopped.
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
  /** A coordinator asked for this run to stop (perhaps this one): true when this one drives it and stops it. */
  onStop: (runId: string) => boolean;
}

/** Raised when the request could not be sent: Redis does not answer. */
export class StopNotSentError extends Error {
  override name = 'StopNotSentError';
}

export class RunStops {
  readonly channel: string;
  private readonly answers: string;
  /** Askers waiting for the coordinator that drives a run to answer, by run id. */
  private readonly waiting = new Map<string, Set<() => void>>();
  /** A connection in subscriber mode takes no other commands: requests go out on their own. */
  private readonly subscriber: Redis;
  private readonly publisher: Redis;

  constructor(options: RunStopsOptions) {
    this.channel = stopRunChannel(options.name);
    this.answers = `${this.channel}:stopping`;
    this.subscriber = connect(options.url);
    this.publisher = connect(options.url);
    this.subscriber.on('message', (channel: string, runId: string) => {
      if (!runId) return;
      if (channel === this.channel && options.onStop(runId)) void this.publisher.publish(this.answers, runId).catch(() => undefined);
      if (channel === this.answers) for (const answered of this.waiting.get(runId) ?? []) answered();
    });
  }

  /** Subscribed: requests from now on reach this coordinator (ioredis subscribes again after a reconnect). */
  async ready(): Promise<void> {
    await this.subscriber.subscribe(this.channel, this.answers);
  }

  /**
   * Asks every coordinator to stop the run; the one that drives it does, and answers. False when
   * none answered within `answerMs`.
   */
  async request(runId: string, waitMs = 5000, answerMs = 3000): Promise<boolean> {
    // With Redis away the publish would wait for it to come back: the person asking is told instead.
    if (!redisAnswers(this.publisher)) throw new StopNotSentError('the queue\'s Redis does not answer.');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StopNotSentError(`the queue's Redis did not answer within ${waitMs} ms.`)), waitMs);
    });
    let answered!: () => void;
    const answer = new Promise<boolean>((resolve) => (answered = () => resolve(true)));
    const waiters = this.waiting.get(runId) ?? new Set();
    this.waiting.set(runId, waiters.add(answered));
    try {
      await Promise.race([this.publisher.publish(this.channel, runId), late]);
      clearTimeout(timer);
      const silence = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), answerMs)));
      return await Promise.race([answer, silence]);
    } finally {
      clearTimeout(timer);
      waiters.delete(answered);
      if (waiters.size === 0) this.waiting.delete(runId);
    }
  }

  async close(): Promise<void> {
    if (redisAnswers(this.subscriber)) await closeWithin(this.subscriber.unsubscribe(this.channel, this.answers));
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}
