import { ApiError, badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import { MAX_AIRBOXES, type Airbox, type AirboxInput } from '../store/airboxes.js';
import { normalizeFolderPath } from '../store/names.js';
import { bodyObject, intParam, single, uuidParam } from './params.js';
import { apiTime, type UrlContext } from './serialize.js';

/*
 * Airboxes: inferred endpoints. The reference has the permission OBJECTS_AIRBOX_MANAGE, the
 * header X-Filerobot-Airbox-Puid and the Hub's read of an airbox config at
 * GET /v3/a/{puid}/{title}?format=json, but no management endpoint (§1, rows "not found").
 * An airbox is a public upload link into one folder; the management routes below are designed
 * in the API's style, and the public config read follows the reference's path.
 */

const FIELDS = ['title', 'description', 'folder', 'active', 'expires_at', 'max_file_size'] as const;

/** `{url}/{token}/v3/a/{puid}/{slug}`: the airbox's public link (its config as JSON with ?format=json). */
export function airboxUri(url: UrlContext, airbox: Airbox): string {
  return `${url.base}/${url.token}/v3/a/${airbox.puid}/${encodeURIComponent(airbox.slug)}`;
}

function airboxObject(url: UrlContext, airbox: Airbox): Record<string, unknown> {
  return {
    uuid: airbox.uuid,
    puid: airbox.puid,
    title: airbox.title,
    description: airbox.description,
    folder: airbox.folder_path,
    folder_uuid: airbox.folder_uuid,
    active: airbox.active,
    expires_at: airbox.expires_at === null ? null : apiTime(airbox.expires_at),
    max_file_size: airbox.max_file_size,
    airbox_uri: airboxUri(url, airbox),
    created_at: apiTime(airbox.created_at),
    updated_at: apiTime(airbox.updated_at),
  };
}

function title(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.trim().length > 255) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"title" must be a title of 1-255 characters.',
      'Example: {"title": "Agency uploads", "folder": "/inbox/agency"}',
    );
  }
  return value.trim();
}

function description(value: unknown): string {
  if (value === null) return '';
  if (typeof value !== 'string' || value.length > 2000)
    throw badRequest('INVALID_PARAMETER', '"description" must be a string of at most 2000 characters.');
  return value;
}

function active(value: unknown): boolean {
  if (typeof value !== 'boolean') throw badRequest('INVALID_PARAMETER', '"active" must be true or false.');
  return value;
}

function expiresAt(value: unknown): string | null {
  if (value === null) return null;
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"expires_at" must be an ISO date-time such as 2026-07-01T00:00:00Z (or null for no expiry); got ${JSON.stringify(value)}.`,
    );
  }
  if (ms <= Date.now()) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"expires_at" (${new Date(ms).toISOString()}) is already past; the airbox could never be used.`,
      'Give a future date-time, or set "active": false to close the airbox.',
    );
  }
  return new Date(ms).toISOString();
}

function maxFileSize(call: Call, value: unknown): number | null {
  if (value === null) return null;
  const limit = call.ctx.limits.maxUploadBytes;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > limit) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"max_file_size" must be a whole number of bytes from 1 to ${limit} (this server's upload limit), or null for that limit; got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

function readInput(call: Call, partial: boolean): Partial<AirboxInput> {
  const body = bodyObject(call.body);
  const extra = Object.keys(body).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (extra.length > 0) {
    throw badRequest(
      'INVALID_PARAMETER',
      `Unknown field${extra.length > 1 ? 's' : ''}: ${extra.join(', ')}.`,
      `Fields: ${FIELDS.join(', ')}.`,
    );
  }
  if (!partial && body.title === undefined) {
    throw badRequest('INVALID_PARAMETER', '"title" is required.', 'Example: {"title": "Agency uploads", "folder": "/inbox/agency"}');
  }
  if (!partial && body.folder === undefined) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"folder" is required: the path uploads land in (created when missing).',
      'Example: {"title": "Agency uploads", "folder": "/inbox/agency"}',
    );
  }
  if (partial && Object.keys(body).length === 0) {
    throw badRequest('INVALID_PARAMETER', 'Nothing to change: give at least one field.', `Fields: ${FIELDS.join(', ')}.`);
  }
  const input: Partial<AirboxInput> = {};
  if (body.title !== undefined) input.title = title(body.title);
  if (body.description !== undefined) input.description = description(body.description);
  if (body.active !== undefined) input.active = active(body.active);
  if (body.expires_at !== undefined) input.expiresAt = expiresAt(body.expires_at);
  if (body.max_file_size !== undefined) input.maxFileSize = maxFileSize(call, body.max_file_size);
  // Last, once everything else is known valid: it may create folders.
  if (body.folder !== undefined) {
    const path = normalizeFolderPath(body.folder, 'folder');
    input.folderId = call.ctx.store.ensureFolder(path).id;
  }
  return input;
}

