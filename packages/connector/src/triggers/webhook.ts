import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WEBHOOK_EVENT_TYPES, type Webhook, type WebhookEventType } from '@sfx/client';
import { z } from 'zod';
import { fileObject, folderObject, folderPath } from '../schemas.js';
import { deleteIdempotently } from '../util.js';
import type { Problem } from '../errors.js';
import { DeliveryLog } from './deliveries.js';
import { isSecretRef, resolveSecretRef, type SecretSources } from './secrets.js';
import { verifyBasicAuth, verifySignature } from './signature.js';
import {
  checkOutput,
  checkTriggerInfo,
  parseConfig,
  TriggerConfigError,
  type TriggerContext,
  type TriggerInfo,
} from './trigger.js';

const secretText = (what: string, min: number) =>
  z
    .string({ error: `must be a string: the ${what}, or "env:NAME" to read it from an environment variable.` })
    .refine((value) => isSecretRef(value) || value.length >= min, {
      error: `must be at least ${min} characters long, or "env:NAME" / "secret:NAME".`,
    })
    .describe(`The ${what}, or "env:NAME" to read it from the environment variable NAME (or "secret:NAME" from the secrets store). Never printed.`)
    .meta({ writeOnly: true, format: 'password', 'x-secret': true });

export const eventType = z.enum(WEBHOOK_EVENT_TYPES, {
  error: `must be an event type: ${WEBHOOK_EVENT_TYPES.join(', ')}.`,
});

const eventSelection = z
  .array(z.union([eventType, z.literal('*')], { error: `must be an event type (${WEBHOOK_EVENT_TYPES.join(', ')}) or "*".` }), {
    error: 'must be a list of event types, or ["*"] for all.',
  })
  .min(1, { error: 'needs at least one event type, or ["*"] for all.' });

const basicAuth = z.strictObject({
  user: z
    .string({ error: 'must be a string: the user name.' })
    .min(1, { error: 'must not be empty.' })
    .refine((value) => !value.includes(':'), { error: 'must not contain ":".' }),
  pass: secretText('password', 1),
});

const DamEventsConfig = z
  .strictObject({
    events: eventSelection.default(['*']).describe('The event types to emit; others are acknowledged and dropped. Default all.'),
    secret: secretText('shared secret the webhook signs deliveries with (X-Sfx-Signature)', 8).optional(),
    basicAuth: basicAuth.optional().describe('HTTP basic auth the webhook sends with each delivery.'),
    folder: folderPath('folder to watch (events elsewhere are dropped)').optional(),
    recursive: z.boolean({ error: 'must be true or false.' }).default(true).describe('With folder: include sub-folders (default true).'),
  })
  .superRefine((config, ctx) => {
    if (config.secret === undefined && config.basicAuth === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['secret'],
        message: 'is required unless basicAuth is given: a receiver must be able to tell the DAM\'s deliveries from anyone else\'s requests.',
      });
  });

export type DamEventsConfigInput = z.input<typeof DamEventsConfig>;

const previous = z.looseObject({
  name: z.string().optional(),
  path: z.string().optional(),
  folder: z.looseObject({ uuid: z.string().optional(), name: z.string().optional(), path: z.string().optional() }).optional(),
});

const DamEvent = z.strictObject({
  event: eventType.describe('What happened.'),
  id: z.string().describe('The event id (the same for every webhook that receives it).'),
  delivery: z.string().describe('The delivery id (X-Sfx-Delivery), stable across retries.'),
  occurredAt: z.string().describe('When the change was made (ISO 8601, to the second).'),
  project: z.string().describe('The project token.'),
  file: fileObject.optional().describe('file.* events: the asset as it was after the change (before it, for file.deleted).'),
  folder: folderObject.optional().describe('folder.* events: the folder after the change.'),
  previous: previous.optional().describe('What a rename or move changed: {name}, {folder}, {name, path} or {path, folder}.'),
  changed: z.array(z.string()).optional().describe('file.meta_changed: what changed (meta, tags, labels, product, visibility).'),
  overwrite: z.boolean().optional().describe('file.uploaded: the upload replaced an asset of the same name.'),
});

