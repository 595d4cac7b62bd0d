import { BadRequestError, WEBHOOK_EVENT_TYPES, type WebhookEventType } from '@sfx/client';
import { z } from 'zod';
import { defineAction } from '../action.js';
import { ActionInputError, type Problem } from '../errors.js';
import { isSecretRef, resolveSecretRef } from '../triggers/secrets.js';
import { deletion, uuid } from '../schemas.js';
import { deleteIdempotently } from '../util.js';

/*
 * Webhook subscriptions (`/v5/webhooks`). The real DAM configures webhooks in its Hub; these are
 * sfx server extensions, so the dam.events trigger can be registered and tested end to end.
 */

const group = 'webhooks';

const eventSelection = z
  .array(z.enum([...WEBHOOK_EVENT_TYPES, '*'] as const, { error: `must be an event type (${WEBHOOK_EVENT_TYPES.join(', ')}) or "*".` }), {
    error: 'must be a list of event types, or ["*"] for all.',
  })
  .min(1, { error: 'needs at least one event type, or ["*"] for all.' })
  .describe('Event types to send, or ["*"] for all.');

/** An event list for examples, typed so it is not widened to string[]. */
const events = (...types: Array<WebhookEventType | '*'>): Array<WebhookEventType | '*'> => types;

const url = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. "https://example.com/hooks/dam".' })
  .max(2048, { error: 'must be at most 2048 characters long.' })
  .describe('The receiver URL (no credentials in it: use basicAuth).');

const secret = z
  .string({ error: 'must be a string: the signing secret (8-512 characters), or "env:NAME".' })
  .refine((value) => isSecretRef(value) || (value.length >= 8 && value.length <= 512), {
    error: 'must be 8-512 characters, or "env:NAME".',
  })
  .describe('Signs each delivery (X-Sfx-Signature: sha256=HMAC of the body); "env:NAME" reads it from the environment. Never returned.')
  .meta({ writeOnly: true, format: 'password', 'x-secret': true });

const basicAuth = z
  .strictObject({
    user: z.string().min(1, { error: 'must not be empty.' }).refine((v) => !v.includes(':'), { error: 'must not contain ":".' }),
    pass: z.string().describe('The password, or "env:NAME". Never returned.').meta({ writeOnly: true, format: 'password', 'x-secret': true }),
  })
  .describe('HTTP basic auth sent with each delivery.');

const webhookObject = z
  .looseObject({
    uuid: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    has_secret: z.boolean(),
    basic_auth: z.looseObject({ user: z.string(), has_pass: z.boolean() }).nullable(),
    description: z.string(),
    active: z.boolean(),
    created_at: z.string().optional(),
    updated_at: z.string().optional(),
  })
  .describe('A webhook; secrets and passwords are never shown, only whether they are set.');

const deliveryObject = z.looseObject({
  uuid: z.string(),
  event: z.looseObject({ id: z.string(), type: z.string(), occurred_at: z.string() }),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  last_status: z.number().nullable(),
  last_error: z.string().nullable(),
  last_attempt_at: z.string().nullable().optional(),
  next_attempt_at: z.string().nullable().optional(),
  delivered_at: z.string().nullable().optional(),
});

/** The secrets with `env:NAME` references resolved; throws ActionInputError naming the field, never the value. */
function secrets(
  input: { secret?: string | null; basicAuth?: { user: string; pass: string } | null },
  actionId: string,
): { secret?: string | null; basic_auth?: { user: string; pass: string } | null } {
  const problems: Problem[] = [];
  const out: { secret?: string | null; basic_auth?: { user: string; pass: string } | null } = {};
  if (input.secret !== undefined) out.secret = input.secret === null ? null : resolveSecretRef(input.secret, 'secret', {}, problems);
  if (input.basicAuth !== undefined)
    out.basic_auth =
      input.basicAuth === null
        ? null
        : { user: input.basicAuth.user, pass: resolveSecretRef(input.basicAuth.pass, 'basicAuth.pass', {}, problems) ?? '' };
  if (problems.length > 0) throw new ActionInputError(actionId, problems);
  return out;
}

export const listWebhooks = defineAction({
  id: 'webhooks.list',
  title: 'List webhooks',
  description: 'The webhook subscriptions of the project, and the event types the DAM can send.',
  group,
  permissions: ['CONFIG_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({}),
  output: z.strictObject({ webhooks: z.array(webhookObject) }),
  example: () => ({}),
  run: async ({ client, signal }) => ({ webhooks: await client.webhooks.list({ signal }) }),
});

export const createWebhook = defineAction({
  id: 'webhooks.create',
  title: 'Create a webhook',
  description:
    'Subscribes a URL to asset and folder events: each is POSTed as JSON, signed with the secret and/or sent with basic auth, retried with backoff until acknowledged (2xx).',
  group,
  permissions: ['CONFIG_CHANGE'],
  kind: 'write',
  idempotent: false,
  endpoint: 'extension',
  input: z.strictObject({
    url,
    events: eventSelection.default(['*']),
    secret: secret.optional(),
    basicAuth: basicAuth.optional(),
    description: z.string().max(500, { error: 'must be at most 500 characters long.' }).optional(),
    active: z.boolean().optional().describe('False creates it paused. Default true.'),
  }),
  output: z.strictObject({ webhook: webhookObject }),
  example: (seed) => ({
    url: seed.webhook.receiverUrl,
    events: events('file.uploaded', 'file.meta_changed', 'file.deleted'),
    secret: 'a-long-random-signing-secret',
    description: 'PIM sync',
  }),
  run: async ({ client, signal }, input) => {
    const webhook = await client.webhooks.create(
      {
        url: input.url,
        events: input.events,
        ...(secrets(input, 'webhooks.create') as { secret?: string; basic_auth?: { user: string; pass: string } }),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.active !== undefined ? { active: input.active } : {}),
      },
      { signal },
    );
    return { webhook };
  },
});

