/**
 * Errors thrown by the client. Catch `FilerobotError` for everything, `APIError` for any reply the
 * API sent, or a subclass for one kind:
 *
 *   try { await client.files.get(uuid) } catch (e) { if (e instanceof NotFoundError) ... }
 *
 * No error ever carries the API key: the request kept on an error is redacted first.
 */

/** The request as kept on errors and logs: method, URL without secrets, headers with the key masked. */
export interface RedactedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

const SECRET_HEADERS = new Set([
  'x-filerobot-key',
  'authorization',
  'proxy-authorization',
  'cookie',
  'filerobot-key',
]);
const SECRET_QUERY = /^(key|api[_-]?key|secret|token|sass|password|pass)$/i;

export function redactRequest(method: string, url: string, headers: Record<string, string>): RedactedRequest {
  const safeHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    safeHeaders[name] = SECRET_HEADERS.has(name.toLowerCase()) ? '[redacted]' : value;
  }
  return { method, url: redactUrl(url), headers: safeHeaders };
}

export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.username || parsed.password) {
    parsed.username = parsed.username ? 'redacted' : '';
    parsed.password = parsed.password ? 'redacted' : '';
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_QUERY.test(name)) parsed.searchParams.set(name, '[redacted]');
  }
  // The SASS exchange carries the security template id in its path (`/key/{id}`, also under
  // `/v4/` and `/v5/`): the id is the credential there.
  parsed.pathname = parsed.pathname.replace(/(\/key\/)[^/]+/, '$1[redacted]');
  return parsed.toString();
}

export class FilerobotError extends Error {
  override name = 'FilerobotError';
}

/** The API answered with an error: a non-2xx status, or a 2xx whose body says `status: "error"`. */
export class APIError extends FilerobotError {
  override name = 'APIError';
  /** HTTP status of the reply (a 2xx when the body alone said `status: "error"`). */
  readonly status: number;
  /** The API's error code, e.g. `E801_ALREADY_EXIST`, `KEY_EXPIRED`; `undefined` when the body had none. */
  readonly code: string | undefined;
  readonly msg: string | undefined;
  readonly hint: string | undefined;
  readonly requestId: string | undefined;
  readonly request: RedactedRequest;
  /** The parsed reply body (or its first 2 KiB of text when it was not JSON). */
  readonly body: unknown;
  readonly headers: Record<string, string>;

  constructor(status: number, body: unknown, headers: Record<string, string>, request: RedactedRequest) {
    const fields = errorFields(body);
    const requestId = headers['x-request-id'] ?? headers['x-amz-request-id'] ?? undefined;
    const what = [fields.code, fields.msg].filter(Boolean).join(': ') || 'no error message in the reply';
    const hint = fields.hint ? ` Hint: ${fields.hint}` : '';
    super(`${request.method} ${pathOf(request.url)} failed with HTTP ${status} (${what}).${hint}`);
    this.status = status;
    this.code = fields.code;
    this.msg = fields.msg;
    this.hint = fields.hint;
    this.requestId = requestId;
    this.request = request;
    this.body = body;
    this.headers = headers;
  }

  /** Whether the client's retry policy treats this error as transient. */
  get retryable(): boolean {
    return this.status === 408 || this.status === 429 || this.status >= 500;
  }

  /** Builds the subclass that matches the status (or, for a 2xx error body, the code). */
  static from(
    status: number,
    body: unknown,
    headers: Record<string, string>,
    request: RedactedRequest,
  ): APIError {
    const Kind = classFor(status, errorFields(body).code);
    return new Kind(status, body, headers, request);
  }
}

export class BadRequestError extends APIError {
  override name = 'BadRequestError';
}
export class AuthenticationError extends APIError {
  override name = 'AuthenticationError';
}
export class PermissionDeniedError extends APIError {
  override name = 'PermissionDeniedError';
}
export class NotFoundError extends APIError {
  override name = 'NotFoundError';
}
export class ConflictError extends APIError {
  override name = 'ConflictError';
}
export class PayloadTooLargeError extends APIError {
  override name = 'PayloadTooLargeError';
}
export class UnprocessableEntityError extends APIError {
  override name = 'UnprocessableEntityError';
}
export class RateLimitError extends APIError {
  override name = 'RateLimitError';
}
export class InternalServerError extends APIError {
  override name = 'InternalServerError';
}

/** The request never got a reply: refused, reset, DNS failure. `cause` holds the network error. */
export class ConnectionError extends FilerobotError {
  override name = 'ConnectionError';
  readonly request: RedactedRequest;
  constructor(message: string, request: RedactedRequest, options?: { cause?: unknown }) {
    super(`${request.method} ${pathOf(request.url)}: ${message}`, options);
    this.request = request;
  }
  get retryable(): boolean {
    return true;
  }
}

/** No reply (or no progress on a streamed body) within the configured timeout. */
export class TimeoutError extends ConnectionError {
  override name = 'TimeoutError';
}

/** The caller's `signal` aborted the request. Never retried. */
export class AbortError extends FilerobotError {
  override name = 'AbortError';
}

/** The client was given options it cannot use; the message names the option and the fix. */
export class ConfigurationError extends FilerobotError {
  override name = 'ConfigurationError';
}

function classFor(
  status: number,
  code: string | undefined,
): new (...args: ConstructorParameters<typeof APIError>) => APIError {
  // A name clash is a conflict whatever the status: creating an existing folder is a 403 on the real
  // API (the PyPI client's reading), not a permission problem a caller should give up on.
  if (code === 'E801_ALREADY_EXIST') return ConflictError;
  switch (status) {
    case 400:
      return BadRequestError;
    case 401:
      return AuthenticationError;
    case 403:
      return PermissionDeniedError;
    case 404:
      return NotFoundError;
    case 409:
      return ConflictError;
    case 413:
      return PayloadTooLargeError;
    case 422:
      return UnprocessableEntityError;
    case 429:
      return RateLimitError;
  }
  if (status >= 500) return InternalServerError;
  // A 2xx or an unusual status with an error body: classify by the code the API gave.
  if (code === 'UNAUTHORIZED' || code === 'KEY_EXPIRED' || code === 'KEY_DEACTIVATED')
    return AuthenticationError;
  if (code === 'PERMISSION_DENIED') return PermissionDeniedError;
  if (code?.endsWith('NOT_FOUND')) return NotFoundError;
  if (code === 'E801_ALREADY_EXIST') return ConflictError;
  return APIError;
}

function errorFields(body: unknown): { code?: string; msg?: string; hint?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  const text = (value: unknown): string | undefined =>
    typeof value === 'string' && value ? value : undefined;
  return { code: text(record.code), msg: text(record.msg) ?? text(record.message), hint: text(record.hint) };
}

function pathOf(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return url;
  }
}
