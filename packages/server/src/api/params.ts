import { badRequest } from '../errors.js';
import type { JsonObject } from '../store/rows.js';

/** Query and body readers that fail with a 400 naming the field and what it accepts. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function single(value: unknown): unknown {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

export function uuidParam(value: unknown, field: string): string {
  const text = single(value);
  if (typeof text !== 'string' || !UUID.test(text)) {
    throw badRequest('INVALID_UUID', `"${field}" must be a uuid such as 0d2e3c9a-1b7f-4d39-9e1a-6f0c2b8d4e51.`);
  }
  return text.toLowerCase();
}

export function uuidList(value: unknown, field: string, max = 1000): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw badRequest('INVALID_REQUEST', `"${field}" must be a non-empty array of uuids.`, `Example: {"${field}": ["<uuid>"]}`);
  }
  if (value.length > max) throw badRequest('INVALID_REQUEST', `"${field}" holds ${value.length} uuids; at most ${max} are accepted at once.`);
  return [...new Set(value.map((v, i) => uuidParam(v, `${field}[${i}]`)))];
}

export function intParam(
  value: unknown,
  field: string,
  range: { min: number; max: number; fallback: number },
): number {
  const raw = single(value);
  if (raw === undefined || raw === '') return range.fallback;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw badRequest('INVALID_PARAMETER', `"${field}" must be a whole number from ${range.min} to ${range.max}; got ${JSON.stringify(raw)}.`);
  }
  return n;
}

export function boolParam(value: unknown, field: string, fallback = false): boolean {
  const raw = single(value);
  if (raw === undefined || raw === '') return fallback;
  if (raw === true || raw === 1 || raw === '1' || raw === 'true') return true;
  if (raw === false || raw === 0 || raw === '0' || raw === 'false') return false;
  throw badRequest('INVALID_PARAMETER', `"${field}" must be 0/1 or true/false; got ${JSON.stringify(raw)}.`);
}

export function stringParam(value: unknown, field: string, maxLength = 4096): string | undefined {
  const raw = single(value);
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw badRequest('INVALID_PARAMETER', `"${field}" must be a string.`);
  if (raw.length > maxLength) throw badRequest('INVALID_PARAMETER', `"${field}" is longer than ${maxLength} characters.`);
  return raw;
}

export function objectField(value: unknown, field: string): JsonObject {
  if (value === undefined || value === null) return {};
  if (typeof value === 'string') {
    try {
      return objectField(JSON.parse(value) as unknown, field);
    } catch {
      throw badRequest('INVALID_JSON', `"${field}" must be a JSON object; it does not parse.`, `Example: {"title": {"en": "Sky"}}`);
    }
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('INVALID_PARAMETER', `"${field}" must be a JSON object.`, `Example: {"title": {"en": "Sky"}}`);
  }
  return value as JsonObject;
}

export function bodyObject(body: unknown): JsonObject {
  if (body === undefined) throw badRequest('INVALID_REQUEST', 'This call needs a JSON body.', 'Send Content-Type: application/json with a JSON object.');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('INVALID_REQUEST', 'The JSON body must be an object.');
  }
  return body as JsonObject;
}

const RELATIVE = /^(\d+)\s*(second|minute|hour|day|week|month|year)s?\s+ago$/i;
const UNIT_MS: Record<string, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 30 * 86_400_000,
  year: 365 * 86_400_000,
};

/** Dates as the API takes them: ISO 8601, a unix timestamp, or "3 days ago". Returns ISO. */
export function dateParam(value: unknown, field: string, now = Date.now()): string | undefined {
  const raw = single(value);
  if (raw === undefined || raw === '') return undefined;
  const text = String(raw).trim();
  const relative = RELATIVE.exec(text);
  let ms: number;
  if (relative) ms = now - Number(relative[1]) * UNIT_MS[relative[2]!.toLowerCase()]!;
  else if (/^\d{9,13}$/.test(text)) ms = text.length <= 10 ? Number(text) * 1000 : Number(text);
  else ms = Date.parse(text);
  if (!Number.isFinite(ms)) {
    throw badRequest('INVALID_PARAMETER', `"${field}" is not a date: ${JSON.stringify(text)}.`, 'Use 2024-05-01, 2024-05-01T10:00:00Z, a unix timestamp or "3 days ago".');
  }
  return new Date(ms).toISOString();
}

/** Sorting in either syntax the API accepts: `order=name,asc` or `sort=name:desc`. */
export function sortParam(
  query: Record<string, unknown>,
  columns: Record<string, string>,
  fallback: string,
): string {
  const raw = stringParam(query.sort, 'sort', 200) ?? stringParam(query.order, 'order', 200);
  if (!raw) return fallback;
  const [fieldRaw, dirRaw] = raw.split(/[:,\s]/);
  const field = (fieldRaw ?? '').trim().toLowerCase();
  const dir = (dirRaw ?? 'asc').trim().toLowerCase();
  const column = columns[field];
  if (!column || (dir !== 'asc' && dir !== 'desc')) {
    throw badRequest(
      'INVALID_PARAMETER',
      `Cannot sort by ${JSON.stringify(raw)}.`,
      `Use sort=field:asc|desc with field one of ${Object.keys(columns).join(', ')}.`,
    );
  }
  return `${column} ${dir.toUpperCase()}`;
}
