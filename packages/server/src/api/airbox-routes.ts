import { WindowLimiter } from '../auth/rate-limit.js';
import type { ServerContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import { MAX_AIRBOXES, type Airbox, type AirboxInput } from '../store/airboxes.js';
import { normalizeFolderPath } from '../store/names.js';
import { bodyObject, intParam, single, uuidParam } from './params.js';
import { apiTime, prettySize, type UrlContext } from './serialize.js';
import { commitUploads, receiveMultipart, type StagedUpload } from './uploads.js';

/*
 * Airboxes: inferred endpoints. The reference has the permission OBJECTS_AIRBOX_MANAGE, the
 * header X-Filerobot-Airbox-Puid and the Hub's read of an airbox config at
 * GET /v3/a/{puid}/{title}?format=json, but no management endpoint (§1, rows "not found").
 * An airbox is a public upload link into one folder; the management routes below are designed
 * in the API's style, and the public config read follows the reference's path. Uploads go to
 * POST on that same path with no key (the uploader's X-Filerobot-Airbox-Puid names the airbox):
 * a route of its own rather than the puid accepted on POST /files, because the auth layer turns a
 * key into permissions and a puid grants none; here the only thing it can do is add files to one
 * folder, and nothing on this route reads or lists.
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

/**
 * The airbox a public link names, when it takes uploads. Inactive, expired and unknown airboxes,
 * and one whose folder was deleted, look the same from outside: a 404.
 */
function usableAirbox(call: Call): Airbox & { folder_uuid: string } {
  const airbox = call.ctx.catalog.airboxes.byPuid(call.params.puid ?? '');
  if (
    airbox === undefined ||
    !airbox.active ||
    airbox.folder_uuid === null ||
    (airbox.expires_at !== null && Date.parse(airbox.expires_at) <= Date.now())
  ) {
    throw new ApiError(
      404,
      'AIRBOX_NOT_FOUND',
      'This airbox does not exist, is closed, or has expired.',
      'Ask its owner for a new link.',
    );
  }
  return airbox as Airbox & { folder_uuid: string };
}

function publicConfig(call: Call): Record<string, unknown> {
  const format = single(call.query.format);
  if (format !== undefined && format !== 'json') {
    throw badRequest(
      'INVALID_PARAMETER',
      `"format" must be "json"; got ${JSON.stringify(format)}.`,
      'This server serves the airbox config as JSON only: GET /{token}/v3/a/{puid}/{title}?format=json',
    );
  }
  const airbox = usableAirbox(call);
  const limit = call.ctx.limits.maxUploadBytes;
  return {
    airbox: {
      puid: airbox.puid,
      title: airbox.title,
      description: airbox.description,
      expires_at: airbox.expires_at === null ? null : apiTime(airbox.expires_at),
      upload: {
        max_file_size: Math.min(airbox.max_file_size ?? limit, limit),
        max_files_per_request: Math.min(call.ctx.limits.maxFilesPerRequest, AIRBOX_FILES_PER_MINUTE_PER_SOURCE),
        files_per_minute: AIRBOX_FILES_PER_MINUTE_PER_SOURCE,
      },
    },
  };
}

// ---- uploads through an airbox ------------------------------------------------------------

/** Files one client address may upload through one airbox per minute. */
export const AIRBOX_FILES_PER_MINUTE_PER_SOURCE = 30;
/** Files one airbox takes per minute from everyone together. */
export const AIRBOX_FILES_PER_MINUTE = 300;

const PUID_HEADER = 'x-filerobot-airbox-puid';

/** Upload quotas per server (keyed by its context), on the server's clock. */
const quotas = new WeakMap<ServerContext, { perSource: WindowLimiter; perAirbox: WindowLimiter }>();

function quotasOf(ctx: ServerContext): { perSource: WindowLimiter; perAirbox: WindowLimiter } {
  let q = quotas.get(ctx);
  if (!q) {
    q = {
      perSource: new WindowLimiter(AIRBOX_FILES_PER_MINUTE_PER_SOURCE, ctx.clock),
      perAirbox: new WindowLimiter(AIRBOX_FILES_PER_MINUTE, ctx.clock),
    };
    quotas.set(ctx, q);
  }
  return q;
}

function tooManyUploads(wait: number): ApiError {
  return new ApiError(
    429,
    'TOO_MANY_UPLOADS',
    `An airbox takes at most ${AIRBOX_FILES_PER_MINUTE_PER_SOURCE} files a minute from one address and ${AIRBOX_FILES_PER_MINUTE} from everyone.`,
    `Retry after ${wait} s.`,
    {},
    { 'retry-after': String(wait) },
  );
}

/** Seconds until `files` more fit both quotas (0: now). */
function quotaWait(call: Call, airbox: Airbox, ip: string, files: number): number {
  const { perSource, perAirbox } = quotasOf(call.ctx);
  return Math.max(perSource.wait(`${airbox.puid}|${ip}`, files), perAirbox.wait(airbox.puid, files));
}

/**
 * `POST /{token}/v3/a/{puid}/{title}` multipart, **no key**: the puid in the path (or, when sent,
 * the same puid in X-Filerobot-Airbox-Puid) is the credential. Everything lands in the airbox's
 * folder: `folder`, `dir` and `overwrite` are refused, names carrying a folder path too; `tags`
 * and `product` parts are refused (they would write outside the folder: the tag dictionary, a
 * product). Content already in the folder is stored again, and the reply gives no uuid, stored
 * name or URL: the duplicate reply, a suffixed name or a permalink would tell an anonymous
 * uploader what the folder holds, or where it is.
 */
async function airboxUpload(call: Call): Promise<Record<string, unknown>> {
  const airbox = usableAirbox(call);
  const header = call.req.headers[PUID_HEADER];
  const puid = (Array.isArray(header) ? header[0] : header)?.trim();
  if (puid !== undefined && puid !== airbox.puid) {
    throw badRequest(
      'AIRBOX_PUID_MISMATCH',
      'The X-Filerobot-Airbox-Puid header names another airbox than the link.',
      'Send the puid of the link in the header, or leave the header out.',
    );
  }
  const refused = ['folder', 'dir', 'overwrite'].filter((p) => call.query[p] !== undefined);
  if (refused.length > 0) {
    throw badRequest(
      'PARAMETER_NOT_ALLOWED',
      `An airbox upload lands in the airbox's folder and never replaces a file: ${refused.map((p) => `"${p}"`).join(', ')} ${refused.length > 1 ? 'are' : 'is'} not accepted.`,
      'Leave these parameters out.',
    );
  }
  const contentType = String(call.req.headers['content-type'] ?? '').toLowerCase();
  if (!contentType.startsWith('multipart/form-data')) {
    throw new ApiError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'An airbox upload is a multipart/form-data body with the file in a part named "file".',
      'Let your HTTP library build the multipart body (FormData).',
    );
  }
  const ip = call.ctx.network.clientAddress(call.req);
  // Checked before the body is read, so an address over its quota does not get to send it.
  const early = quotaWait(call, airbox, ip, 1);
  if (early > 0) throw tooManyUploads(early);

  const limit = call.ctx.limits.maxUploadBytes;
  const maxFileSize = Math.min(airbox.max_file_size ?? limit, limit);
  const folder = airbox.folder_path;
  // Each file part takes its place in both quotas as it arrives, before any of it is written, so
  // parallel requests cannot all pass the early check; a request that stores nothing gives them back.
  const { perSource, perAirbox } = quotasOf(call.ctx);
  const sourceId = `${airbox.puid}|${ip}`;
  let reserved = 0;
  const reserve = (): void => {
    const wait = quotaWait(call, airbox, ip, 1);
    if (wait > 0) throw tooManyUploads(wait);
    perSource.take(sourceId, 1);
    perAirbox.take(airbox.puid, 1);
    reserved++;
  };
  const release = (): void => {
    perSource.release(sourceId, reserved);
    perAirbox.release(airbox.puid, reserved);
    reserved = 0;
  };
  let staged: StagedUpload[];
  try {
    staged = await receiveMultipart(call.ctx, call.req.raw, call.req.headers, folder, maxFileSize, {
      maxFiles: AIRBOX_FILES_PER_MINUTE_PER_SOURCE,
      onFile: reserve,
    });
  } catch (error) {
    release();
    if (error instanceof ApiError && error.code === 'PAYLOAD_TOO_LARGE') {
      throw new ApiError(
        413,
        error.code,
        `A file is larger than this airbox accepts (${maxFileSize} bytes).`,
        'Its public config (GET {airbox_uri}?format=json) gives the limit as upload.max_file_size.',
      );
    }
    throw error;
  }
  let admitted = false;
  let outcomes: Awaited<ReturnType<typeof commitUploads>>;
  try {
    outcomes = await commitUploads(call.ctx, staged, {
      folder,
      overwrite: false,
      duplicatePolicy: 'allow',
      admit: (uploads) => {
        for (const upload of uploads) {
          if (upload.folder !== folder) {
            throw badRequest(
              'INVALID_NAME',
              `The name of ${JSON.stringify(upload.source)} carries a folder path; an airbox upload lands in the airbox's folder only.`,
              'Send plain file names such as "photo.jpg".',
            );
          }
          if (upload.tags.length > 0 || upload.product !== undefined) {
            throw badRequest(
              'PARAMETER_NOT_ALLOWED',
              `${JSON.stringify(upload.source)} comes with ${upload.tags.length > 0 ? '"tags"' : '"product"'}, which an airbox upload does not accept.`,
              'Send the file, with "meta" if needed; the airbox owner tags and links files.',
            );
          }
        }
        // The quotas were taken as the parts arrived (at most AIRBOX_FILES_PER_MINUTE_PER_SOURCE of
        // them); once admitted they stay counted, files refused afterwards included.
        admitted = true;
      },
    });
  } catch (error) {
    if (!admitted) release();
    throw error;
  }
  // One outcome per staged file, in order; the name is the one sent, never the stored one.
  const files = outcomes.flatMap((o, i) =>
    o.ok
      ? [{ name: staged[i]!.name, type: o.file.type, size: { bytes: o.file.size, pretty: prettySize(o.file.size) }, sha1: o.file.sha1 }]
      : [],
  );
  return {
    action: 'files_uploaded_to_airbox',
    airbox: { puid: airbox.puid, title: airbox.title },
    files,
    info: { uploaded_files: files.length, files_count: staged.length },
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
  {
    method: 'POST',
    path: '/v3/a/:puid/:title',
    versions: [],
    permissions: 'public',
    summary: "Upload files into an airbox's folder (no key: the puid is the credential) (inferred)",
    streamBody: true,
    handler: airboxUpload,
  },
];
