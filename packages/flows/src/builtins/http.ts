import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineStepAction, type BuiltinConnector, type SourceItem, type StepContext } from '../step-action.js';
import { BuiltinError } from './errors.js';
import { asList, compile, evaluate } from './expressions.js';
import { MiB, expressionField } from './schema.js';

const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** RFC 9110's idempotent methods: repeating them has the effect of sending them once. */
const IDEMPOTENT = new Set<string>(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

const secretText = z.string({ error: 'must be text (use "{% $secrets.NAME %}" rather than writing it in the flow).' }).min(1, { error: 'must not be empty.' });

const auth = z.union(
  [
    z.strictObject({ bearer: secretText }),
    z.strictObject({ basic: z.strictObject({ username: z.string({ error: 'basic.username must be text.' }), password: secretText }) }),
    z.strictObject({ header: z.strictObject({ name: z.string().min(1, { error: 'header.name must not be empty.' }), value: secretText }) }),
  ],
  { error: 'auth must be {bearer: TOKEN}, {basic: {username, password}} or {header: {name, value}}.' },
);

const queryValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]);

const requestFields = {
  method: z
    .preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(METHODS, { error: `method must be one of ${METHODS.join(', ')}.` }))
    .default('GET'),
  url: z
    .string({ error: 'url is required: give an absolute http:// or https:// URL.' })
    .refine((u) => /^https?:\/\//i.test(u) && URL.canParse(u), { error: 'url must be an absolute http:// or https:// URL.' }),
  headers: z.record(z.string(), z.string({ error: 'header values must be text.' })).optional(),
  query: z.record(z.string(), queryValue, { error: 'query must map names to text, numbers, true/false, or lists of them.' }).optional(),
  json: z.unknown().optional(),
  body: z.string({ error: 'body must be text; send objects with json instead.' }).optional(),
  auth: auth.optional(),
  timeoutMs: z.number().int().positive({ error: 'timeoutMs must be a positive number of milliseconds.' }).optional(),
  retry: z
    .strictObject({
      attempts: z.number().int().min(1, { error: 'retry.attempts counts every try, so it is at least 1.' }).max(20, { error: 'retry.attempts is at most 20.' }).default(3),
      baseDelayMs: z.number().int().min(0, { error: 'retry.baseDelayMs must be 0 or more.' }).default(500),
      maxDelayMs: z.number().int().min(0, { error: 'retry.maxDelayMs must be 0 or more.' }).default(30_000),
    })
    .default({ attempts: 3, baseDelayMs: 500, maxDelayMs: 30_000 }),
  retryNonIdempotent: z.boolean({ error: 'retryNonIdempotent must be true or false.' }).default(false),
  idempotencyKeyHeader: z.string().min(1, { error: 'idempotencyKeyHeader must be a header name, such as "Idempotency-Key".' }).optional(),
  responseType: z.enum(['auto', 'json', 'text', 'base64'], { error: 'responseType must be "auto", "json", "text" or "base64".' }).default('auto'),
  maxResponseBytes: z.number().int().positive({ error: 'maxResponseBytes must be a positive number of bytes.' }).default(20 * MiB),
  failOnStatus: z.boolean({ error: 'failOnStatus must be true or false.' }).default(true),
};

function checkBody(input: { method: string; json?: unknown; body?: string }, ctx: z.RefinementCtx): void {
  if (input.json !== undefined && input.body !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['body'], message: 'give json or body, not both.' });
  }
  if ((input.method === 'GET' || input.method === 'HEAD') && (input.json !== undefined || input.body !== undefined)) {
    ctx.addIssue({ code: 'custom', path: [input.json !== undefined ? 'json' : 'body'], message: `a ${input.method} request has no body: use query, or method POST.` });
  }
}

const requestInput = z.strictObject(requestFields).superRefine(checkBody);

type RequestInput = z.output<typeof requestInput>;

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** The URL answered, after redirects. */
  url: string;
}

/** A status the request failed with after its retries; carries the status and a short, redacted excerpt of the body. */
export class HttpStatusError extends BuiltinError {
  constructor(
    readonly status: number,
    readonly bodyExcerpt: string,
    where: string,
    hint?: string,
  ) {
    super('HTTP_STATUS', `HTTP ${status} from ${where}${bodyExcerpt ? `: ${bodyExcerpt}` : ''}.`, hint ?? hintFor(status), { status, bodyExcerpt });
  }
}

function hintFor(status: number): string | undefined {
  if (status === 401) return 'Check the credentials given in auth.';
  if (status === 403) return 'The credentials do not allow this request.';
  if (status === 404) return 'Check the URL.';
  if (status === 429) return 'The server is limiting requests: lower the step\'s concurrency or raise retry.attempts.';
  return undefined;
}

