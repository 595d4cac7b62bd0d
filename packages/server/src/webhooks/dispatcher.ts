import { createHmac } from 'node:crypto';
import { apiTime, fileObject, folderObject, type UrlContext } from '../api/serialize.js';
import type { ServerContext } from '../context.js';
import { guardedFetch } from '../net/guarded-agent.js';
import type { FileWithFolder, FolderRow } from '../store/rows.js';
import type { DueDelivery, WebhookStore } from '../store/webhooks.js';

export interface DispatcherOptions {
  /** Attempts per delivery before it is marked failed. Default 5. */
  maxAttempts?: number;
  /** Wait before the second attempt; each later one waits twice as long. Default 5 s. */
  retryBaseMs?: number;
  /** Longest wait between attempts. Default 1 hour. */
  retryMaxMs?: number;
  /** Time a receiver has to answer one delivery. Default 10 s. */
  timeoutMs?: number;
  /** Webhooks delivered to at once (each webhook has at most one delivery in flight). Default 8. */
  concurrency?: number;
  /** Longest sleep between looks at the outbox; writes also wake the dispatcher at once. Default 1 s. */
  pollMs?: number;
  /** How long finished deliveries stay in the log. Default 7 days. */
  retentionMs?: number;
}

/** The JSON body of one event, as every subscription receives it. */
export function eventBody(due: Pick<DueDelivery, 'event'>, url: UrlContext): string {
  const { event } = due;
  const stored = JSON.parse(event.data) as Record<string, unknown>;
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stored)) {
    if (key === 'file') data.file = fileObject(url, value as FileWithFolder);
    else if (key === 'folder') data.folder = folderObject(url, value as FolderRow);
    else data[key] = value;
  }
  return JSON.stringify({
    id: event.uuid,
    type: event.type,
    occurred_at: apiTime(event.occurred_at),
    project: url.token,
    data,
  });
}

export function signature(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * Sends recorded events to their webhooks: at least once, in order per webhook, with exponential
 * backoff. It runs beside the API and only reads the outbox, so a slow or failing receiver never
 * holds up a request. Deliveries left pending by a stop or a crash go out after the next start.
 */
export class WebhookDispatcher {
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly retentionMs: number;
  private readonly inFlight = new Map<number, { controller: AbortController; done: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly store: WebhookStore,
    private readonly url: () => UrlContext,
    options: DispatcherOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 5;
    this.retryBaseMs = options.retryBaseMs ?? 5_000;
    this.retryMaxMs = options.retryMaxMs ?? 60 * 60_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.concurrency = options.concurrency ?? 8;
    this.pollMs = options.pollMs ?? 1_000;
    this.retentionMs = options.retentionMs ?? 7 * 24 * 60 * 60_000;
  }

  start(): void {
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), 60 * 60_000);
    this.pruneTimer.unref();
    this.wake();
  }

  /** Looks at the outbox now (after a write) instead of at the next poll. */
  wake(): void {
    this.schedule(0);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.pruneTimer);
    // An aborted attempt is not recorded: the delivery stays pending and goes out after a restart.
    for (const { controller } of this.inFlight.values()) controller.abort();
    await Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.min(delayMs, this.pollMs)));
    this.timer.unref();
  }

  private tick(): void {
    if (this.closed) return;
    try {
      const free = this.concurrency - this.inFlight.size;
      if (free > 0) {
        const due = this.store
          .due(Date.now(), free + this.inFlight.size)
          .filter((d) => !this.inFlight.has(d.webhook.id));
        for (const item of due.slice(0, free)) this.send(item);
      }
      const next = this.store.nextDue();
      this.schedule(next === undefined ? this.pollMs : next - Date.now());
    } catch (error) {
      // The database is closing, or busy past its timeout: try again at the next poll.
      this.ctx.log('error', 'webhook dispatch failed', { error: (error as Error).message });
      this.schedule(this.pollMs);
    }
  }

  private send(due: DueDelivery): void {
    const controller = new AbortController();
    const done = this.attempt(due, controller.signal)
      .catch((error: unknown) =>
        this.ctx.log('error', 'webhook delivery bookkeeping failed', { error: (error as Error).message }),
      )
      .finally(() => {
        this.inFlight.delete(due.webhook.id);
        this.wake();
      });
    this.inFlight.set(due.webhook.id, { controller, done });
  }

  private async attempt(due: DueDelivery, signal: AbortSignal): Promise<void> {
    const { delivery, webhook, event } = due;
    const body = eventBody(due, this.url());
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'sfx-webhooks/1',
      'x-sfx-event': event.type,
      'x-sfx-delivery': delivery.uuid,
    };
    if (webhook.secret) headers['x-sfx-signature'] = signature(webhook.secret, body);
    if (webhook.basic_user !== null) {
      headers.authorization =
        'Basic ' + Buffer.from(`${webhook.basic_user}:${webhook.basic_pass ?? ''}`).toString('base64');
    }
    let status: number | null = null;
    let error: string | undefined;
    try {
      // The guard checks each address the connection is made to (loopback, private and other
      // non-public ones are refused unless allowPrivateWebhooks): the server must not be an SSRF proxy.
      const response = await guardedFetch(new URL(webhook.url), {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        dispatcher: this.ctx.webhookGuard.agent,
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]),
      });
      await response.body?.cancel();
      status = response.status;
      if (status >= 200 && status < 300) {
        if (!signal.aborted) this.store.markDelivered(delivery.id, status);
        return;
      }
      error = status >= 300 && status < 400 ? `HTTP ${status}: redirects are not followed` : `HTTP ${status}`;
    } catch (caught) {
      if (signal.aborted) return;
      const e = caught as Error;
      error =
        e.name === 'TimeoutError'
          ? `no answer within ${this.timeoutMs} ms`
          : ((e.cause as Error | undefined)?.message ?? e.message);
    }
    if (signal.aborted) return;
    const attempts = delivery.attempts + 1;
    const retryAt =
      attempts >= this.maxAttempts
        ? undefined
        : Date.now() + Math.min(this.retryBaseMs * 2 ** (attempts - 1), this.retryMaxMs);
    this.store.markFailed(delivery.id, status, error ?? 'unknown error', retryAt);
    this.ctx.log(
      retryAt === undefined ? 'warn' : 'debug',
      retryAt === undefined ? 'webhook delivery failed for good' : 'webhook delivery failed; will retry',
      {
        webhook: webhook.uuid,
        delivery: delivery.uuid,
        event: event.type,
        attempts,
        error,
      },
    );
  }

  private prune(): void {
    try {
      this.store.prune(new Date(Date.now() - this.retentionMs).toISOString());
    } catch (error) {
      this.ctx.log('error', 'webhook log pruning failed', { error: (error as Error).message });
    }
  }
}