export const getWebhook = defineAction({
  id: 'webhooks.get',
  title: 'Get a webhook',
  description: "A webhook's URL, events, whether it is signed, and whether it is active.",
  group,
  permissions: ['CONFIG_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({ uuid: uuid('webhook uuid') }),
  output: z.strictObject({ webhook: webhookObject }),
  example: (seed) => ({ uuid: seed.webhook.uuid }),
  run: async ({ client, signal }, input) => ({ webhook: await client.webhooks.get(input.uuid, { signal }) }),
});

export const updateWebhook = defineAction({
  id: 'webhooks.update',
  title: 'Update a webhook',
  description:
    'Changes a webhook: URL, events, secret or basic auth (null removes them), description; active false pauses it (nothing is recorded, pending deliveries wait), true resumes it.',
  group,
  permissions: ['CONFIG_CHANGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'extension',
  input: z
    .strictObject({
      uuid: uuid('webhook uuid'),
      url: url.optional(),
      events: eventSelection.optional(),
      secret: secret.nullable().optional(),
      basicAuth: basicAuth.nullable().optional(),
      description: z.string().max(500, { error: 'must be at most 500 characters long.' }).optional(),
      active: z.boolean().optional(),
    })
    .refine((input) => Object.keys(input).some((key) => key !== 'uuid'), {
      error: 'give at least one field to change besides uuid.',
    }),
  output: z.strictObject({ webhook: webhookObject }),
  example: (seed) => ({ uuid: seed.webhook.uuid, events: events('*'), description: 'All events' }),
  run: async ({ client, signal }, input) => {
    const { uuid: id, url: target, events: selected, description, active } = input;
    const webhook = await client.webhooks.update(
      id,
      {
        ...(target !== undefined ? { url: target } : {}),
        ...(selected !== undefined ? { events: selected } : {}),
        ...secrets(input, 'webhooks.update'),
        ...(description !== undefined ? { description } : {}),
        ...(active !== undefined ? { active } : {}),
      },
      { signal },
    );
    return { webhook };
  },
});

export const deleteWebhook = defineAction({
  id: 'webhooks.delete',
  title: 'Delete a webhook',
  description: 'Deletes a webhook and its delivery log. One already gone is reported, not an error.',
  group,
  permissions: ['CONFIG_CHANGE'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({ uuid: uuid('webhook uuid') }),
  output: deletion('uuid'),
  example: (seed) => ({ uuid: seed.webhook.deleteUuid }),
  run: async ({ client, signal }, input) =>
    deleteIdempotently('uuid', input.uuid, () => client.webhooks.delete(input.uuid, { signal })),
});

export const webhookDeliveries = defineAction({
  id: 'webhooks.deliveries',
  title: "List a webhook's deliveries",
  description: 'One page of the delivery log, newest first: state (pending, delivered, failed), attempts, last status and error.',
  group,
  permissions: ['CONFIG_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({
    uuid: uuid('webhook uuid'),
    state: z.enum(['pending', 'delivered', 'failed'], { error: 'must be "pending", "delivered" or "failed".' }).optional(),
    limit: z.number().int({ error: 'must be a whole number.' }).min(1).max(1000, { error: 'must be at most 1000.' }).default(100),
    offset: z.number().int({ error: 'must be a whole number.' }).min(0).default(0),
  }),
  output: z.strictObject({
    deliveries: z.array(deliveryObject),
    total: z.number(),
    offset: z.number(),
    limit: z.number(),
  }),
  example: (seed) => ({ uuid: seed.webhook.uuid, limit: 20 }),
  run: async ({ client, signal }, input) => {
    const page = await client.webhooks.deliveries(input.uuid, { state: input.state, limit: input.limit, offset: input.offset, signal });
    return { deliveries: page.deliveries, total: page.total, offset: input.offset, limit: input.limit };
  },
});

export const retryWebhookDelivery = defineAction({
  id: 'webhooks.retry-delivery',
  title: 'Retry a failed delivery',
  description:
    'Queues a delivery that failed for good again (after the receiver is fixed). A delivery that is pending or delivered is reported with queued: false, not an error.',
  group,
  permissions: ['CONFIG_CHANGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({ uuid: uuid('webhook uuid'), delivery: uuid('delivery uuid') }),
  output: z.strictObject({
    delivery: z.string(),
    queued: z.boolean().describe('False when the delivery had not failed: nothing to retry.'),
    reason: z.enum(['not_failed']).optional(),
  }),
  example: (seed) => ({ uuid: seed.webhook.uuid, delivery: seed.webhook.delivery }),
  run: async ({ client, signal }, input) => {
    try {
      await client.webhooks.retryDelivery(input.uuid, input.delivery, { signal });
      return { delivery: input.delivery, queued: true };
    } catch (error) {
      if (error instanceof BadRequestError && error.code === 'DELIVERY_NOT_FAILED')
        return { delivery: input.delivery, queued: false, reason: 'not_failed' as const };
      throw error;
    }
  },
});

export const webhookActions = [
  listWebhooks,
  createWebhook,
  getWebhook,
  updateWebhook,
  deleteWebhook,
  webhookDeliveries,
  retryWebhookDelivery,
];
