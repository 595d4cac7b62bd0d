/**
 * `registerConsole(app, options)`: mounts the console under /ui on an existing fastify instance
 * (the one of FlowService, i.e. `sfx serve`). Call it before the instance listens, e.g. through
 * FlowService's `http` option. Page modules are listed in PAGES (see layout.ts for how to add one).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { registerAuth, sessionIfAny } from './auth.js';
import type { ConsoleContext, ConsolePage } from './context.js';
import { html } from './html.js';
import { document, sendFragment, sendPage } from './layout.js';
import { failureFields, newRequestId, stderrLog } from './failures.js';
import type { ConsoleOptions } from './options.js';
import { TrustedProxies } from './proxy.js';
import { assetsPage } from './pages/assets.js';
import { connectionsPage } from './pages/connections.js';
import { flowsPage } from './pages/flows.js';
import { runsPage } from './pages/runs.js';
import { registerSecurityHeaders } from './security.js';
import { responseEnd, SharedClient } from './shared-client.js';
import { randomToken, SessionStore } from './sessions.js';
import { registerStatic } from './static.js';

export const PAGES: ConsolePage[] = [assetsPage, connectionsPage, flowsPage, runsPage];

export interface RegisteredConsole {
  /** The login token (given, or generated at start). */
  token: string;
  /** `${base}/ui/login?token=...`: opening it logs in and drops the token from the address bar. */
  loginUrl(base: string): string;
}

export async function registerConsole(app: FastifyInstance, options: ConsoleOptions): Promise<RegisteredConsole> {
  const token = options.token || randomToken(24);
  // Before anything is mounted: a malformed range stops the start with its name.
  const proxies = new TrustedProxies(options.trustedProxies);
  const origins = { images: new Set<string>(), connect: new Set<string>() };
  const log = options.log ?? options.service?.log ?? stderrLog;
  // The secrets the console itself holds are cut out of anything it logs, should a message quote one.
  const secrets = [token, ...(options.password ? [options.password] : [])];
  /** The client of each connection name, with the fingerprint of the stored connection it was opened from. */
  const clients = new Map<string, { shared: SharedClient; fingerprint: string | undefined }>();
  /** Every client not closed yet: those above, and retired ones that requests still hold. */
  const open = new Set<SharedClient>();
  const forgetting: Array<(connection: string) => void | Promise<void>> = [];
  // Hands the connection's client out no more (a request racing this one opens afresh); a request
  // still using it finishes first. Resolves once what nobody holds is closed.
  const forget = (name: string): Promise<void> => {
    const held = clients.get(name);
    clients.delete(name);
    const closing = [held?.shared.retire(), ...forgetting.map((listener) => listener(name))];
    return Promise.all(closing).then(() => undefined);
  };
  const ctx: ConsoleContext = {
    options,
    logFailure(request, error, fields = {}) {
      const requestId = newRequestId();
      log('error', 'console request failed', { requestId, ...fields, ...failureFields(error as Error, request, secrets) });
      return requestId;
    },
    async client(name, reply) {
      const fingerprint = await options.connections.fingerprint?.(name);
      let held = clients.get(name);
      // Changed or removed since it was opened: its credentials (and the upload keys minted with them) go.
      if (held && held.fingerprint !== fingerprint) {
        void forget(name);
        held = undefined;
      }
      if (!held) {
        const shared: SharedClient = new SharedClient(options.connections.open(name), () => open.delete(shared));
        const entry = { shared, fingerprint };
        open.add(shared);
        // A connection that cannot be opened is tried afresh by the next request; there is nothing to close.
        shared.client.catch(() => {
          open.delete(shared);
          if (clients.get(name) === entry) clients.delete(name);
        });
        clients.set(name, entry);
        held = entry;
      }
      held.shared.holdUntil(responseEnd(reply.raw));
      return held.shared.client;
    },
    forgetConnection: forget,
    onForget: (listener) => void forgetting.push(listener),
    allowImages: (origin) => void origins.images.add(origin),
    allowConnect: (origin) => void origins.connect.add(origin),
  };

  await app.register(
    async (ui) => {
      ui.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
        done(null, Object.fromEntries(new URLSearchParams(body as string))),
      );
      ui.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
        try {
          done(null, (body as string) === '' ? {} : JSON.parse(body as string));
        } catch {
          done(Object.assign(new Error('the body is not valid JSON.'), { statusCode: 400, code: 'BAD_JSON' }), undefined);
        }
      });
      // Uploads are streamed by their route (busboy over request.raw), never buffered here.
      ui.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null, undefined));

      registerSecurityHeaders(ui, origins);
      registerAuth(ui, { store: new SessionStore(options.sessionTtlMs ?? 12 * 3600_000), token, proxies, ...(options.password ? { password: options.password } : {}) });
      registerStatic(ui);
      ui.get('/', async (_request, reply) => reply.redirect('/ui/assets', 303));
      for (const page of PAGES) page(ui, ctx);

      ui.setNotFoundHandler((request, reply) => {
        const body = html`<h1>Not found</h1><p>Nothing is served at <code>${request.url.split('?')[0]}</code>.</p><p><a href="/ui/assets">Go to Assets</a></p>`;
        // Unknown paths under the public prefixes (/ui/login..., /ui/static/...) come without a session.
        if (!sessionIfAny(request)) return reply.code(404).type('text/html; charset=utf-8').send(document('Not found', html`<main id="main">${body}</main>`).text);
        return sendPage(reply, request, { title: 'Not found', status: 404, body });
      });
      ui.setErrorHandler((error: FastifyError, request, reply) => errorReply(error, request, reply, ctx));
      ui.addHook('onClose', async () => {
        for (const shared of [...open]) await shared.close();
      });
    },
    { prefix: '/ui' },
  );

  return { token, loginUrl: (base) => `${base.replace(/\/+$/, '')}/ui/login?token=${encodeURIComponent(token)}` };
}

function errorReply(
  error: FastifyError & { hint?: string },
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: ConsoleContext,
): FastifyReply {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
  // Server-side failures get an id the page shows and the log line carries, so one finds the other.
  const requestId = status >= 500 ? ctx.logFailure(request, error, { status }) : undefined;
  const message =
    status === 500 && !('hint' in error) ? 'Something went wrong on the server; the sfx serve log has the details.' : error.message;
  const hint = typeof error.hint === 'string' ? error.hint : undefined;
  const body = html`<div class="notice error" role="alert"><p>${message}</p>${hint ? html`<p>${hint}</p>` : ''}${
    requestId ? html`<p class="muted">Request id <code class="request-id">${requestId}</code> (in the log line of this failure).</p>` : ''
  }</div>`;
  if (requestId) reply.header('X-Request-Id', requestId);
  if (request.headers['hx-request']) return sendFragment(reply, body, status);
  if (request.headers.accept?.includes('application/json'))
    return reply
      .code(status)
      .send({ status: 'error', code: error.code ?? 'REQUEST_FAILED', msg: message, hint: hint ?? '', ...(requestId ? { requestId } : {}) });
  const page = html`<h1>That did not work</h1>${body}`;
  if (!sessionIfAny(request)) return reply.code(status).type('text/html; charset=utf-8').send(document('Error', html`<main id="main">${page}</main>`).text);
  return sendPage(reply, request, { title: 'Error', status, body: page });
}
