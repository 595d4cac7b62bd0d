import type { ApiCore } from '../core/http.js';
import { ConfigurationError } from '../core/errors.js';

/** Per-call options every method takes. */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export abstract class Resource {
  constructor(protected readonly core: ApiCore) {}
}

/** Encodes one path segment (uuids are safe, but refs and meta values may hold anything). */
export function seg(value: string, field: string): string {
  if (typeof value !== 'string' || value === '')
    throw new ConfigurationError(`"${field}" must be a non-empty string.`);
  return encodeURIComponent(value);
}

/** A date parameter as the API takes it: ISO 8601 for Date objects, strings ("3 days ago") as given. */
export function dateParam(value: string | Date | undefined): string | undefined {
  return value instanceof Date ? value.toISOString() : value;
}