function createAirbox(call: Call): Record<string, unknown> {
  const { airboxes } = call.ctx.catalog;
  if (airboxes.count() >= MAX_AIRBOXES) {
    throw badRequest(
      'TOO_MANY_AIRBOXES',
      `A project holds at most ${MAX_AIRBOXES} airboxes.`,
      'Delete unused ones, or reuse one with PATCH.',
    );
  }
  const input = readInput(call, false);
  const airbox = airboxes.create({
    title: input.title!,
    description: input.description ?? '',
    folderId: input.folderId!,
    active: input.active ?? true,
    expiresAt: input.expiresAt ?? null,
    maxFileSize: input.maxFileSize ?? null,
  });
  return { action: 'airbox_created', airbox: airboxObject(call.url, airbox) };
}

/** Inactive, expired and unknown airboxes look the same from outside: a 404. */
function publicConfig(call: Call): Record<string, unknown> {
  const format = single(call.query.format);
  if (format !== undefined && format !== 'json') {
    throw badRequest(
      'INVALID_PARAMETER',
      `"format" must be "json"; got ${JSON.stringify(format)}.`,
      'This server serves the airbox config as JSON only: GET /{token}/v3/a/{puid}/{title}?format=json',
    );
  }
  const airbox = call.ctx.catalog.airboxes.byPuid(call.params.puid ?? '');
  const usable =
    airbox !== undefined &&
    airbox.active &&
    (airbox.expires_at === null || Date.parse(airbox.expires_at) > Date.now());
  if (!usable) {
    throw new ApiError(
      404,
      'AIRBOX_NOT_FOUND',
      'This airbox does not exist, is closed, or has expired.',
      'Ask its owner for a new link.',
    );
  }
  const limit = call.ctx.limits.maxUploadBytes;
  return {
    airbox: {
      puid: airbox.puid,
      title: airbox.title,
      description: airbox.description,
      expires_at: airbox.expires_at === null ? null : apiTime(airbox.expires_at),
      upload: {
        max_file_size: Math.min(airbox.max_file_size ?? limit, limit),
        max_files_per_request: call.ctx.limits.maxFilesPerRequest,
      },
    },
  };
}

export const airboxRoutes: RouteSpec[] = [
  {
    method: 'GET',
    path: '/airboxes',
    versions: ['v5'],
    permissions: ['OBJECTS_AIRBOX_MANAGE'],
    summary: 'List airboxes, newest first (inferred)',
    handler: (call) => {
      const limit = intParam(call.query.limit, 'limit', { min: 1, max: 4000, fallback: 100 });
      const offset = intParam(call.query.offset, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
      const { airboxes, total } = call.ctx.catalog.airboxes.list(limit, offset);
      return { airboxes: airboxes.map((a) => airboxObject(call.url, a)), info: { total, limit, offset } };
    },
  },
  {
    method: 'POST',
    path: '/airboxes',
    versions: ['v5'],
    permissions: ['OBJECTS_AIRBOX_MANAGE'],
    summary: 'Create an airbox: a public upload link into one folder (inferred)',
    handler: createAirbox,
  },
  {
    method: 'GET',
    path: '/airboxes/:uuid',
    versions: ['v5'],
    permissions: ['OBJECTS_AIRBOX_MANAGE'],
    summary: 'Airbox details (inferred)',
    handler: (call) => ({
      airbox: airboxObject(call.url, call.ctx.catalog.airboxes.require(uuidParam(call.params.uuid, 'uuid'))),
    }),
  },
  {
    method: 'PATCH',
    path: '/airboxes/:uuid',
    versions: ['v5'],
    permissions: ['OBJECTS_AIRBOX_MANAGE'],
    summary: 'Change, close or reopen an airbox (inferred)',
    handler: (call) => {
      const uuid = uuidParam(call.params.uuid, 'uuid');
      const { airboxes } = call.ctx.catalog;
      airboxes.require(uuid);
      const airbox = airboxes.update(uuid, readInput(call, true));
      return { action: 'airbox_updated', airbox: airboxObject(call.url, airbox) };
    },
  },
  {
    method: 'DELETE',
    path: '/airboxes/:uuid',
    versions: ['v5'],
    permissions: ['OBJECTS_AIRBOX_MANAGE'],
    summary: 'Delete an airbox; its link stops working, uploaded files stay (inferred)',
    handler: (call) => {
      const airbox = call.ctx.catalog.airboxes.delete(uuidParam(call.params.uuid, 'uuid'));
      return { action: 'airbox_deleted', airbox_uuid: airbox.uuid };
    },
  },
  {
    method: 'GET',
    path: '/v3/a/:puid/:title',
    versions: [],
    permissions: 'public',
    summary: "An airbox's public config (no key): title, description and upload limits (inferred)",
    handler: publicConfig,
  },
];
