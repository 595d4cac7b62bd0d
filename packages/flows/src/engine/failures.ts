/** Errors as the journal keeps them, and which of them a step's `retry.on` retries. */
import type { RetryFile } from '../definition/schema.js';
import type { ErrorRecord } from './run-store.js';

/** The kinds `retry.on` may name; API codes (TOO_MANY_REQUESTS, E801_ALREADY_EXIST) work too. */
export const ERROR_KINDS = ['rate-limit', 'server', 'connection', 'timeout', 'not-found', 'conflict', 'permission', 'auth', 'input', 'bad-request', 'error'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** A step's own timeout passed. */
export class StepTimeoutError extends Error {
  override name = 'StepTimeoutError';
  constructor(readonly ms: number) {
    super(`the step took longer than its timeout of ${ms} ms.`);
  }
}

/** The input an expression produced does not fit the action. Never retried: it would fail again. */
export class StepInputError extends Error {
  override name = 'StepInputError';
}

/** An attempt of a non-idempotent action may or may not have taken effect, and nothing can tell. */
export class OutcomeUnknownError extends Error {
  override name = 'OutcomeUnknownError';
}

export function kindOf(error: unknown): ErrorKind {
  const e = error as { name?: string; status?: number; code?: unknown };
  switch (e?.name) {
    case 'RateLimitError':
      return 'rate-limit';
    case 'InternalServerError':
      return 'server';
    case 'TimeoutError':
    case 'StepTimeoutError':
      return 'timeout';
    case 'ConnectionError':
      return 'connection';
    case 'NotFoundError':
      return 'not-found';
    case 'ConflictError':
      return 'conflict';
    case 'PermissionDeniedError':
      return 'permission';
    case 'AuthenticationError':
      return 'auth';
    case 'ActionInputError':
    case 'StepInputError':
    case 'ExpressionError':
      return 'input';
    case 'BadRequestError':
      return 'bad-request';
    default:
      break;
  }
  if (typeof e?.status === 'number') {
    if (e.status === 429) return 'rate-limit';
    if (e.status === 408) return 'timeout';
    if (e.status >= 500) return 'server';
    if (e.status === 404) return 'not-found';
    if (e.status === 409) return 'conflict';
    if (e.status === 401) return 'auth';
    if (e.status === 403) return 'permission';
    if (e.status >= 400) return 'bad-request';
  }
  if (e?.code === 'HTTP_TIMEOUT') return 'timeout';
  if (e?.code === 'HTTP_NETWORK') return 'connection';
  if (typeof e?.code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR_)/.test(e.code)) return 'connection';
  return 'error';
}

/** An error that was journaled (by another process) and is thrown again here as it was recorded. */
export class RecordedError extends Error {
  constructor(readonly record: ErrorRecord) {
    super(record.message);
    this.name = 'RecordedError';
  }
}

export function errorRecord(error: unknown): ErrorRecord {
  if (error instanceof RecordedError) return error.record;
  const e = error as { message?: string; code?: unknown; hint?: unknown; status?: unknown };
  return {
    message: e?.message ?? String(error),
    kind: kindOf(error),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(typeof e?.hint === 'string' && e.hint ? { hint: e.hint } : {}),
    ...(typeof e?.status === 'number' ? { status: e.status } : {}),
  };
}

/** Whether `retry.on` covers this error. Input errors are never retried: they would fail again. */
export function retries(policy: RetryFile, error: unknown): boolean {
  const kind = kindOf(error);
  if (kind === 'input') return false;
  const code = (error as { code?: unknown })?.code;
  return policy.on.some((on) => on === 'any' || on === kind || (typeof code === 'string' && on === code));
}

/** Exponential backoff from `backoff`, capped at `maxBackoff`, with full jitter when asked. */
export function backoffMs(policy: RetryFile, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxBackoff, policy.backoff * 2 ** (attempt - 1));
  return policy.jitter ? Math.round(base / 2 + (random() * base) / 2) : base;
}