const request = defineStepAction({
  id: 'request',
  title: 'Send an HTTP request',
  description:
    'Sends an HTTP request and returns `{status, headers, body, url}`; the body is parsed as JSON when the response\'s content type says JSON ' +
    '(`responseType` forces json, text or base64). `json` sends a value as JSON, `body` sends text; `query` adds URL parameters; ' +
    '`auth` is `{bearer}`, `{basic: {username, password}}` or `{header: {name, value}}` (keep secrets in `$secrets`; they never appear in errors or logs). ' +
    'Network errors and 408, 429 and 5xx responses are retried (`retry.attempts` tries in all, 3 unless set) with capped exponential backoff and jitter, ' +
    'waiting as long as a Retry-After header asks (up to `retry.maxDelayMs`). Only idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) are retried ' +
    'unless `retryNonIdempotent: true` or `idempotencyKeyHeader` names a header that carries the step\'s idempotency key. ' +
    'A 4xx or 5xx after the retries is an error with the status and the start of the body, unless `failOnStatus: false`.',
  input: requestInput,
  kind: 'write',
  idempotent: false,
  run: (ctx, input) => send(ctx, input, withQuery(input.url, input.query)),
});

function withQuery(url: string, query: RequestInput['query']): string {
  if (!query) return url;
  const u = new URL(url);
  for (const [name, value] of Object.entries(query)) {
    for (const v of Array.isArray(value) ? value : [value]) u.searchParams.append(name, String(v));
  }
  return u.toString();
}

/** Where a request went, for messages: no credentials and no query (which may carry keys). */
function describeUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

const SENSITIVE_HEADER = /authorization|cookie|key|token|secret|auth|signature|password/i;

