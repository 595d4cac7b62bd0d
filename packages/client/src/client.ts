import { ApiCore, type ApiRequest, type KeyProvider, type Method, type QueryValue } from './core/http.js';
import { parseEndpoint, type ApiVersion, type Endpoint } from './core/config.js';
import { APIError, ConfigurationError } from './core/errors.js';
import { DEFAULT_RETRY, RequestRateLimiter, type RetryPolicy } from './core/retry.js';
import { httpTransport, type Transport, type TransportResponse } from './core/transport.js';
import { Access, exchangeTemplate } from './resources/access.js';
import { Airboxes } from './resources/airboxes.js';
import { Approvals } from './resources/approvals.js';
import { Bulk } from './resources/bulk.js';
import { Collections } from './resources/collections.js';
import { Files } from './resources/files.js';
import { Folders } from './resources/folders.js';
import { Labels } from './resources/labels.js';
import { MetaResource } from './resources/meta.js';
import { Products } from './resources/products.js';
import { Settings } from './resources/settings.js';
import { Shares } from './resources/shares.js';
import type { CallOptions } from './resources/resource.js';
import { Tags } from './resources/tags.js';
import { Webhooks } from './resources/webhooks.js';

export const CLIENT_VERSION = '0.1.0';

export interface ClientOptions {
  /**
   * API endpoint. May hold the token and version: `https://api.filerobot.com/acme/v5`. Default
   * `https://api.filerobot.com`. For the local server: the URL `sfx server` prints.
   */
  endpoint?: string;
  /** Project token, when the endpoint does not hold it. */
  token?: string;
  /**
   * The tus connector host for `files.uploadResumable`, e.g. `https://eu-on-24001.connector.filerobot.com`
   * (the real API does not announce it). For the local server it defaults to `{server}/connector`.
   */
  connectorUrl?: string;
  /** `v5` (default) or `v4`. Operations that exist only in one version use it regardless. */
  apiVersion?: ApiVersion;
  /** Secret API key, sent as `X-Filerobot-Key`. */
  apiKey?: string;
  /**
   * A security template id instead of an API key: exchanged for a SASS key on first use, and
   * exchanged again once when the API says the key expired.
   */
  securityTemplate?: string;
  /** Per-request timeout; for streamed bodies, the longest stall. Default 60 s. */
  timeoutMs?: number;
  /** Retries of transient failures; `maxRetries: 0` turns them off. */
  retry?: Partial<RetryPolicy>;
  /** Most requests in flight at once over the default transport. Default 16. */
  concurrency?: number;
  /** Spread requests so no more than this many start per second. */
  requestsPerSecond?: number;
  /** Added before the client's own user agent. */
  userAgent?: string;
  /** Replaces the HTTP transport (tests, proxies, logging). */
  transport?: Transport;
  /** Randomness for backoff jitter (tests pin it). */
  random?: () => number;
}

/**
 * A Filerobot (Scaleflex DAM) API client:
 *
 *   const client = new Filerobot({ endpoint: 'https://api.filerobot.com/acme', apiKey: process.env.FILEROBOT_KEY });
 *   const { file } = await client.files.upload('./hero.jpg', { folder: '/site', meta: { alt: 'Hero' } });
 */
export class Filerobot {
  readonly files: Files;
  readonly folders: Folders;
  readonly meta: MetaResource;
  readonly tags: Tags;
  readonly labels: Labels;
  readonly collections: Collections;
  readonly products: Products;
  readonly shares: Shares;
  readonly settings: Settings;
  readonly bulk: Bulk;
  readonly access: Access;
  /** Approval requests and votes (inferred endpoints). */
  readonly approvals: Approvals;
  /** Public upload links into a folder (inferred endpoints). */
  readonly airboxes: Airboxes;
  readonly webhooks: Webhooks;
  readonly endpoint: Endpoint;
  private readonly core: ApiCore;
  private readonly ownTransport: { close(): Promise<void> } | undefined;

  constructor(options: ClientOptions = {}) {
    this.endpoint = parseEndpoint(options.endpoint, options.token, options.apiVersion);
    if (options.apiKey !== undefined && options.securityTemplate !== undefined) {
      throw new ConfigurationError('give apiKey or securityTemplate, not both.');
    }
    if (
      options.apiKey !== undefined &&
      (typeof options.apiKey !== 'string' || options.apiKey.trim() === '')
    ) {
      throw new ConfigurationError('apiKey is empty. Pass the secret key (or use securityTemplate).');
    }
    if (options.requestsPerSecond !== undefined && !(options.requestsPerSecond > 0)) {
      throw new ConfigurationError('requestsPerSecond must be a positive number.');
    }
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    if (!Number.isInteger(retry.maxRetries) || retry.maxRetries < 0)
      throw new ConfigurationError('retry.maxRetries must be a whole number >= 0.');
    let transport = options.transport;
    if (!transport) {
      const own = httpTransport({ connections: options.concurrency ?? 16 });
      this.ownTransport = own;
      transport = own;
    }
    const userAgent = `${options.userAgent ? `${options.userAgent} ` : ''}sfx-client/${CLIENT_VERSION} node/${process.versions.node}`;
    const keys: KeyProvider = options.securityTemplate
      ? new SassKeys(() => this.core, options.securityTemplate)
      : { key: async () => options.apiKey };
    this.core = new ApiCore({
      endpoint: this.endpoint,
      transport,
      keys,
      retry,
      timeoutMs: options.timeoutMs ?? 60_000,
      userAgent,
      limiter: options.requestsPerSecond ? new RequestRateLimiter(options.requestsPerSecond) : undefined,
      random: options.random,
    });
    this.files = new Files(this.core, connectorUrlFor(options.connectorUrl, this.endpoint));
    this.folders = new Folders(this.core);
    this.meta = new MetaResource(this.core);
    this.tags = new Tags(this.core);
    this.labels = new Labels(this.core);
    this.collections = new Collections(this.core);
    this.products = new Products(this.core);
    this.shares = new Shares(this.core);
    this.settings = new Settings(this.core);
    this.bulk = new Bulk(this.core);
    this.access = new Access(this.core);
    this.approvals = new Approvals(this.core);
    this.airboxes = new Airboxes(this.core);
    this.webhooks = new Webhooks(this.core);
  }

