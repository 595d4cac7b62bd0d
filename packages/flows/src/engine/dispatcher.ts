/**
 * Where one item's work executes. The engine hands each item to a dispatcher as a job named by
 * its idempotency key; in-process by default. A distributed dispatcher (BullMQ) runs the same
 * handler in workers: the journal, not the dispatcher, decides what is done.
 */

export interface ItemJob {
  runId: string;
  step: string;
  index: number;
  /** `runId:step:index`: a queue's job id, so a job sent twice is one job. */
  key: string;
  item: unknown;
  /** Aborted when the run stops waiting for the item (stopped, past its grace time). */
  signal?: AbortSignal;
}

/**
 * A page of a loop's source to read from `cursor` (the start without one): up to `size` items,
 * journaled as a `LoopPage` at `firstIndex` by whichever process runs the job.
 */
export interface PageJob {
  runId: string;
  step: string;
  firstIndex: number;
  cursor?: string;
  size: number;
  /** `runId:step:page-firstIndex`: a queue's job id, like an item's key. */
  key: string;
}

export type ItemHandler = (job: ItemJob) => Promise<void>;

export interface Dispatcher {
  /** Items run in other processes: their journal records, not the handler, tell the coordinator what happened. */
  readonly remote?: boolean;
  execute(job: ItemJob): Promise<void>;
  /**
   * Has another process read a page of a loop's source and journal it (see RunStore.savePage).
   * Without it, the engine reads its loops' sources itself, item by item.
   */
  readPage?(job: PageJob): Promise<void>;
  close(): Promise<void>;
}

export class InProcessDispatcher implements Dispatcher {
  constructor(private readonly handler: ItemHandler) {}

  execute(job: ItemJob): Promise<void> {
    return this.handler(job);
  }

  async close(): Promise<void> {}
}

export type DispatcherFactory = (handler: ItemHandler) => Dispatcher;

export const inProcess: DispatcherFactory = (handler) => new InProcessDispatcher(handler);

export function idempotencyKey(runId: string, step: string, index: number): string {
  return `${runId}:${step}:${index}`;
}

export function pageKey(runId: string, step: string, firstIndex: number): string {
  return `${runId}:${step}:page-${firstIndex}`;
}