export type DamEventOutput = z.output<typeof DamEvent>;

/** A request as the receiver got it: headers (any case) and the body's bytes, unparsed. */
export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined> | Headers;
  rawBody: string | Uint8Array;
}

export type WebhookOutcome<T> =
  /** `key` is what the log remembers (the signed event id): complete or abandon it. */
  | { status: 'accepted'; delivery: string; key: string; item: T }
  | { status: 'ignored'; delivery: string; reason: 'duplicate' | 'event_not_selected' | 'outside_folder' }
  | { status: 'in-flight'; delivery: string };

export interface HandleOptions extends SecretSources {
  /**
   * Remembers events across calls to ignore the DAM's redeliveries. It is keyed on the event id
   * from the signed body, not on the X-Sfx-Delivery header (which the signature does not cover, so
   * a replayed body with a new header is still a duplicate). An accepted event is left in flight:
   * call `log.complete(outcome.key)` once it is handled, `log.abandon(outcome.key)` if handling
   * failed (the DAM retries it). `createWebhookHandler` does both.
   */
  log?: DeliveryLog;
}

/** A request that did not prove it came from the DAM: answer 401. */
export class WebhookAuthError extends Error {
  override name = 'WebhookAuthError';
  readonly status = 401;
  constructor(
    readonly reason: 'missing_signature' | 'bad_signature' | 'missing_credentials' | 'bad_credentials',
    message: string,
  ) {
    super(message);
  }
}

/** A request that is not a DAM event (not JSON, no delivery id, unknown shape): answer 400. */
export class WebhookPayloadError extends Error {
  override name = 'WebhookPayloadError';
  readonly status = 400;
}

export interface SubscribeInput extends SecretSources {
  /** The receiver's public URL. */
  url: string;
  /** Event types, or `["*"]` (default). */
  events?: Array<WebhookEventType | '*'>;
  /** The secret deliveries are signed with (or `env:NAME`); give the receiver the same. */
  secret?: string;
  basicAuth?: { user: string; pass: string };
  description?: string;
}

export interface WebhookTrigger<C extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType>
  extends TriggerInfo<C, O> {
  kind: 'webhook';
  /**
   * Checks one delivery (signature or basic auth, then shape), drops events the config does not
   * select and redeliveries `options.log` has seen, and turns the event into the trigger's output.
   * Throws WebhookAuthError (answer 401) or WebhookPayloadError (answer 400).
   */
  handle(request: WebhookRequest, config: z.input<C>, options?: HandleOptions): Promise<WebhookOutcome<z.output<O>>>;
  /**
   * Up to 3 samples for a flow editor, with no delivery involved: the most recently changed
   * assets (or folders, when only folder events are selected) of the configured folder, shaped as
   * the first selected event type. Their `id` and `delivery` start with `sample:`. Needs
   * OBJECTS_LIST (files) or OBJECTS_FETCH (folders).
   */
  test(ctx: TriggerContext, config: z.input<C>): Promise<z.output<O>[]>;
  /** Registers a receiver URL with the DAM (`POST /v5/webhooks`, CONFIG_CHANGE). */
  subscribe(ctx: TriggerContext, input: SubscribeInput): Promise<Webhook>;
  /** Removes a registration; one already gone is reported, not an error. */
  unsubscribe(ctx: TriggerContext, uuid: string): Promise<{ uuid: string; deleted: boolean; reason?: 'not_found' }>;
}

interface Credentials {
  secret?: string;
  basicAuth?: { user: string; pass: string };
}

function resolveCredentials(
  triggerId: string,
  config: { secret?: string; basicAuth?: { user: string; pass: string } },
  sources: SecretSources = {},
): Credentials {
  const problems: Problem[] = [];
  const resolved: Credentials = {};
  if (config.secret !== undefined) resolved.secret = resolveSecretRef(config.secret, 'secret', sources, problems);
  if (config.basicAuth) {
    const pass = resolveSecretRef(config.basicAuth.pass, 'basicAuth.pass', sources, problems);
    if (pass !== undefined) resolved.basicAuth = { user: config.basicAuth.user, pass };
  }
  if (problems.length > 0) throw new TriggerConfigError(triggerId, problems);
  return resolved;
}

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  let value = record[name];
  if (value === undefined) {
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  return Array.isArray(value) ? value[0] : value;
}

