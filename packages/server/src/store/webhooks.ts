import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { badRequest, notFound } from '../errors.js';
import { now } from './metadata-store.js';

/** Every event the server records; `*` in a subscription means all of them. */
export const WEBHOOK_EVENTS = [
  'file.uploaded',
  'file.renamed',
  'file.moved',
  'file.deleted',
  'file.meta_changed',
  'folder.created',
  'folder.renamed',
  'folder.moved',
  'folder.deleted',
  'folder.visibility_changed',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookRow {
  id: number;
  uuid: string;
  url: string;
  events: string;
  secret: string | null;
  basic_user: string | null;
  basic_pass: string | null;
  description: string;
  active: number;
  created_at: string;
  updated_at: string;
}

export interface WebhookInput {
  url: string;
  events: string[];
  secret: string | null;
  basicAuth: { user: string; pass: string } | null;
  description: string;
  active: boolean;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface DeliveryRow {
  id: number;
  uuid: string;
  webhook_id: number;
  event_id: number;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: number;
  last_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

export interface EventRow {
  id: number;
  uuid: string;
  type: string;
  occurred_at: string;
  data: string;
}

/** A delivery due now, with what sending it needs. */
export interface DueDelivery {
  delivery: DeliveryRow;
  event: EventRow;
  webhook: WebhookRow;
}

/** Most subscriptions a project may hold: each one costs an outbox row per change. */
export const MAX_WEBHOOKS = 100;

/** The oldest pending delivery of the webhook `w` (correlated subquery), read from the partial index. */
const PENDING_HEAD = `SELECT id FROM webhook_deliveries INDEXED BY webhook_deliveries_pending
  WHERE webhook_id = w.id AND state = 'pending' ORDER BY id LIMIT 1`;

/**
 * Webhook subscriptions and their delivery log. Events themselves are written by triggers
 * (schema migration 5), in the same transaction as the change they describe.
 */
export class WebhookStore {
  private readonly stmt: Record<string, Statement>;

  constructor(private readonly db: Database) {
    this.stmt = {
      byUuid: db.prepare('SELECT * FROM webhooks WHERE uuid = ?'),
      // Each active webhook's oldest pending delivery, if it is due: a later one never overtakes it.
      // The head is found per webhook through the partial index (one seek each, at most
      // MAX_WEBHOOKS): these run after every write, and must not read every pending delivery.
      due: db.prepare(
        `SELECT d.id FROM webhooks w JOIN webhook_deliveries d ON d.id = (${PENDING_HEAD})
         WHERE w.active = 1 AND d.next_attempt_at <= ? ORDER BY d.id LIMIT ?`,
      ),
      nextDue: db.prepare(
        `SELECT min(d.next_attempt_at) AS at FROM webhooks w JOIN webhook_deliveries d ON d.id = (${PENDING_HEAD})
         WHERE w.active = 1`,
      ),
      delivery: db.prepare('SELECT * FROM webhook_deliveries WHERE id = ?'),
      event: db.prepare('SELECT * FROM webhook_events WHERE id = ?'),
      webhookById: db.prepare('SELECT * FROM webhooks WHERE id = ?'),
      delivered: db.prepare(
        `UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_attempt_at = ?, last_status = ?,
           last_error = NULL, delivered_at = ? WHERE id = ? AND state = 'pending'`,
      ),
      failedAttempt: db.prepare(
        `UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?, last_attempt_at = ?,
           last_status = ?, last_error = ? WHERE id = ? AND state = 'pending'`,
      ),
    };
  }

  list(): WebhookRow[] {
    return this.db.prepare('SELECT * FROM webhooks ORDER BY id').all() as WebhookRow[];
  }

  require(uuid: string): WebhookRow {
    const row = this.stmt.byUuid!.get(uuid) as WebhookRow | undefined;
    if (!row)
      throw notFound(
        'WEBHOOK_NOT_FOUND',
        `No webhook has the uuid ${uuid}.`,
        'List webhooks with GET /v5/webhooks.',
      );
    return row;
  }

  create(input: WebhookInput): WebhookRow {
    return this.db
      .transaction(() => {
        const count = (this.db.prepare('SELECT count(*) AS n FROM webhooks').get() as { n: number }).n;
        if (count >= MAX_WEBHOOKS) {
          throw badRequest(
            'TOO_MANY_WEBHOOKS',
            `A project holds at most ${MAX_WEBHOOKS} webhooks.`,
            'Delete unused ones, or subscribe one URL to several events.',
          );
        }
        const at = now();
        const uuid = randomUUID();
        this.db
          .prepare(
            `INSERT INTO webhooks (uuid, url, events, secret, basic_user, basic_pass, description, active, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            uuid,
            input.url,
            JSON.stringify(input.events),
            input.secret,
            input.basicAuth?.user ?? null,
            input.basicAuth?.pass ?? null,
            input.description,
            input.active ? 1 : 0,
            at,
            at,
          );
        return this.require(uuid);
      })
      .immediate();
  }

  update(uuid: string, change: Partial<WebhookInput>): WebhookRow {
    return this.db
      .transaction(() => {
        const row = this.require(uuid);
        const basic =
          change.basicAuth === undefined ? { user: row.basic_user, pass: row.basic_pass } : change.basicAuth;
        this.db
          .prepare(
            `UPDATE webhooks SET url = ?, events = ?, secret = ?, basic_user = ?, basic_pass = ?, description = ?, active = ?,
               updated_at = ? WHERE id = ?`,
          )
          .run(
            change.url ?? row.url,
            change.events ? JSON.stringify(change.events) : row.events,
            change.secret === undefined ? row.secret : change.secret,
            basic?.user ?? null,
            basic?.pass ?? null,
            change.description ?? row.description,
            change.active === undefined ? row.active : change.active ? 1 : 0,
            now(),
            row.id,
          );
        return this.require(uuid);
      })
      .immediate();
  }

  /** Removes the webhook and its delivery log (pending deliveries are dropped with it). */
  delete(uuid: string): WebhookRow {
    return this.db
      .transaction(() => {
        const row = this.require(uuid);
        this.db.prepare('DELETE FROM webhook_deliveries WHERE webhook_id = ?').run(row.id);
        this.db.prepare('DELETE FROM webhooks WHERE id = ?').run(row.id);
        return row;
      })
      .immediate();
  }

  deliveries(
    webhook: WebhookRow,
    query: { state?: DeliveryState; limit: number; offset: number },
  ): {
    deliveries: Array<DeliveryRow & { event_uuid: string; event_type: string; occurred_at: string }>;
    total: number;
  } {
    const where = query.state ? 'd.webhook_id = ? AND d.state = ?' : 'd.webhook_id = ?';
    const params: unknown[] = query.state ? [webhook.id, query.state] : [webhook.id];
    const total = (
      this.db.prepare(`SELECT count(*) AS n FROM webhook_deliveries d WHERE ${where}`).get(...params) as {
        n: number;
      }
    ).n;
    const deliveries = this.db
      .prepare(
        `SELECT d.*, e.uuid AS event_uuid, e.type AS event_type, e.occurred_at AS occurred_at
         FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
         WHERE ${where} ORDER BY d.id DESC LIMIT ? OFFSET ?`,
      )
      .all(...params, query.limit, query.offset) as Array<
      DeliveryRow & { event_uuid: string; event_type: string; occurred_at: string }
    >;
    return { deliveries, total };
  }

  /** Deliveries due at `nowMs`, at most one per webhook (its oldest pending one). */
  due(nowMs: number, limit: number): DueDelivery[] {
    const ids = (this.stmt.due!.all(nowMs, limit) as Array<{ id: number }>).map((r) => r.id);
    return ids.map((id) => {
      const delivery = this.stmt.delivery!.get(id) as DeliveryRow;
      return {
        delivery,
        event: this.stmt.event!.get(delivery.event_id) as EventRow,
        webhook: this.stmt.webhookById!.get(delivery.webhook_id) as WebhookRow,
      };
    });
  }

  /** When the earliest pending head delivery falls due (ms since the epoch), if any. */
  nextDue(): number | undefined {
    return (this.stmt.nextDue!.get() as { at: number | null }).at ?? undefined;
  }

  markDelivered(id: number, status: number): void {
    const at = now();
    this.stmt.delivered!.run(at, status, at, id);
  }

  /** Records a failed attempt: retried at `retryAt`, or given up on when it is undefined. */
  markFailed(id: number, status: number | null, error: string, retryAt: number | undefined): void {
    this.stmt.failedAttempt!.run(
      retryAt === undefined ? 'failed' : 'pending',
      retryAt ?? 0,
      now(),
      status,
      error.slice(0, 500),
      id,
    );
  }

  /** Puts a failed delivery back in line, at its original place: before the webhook's later pending ones. */
  retry(webhook: WebhookRow, deliveryUuid: string): DeliveryRow {
    const row = this.db
      .prepare('SELECT * FROM webhook_deliveries WHERE uuid = ? AND webhook_id = ?')
      .get(deliveryUuid, webhook.id) as DeliveryRow | undefined;
    if (!row)
      throw notFound(
        'DELIVERY_NOT_FOUND',
        `The webhook has no delivery ${deliveryUuid}.`,
        'List them with GET /v5/webhooks/{uuid}/deliveries.',
      );
    if (row.state !== 'failed')
      throw badRequest(
        'DELIVERY_NOT_FAILED',
        `The delivery ${deliveryUuid} is ${row.state}; only failed deliveries can be retried.`,
      );
    this.db
      .prepare(
        `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = 0 WHERE id = ?`,
      )
      .run(row.id);
    return this.stmt.delivery!.get(row.id) as DeliveryRow;
  }

  /**
   * Forgets finished deliveries older than `beforeIso`, then events no delivery refers to (also
   * those recorded while no subscription wanted their type; fan-out is in the recording transaction,
   * so such an event never gains a delivery later).
   */
  prune(beforeIso: string): void {
    this.db
      .transaction(() => {
        this.db
          .prepare(
            `DELETE FROM webhook_deliveries WHERE state <> 'pending' AND coalesce(delivered_at, last_attempt_at) < ?`,
          )
          .run(beforeIso);
        this.db
          .prepare(
            `DELETE FROM webhook_events WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)`,
          )
          .run();
      })
      .immediate();
  }
}
