import type { Endpoint, ApiVersion } from './config.js';
import {
  AbortError,
  APIError,
  AuthenticationError,
  ConnectionError,
  TimeoutError,
  redactRequest,
  type RedactedRequest,
} from './errors.js';
import {
  delayBeforeRetry,
  isTransientStatus,
  provesNotApplied,
  sleep,
  type RequestRateLimiter,
  type RetryPolicy,
} from './retry.js';
import { CONNECT_TIMEOUT, type RequestBody, type Transport, type TransportResponse } from './transport.js';

export type QueryValue = string | number | boolean | undefined | null | readonly (string | number)[];
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

/** A body built afresh for each attempt (so a retry can resend it), with what the wire needs to know. */
export interface BodyPayload {
  body: RequestBody;
  contentType: string;
  contentLength?: number;
}

/** What a caller can tell the retry loop after an ambiguous failure of a non-idempotent write. */
export type Recovery<T> = { landed: true; value: T } | { landed: false };

export interface ApiRequest<T = unknown> {
  method: Method;
  /** The path after the version segment, e.g. `/files/{uuid}` (already encoded). */
  path: string;
  /** A full URL to call instead of `path` (another host, e.g. the tus connector host). */
  url?: string;
  /** Overrides the client's retry count for this request (0: the caller retries itself). */
  maxRetries?: number;
  /** `'none'` for paths the API prints without a version (`/key/{id}`, `/tags`). Default: the client's. */
  version?: ApiVersion | 'none';
  query?: Record<string, QueryValue>;
  /** A JSON body. */
  json?: unknown;
  /** A streamed or binary body; called once per attempt. */
  body?: () => BodyPayload;
  /** False when `body` can be produced only once (a caller's stream): then nothing is resent. */
  replayable?: boolean;
  headers?: Record<string, string>;
  /** Send the API key (default true). */
  auth?: boolean;
  /** Safe to send twice with the same effect. Default: every method but POST. */
  idempotent?: boolean;
  /**
   * For a non-idempotent request whose outcome is unknown (reset after the body was sent, a 5xx):
   * find out whether it landed. Without it such a request is not retried.
   */
  recover?: () => Promise<Recovery<T>>;
  /** 2xx bodies with `status:"error"` and one of these codes are returned instead of thrown. */
  acceptErrorCodes?: readonly string[];
  signal?: AbortSignal;
  /** Overrides the client's timeout. For streamed bodies it is the longest pause between chunks. */
  timeoutMs?: number;
}

/** Supplies the `X-Filerobot-Key` value; a SASS provider can swap an expired key once. */
export interface KeyProvider {
  key(signal?: AbortSignal): Promise<string | undefined>;
  /**
   * Called after a 401 with the key that was refused; resolves true when a different key is now
   * available and the call should be repeated.
   */
  refresh?(rejected: APIError, refusedKey: string | undefined, signal?: AbortSignal): Promise<boolean>;
}

export interface CoreOptions {
  endpoint: Endpoint;
  transport: Transport;
  keys: KeyProvider;
  retry: RetryPolicy;
  timeoutMs: number;
  userAgent: string;
  limiter?: RequestRateLimiter;
  random?: () => number;
}

// Codes for failures that happen before a single byte reaches the server: Node's, the default
// transport's, and undici's (for a transport built on it).
const NEVER_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  CONNECT_TIMEOUT,
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * The request engine: builds URLs and headers, sends through the transport, turns replies into
 * values or typed errors, and retries what is safe to retry (see `send` for the rules).
 */
export class ApiCore {
  constructor(readonly options: CoreOptions) {}

  get endpoint(): Endpoint {
    return this.options.endpoint;
  }

