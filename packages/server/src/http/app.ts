import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { permissionSetOf, unauthorized } from '../auth/api-keys.js';
import { RateLimiter } from '../auth/rate-limit.js';
import { admitSass, authenticateSass, authorizeSass } from '../auth/sass-rules.js';
import type { ApiVersion } from '../api/serialize.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { inOneReadTransaction } from '../store/statements.js';
import { folderVisibilityResolver } from '../store/visibility.js';
import { type Call, type HandlerResult, type Principal, type RouteSpec, successJson, urlsOf } from './route.js';

const KEY_HEADER = 'x-filerobot-key';

function errorBody(error: ApiError): Record<string, unknown> {
  return { status: 'error', code: error.code, msg: error.message, hint: error.hint ?? '', ...error.extra };
}

export function sendError(reply: FastifyReply, error: ApiError): FastifyReply {
  if (error.headers) reply.headers(error.headers);
  return reply.code(error.httpStatus).type('application/json; charset=utf-8').send(errorBody(error));
}

/** Turns fastify's own errors (body parsing, limits) into API errors with a message a user can act on. */
function fromFastify(error: FastifyError, maxJsonBytes: number): ApiError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than this endpoint accepts (${maxJsonBytes} bytes for JSON).`,
        'Send large files as multipart or with the streamed PUT /v4/files upload.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'INVALID_JSON', 'The body is empty but Content-Type says JSON.', 'Send a JSON object, or drop the Content-Type header.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'This Content-Type is not accepted here.', 'Use application/json, multipart/form-data or application/octet-stream.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(400, 'INVALID_CONTENT_LENGTH', 'Content-Length does not match the body that was sent.');
    default:
      break;
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new ApiError(400, 'INVALID_JSON', `The body is not valid JSON: ${error.message}`, 'Check quotes, commas and brackets.');
  }
  if (error.validation) return new ApiError(400, 'INVALID_REQUEST', error.message);
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new ApiError(error.statusCode, error.code ?? 'BAD_REQUEST', error.message);
  }
  return undefined;
}

/**
 * Bytes on a connection that are not HTTP (a body longer than its Content-Length, garbage request
 * lines, oversized headers) get the API's error envelope, then the connection closes. Nothing is
 * written while a reply to an earlier request on the socket is under way: it would corrupt it.
 */
function clientError(error: Error & { code?: string }, socket: import('node:net').Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const [status, reason, apiError] =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', new ApiError(408, 'REQUEST_TIMEOUT', 'The request headers did not arrive in time.')]
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', new ApiError(431, 'HEADERS_TOO_LARGE', 'The request headers are too large.', 'Send smaller headers (cookies, long custom headers).')]
          : [400, 'Bad Request', new ApiError(400, 'BAD_HTTP_REQUEST', 'The request is not valid HTTP.',
            'Check the request line and headers, and that Content-Length matches the body.')];
    const body = JSON.stringify(errorBody(apiError));
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

/** A pre-route answer that fails leaves the request to the routes, which answer or report it. */
function tryPreRoute(preRoute: PreRoute, req: IncomingMessage, res: ServerResponse, ctx: ServerContext): boolean {
  try {
    return preRoute(req, res);
  } catch (error) {
    if (res.headersSent) throw error;
    ctx.log('warn', 'pre-route answer failed; routing the request', { url: req.url, error: String(error) });
    return false;
  }
}

const MAX_PARAM_LENGTH = 2048;
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

function routerError(error: FastifyError): ApiError {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return new ApiError(414, 'PATH_SEGMENT_TOO_LONG', `A path segment is longer than the ${MAX_PARAM_LENGTH} characters an id or name in the path may have.`,
      'Check the id in the path; long values go in the body.');
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    return new ApiError(400, 'INVALID_PATH', 'The path holds a malformed percent-encoding (a lone "%" or one like "%ZZ").',
      'Percent-encode each path segment, e.g. with encodeURIComponent.');
  }
  return new ApiError(400, 'INVALID_PATH', 'The request URL cannot be routed.', 'Check the path against the API reference.');
}

function authenticate(call: Pick<Call, 'req' | 'ctx'>): Principal {
  const raw = call.req.headers[KEY_HEADER];
  const secret = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!secret) throw unauthorized('No API key was sent.', 'UNAUTHORIZED');
  if (secret.startsWith('SASS__')) return authenticateSass(call, secret);
  const key = call.ctx.keys.authenticate(secret);
  return { kind: 'api-key', id: key.uuid, key, permissions: permissionSetOf(key) };
}

function withBody(call: Call, body: unknown): Call {
  call.body = body;
  return call;
}

function requirePermissions(principal: Principal, spec: RouteSpec): void {
  if (spec.permissions === 'public' || spec.permissions === 'any-key') return;
  const missing = spec.permissions.filter((p) => !principal.permissions.has(p));
  if (missing.length > 0) {
    throw new ApiError(
      403,
      'PERMISSION_DENIED',
      `This key lacks the ${missing.join(' and ')} permission${missing.length > 1 ? 's' : ''} needed for ${spec.method} ${spec.path}.`,
      principal.kind === 'sass'
        ? 'Grant the permission to the security template (PATCH /v5/access/templates/{id}); its SASS keys get it at once.'
        : 'Grant the permission to the key (PATCH /v5/access/keys/{uuid}) or use a key that has it.',
    );
  }
}

/** Sends a handler's result in the success envelope; `undefined` means the handler replied itself. */
function respond(reply: FastifyReply, result: HandlerResult): FastifyReply {
  if (result === undefined) return reply;
  return reply.type('application/json; charset=utf-8').send(successJson(result));
}

function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.headers.host ?? `${req.hostname}`}`;
}

