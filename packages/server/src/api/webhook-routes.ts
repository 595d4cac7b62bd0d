import { badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import { apiTime } from './serialize.js';
import { WEBHOOK_EVENTS, type DeliveryState, type WebhookInput, type WebhookRow } from '../store/webhooks.js';
import { bodyObject, intParam, single, uuidParam } from './params.js';

/** Secrets and passwords are write-only: a reply says whether one is set, never what it is. */
function webhookObject(row: WebhookRow): Record<string, unknown> {
  return {
    uuid: row.uuid,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    has_secret: row.secret !== null,
    basic_auth:
      row.basic_user === null ? null : { user: row.basic_user, has_pass: (row.basic_pass ?? '') !== '' },
    description: row.description,
    active: row.active === 1,
    created_at: apiTime(row.created_at),
    updated_at: apiTime(row.updated_at),
  };
}

async function receiverUrl(call: Call, value: unknown): Promise<string> {
  if (typeof value !== 'string' || value.length > 2048) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"url" must be an http or https URL of at most 2048 characters.',
      'Example: {"url": "https://example.com/hooks/dam"}',
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badRequest('INVALID_URL', `${JSON.stringify(value)} is not a URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw badRequest('INVALID_URL', `Only http and https receivers are supported; got ${url.protocol}.`);
  if (url.username || url.password) {
    throw badRequest(
      'INVALID_URL',
      'Credentials in the URL would be shown to anyone who can list webhooks.',
      'Pass them as "basic_auth": {"user", "pass"}.',
    );
  }
  if (!call.ctx.allowPrivateWebhooks) {
    try {
      await call.ctx.webhookGuard.check(url);
    } catch (error) {
      throw badRequest(
        'URL_NOT_ALLOWED',
        `${(error as Error).message}.`,
        'Use a public receiver, or start the server with allowPrivateWebhooks (or allowPrivateUrlImports) for local testing.',
      );
    }
  }
  return url.href;
}

function events(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string')) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"events" must be a non-empty array of event types, or ["*"] for all.',
      `Event types: ${WEBHOOK_EVENTS.join(', ')}.`,
    );
  }
  const unknown = (value as string[]).filter(
    (v) => v !== '*' && !(WEBHOOK_EVENTS as readonly string[]).includes(v),
  );
  if (unknown.length > 0) {
    throw badRequest(
      'INVALID_EVENT',
      `Unknown event type${unknown.length > 1 ? 's' : ''}: ${unknown.map((u) => JSON.stringify(u)).join(', ')}.`,
      `Event types: ${WEBHOOK_EVENTS.join(', ')}, or "*" for all.`,
    );
  }
  return [...new Set(value as string[])];
}

function secret(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== 'string' || value.length < 8 || value.length > 512) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"secret" must be a string of 8 to 512 characters (or null to remove it).',
    );
  }
  return value;
}

function basicAuth(value: unknown): { user: string; pass: string } | null {
  if (value === null) return null;
  const object =
    value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  const { user, pass } = object ?? {};
  if (
    typeof user !== 'string' ||
    user === '' ||
    user.includes(':') ||
    user.length > 256 ||
    typeof pass !== 'string' ||
    pass.length > 512
  ) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"basic_auth" must be {"user", "pass"}: a non-empty user without ":" and a password string (or null to remove it).',
    );
  }
  return { user, pass };
}

function description(value: unknown): string {
  if (typeof value !== 'string' || value.length > 500)
    throw badRequest('INVALID_PARAMETER', '"description" must be a string of at most 500 characters.');
  return value;
}

function active(value: unknown): boolean {
  if (typeof value !== 'boolean') throw badRequest('INVALID_PARAMETER', '"active" must be true or false.');
  return value;
}

const FIELDS = new Set(['url', 'events', 'secret', 'basic_auth', 'description', 'active']);

async function readInput(call: Call, partial: boolean): Promise<Partial<WebhookInput>> {
  const body = bodyObject(call.body);
  const extra = Object.keys(body).filter((k) => !FIELDS.has(k));
  if (extra.length > 0)
    throw badRequest(
      'INVALID_PARAMETER',
      `Unknown field${extra.length > 1 ? 's' : ''}: ${extra.join(', ')}.`,
      `Fields: ${[...FIELDS].join(', ')}.`,
    );
  if (!partial && body.url === undefined)
    throw badRequest(
      'INVALID_PARAMETER',
      '"url" is required.',
      'Example: {"url": "https://example.com/hooks/dam", "events": ["*"]}',
    );
  if (!partial && body.events === undefined)
    throw badRequest(
      'INVALID_PARAMETER',
      '"events" is required.',
      'Example: {"events": ["file.uploaded", "file.deleted"]} or ["*"].',
    );
  const input: Partial<WebhookInput> = {};
  if (body.events !== undefined) input.events = events(body.events);
  if (body.secret !== undefined) input.secret = secret(body.secret);
  if (body.basic_auth !== undefined) input.basicAuth = basicAuth(body.basic_auth);
  if (body.description !== undefined) input.description = description(body.description);
  if (body.active !== undefined) input.active = active(body.active);
  // Last: it may resolve a host name, which is pointless when another field is already wrong.
  if (body.url !== undefined) input.url = await receiverUrl(call, body.url);
  return input;
}

const STATES: DeliveryState[] = ['pending', 'delivered', 'failed'];

function deliveries(call: Call): Record<string, unknown> {
  const webhook = call.ctx.webhooks.require(uuidParam(call.params.uuid, 'uuid'));
  const rawState = single(call.query.state);
  if (rawState !== undefined && !STATES.includes(rawState as DeliveryState)) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"state" must be one of ${STATES.join(', ')}; got ${JSON.stringify(rawState)}.`,
    );
  }
  const limit = intParam(call.query.limit, 'limit', { min: 1, max: 1000, fallback: 100 });
  const offset = intParam(call.query.offset, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
  const result = call.ctx.webhooks.deliveries(webhook, {
    state: rawState as DeliveryState | undefined,
    limit,
    offset,
  });
  return {
    deliveries: result.deliveries.map((d) => ({
      uuid: d.uuid,
      event: { id: d.event_uuid, type: d.event_type, occurred_at: apiTime(d.occurred_at) },
      state: d.state,
      attempts: d.attempts,
      last_status: d.last_status,
      last_error: d.last_error,
      last_attempt_at: d.last_attempt_at === null ? null : apiTime(d.last_attempt_at),
      next_attempt_at:
        d.state === 'pending'
          ? new Date(Math.max(d.next_attempt_at, 0)).toISOString().replace(/\.\d{3}Z$/, 'Z')
          : null,
      delivered_at: d.delivered_at === null ? null : apiTime(d.delivered_at),
    })),
    total: result.total,
    limit,
    offset,
  };
}

export const webhookRoutes: RouteSpec[] = [
  {
    method: 'GET',
    path: '/webhooks',
    versions: ['v5'],
    permissions: ['CONFIG_LIST'],
    summary: 'List webhooks (extension)',
    handler: (call) => ({
      webhooks: call.ctx.webhooks.list().map(webhookObject),
      events: [...WEBHOOK_EVENTS],
    }),
  },
  {
    method: 'POST',
    path: '/webhooks',
    versions: ['v5'],
    permissions: ['CONFIG_CHANGE'],
    summary: 'Subscribe a URL to asset and folder events (extension)',
    handler: async (call) => {
      const input = await readInput(call, false);
      const row = call.ctx.webhooks.create({
        url: input.url!,
        events: input.events!,
        secret: input.secret ?? null,
        basicAuth: input.basicAuth ?? null,
        description: input.description ?? '',
        active: input.active ?? true,
      });
      return { action: 'webhook_created', webhook: webhookObject(row) };
    },
  },
  {
    method: 'GET',
    path: '/webhooks/:uuid',
    versions: ['v5'],
    permissions: ['CONFIG_LIST'],
    summary: 'Webhook details (extension)',
    handler: (call) => ({
      webhook: webhookObject(call.ctx.webhooks.require(uuidParam(call.params.uuid, 'uuid'))),
    }),
  },
  {
    method: 'PATCH',
    path: '/webhooks/:uuid',
    versions: ['v5'],
    permissions: ['CONFIG_CHANGE'],
    summary: 'Change, pause or resume a webhook (extension)',
    handler: async (call) => {
      const uuid = uuidParam(call.params.uuid, 'uuid');
      call.ctx.webhooks.require(uuid);
      const row = call.ctx.webhooks.update(uuid, await readInput(call, true));
      return { action: 'webhook_updated', webhook: webhookObject(row) };
    },
  },
  {
    method: 'DELETE',
    path: '/webhooks/:uuid',
    versions: ['v5'],
    permissions: ['CONFIG_CHANGE'],
    summary: 'Delete a webhook and its delivery log (extension)',
    handler: (call) => {
      const row = call.ctx.webhooks.delete(uuidParam(call.params.uuid, 'uuid'));
      return { action: 'webhook_deleted', webhook_uuid: row.uuid };
    },
  },
  {
    method: 'GET',
    path: '/webhooks/:uuid/deliveries',
    versions: ['v5'],
    permissions: ['CONFIG_LIST'],
    summary: 'Delivery log of a webhook, newest first (extension)',
    handler: deliveries,
  },
  {
    method: 'POST',
    path: '/webhooks/:uuid/deliveries/:delivery_uuid/retry',
    versions: ['v5'],
    permissions: ['CONFIG_CHANGE'],
    summary: 'Queue a failed delivery again (extension)',
    handler: (call) => {
      const webhook = call.ctx.webhooks.require(uuidParam(call.params.uuid, 'uuid'));
      const delivery = call.ctx.webhooks.retry(
        webhook,
        uuidParam(call.params.delivery_uuid, 'delivery_uuid'),
      );
      return { action: 'delivery_queued', delivery_uuid: delivery.uuid };
    },
  },
];