  url(
    path: string,
    version: ApiVersion | 'none' = this.endpoint.version,
    query?: Record<string, QueryValue>,
  ): string {
    const { base, token } = this.endpoint;
    const versionPart = version === 'none' ? '' : `/${version}`;
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value === undefined || value === null) continue;
      if (Array.isArray(value)) search.set(name, value.join(','));
      else if (typeof value === 'boolean') search.set(name, value ? '1' : '0');
      else search.set(name, String(value));
    }
    const qs = search.toString();
    return `${base}/${token}${versionPart}${path}${qs ? `?${qs}` : ''}`;
  }

  /** Sends a request and returns the parsed JSON body of a successful reply. */
  async json<T>(req: ApiRequest<T>): Promise<T> {
    return (await this.send(req, async (response, request) =>
      parseJsonReply(response, request, req.acceptErrorCodes),
    )) as T;
  }

  /** Sends a request and hands back the raw successful response (for downloads); the caller reads the body. */
  async raw(req: ApiRequest<TransportResponse>): Promise<TransportResponse> {
    return this.send(req, async (response) => response, true);
  }

  /**
   * The retry loop. Idempotent requests are retried on connection errors, 408, 429 and 5xx.
   * A non-idempotent one (an upload, a create) is retried only when the failure proves it did not
   * land (refused connection, 408/429, body not fully sent) or when its `recover` lookup says so.
   */
  private async send<T>(
    req: ApiRequest<T>,
    onSuccess: (response: TransportResponse, request: RedactedRequest) => Promise<unknown>,
    streamReply = false,
  ): Promise<T> {
    const { retry, transport, limiter } = this.options;
    const idempotent = req.idempotent ?? req.method !== 'POST';
    const replayable = req.replayable ?? true;
    const url = req.url ?? this.url(req.path, req.version, req.query);
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      if (req.signal?.aborted)
        throw new AbortError('The request was aborted by the caller.', { cause: req.signal.reason });
      await limiter?.take(req.signal);
      const headers: Record<string, string> = {
        accept: 'application/json',
        'user-agent': this.options.userAgent,
        ...req.headers,
      };
      if (attempt > 0) headers['x-sfx-retry-count'] = String(attempt);
      let key: string | undefined;
      if (req.auth !== false) {
        key = await this.options.keys.key(req.signal);
        if (key) headers['x-filerobot-key'] = key;
      }
      const tracked = this.buildBody(req, headers);
      const request = redactRequest(req.method, url, headers);
      const timeoutMs = req.timeoutMs ?? this.options.timeoutMs;
      const timer = new AttemptTimer(timeoutMs, req.signal);
      const canRetry = attempt < (req.maxRetries ?? retry.maxRetries) && (replayable || !tracked.started());

      let response: TransportResponse;
      try {
        response = await transport({
          method: req.method,
          url,
          headers,
          body: tracked.body && timer.watch(tracked.body),
          signal: timer.signal,
        });
      } catch (cause) {
        timer.clear();
        if (req.signal?.aborted) throw new AbortError('The request was aborted by the caller.', { cause });
        const error = timer.timedOut
          ? new TimeoutError(`no reply within ${timeoutMs} ms`, request, { cause })
          : new ConnectionError(describeNetworkError(cause), request, { cause });
        if (!canRetry) throw error;
        const notApplied =
          NEVER_SENT.has(networkCode(cause) ?? '') || (tracked.started() && !tracked.finished());
        if (!idempotent && !notApplied) {
          const outcome = await this.recoverOrThrow(req, error);
          if (outcome.landed) return outcome.value;
        }
        await this.wait(attempt, undefined, error, req.signal);
        continue;
      }
      if (!streamReply) timer.clear();
      else timer.stopWatchingBody();
      // One renewal per call (a SASS key that expired); the repeat does not count as a retry.
      const renewKey = async (error: APIError): Promise<boolean> => {
        if (refreshed || !(await this.options.keys.refresh?.(error, key, req.signal))) return false;
        // A stream already read cannot be sent again with the new key.
        if (!replayable && tracked.started()) throw error;
        refreshed = true;
        return true;
      };

      if (response.status >= 200 && response.status < 300) {
        try {
          return (await onSuccess(response, request)) as T;
        } catch (error) {
          timer.clear();
          if (error instanceof AuthenticationError && (await renewKey(error))) {
            attempt--;
            continue;
          }
          throw error;
        }
      }
      timer.clear();
      const error = APIError.from(response.status, await readErrorBody(response), response.headers, request);
      if (response.status === 401 && (await renewKey(error))) {
        attempt--;
        continue;
      }
      if (!isTransientStatus(response.status) || !canRetry) throw error;
      if (!idempotent && !provesNotApplied(response.status)) {
        const outcome = await this.recoverOrThrow(req, error);
        if (outcome.landed) return outcome.value;
      }
      await this.wait(attempt, response.headers, error, req.signal);
    }
  }

  private async recoverOrThrow<T>(req: ApiRequest<T>, error: Error): Promise<Recovery<T>> {
    if (!req.recover) throw error;
    return req.recover();
  }

  private async wait(
    attempt: number,
    headers: Record<string, string> | undefined,
    error: Error,
    signal?: AbortSignal,
  ): Promise<void> {
    const delay = delayBeforeRetry(this.options.retry, attempt, headers, this.options.random);
    if (delay === 'too-long') throw error;
    try {
      await sleep(delay, signal);
    } catch (cause) {
      throw new AbortError('The request was aborted by the caller.', { cause });
    }
  }

  private buildBody(req: ApiRequest<unknown>, headers: Record<string, string>): TrackedBody {
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      return trackBody(JSON.stringify(req.json));
    }
    if (!req.body) return trackBody(undefined);
    const payload = req.body();
    headers['content-type'] = payload.contentType;
    if (payload.contentLength !== undefined) headers['content-length'] = String(payload.contentLength);
    return trackBody(payload.body);
  }
}

