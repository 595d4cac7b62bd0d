import type { FastifyInstance } from 'fastify';

/**
 * Security headers on every /ui response. The fixed ones are set as the request comes in, so a
 * route that writes its own response (server-sent events: `reply.hijack()` skips onSend) sends them
 * too with `reply.getHeaders()`; the CSP is set last, as it grows with the DAM origins the page used.
 */
export function registerSecurityHeaders(ui: FastifyInstance, origins: { images: Set<string>; connect: Set<string> }): void {
  ui.addHook('onRequest', async (_request, reply) => {
    reply.header('Content-Security-Policy', csp(origins));
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'same-origin');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Cross-Origin-Opener-Policy', 'same-origin');
  });
  ui.addHook('onSend', async (_request, reply, payload) => {
    reply.header('Content-Security-Policy', csp(origins));
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
    return payload;
  });
}

export function csp(origins: { images: Set<string>; connect: Set<string> }): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob:${[...origins.images].map((o) => ` ${o}`).join('')}`,
    `connect-src 'self'${[...origins.connect].map((o) => ` ${o}`).join('')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** `https://cdn.example.com` of a URL, or undefined when it is not http(s). */
export function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}