function authenticate(credentials: Credentials, request: WebhookRequest): void {
  if (credentials.secret !== undefined) {
    const signature = header(request.headers, 'x-sfx-signature');
    if (signature === undefined)
      throw new WebhookAuthError('missing_signature', 'The request has no X-Sfx-Signature header, and the receiver expects signed deliveries.');
    if (!verifySignature(credentials.secret, request.rawBody, signature))
      throw new WebhookAuthError('bad_signature', 'X-Sfx-Signature does not match the body: wrong secret, or the body was changed on the way.');
  }
  if (credentials.basicAuth) {
    const authorization = header(request.headers, 'authorization');
    if (authorization === undefined)
      throw new WebhookAuthError('missing_credentials', 'The request has no basic-auth credentials, and the receiver expects them.');
    if (!verifyBasicAuth(credentials.basicAuth, authorization))
      throw new WebhookAuthError('bad_credentials', 'The basic-auth user or password is wrong.');
  }
}

const EventBody = z.looseObject({
  id: z.string().min(1),
  type: z.string().min(1),
  occurred_at: z.string().min(1),
  project: z.string(),
  data: z.looseObject({}),
});

function parseBody(rawBody: string | Uint8Array): z.output<typeof EventBody> {
  let json: unknown;
  try {
    json = JSON.parse(typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8'));
  } catch {
    throw new WebhookPayloadError('The body is not JSON: not a DAM event.');
  }
  const parsed = EventBody.safeParse(json);
  if (!parsed.success) throw new WebhookPayloadError('The body is not a DAM event: it needs id, type, occurred_at, project and data.');
  return parsed.data;
}

function within(path: string | undefined, folder: string, recursive: boolean, isFolder: boolean): boolean {
  if (path === undefined) return false;
  const root = folder === '/' ? '/' : folder.replace(/\/+$/, '');
  const prefix = root === '/' ? '/' : `${root}/`;
  if (recursive) return path === root || path.startsWith(prefix);
  if (!isFolder) return path === root;
  // A folder directly in the watched one, or the watched folder itself.
  if (path === root) return true;
  return path.startsWith(prefix) && !path.slice(prefix.length).includes('/');
}

function inFolder(item: DamEventOutput, folder: string, recursive: boolean): boolean {
  // A file's `folder.name` is its folder's path; a folder event's path is its own.
  const paths = item.file
    ? [item.file.folder?.name, item.previous?.folder?.name ?? item.previous?.folder?.path]
    : [item.folder?.path, item.previous?.path];
  return paths.some((path) => within(path, folder, recursive, !item.file));
}

export const damEvents: WebhookTrigger<typeof DamEventsConfig, typeof DamEvent> = (() => {
  const info: TriggerInfo<typeof DamEventsConfig, typeof DamEvent> = {
    id: 'dam.events',
    title: 'DAM event',
    description:
      "The DAM's own events, pushed to a receiver as they happen: uploads, renames, moves, deletions, metadata/tag/label/product changes of assets, and folder changes. Each delivery is verified (signature or basic auth), filtered by event type and folder, and emitted once even when the DAM delivers it again.",
    group: 'dam',
    // The receiver itself calls nothing; registering it (subscribe) needs CONFIG_CHANGE.
    permissions: ['CONFIG_CHANGE'],
    alsoNeeds: [
      { permission: 'OBJECTS_LIST', when: 'test mode samples file events (it lists recent assets)' },
      { permission: 'OBJECTS_FETCH', when: 'test mode samples folder events (it lists recent folders)' },
    ],
    kind: 'webhook',
    endpoint: 'extension',
    input: DamEventsConfig,
    output: DamEvent,
    example: (seed) => ({ events: ['file.uploaded', 'file.meta_changed', 'file.deleted'], secret: 'env:SFX_WEBHOOK_SECRET', folder: seed.folder.path }),
  };
  checkTriggerInfo(info);
  return Object.freeze({
    ...info,
    kind: 'webhook' as const,
    async handle(request: WebhookRequest, rawConfig: DamEventsConfigInput, options: HandleOptions = {}) {
      const config = parseConfig(info, rawConfig);
      authenticate(resolveCredentials(info.id, config, options), request);
      const delivery = header(request.headers, 'x-sfx-delivery');
      if (delivery === undefined || delivery.trim() === '')
        throw new WebhookPayloadError('The request has no X-Sfx-Delivery header: not a DAM delivery.');
      const body = parseBody(request.rawBody);
      const type = eventType.safeParse(body.type);
      if (!type.success) return { status: 'ignored' as const, delivery, reason: 'event_not_selected' as const };
      const data = body.data as Record<string, unknown>;
      const item = checkOutput(info, {
        event: type.data,
        id: body.id,
        delivery,
        occurredAt: body.occurred_at,
        project: body.project,
        ...(data.file !== undefined ? { file: data.file } : {}),
        ...(data.folder !== undefined ? { folder: data.folder } : {}),
        ...(data.previous !== undefined ? { previous: data.previous } : {}),
        ...(data.changed !== undefined ? { changed: data.changed } : {}),
        ...(data.overwrite !== undefined ? { overwrite: data.overwrite } : {}),
      });
      if (!config.events.includes('*') && !config.events.includes(item.event))
        return { status: 'ignored' as const, delivery, reason: 'event_not_selected' as const };
      if (config.folder !== undefined && !inFolder(item, config.folder, config.recursive))
        return { status: 'ignored' as const, delivery, reason: 'outside_folder' as const };
      const key = `event:${body.id}`;
      if (options.log) {
        const state = options.log.state(key);
        if (state === 'done') return { status: 'ignored' as const, delivery, reason: 'duplicate' as const };
        if (state === 'in-flight') return { status: 'in-flight' as const, delivery };
        options.log.begin(key);
      }
      return { status: 'accepted' as const, delivery, key, item };
    },
    async test({ client, signal }: TriggerContext, rawConfig: DamEventsConfigInput) {
      const config = parseConfig(info, rawConfig);
      const selected = config.events.includes('*') ? [...WEBHOOK_EVENT_TYPES] : config.events.filter((e) => e !== '*');
      const fileEvent = selected.find((e) => e.startsWith('file.'));
      const event = fileEvent ?? selected[0]!;
      const where = { folder: config.folder ?? '/', recursive: config.recursive, sort: 'modified_at:desc', limit: 3, signal };
      const project = client.endpoint.token;
      if (fileEvent) {
        const page = await client.files.list(where);
        return page.files.map((file) =>
          checkOutput(info, {
            event,
            id: `sample:${file.uuid}`,
            delivery: `sample:${file.uuid}`,
            occurredAt: String(file.modified_at ?? file.created_at ?? ''),
            project,
            file,
            ...(event === 'file.meta_changed' ? { changed: ['meta'] } : {}),
            ...(event === 'file.uploaded' ? { overwrite: false } : {}),
          }),
        );
      }
      const page = await client.folders.list(where);
      return page.folders.map((folder) =>
        checkOutput(info, {
          event,
          id: `sample:${folder.uuid}`,
          delivery: `sample:${folder.uuid}`,
          occurredAt: String(folder.updated_at ?? folder.created_at ?? ''),
          project,
          folder,
        }),
      );
    },
    async subscribe({ client, signal }: TriggerContext, input: SubscribeInput) {
      const credentials = resolveCredentials(info.id, { secret: input.secret, basicAuth: input.basicAuth }, input);
      return client.webhooks.create(
        {
          url: input.url,
          events: input.events ?? ['*'],
          ...(credentials.secret !== undefined ? { secret: credentials.secret } : {}),
          ...(credentials.basicAuth ? { basic_auth: credentials.basicAuth } : {}),
          ...(input.description !== undefined ? { description: input.description } : {}),
        },
        { signal },
      );
    },
    async unsubscribe({ client, signal }: TriggerContext, uuid: string) {
      return deleteIdempotently('uuid', uuid, () => client.webhooks.delete(uuid, { signal }));
    },
  });
})();

export interface WebhookHandlerOptions extends SecretSources {
  config: DamEventsConfigInput;
  /** Runs the flow for one event; the DAM gets its 2xx only after it resolves, and retries when it throws. */
  onEvent: (event: DamEventOutput) => Promise<void> | void;
  /** Deliveries remembered to drop redeliveries. Default a new log of 10 000. */
  log?: DeliveryLog;
  /** Told about requests refused or handling that failed (never given secrets). */
  onError?: (error: Error) => void;
}

export interface HandlerReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A framework-free handler: one request in, the HTTP reply to send out. */
export function createWebhookHandler(options: WebhookHandlerOptions): (request: WebhookRequest) => Promise<HandlerReply> {
  // Fail at start-up, not at the first delivery, when the config or a secret is wrong.
  const config = parseConfig(damEvents, options.config);
  resolveCredentials(damEvents.id, config, options);
  const log = options.log ?? new DeliveryLog();
  const reply = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): HandlerReply => ({
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return async (request) => {
    let outcome: WebhookOutcome<DamEventOutput>;
    try {
      outcome = await damEvents.handle(request, options.config, { log, env: options.env, secrets: options.secrets });
    } catch (error) {
      if (error instanceof WebhookAuthError) {
        options.onError?.(error);
        return reply(401, { status: 'error', code: error.reason }, config.basicAuth ? { 'www-authenticate': 'Basic realm="sfx-webhook"' } : {});
      }
      if (error instanceof WebhookPayloadError) {
        options.onError?.(error);
        return reply(400, { status: 'error', code: 'invalid_payload', msg: error.message });
      }
      throw error;
    }
    if (outcome.status === 'ignored') return reply(200, { status: 'ignored', reason: outcome.reason });
    // The same delivery is being handled now: not yet done, so it must not be acknowledged.
    if (outcome.status === 'in-flight') return reply(409, { status: 'error', code: 'in_flight' }, { 'retry-after': '1' });
    try {
      await options.onEvent(outcome.item);
    } catch (error) {
      log.abandon(outcome.key);
      options.onError?.(error instanceof Error ? error : new Error(String(error)));
      return reply(500, { status: 'error', code: 'handler_failed' });
    }
    log.complete(outcome.key);
    return reply(200, { status: 'success' });
  };
}

export interface ReceiverOptions extends WebhookHandlerOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1; `0.0.0.0` to accept deliveries from other machines. */
  host?: string;
  /** The path deliveries are POSTed to. Default `/`. */
  path?: string;
  /** Largest body accepted; larger ones get 413. Default 2 MiB. */
  maxBodyBytes?: number;
}

export interface WebhookReceiver {
  /** `http://host:port/path`: subscribe this (or the public URL that forwards to it). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A small HTTP receiver for `dam.events`: POSTs to `path` are verified, deduplicated and handed
 * to `onEvent`; the reply is 2xx only once `onEvent` resolved, so the DAM retries any delivery
 * whose handling failed (and sends a webhook's next event only after that).
 */
export async function startWebhookReceiver(options: ReceiverOptions): Promise<WebhookReceiver> {
  const handler = createWebhookHandler(options);
  const path = options.path ?? '/';
  const limit = options.maxBodyBytes ?? 2 * 1024 * 1024;
  const host = options.host ?? '127.0.0.1';
  const send = (res: ServerResponse, reply: HandlerReply): void => {
    res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) }).end(reply.body);
  };
  const plain = (res: ServerResponse, status: number, code: string, headers: Record<string, string> = {}): void =>
    send(res, { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ status: 'error', code }) });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    if (url.pathname !== path) return plain(res, 404, 'not_found');
    if (req.method !== 'POST') return plain(res, 405, 'method_not_allowed', { allow: 'POST' });
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      plain(res, 413, 'payload_too_large', { connection: 'close' });
      req.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        plain(res, 413, 'payload_too_large', { connection: 'close' });
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (refused) return;
      handler({ headers: req.headers, rawBody: Buffer.concat(chunks) })
        .then((reply) => send(res, reply))
        .catch((error: unknown) => {
          options.onError?.(error instanceof Error ? error : new Error(String(error)));
          if (!res.headersSent) plain(res, 500, 'receiver_failed');
        });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${port}${path}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