interface TrackedBody {
  body: RequestBody | undefined;
  /** Whether the transport began reading the body. */
  started(): boolean;
  /** Whether the transport read the whole body. */
  finished(): boolean;
}

function trackBody(body: RequestBody | undefined): TrackedBody {
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) {
    // Sent in one write: once the request is out, assume all of it may have reached the server.
    return { body, started: () => true, finished: () => true };
  }
  let started = false;
  let finished = false;
  const source = body;
  const wrapped: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      started = true;
      yield* source;
      finished = true;
    },
  };
  return { body: wrapped, started: () => started, finished: () => finished };
}

/**
 * One attempt's deadline. For plain calls it bounds the whole exchange; for streamed bodies it is
 * re-armed on every chunk, so a 2 GiB upload is limited by stalls, not by its length.
 */
class AttemptTimer {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private watching = false;
  timedOut = false;
  readonly signal: AbortSignal;

  constructor(
    private readonly timeoutMs: number,
    callerSignal?: AbortSignal,
  ) {
    this.signal = callerSignal
      ? AbortSignal.any([callerSignal, this.controller.signal])
      : this.controller.signal;
    this.arm();
  }

  private arm(): void {
    if (this.timeoutMs <= 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error(`timed out after ${this.timeoutMs} ms`));
    }, this.timeoutMs);
  }

  watch(body: RequestBody): RequestBody {
    if (typeof body === 'string' || body instanceof Uint8Array) return body;
    this.watching = true;
    const touch = (): void => {
      if (this.watching) this.arm();
    };
    return {
      async *[Symbol.asyncIterator]() {
        for await (const chunk of body) {
          touch();
          yield chunk;
        }
      },
    };
  }

  /** Headers are in and the caller will stream the reply: the transport's own idle timeout takes over. */
  stopWatchingBody(): void {
    this.watching = false;
    clearTimeout(this.timer);
  }

  clear(): void {
    this.watching = false;
    clearTimeout(this.timer);
  }
}

async function parseJsonReply(
  response: TransportResponse,
  request: RedactedRequest,
  accept?: readonly string[],
): Promise<unknown> {
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    throw APIError.from(
      response.status,
      { status: 'error', code: 'INVALID_JSON_REPLY', msg: `expected JSON, got: ${text.slice(0, 200)}` },
      response.headers,
      request,
    );
  }
  if (typeof body === 'object' && body !== null && (body as { status?: unknown }).status === 'error') {
    const code = (body as { code?: unknown }).code;
    if (typeof code === 'string' && accept?.includes(code)) return body;
    throw APIError.from(response.status, body, response.headers, request);
  }
  return body;
}

async function readErrorBody(response: TransportResponse): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return { status: 'error', msg: text.slice(0, 2048) };
  }
}

function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function describeNetworkError(error: unknown): string {
  const code = networkCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