/**
 * Answers a request ahead of routing when it can (returning true), or leaves it to the routes:
 * for replies prepared in full in memory, whose cost would otherwise be mostly the framework's.
 */
export type PreRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Builds the HTTP app: one fastify route per (spec, version), all errors in the Filerobot
 * envelope; `preRoute` sees each request first (until the app starts closing).
 */
export function buildApp(ctx: ServerContext, routes: RouteSpec[], preRoute?: PreRoute): FastifyInstance {
  let closing = false;
  const app = Fastify({
    logger: false,
    // GET routes are registered for HEAD too (below), with the GET's headers.
    exposeHeadRoutes: false,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: MAX_PARAM_LENGTH },
    // The router's own refusals (a path it cannot decode or match) in the API's error envelope.
    frameworkErrors: (error, _req, reply) => {
      sendError(reply, routerError(error));
    },
    bodyLimit: ctx.limits.maxJsonBytes,
    genReqId: () => randomUUID(),
    // Uploads can be large and slow, so a request as a whole has no deadline; a connection that
    // goes silent (nothing sent or received) for `idleSocketTimeoutMs` is closed, and headers must
    // arrive within `headersTimeoutMs`. A slow upload that keeps sending is never cut.
    requestTimeout: 0,
    connectionTimeout: ctx.limits.idleSocketTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    clientErrorHandler: clientError,
    http: {
      requestTimeout: 0,
      headersTimeout: ctx.limits.headersTimeoutMs,
      // How often headersTimeout is checked (node's default 30 s), finer when the timeout is short.
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(ctx.limits.headersTimeoutMs / 4))),
    },
    // The server fastify would make (the same options and timeouts), with `preRoute` in front.
    serverFactory: (handler, options) => {
      const server = createServer(options.http ?? {}, (req, res) => {
        if (preRoute && !closing && tryPreRoute(preRoute, req, res, ctx)) return;
        handler(req, res);
      });
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      server.requestTimeout = 0;
      server.setTimeout(ctx.limits.idleSocketTimeoutMs);
      return server;
    },
  });
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  // Everything but JSON reaches handlers as the raw request stream: uploads are never buffered.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      const e = error as Error;
      done(new ApiError(400, 'INVALID_JSON', `The body is not valid JSON: ${e.message}`, 'Check quotes, commas and brackets.'), undefined);
    }
  });
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  // Callback style: an async hook costs a promise and a microtask hop on every request.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });

  app.setErrorHandler((error: FastifyError | ApiError, req, reply) => {
    if (error instanceof ApiError) return sendError(reply, error);
    const mapped = fromFastify(error, ctx.limits.maxJsonBytes);
    if (mapped) return sendError(reply, mapped);
    ctx.log('error', 'unhandled error', { requestId: req.id, method: req.method, route: req.routeOptions.url, error: String(error.stack ?? error) });
    return sendError(reply, new ApiError(500, 'INTERNAL_ERROR', 'The server failed to handle this request.', `Report it with the request id ${req.id}.`));
  });

  app.setNotFoundHandler((req, reply) =>
    sendError(
      reply,
      new ApiError(404, 'ROUTE_NOT_FOUND', `No API route matches ${req.method} ${req.url.split('?')[0]}.`,
        'Paths look like /{token}/v5/files; check the method, the token and the version segment.'),
    ),
  );

  const keyLimiter = ctx.limits.requestsPerMinutePerKey > 0 ? new RateLimiter(ctx.limits.requestsPerMinutePerKey) : undefined;
  /** Each request's call, made (and its key checked) before the body is read. */
  const calls = new WeakMap<FastifyRequest, Call>();
  const ownHeads = new Set(routes.filter((spec) => spec.method === 'HEAD').flatMap(urlsOf));
  for (const spec of routes) {
    for (const url of urlsOf(spec)) {
      const version = (url.match(/^\/:token\/(v4|v5)\//)?.[1] ?? 'v5') as ApiVersion;
      /**
       * The project, the key, its permissions and a SASS key's rules, from the URL and headers
       * alone: run on `onRequest`, so a request refused here gets its answer without its body
       * being read or parsed (a JSON body can be 64 MiB).
       */
      // GET and HEAD bodies are never read, so their calls are admitted in the handler: a hook of
      // its own would cost every read a promise and a map entry for nothing.
      const admitEarly = spec.method !== 'GET' && spec.method !== 'HEAD';
      const admit = (req: FastifyRequest, reply: FastifyReply): Call => {
        const params = req.params as Record<string, string>;
        // tus replies carry the protocol version, refusals included.
        if (spec.connector) reply.header('tus-resumable', '1.0.0');
        if (!spec.connector && params.token !== ctx.token) {
          throw new ApiError(404, 'PROJECT_NOT_FOUND', `No project has the token "${params.token}" on this server.`,
            `This server serves the project "${ctx.token}".`);
        }
        const call: Call = {
          req,
          reply,
          ctx,
          url: { base: baseUrl(req), token: ctx.token, version, folderVisibility: folderVisibilityResolver(ctx.store.db) },
          principal: undefined,
          params,
          query: (req.query ?? {}) as Record<string, unknown>,
          body: undefined,
        };
        if (spec.permissions !== 'public') {
          const principal = authenticate(call);
          call.principal = principal;
          if (principal.kind === 'sass') authorizeSass(call, spec, principal);
          requirePermissions(principal, spec);
          if (principal.kind === 'sass') admitSass(call, spec, principal);
          // Counted last, so refused requests do not use up a key's budget.
          const wait = keyLimiter?.take(principal.id) ?? 0;
          if (wait > 0) {
            throw new ApiError(429, 'TOO_MANY_REQUESTS', `This key made more than ${ctx.limits.requestsPerMinutePerKey} requests in a minute.`,
              `Retry after ${wait} s, or spread requests out.`, {}, { 'retry-after': String(wait) });
          }
        }
        if (admitEarly) calls.set(req, call);
        return call;
      };
      app.route({
        // A GET route answers HEAD itself, through the same handler: fastify's own HEAD route
        // would replace a Content-Length the handler set for a body it does not send (a file)
        // with 0. Node drops whatever body a HEAD reply is given; handlers that stream a file
        // skip the stream for HEAD (cdn/delivery.ts), so it is not read for nothing.
        method: spec.method === 'GET' && !ownHeads.has(url) ? ['GET', 'HEAD'] : spec.method,
        url,
        bodyLimit: spec.bodyLimit?.(ctx),
        ...(admitEarly && {
          onRequest: (req: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
            try {
              admit(req, reply);
              done();
            } catch (error) {
              done(error as Error);
            }
          },
        }),
        handler: admitEarly
          ? async (req, reply) => {
              let result: HandlerResult;
              try {
                result = await spec.handler(withBody(calls.get(req) ?? admit(req, reply), req.body));
              } finally {
                // A write that failed part-way may still have committed events (a batch upload).
                if (spec.method !== 'OPTIONS') ctx.wakeWebhooks();
              }
              return respond(reply, result);
            }
          : (req, reply) => {
              // A read's key check and lookups see one snapshot and take the read lock once. Most
              // reads answer synchronously, and then so does this: no promise, no extra turn.
              const result = inOneReadTransaction(ctx.store.db, () => spec.handler(admit(req, reply)));
              if (result instanceof Promise) return result.then((value) => respond(reply, value));
              respond(reply, result);
              return undefined;
            },
      });
    }
  }
  return app;
}
