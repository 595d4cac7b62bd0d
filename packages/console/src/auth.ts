/**
 * Who may use the console: a session made by the printed login URL (`/ui/login?token=...`) or by
 * the login form (the token, or the admin password when one is set). Every route but /ui/login and
 * /ui/static needs a session; every non-GET request also needs the session's CSRF token (header
 * X-CSRF-Token, or form field _csrf) and, when the browser sends one, a same-origin Origin header.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { document } from './layout.js';
import { html } from './html.js';
import { parseCookies, sameSecret, SESSION_COOKIE, sessionCookie, type Session, type SessionStore } from './sessions.js';

const sessions = new WeakMap<FastifyRequest, Session>();

/** The logged-in session of a request (every page route has one: the auth hook ran first). */
export function sessionOf(request: FastifyRequest): Session {
  const session = sessions.get(request);
  if (!session) throw new Error('no console session on this request: is the route mounted under /ui?');
  return session;
}

export interface AuthSettings {
  store: SessionStore;
  token: string;
  password?: string;
}

const PUBLIC = /^\/ui\/(login|static\/)/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function isSecure(request: FastifyRequest): boolean {
  return request.protocol === 'https';
}

/** Only local paths under /ui: a login link must not send anyone elsewhere. */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/ui(\/[^\\]*)?$/.test(next) && !next.startsWith('//') ? next : '/ui/';
}

function forbidden(reply: FastifyReply, code: string, msg: string, hint: string): FastifyReply {
  return reply.code(403).type('application/json').send({ status: 'error', code, msg, hint });
}

function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (!origin) return true; // not sent by every browser on same-origin requests; SameSite covers it
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

export function registerAuth(ui: FastifyInstance, settings: AuthSettings): void {
  const { store } = settings;
  // Wrong guesses per client address, to make guessing the password slow.
  const failures = new Map<string, { count: number; since: number }>();

  ui.addHook('onRequest', async (request, reply) => {
    const session = store.get(parseCookies(request.headers.cookie)[SESSION_COOKIE]);
    if (session) sessions.set(request, session);
    if (PUBLIC.test(request.url)) return;
    if (!session) {
      if (SAFE_METHODS.has(request.method)) {
        const login = `/ui/login?next=${encodeURIComponent(request.url)}`;
        // htmx follows a redirect inside the fragment; HX-Redirect makes it load the login page.
        if (request.headers['hx-request']) return reply.code(401).header('HX-Redirect', login).send();
        return reply.redirect(login, 303);
      }
      return reply.code(401).type('application/json').send({
        status: 'error',
        code: 'NOT_LOGGED_IN',
        msg: 'this request needs a console session.',
        hint: 'Open the login URL sfx serve printed, or log in at /ui/login.',
      });
    }
  });

  // After the body is parsed, so a form's _csrf field can be read.
  ui.addHook('preHandler', async (request, reply) => {
    if (SAFE_METHODS.has(request.method)) return;
    if (!sameOrigin(request))
      return forbidden(reply, 'CROSS_ORIGIN', 'writes are only taken from the console\'s own pages.', 'Use the console at its own address.');
    if (request.url.startsWith('/ui/login')) return;
    const session = sessions.get(request);
    const body = request.body as Record<string, unknown> | undefined;
    const given = request.headers['x-csrf-token'] ?? (typeof body?._csrf === 'string' ? body._csrf : undefined);
    if (!session || typeof given !== 'string' || !sameSecret(given, session.csrf))
      return forbidden(
        reply,
        'CSRF_TOKEN_INVALID',
        'the request has no valid CSRF token, so nothing was changed.',
        'Reload the page and try again; a write needs the X-CSRF-Token header or the _csrf form field of the current session.',
      );
  });

  const start = (request: FastifyRequest, reply: FastifyReply, next: string): FastifyReply => {
    const old = sessions.get(request);
    if (old) store.delete(old.id); // a fresh id at each login: no session fixation
    const session = store.create();
    return reply
      .header('Set-Cookie', sessionCookie(session.id, store.ttlSeconds, isSecure(request)))
      .redirect(next, 303);
  };

  const loginPage = (reply: FastifyReply, next: string, error?: string): FastifyReply =>
    reply
      .code(error ? 401 : 200)
      .type('text/html; charset=utf-8')
      .send(
        document(
          'Log in',
          html`<main id="main" class="login">
<h1>sfx console</h1>
<form method="post" action="/ui/login">
  <input type="hidden" name="next" value="${next}">
  <label for="secret">${settings.password ? 'Admin password' : 'Console token'}</label>
  <input id="secret" name="secret" type="password" autocomplete="current-password" required autofocus${error ? html` aria-invalid="true" aria-describedby="login-error"` : ''}>
  ${error ? html`<p id="login-error" class="error" role="alert">${error}</p>` : ''}
  <button type="submit">Log in</button>
</form>
<p class="hint">${
            settings.password
              ? 'The password is the SFX_CONSOLE_PASSWORD the console was started with. The login URL printed at start works too.'
              : 'Open the login URL sfx serve printed at start, or paste its token here (SFX_CONSOLE_TOKEN or --console-token when given).'
          }</p>
</main>`,
        ).text,
      );

  ui.get('/login', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const next = safeNext(query.next);
    if (typeof query.token === 'string') {
      if (sameSecret(query.token, settings.token)) return start(request, reply, next);
      return loginPage(reply, next, 'That login link has an old or wrong token: copy the one printed at the latest start.');
    }
    if (sessions.get(request)) return reply.redirect(next, 303);
    return loginPage(reply, next);
  });

  ui.post('/login', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const next = safeNext(body.next);
    const who = request.ip;
    const now = Date.now();
    let seen = failures.get(who);
    if (seen && now - seen.since > 60_000) seen = undefined;
    if (seen && seen.count >= 10)
      return reply.code(429).header('Retry-After', '60').type('text/plain').send('Too many wrong attempts: wait a minute.');
    const secret = typeof body.secret === 'string' ? body.secret : '';
    const ok =
      secret !== '' &&
      (sameSecret(secret, settings.token) || (settings.password !== undefined && sameSecret(secret, settings.password)));
    if (ok) {
      failures.delete(who);
      return start(request, reply, next);
    }
    failures.set(who, { count: (seen?.count ?? 0) + 1, since: seen?.since ?? now });
    return loginPage(reply, next, settings.password ? 'Wrong password.' : 'Wrong token.');
  });

  ui.post('/logout', async (request, reply) => {
    const session = sessions.get(request);
    if (session) store.delete(session.id);
    return reply.header('Set-Cookie', sessionCookie('', 0, isSecure(request))).redirect('/ui/login', 303);
  });
}
