import { PagePromise } from '../core/pagination.js';
import type { FileObject, FolderObject } from '../types.js';
import { Resource, seg, type CallOptions } from './resource.js';

/** The event types a webhook can subscribe to (`["*"]` subscribes to all). */
export const WEBHOOK_EVENT_TYPES = [
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

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** A subscription. Secrets and passwords are write-only: replies only say whether one is set. */
export interface Webhook {
  uuid: string;
  url: string;
  events: Array<WebhookEventType | '*'>;
  has_secret: boolean;
  basic_auth: { user: string; has_pass: boolean } | null;
  description: string;
  active: boolean;
  created_at: string;
  updated_at: string;
  [field: string]: unknown;
}

export interface WebhookInput {
  /** The receiver: an http(s) URL without credentials. */
  url: string;
  /** Event types, or `["*"]` for all. */
  events: Array<WebhookEventType | '*'>;
  /** Signs each delivery: `X-Sfx-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. 8-512 characters. */
  secret?: string;
  /** Sent as HTTP basic auth with each delivery. */
  basic_auth?: { user: string; pass: string };
  description?: string;
  /** `false` pauses it: nothing is recorded, pending deliveries wait. Default true. */
  active?: boolean;
}

/** Changes to a webhook; `secret: null` / `basic_auth: null` remove them. */
export interface WebhookChanges extends Partial<Omit<WebhookInput, 'secret' | 'basic_auth'>> {
  secret?: string | null;
  basic_auth?: { user: string; pass: string } | null;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** One event's delivery to one webhook, with its attempts so far. */
export interface WebhookDelivery {
  uuid: string;
  event: { id: string; type: WebhookEventType; occurred_at: string };
  state: DeliveryState;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  [field: string]: unknown;
}

export interface WebhookDeliveryPage {
  deliveries: WebhookDelivery[];
  total: number;
  limit: number;
  offset: number;
}

export interface DeliveryListParams extends CallOptions {
  state?: DeliveryState;
  /** First offset (default 0). */
  offset?: number;
  /** Page size when awaited (1-1000, default 100). */
  limit?: number;
  /** Page size when iterated (default 1000). */
  pageSize?: number;
  maxItems?: number;
}

/**
 * The JSON body the DAM POSTs to a receiver. `file` / `folder` are the v5 API objects as they were
 * when the event happened; `previous` holds what changed (`{name}`, `{folder}`, `{name, path}`,
 * `{path, folder}`); `changed` lists what a `file.meta_changed` touched.
 */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  occurred_at: string;
  project: string;
  data: {
    file?: FileObject;
    folder?: FolderObject;
    previous?: {
      name?: string;
      path?: string;
      folder?: { uuid?: string; name?: string; path?: string };
      [field: string]: unknown;
    };
    changed?: string[];
    overwrite?: boolean;
    [field: string]: unknown;
  };
}

/**
 * Webhooks: the DAM's events POSTed to a URL (`/v5/webhooks`; an sfx server extension, since the
 * real DAM configures webhooks in its Hub). Reading needs CONFIG_LIST, changes CONFIG_CHANGE.
 */
export class Webhooks extends Resource {
  async list(options: CallOptions = {}): Promise<Webhook[]> {
    return (
      await this.core.json<{ webhooks: Webhook[] }>({ method: 'GET', path: '/webhooks', version: 'v5', ...options })
    ).webhooks;
  }

  /** The event types the server can send. */
  async eventTypes(options: CallOptions = {}): Promise<string[]> {
    return (
      await this.core.json<{ events: string[] }>({ method: 'GET', path: '/webhooks', version: 'v5', ...options })
    ).events;
  }

  async create(input: WebhookInput, options: CallOptions = {}): Promise<Webhook> {
    return (
      await this.core.json<{ webhook: Webhook }>({
        method: 'POST',
        path: '/webhooks',
        version: 'v5',
        json: input,
        ...options,
      })
    ).webhook;
  }

  async get(uuid: string, options: CallOptions = {}): Promise<Webhook> {
    return (
      await this.core.json<{ webhook: Webhook }>({
        method: 'GET',
        path: `/webhooks/${seg(uuid, 'uuid')}`,
        version: 'v5',
        ...options,
      })
    ).webhook;
  }

  /** Changes any field; `{active: false}` pauses, `{active: true}` resumes. */
  async update(uuid: string, changes: WebhookChanges, options: CallOptions = {}): Promise<Webhook> {
    return (
      await this.core.json<{ webhook: Webhook }>({
        method: 'PATCH',
        path: `/webhooks/${seg(uuid, 'uuid')}`,
        version: 'v5',
        json: changes,
        ...options,
      })
    ).webhook;
  }

  /** Deletes the webhook and its delivery log. */
  async delete(uuid: string, options: CallOptions = {}): Promise<void> {
    await this.core.json({
      method: 'DELETE',
      path: `/webhooks/${seg(uuid, 'uuid')}`,
      version: 'v5',
      ...options,
    });
  }

  /** The delivery log, newest first. Await for one page; iterate for every delivery. */
  deliveries(uuid: string, params: DeliveryListParams = {}): PagePromise<WebhookDeliveryPage, WebhookDelivery> {
    const { signal, timeoutMs, offset, limit, pageSize, maxItems, state } = params;
    const path = `/webhooks/${seg(uuid, 'uuid')}/deliveries`;
    return new PagePromise(
      (page) =>
        this.core.json<WebhookDeliveryPage>({
          method: 'GET',
          path,
          version: 'v5',
          query: { state, limit: page.limit, offset: page.offset },
          signal,
          timeoutMs,
        }),
      (page) => page.deliveries ?? [],
      (page) => page.total,
      { offset, limit, pageSize: Math.min(pageSize ?? 1000, 1000), maxItems, defaultLimit: 100 },
    );
  }

  /** Queues a failed delivery again (400 `DELIVERY_NOT_FAILED` when it is pending or delivered). */
  async retryDelivery(uuid: string, deliveryUuid: string, options: CallOptions = {}): Promise<{ delivery_uuid: string }> {
    const reply = await this.core.json<{ delivery_uuid: string }>({
      method: 'POST',
      path: `/webhooks/${seg(uuid, 'uuid')}/deliveries/${seg(deliveryUuid, 'delivery_uuid')}/retry`,
      version: 'v5',
      ...options,
    });
    return { delivery_uuid: reply.delivery_uuid };
  }
}