  /** `{base}/{token}/{version}`: the API root this client talks to. */
  get baseUrl(): string {
    return this.core.url('');
  }

  /**
   * A cheap call that proves the endpoint, token and key work (`GET /files?limit=1`, which needs
   * only OBJECTS_LIST). Resolves `{ok: false, reason}` instead of throwing.
   */
  async check(
    options: { signal?: AbortSignal } = {},
  ): Promise<{ ok: true } | { ok: false; reason: string; status?: number; code?: string }> {
    try {
      await this.core.json({
        method: 'GET',
        path: '/files',
        query: { limit: 1, folder: '/' },
        signal: options.signal,
      });
      return { ok: true };
    } catch (error) {
      if (error instanceof APIError)
        return { ok: false, reason: error.message, status: error.status, code: error.code };
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /**
   * Any API call, for operations that have no method here: sent with this client's key, retries
   * and typed errors; resolves the parsed JSON reply.
   *
   *   const reply = await client.request({ method: 'GET', path: '/files', query: { limit: 1 } });
   */
  async request<T = unknown>(call: RawRequest): Promise<T> {
    return this.core.json<T>(rawRequest(call, 'application/json'));
  }

  /**
   * Like `request`, but hands back the successful response unread (status, headers, byte stream)
   * for binary replies; read `body` once, or call `dump()`. Errors are thrown as by `request`.
   */
  async requestRaw(call: RawRequest): Promise<TransportResponse> {
    return this.core.raw(rawRequest(call, '*/*'));
  }

  /** Closes pooled connections of the default transport. */
  async close(): Promise<void> {
    await this.ownTransport?.close();
  }
}

/** One call through `request` / `requestRaw`. */
export interface RawRequest extends CallOptions {
  method: Method;
  /** The path after the version segment, e.g. `/files/{uuid}`; segments already encoded. */
  path: string;
  /** `none` for paths without a version (`/key/{id}`, `/tags`). Default: the client's. */
  version?: ApiVersion | 'none';
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  json?: unknown;
  headers?: Record<string, string>;
  /** Send the API key (default true). */
  auth?: boolean;
  /** Safe to send twice with the same effect; default: every method but POST. */
  idempotent?: boolean;
}

function rawRequest(call: RawRequest, accept: string): ApiRequest<never> {
  if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(call.method))
    throw new ConfigurationError(`method must be GET, POST, PUT, PATCH or DELETE, got ${JSON.stringify(call.method)}.`);
  if (typeof call.path !== 'string' || !call.path.startsWith('/') || /[?#]/.test(call.path))
    throw new ConfigurationError(
      `path must start with "/" and hold no query string (pass "query" instead), got ${JSON.stringify(call.path)}.`,
    );
  if (call.path.split('/').some((segment) => segment === '..' || segment === '.'))
    throw new ConfigurationError(`path must not hold "." or ".." segments, got ${JSON.stringify(call.path)}.`);
  return {
    method: call.method,
    path: call.path,
    version: call.version,
    query: call.query,
    json: call.json,
    headers: { accept, ...call.headers },
    auth: call.auth,
    idempotent: call.idempotent,
    signal: call.signal,
    timeoutMs: call.timeoutMs,
  };
}

/** Obtains a SASS key from a security template on first use and renews it once when it expires. */
class SassKeys implements KeyProvider {
  private current: Promise<string> | undefined;

  constructor(
    private readonly core: () => ApiCore,
    private readonly templateId: string,
  ) {}

  key(signal?: AbortSignal): Promise<string> {
    this.current ??= exchangeTemplate(this.core(), this.templateId, { signal }).catch((error: unknown) => {
      this.current = undefined;
      throw error;
    });
    return this.current;
  }

  async refresh(rejected: APIError, refusedKey: string | undefined, signal?: AbortSignal): Promise<boolean> {
    if (rejected.code !== 'KEY_EXPIRED' && rejected.code !== 'UNAUTHORIZED') return false;
    // Many calls in flight fail together when a key expires; only the first to notice exchanges
    // again (the API allows a few exchanges per minute per IP), the others reuse its new key.
    // Callers that awaited the same old promise all see the refused key, so the promise itself
    // must still be current for the reset: otherwise each would start its own exchange.
    const pending = this.current;
    const current = await pending?.catch(() => undefined);
    if (current === refusedKey && this.current === pending) this.current = undefined;
    return (await this.key(signal)) !== refusedKey;
  }
}

/** The tus connector host: as given, or for a server other than Filerobot's own, its `/connector` mirror. */
function connectorUrlFor(given: string | undefined, endpoint: Endpoint): string | undefined {
  if (given !== undefined) {
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw new ConfigurationError(`connectorUrl "${given}" is not a URL; e.g. https://eu-on-24001.connector.filerobot.com.`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new ConfigurationError(`connectorUrl must be http(s), got "${url.protocol}".`);
    return given.replace(/\/+$/, '');
  }
  const host = new URL(endpoint.base).hostname;
  return host === 'filerobot.com' || host.endsWith('.filerobot.com') ? undefined : `${endpoint.base}/connector`;
}