function secretsOf(input: RequestInput): string[] {
  const secrets: string[] = [];
  const a = input.auth;
  if (a && 'bearer' in a) secrets.push(a.bearer);
  if (a && 'basic' in a) secrets.push(a.basic.password, Buffer.from(`${a.basic.username}:${a.basic.password}`).toString('base64'));
  if (a && 'header' in a) secrets.push(a.header.value);
  for (const [name, value] of Object.entries(input.headers ?? {})) if (SENSITIVE_HEADER.test(name) && value.length >= 4) secrets.push(value);
  return secrets.filter((s) => s.length > 0).sort((x, y) => y.length - x.length);
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

async function send(ctx: StepContext, input: RequestInput, url: string, authOrigin = new URL(url).origin): Promise<HttpResult> {
  const headers = new Headers(input.headers);
  const a = input.auth;
  // Credentials go only to the origin they were given for (a next-page link may point elsewhere).
  if (a && new URL(url).origin === authOrigin) {
    if ('bearer' in a) headers.set('authorization', `Bearer ${a.bearer}`);
    else if ('basic' in a) headers.set('authorization', `Basic ${Buffer.from(`${a.basic.username}:${a.basic.password}`).toString('base64')}`);
    else headers.set(a.header.name, a.header.value);
  }
  if (input.idempotencyKeyHeader) headers.set(input.idempotencyKeyHeader, ctx.idempotencyKey);
  let body: string | undefined = input.body;
  if (input.json !== undefined) {
    body = JSON.stringify(input.json);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  if (!headers.has('accept') && input.responseType !== 'base64') headers.set('accept', 'application/json, text/*;q=0.9, */*;q=0.8');

  const secrets = secretsOf(input);
  const where = `${input.method} ${describeUrl(url)}`;
  const retryable = IDEMPOTENT.has(input.method) || input.retryNonIdempotent || input.idempotencyKeyHeader !== undefined;
  const { attempts, baseDelayMs, maxDelayMs } = input.retry;

  for (let attempt = 1; ; attempt++) {
    const timeout = input.timeoutMs ? AbortSignal.timeout(input.timeoutMs) : undefined;
    const signal = timeout ? AbortSignal.any([ctx.signal, timeout]) : ctx.signal;
    let response: Response;
    try {
      response = await fetch(url, { method: input.method, headers, body, signal, redirect: 'follow' });
    } catch (err) {
      ctx.signal.throwIfAborted();
      const timedOut = timeout?.aborted === true;
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      const error = timedOut
        ? new BuiltinError('HTTP_TIMEOUT', `http: ${where} got no response within ${input.timeoutMs} ms (timeoutMs).`)
        : new BuiltinError('HTTP_NETWORK', `http: ${where} failed: ${redact(cause ?? (err as Error).message, secrets)}.`, 'Is the server reachable from here?');
      // A refused connection never reached the server, so even a POST is safe to send again.
      if (attempt < attempts && (retryable || cause === 'ECONNREFUSED')) {
        await wait(ctx, backoff(attempt, baseDelayMs, maxDelayMs), `${error.message} Retrying`, attempt, attempts);
        continue;
      }
      throw error;
    }

    if (RETRY_STATUS.has(response.status) && attempt < attempts && retryable) {
      const asked = retryAfter(response.headers.get('retry-after'));
      await response.body?.cancel().catch(() => undefined);
      if (asked !== undefined && asked > maxDelayMs) {
        throw new HttpStatusError(response.status, '', where, `The server asks to wait ${Math.ceil(asked / 1000)} s before retrying, longer than retry.maxDelayMs (${maxDelayMs} ms): raise it to wait.`);
      }
      await wait(ctx, asked ?? backoff(attempt, baseDelayMs, maxDelayMs), `http: HTTP ${response.status} from ${where}; retrying`, attempt, attempts);
      continue;
    }

    const bytes = await readBody(response, input.maxResponseBytes, where);
    const result: HttpResult = {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: decodeBody(bytes, response.headers.get('content-type'), input.responseType, where),
      url: response.url || url,
    };
    if (response.status >= 400 && input.failOnStatus) {
      const text = bytes.toString('utf8').replace(/\s+/g, ' ').trim();
      const excerpt = redact(text, secrets).slice(0, 200);
      throw new HttpStatusError(response.status, text.length > 200 ? `${excerpt}…` : excerpt, where);
    }
    return result;
  }
}

function backoff(attempt: number, baseDelayMs: number, maxDelayMs: number): number {
  const capped = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  // Jitter spreads out clients that failed together, so they do not all come back at once.
  return Math.round(capped / 2 + (Math.random() * capped) / 2);
}

/** Retry-After in milliseconds: seconds, or an HTTP date. */
export function retryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

async function wait(ctx: StepContext, ms: number, message: string, attempt: number, attempts: number): Promise<void> {
  ctx.log('warn', `${message} in ${ms} ms (attempt ${attempt + 1} of ${attempts}).`);
  await sleep(ms, undefined, { signal: ctx.signal });
}

async function readBody(response: Response, max: number, where: string): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length'));
  const tooLarge = () =>
    new BuiltinError('TOO_LARGE', `http: the response of ${where} is over ${max} bytes (maxResponseBytes).`, 'Raise maxResponseBytes, or download it with an action that streams to a file.');
  if (declared > max) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.length;
    if (total > max) {
      await response.body.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function decodeBody(bytes: Buffer, contentType: string | null, type: RequestInput['responseType'], where: string): unknown {
  if (type === 'base64') return bytes.toString('base64');
  const isJson = /\bjson\b/i.test(contentType ?? '');
  const isText = !contentType || /^text\/|xml|javascript|x-www-form-urlencoded/i.test(contentType);
  if (type === 'json' || (type === 'auto' && isJson)) {
    if (bytes.length === 0) return null;
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch {
      if (type === 'json') throw new BuiltinError('PARSE_ERROR', `http: the response of ${where} is not valid JSON.`, 'Use responseType: text to see it.');
      return bytes.toString('utf8');
    }
  }
  if (type === 'text' || isText || isJson) return bytes.toString('utf8');
  return bytes.toString('base64');
}

const paginateInput = z
  .strictObject({
    ...requestFields,
    items: expressionField('items, the expression for the list of items in a page\'s body (for example "data")').optional(),
    nextUrl: expressionField('nextUrl, the expression for the next page\'s URL').optional(),
    nextCursor: expressionField('nextCursor, the expression for the next page\'s cursor').optional(),
    cursorParam: z.string().min(1, { error: 'cursorParam must be a query parameter name.' }).default('cursor'),
    maxPages: z.number().int().positive({ error: 'maxPages must be a positive whole number.' }).optional(),
  })
  .superRefine((input, ctx) => {
    if (input.nextUrl !== undefined && input.nextCursor !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['nextCursor'], message: 'give nextUrl or nextCursor, not both.' });
    }
    checkBody(input, ctx);
  });

type PaginateInput = z.output<typeof paginateInput>;

const paginate = defineStepAction({
  id: 'paginate',
  title: 'Page through an HTTP API',
  description:
    'Requests pages one after another (each like http.request, with its auth and retries) and yields the items in them. ' +
    '`items` is a JSONata expression for the page\'s items, evaluated on the body (with `$headers`, `$status` and `$url`); without it the body must be a list. ' +
    'The next page comes from `nextUrl` (an expression giving its URL, relative or absolute), or `nextCursor` (an expression giving a value sent as the ' +
    '`cursorParam` query parameter, `cursor` unless set), or else the response\'s `Link: <…>; rel="next"` header; paging stops when there is none. ' +
    'A source for `forEach`: a resumed run fetches again the page it stopped in and goes on after the last item handled. ' +
    'Credentials are only sent to the first URL\'s origin.',
  input: paginateInput,
  kind: 'read',
  idempotent: true,
  items: (ctx, input, after) => pages(ctx, input, after),
});

async function* pages(ctx: StepContext, input: PaginateInput, after?: string): AsyncGenerator<SourceItem> {
  if (!IDEMPOTENT.has(input.method) && !input.retryNonIdempotent) {
    // Pages are read-only queries even when sent as POST (search APIs); a retry repeats nothing.
    input = { ...input, retryNonIdempotent: true };
  }
  const itemsExpr = input.items === undefined ? undefined : compile('http.paginate', 'items', input.items);
  const nextUrlExpr = input.nextUrl === undefined ? undefined : compile('http.paginate', 'nextUrl', input.nextUrl);
  const nextCursorExpr = input.nextCursor === undefined ? undefined : compile('http.paginate', 'nextCursor', input.nextCursor);
  const first = withQuery(input.url, input.query);
  const authOrigin = new URL(first).origin;

  let pageUrl = first;
  let skipThrough = -1;
  if (after !== undefined) ({ page: pageUrl, index: skipThrough } = parseCursor(after));
  const seen = new Set<string>([pageUrl]);

  for (let page = 1; ; page++) {
    const response = await send(ctx, input, pageUrl, authOrigin);
    const bindings = { headers: response.headers, status: response.status, url: pageUrl };
    const list = itemsExpr ? asList(await evaluate('http.paginate', 'items', itemsExpr, response.body, bindings)) : response.body;
    if (!Array.isArray(list)) {
      throw new BuiltinError('BAD_VALUE', `http.paginate: the body of ${describeUrl(pageUrl)} is not a list.`, 'Give items: an expression for the list in it (for example "data" or "results").');
    }
    for (let i = skipThrough + 1; i < list.length; i++) {
      yield { item: list[i], cursor: JSON.stringify({ page: pageUrl, index: i }) };
    }
    skipThrough = -1;

    let next: string | undefined;
    if (nextUrlExpr) {
      const value = await evaluate('http.paginate', 'nextUrl', nextUrlExpr, response.body, bindings);
      next = value === undefined || value === null || value === '' ? undefined : new URL(String(value), pageUrl).toString();
    } else if (nextCursorExpr) {
      const value = await evaluate('http.paginate', 'nextCursor', nextCursorExpr, response.body, bindings);
      if (value !== undefined && value !== null && value !== '') {
        const u = new URL(first);
        u.searchParams.set(input.cursorParam, String(value));
        next = u.toString();
      }
    } else {
      const link = nextLink(response.headers.link);
      next = link === undefined ? undefined : new URL(link, pageUrl).toString();
    }
    if (next === undefined) return;
    if (seen.has(next)) {
      throw new BuiltinError('BAD_VALUE', `http.paginate: the next page of ${describeUrl(pageUrl)} is one already read, so paging would never end.`, 'Check nextUrl or nextCursor.');
    }
    if (input.maxPages !== undefined && page >= input.maxPages) {
      ctx.log('warn', `http.paginate: stopped after maxPages (${input.maxPages}) pages; more pages remain.`, { url: describeUrl(next) });
      return;
    }
    seen.add(next);
    pageUrl = next;
  }
}

function parseCursor(cursor: string): { page: string; index: number } {
  try {
    const value = JSON.parse(cursor) as { page?: unknown; index?: unknown };
    if (typeof value.page === 'string' && Number.isInteger(value.index)) return { page: value.page, index: value.index as number };
  } catch {
    // reported below
  }
  throw new BuiltinError('BAD_CURSOR', 'http.paginate: the resume cursor is not one this action wrote.', 'Start a new run.');
}

/** The `rel="next"` target of a Link header (RFC 8288). */
export function nextLink(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const match of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const rel = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(match[2] ?? '')?.[1];
    if (rel && rel.toLowerCase().split(/\s+/).includes('next')) return match[1];
  }
  return undefined;
}

export const httpConnector: BuiltinConnector = {
  name: 'http',
  description: 'HTTP APIs: send requests with auth and retries, and page through paginated lists as a streaming source.',
  actions: [request, paginate],
};
