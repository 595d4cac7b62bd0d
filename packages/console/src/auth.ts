/**
 * Who may use the console: a session made by the printed login URL (`/ui/login?token=...`) or by
 * the login form (the token, or the admin password when one is set). Every route but /ui/login and
 * /ui/static needs a session; every non-GET request also needs the session's CSRF token (header
 * X-CSRF-Token, or form field _csrf) and, when the browser sends one, a same-origin Origin header.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { document } from './layout.js';
import { html } from './html.js';
import type { TrustedProxies } from './proxy.js';
import { parseCookies, sameSecret, SESSION_COOKIE, sessionCookie, type Session, type SessionStore } from './sessions.js';

const sessions = new WeakMap<FastifyRequest, Session>();

/** The logged-in session of a request (every page route has one: the auth hook ran first). */
export function sessionOf(request: FastifyRequest): Session {
  const session = sessions.get(request);
  if (!session) throw new Error('no console session on this request: is the route mounted under /ui?');
  return session;
}

/** The session of a request, when it has one (public routes such as /ui/login and /ui/static may not). */
export function sessionIfAny(request: FastifyRequest): Session | undefined {
  return sessions.get(request);
}

export interface AuthSettings {
  store: SessionStore;
  token: string;
  password?: string;
  /** Whose X-Forwarded-Proto / X-Forwarded-For count (HTTPS for the Secure cookie, the throttled address). */
  proxies: TrustedProxies;
}

const PUBLIC = /^\/ui\/(login|static\/)/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Only local paths under /ui: a login link must not send anyone elsewhere. Printable ASCII only (a
 * CR/LF would break the Location header), no backslash (browsers read it as a slash) and no dot
 * segments (`/ui/..//host` climbs out of /ui).
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !/^\/ui(\/[\x21-\x7e]*)?$/.test(next) || next.includes('\\')) return '/ui/';
  const path = next.split(/[?#]/)[0]!;
  return path.split('/').some((part) => part === '.' || part === '..') ? '/ui/' : next;
}

/**
 * Wrong guesses per client address, for both ways of logging in (the link's token, the form), to
 * make guessing slow: after MAX_FAILURES in a window the address waits until the window ends. The
 * map is bounded, so a flood of addresses cannot grow it without end.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly max = 10,
    private readonly windowMs = 60_000,
    private readonly capacity = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds to wait before the next attempt, or 0. */
  waitSeconds(who: string): number {
    const seen = this.current(who);
    return seen && seen.count >= this.max ? Math.max(1, Math.ceil((seen.since + this.windowMs - this.now()) / 1000)) : 0;
  }

  fail(who: string): void {
    const seen = this.current(who);
    if (!seen && this.failures.size >= this.capacity) this.prune();
    this.failures.set(who, { count: (seen?.count ?? 0) + 1, since: seen?.since ?? this.now() });
  }

  succeed(who: string): void {
    this.failures.delete(who);
  }

  private current(who: string): { count: number; since: number } | undefined {
    const seen = this.failures.get(who);
    if (seen && this.now() - seen.since >= this.windowMs) {
      this.failures.delete(who);
      return undefined;
    }
    return seen;
  }

  private prune(): void {
    const now = this.now();
    for (const [who, seen] of this.failures) if (now - seen.since >= this.windowMs) this.failures.delete(who);
    // Still full: the oldest entries go (a Map iterates in insertion order).
    for (const who of this.failures.keys()) {
      if (this.failures.size < this.capacity) break;
      this.failures.delete(who);
    }
  }
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
  const { store, proxies } = settings;
  const isSecure = (request: FastifyRequest): boolean => proxies.isHttps(request);
  const throttle = new LoginThrottle();
  const tooMany = (reply: FastifyReply, wait: number): FastifyReply =>
    reply
      .code(429)
      .header('Retry-After', String(wait))
      .type('text/plain; charset=utf-8')
      .send(`Too many wrong attempts from this address: wait ${wait} s and try again.`);

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
      const who = proxies.clientAddress(request);
      const wait = throttle.waitSeconds(who);
      if (wait) return tooMany(reply, wait);
      if (sameSecret(query.token, settings.token)) {
        throttle.succeed(who);
        return start(request, reply, next);
      }
      throttle.fail(who);
      return loginPage(reply, next, 'That login link has an old or wrong token: copy the one printed at the latest start.');
    }
    if (sessions.get(request)) return reply.redirect(next, 303);
    return loginPage(reply, next);
  });

  ui.post('/login', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const next = safeNext(body.next);
    const who = proxies.clientAddress(request);
    const wait = throttle.waitSeconds(who);
    if (wait) return tooMany(reply, wait);
    const secret = typeof body.secret === 'string' ? body.secret : '';
    const ok =
      secret !== '' &&
      (sameSecret(secret, settings.token) || (settings.password !== undefined && sameSecret(secret, settings.password)));
    if (ok) {
      throttle.succeed(who);
      return start(request, reply, next);
    }
    throttle.fail(who);
    return loginPage(reply, next, settings.password ? 'Wrong password.' : 'Wrong token.');
  });

  ui.post('/logout', async (request, reply) => {
    const session = sessions.get(request);
    if (session) store.delete(session.id);
    return reply.header('Set-Cookie', sessionCookie('', 0, isSecure(request))).redirect('/ui/login', 303);
  });
}
