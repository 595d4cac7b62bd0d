/** How the console reports its own failures: a log line with an id, and that id on the page. */
import { randomBytes } from 'node:crypto';
import type { Log } from '@sfx/flows';
import type { FastifyRequest } from 'fastify';

/** Logs to stderr as the service would (for a console mounted without a service nor a log). */
export const stderrLog: Log = (level, msg, fields = {}) =>
  void process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);

/** A short random id that ties an error page to its log line. */
export function newRequestId(): string {
  return randomBytes(6).toString('hex');
}

/**
 * What a failed request logs: where (path without its query, which may hold a login token) and
 * what failed. Never the headers (session cookie, CSRF token) or the body (passwords, API keys
 * typed in a form); secrets the console holds are cut out of the message too.
 */
export function failureFields(error: { message?: string; code?: string; stack?: string }, request: FastifyRequest, secrets: string[]): Record<string, unknown> {
  const scrub = (text: string): string => secrets.reduce((out, secret) => (secret ? out.split(secret).join('[secret]') : out), text);
  return {
    method: request.method,
    path: request.url.split('?')[0],
    ...(error.code ? { code: error.code } : {}),
    error: scrub(String(error.message ?? error)),
    ...(error.stack ? { stack: scrub(error.stack) } : {}),
  };
}
