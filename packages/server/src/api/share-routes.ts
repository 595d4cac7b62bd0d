import { WindowLimiter } from '../auth/rate-limit.js';
import type { ServerContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import type { NewShare, Share, ShareItem } from '../store/shares.js';
import { bodyObject, dateParam, intParam, objectField, uuidList, uuidParam } from './params.js';
import { apiTime, fileObject, type UrlContext } from './serialize.js';

const MAX_ITEMS = 100;
const MAX_AUTH = 20;

export function shareUri(url: UrlContext, share: Share): string {
  return `${url.base}/${url.token}/v5/s/${share.puid}/${encodeURIComponent(share.slug)}`;
}

function shareObject(url: UrlContext, share: Share): Record<string, unknown> {
  return {
    uuid: share.uuid,
    puid: share.puid,
    title: share.title,
    description: share.description,
    items: share.items,
    starts_at: share.starts_at ? apiTime(share.starts_at) : null,
    expires_at: share.expires_at ? apiTime(share.expires_at) : null,
    starts_tz: share.starts_tz,
    expires_tz: share.expires_tz,
    // Who may open it, never with what: passwords are stored hashed and not returned.
    auth: share.auth,
    is_protected: share.auth.length > 0,
    share_uri: shareUri(url, share),
    created_at: apiTime(share.created_at),
    updated_at: apiTime(share.updated_at),
  };
}

function timeZone(value: unknown, field: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'string') {
    try {
      new Intl.DateTimeFormat('en', { timeZone: value });
      return value;
    } catch {
      // Reported below with the same message as a non-string.
    }
  }
  throw badRequest(
    'INVALID_PARAMETER',
    `"${field}" must be an IANA time zone such as Europe/Paris; got ${JSON.stringify(value)}.`,
  );
}

function parseItems(call: Call, value: unknown): ShareItem[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"items" must be a non-empty array of {type, identifiers}.',
      'Example: {"items": [{"type": "file_uuid", "identifiers": ["<uuid>"]}, {"type": "folder_uuid", "identifiers": ["<uuid>"], "options": {"recursive": true}}]}',
    );
  }
  if (value.length > MAX_ITEMS)
    throw badRequest(
      'INVALID_PARAMETER',
      `"items" holds ${value.length} entries; at most ${MAX_ITEMS} are accepted.`,
    );
  const missing: string[] = [];
  const items = value.map((raw, i): ShareItem => {
    const at = `items[${i}]`;
    const item = objectField(raw, at);
    if (item.type !== 'file_uuid' && item.type !== 'folder_uuid') {
      throw badRequest(
        'INVALID_PARAMETER',
        `"${at}.type" must be "file_uuid" or "folder_uuid"; got ${JSON.stringify(item.type)}.`,
      );
    }
    const identifiers = uuidList(item.identifiers, `${at}.identifiers`);
    for (const uuid of identifiers) {
      const exists =
        item.type === 'file_uuid' ? call.ctx.store.fileByUuid(uuid) : call.ctx.store.folderByUuid(uuid);
      if (!exists) missing.push(uuid);
    }
    const out: ShareItem = { type: item.type, identifiers };
    if (item.options !== undefined && item.options !== null) {
      const options = objectField(item.options, `${at}.options`);
      if (options.recursive !== undefined && typeof options.recursive !== 'boolean') {
        throw badRequest('INVALID_PARAMETER', `"${at}.options.recursive" must be true or false.`);
      }
      if (
        options.visibility !== undefined &&
        (typeof options.visibility !== 'string' || !/^[A-Z]+(,[A-Z]+)*$/.test(options.visibility))
      ) {
        throw badRequest(
          'INVALID_PARAMETER',
          `"${at}.options.visibility" must be a comma-separated list such as "PUB,ORG".`,
        );
      }
      out.options = {
        ...(options.recursive !== undefined ? { recursive: options.recursive as boolean } : {}),
        ...(options.visibility !== undefined ? { visibility: options.visibility as string } : {}),
      };
    }
    return out;
  });
  if (missing.length > 0) {
    throw new ApiError(
      404,
      'NOT_FOUND',
      `${missing.length} of the shared files or folders do not exist.`,
      'Remove the uuids listed in "not_found_uuids".',
      { not_found_uuids: missing },
    );
  }
  return items;
}

function parseAuth(value: unknown): NewShare['auth'] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw badRequest(
      'INVALID_PARAMETER',
      '"auth" must be an array of {user, pass}.',
      'Example: {"auth": [{"user": "", "pass": "secret"}]}',
    );
  if (value.length > MAX_AUTH)
    throw badRequest(
      'INVALID_PARAMETER',
      `"auth" holds ${value.length} entries; at most ${MAX_AUTH} are accepted.`,
    );
  return value.map((raw, i) => {
    const entry = objectField(raw, `auth[${i}]`);
    const user = entry.user ?? '';
    if (typeof user !== 'string' || user.length > 100 || user.includes(':')) {
      throw badRequest(
        'INVALID_PARAMETER',
        `"auth[${i}].user" must be a user name of at most 100 characters without ":" (or "" for any).`,
      );
    }
    if (typeof entry.pass !== 'string' || entry.pass.length === 0 || entry.pass.length > 200) {
      throw badRequest('INVALID_PARAMETER', `"auth[${i}].pass" must be a password of 1-200 characters.`);
    }
    return { user, pass: entry.pass };
  });
}

async function createShare(call: Call): Promise<Record<string, unknown>> {
  const body = bodyObject(call.body);
  if (typeof body.title !== 'string' || body.title.trim() === '' || body.title.length > 255) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"title" must be a title of 1-255 characters.',
      'Example: {"title": "Press kit", "items": [...]}',
    );
  }
  if (
    body.description !== undefined &&
    body.description !== null &&
    (typeof body.description !== 'string' || body.description.length > 2000)
  ) {
    throw badRequest('INVALID_PARAMETER', '"description" must be a string of at most 2000 characters.');
  }
  const startsAt = dateParam(body.starts_at ?? undefined, 'starts_at') ?? null;
  const expiresAt = dateParam(body.expires_at ?? undefined, 'expires_at') ?? null;
  if (startsAt && expiresAt && expiresAt <= startsAt) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"expires_at" (${expiresAt}) must be later than "starts_at" (${startsAt}).`,
    );
  }
  if (expiresAt && Date.parse(expiresAt) <= Date.now()) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"expires_at" (${expiresAt}) is already past; the share could never be opened.`,
    );
  }
  // Passwords are hashed asynchronously (up to 20 scrypt hashes, about 1 s) before the row is written.
  const share = await call.ctx.catalog.shares.create({
    title: body.title.trim(),
    description: typeof body.description === 'string' ? body.description : '',
    items: parseItems(call, body.items),
    starts_at: startsAt,
    expires_at: expiresAt,
    starts_tz: timeZone(body.starts_tz, 'starts_tz'),
    expires_tz: timeZone(body.expires_tz, 'expires_tz'),
    auth: parseAuth(body.auth),
  });
  return { action: 'share_created', share: shareObject(call.url, share) };
}

function basicAuth(header: string | undefined): { user: string; pass: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

/** Wrong passwords one client address may try on one share per minute; past them a 429, whatever it sends. */
export const SHARE_PASSWORD_FAILURES_PER_MINUTE = 10;

/** Failed password checks per share and address, and the checks running now, per server (keyed by its context). */
const guesses = new WeakMap<ServerContext, { failures: WindowLimiter; running: Map<string, number> }>();

function guessesOf(ctx: ServerContext): { failures: WindowLimiter; running: Map<string, number> } {
  let g = guesses.get(ctx);
  if (!g) {
    g = { failures: new WindowLimiter(SHARE_PASSWORD_FAILURES_PER_MINUTE, ctx.clock), running: new Map() };
    guesses.set(ctx, g);
  }
  return g;
}

/**
 * Checks the password of a share under its guessing quota: refused (429) before any hashing when
 * this address already failed SHARE_PASSWORD_FAILURES_PER_MINUTE times in the last minute, counting
 * the checks still running, so concurrent guesses cannot overshoot it. A failure is counted.
 */
async function passwordOpens(call: Call, puid: string, user: string, pass: string): Promise<boolean> {
  const { failures, running } = guessesOf(call.ctx);
  const id = `${puid}|${call.ctx.network.clientAddress(call.req)}`;
  const inFlight = running.get(id) ?? 0;
  const wait = inFlight >= SHARE_PASSWORD_FAILURES_PER_MINUTE ? 1 : failures.wait(id, inFlight + 1);
  if (wait > 0) {
    throw new ApiError(
      429,
      'TOO_MANY_PASSWORD_ATTEMPTS',
      `Too many wrong passwords for this share from your address: at most ${SHARE_PASSWORD_FAILURES_PER_MINUTE} a minute.`,
      `Retry after ${wait} s, with the password from the share owner.`,
      {},
      { 'retry-after': String(wait) },
    );
  }
  running.set(id, inFlight + 1);
  let ok = false;
  try {
    ok = await call.ctx.catalog.shares.checkPassword(puid, user, pass);
  } finally {
    const left = (running.get(id) ?? 1) - 1;
    if (left > 0) running.set(id, left);
    else running.delete(id);
    if (!ok) failures.take(id);
  }
  return ok;
}

/** The share link itself: a JSON listing of the shared assets, within its time window and behind its password. */
async function openShare(call: Call): Promise<Record<string, unknown>> {
  const { shares } = call.ctx.catalog;
  const puid = call.params.puid ?? '';
  const share = shares.byPuid(puid);
  if (!share)
    throw new ApiError(
      404,
      'SHARE_NOT_FOUND',
      'This share link does not exist or was deleted.',
      'Ask its owner for a new link.',
    );
  const now = Date.now();
  if (share.starts_at && Date.parse(share.starts_at) > now) {
    throw new ApiError(
      403,
      'SHARE_NOT_STARTED',
      `This share opens at ${apiTime(share.starts_at)}.`,
      'Come back then.',
    );
  }
  if (share.expires_at && Date.parse(share.expires_at) <= now) {
    throw new ApiError(
      410,
      'SHARE_EXPIRED',
      `This share expired at ${apiTime(share.expires_at)}.`,
      'Ask its owner for a new link.',
    );
  }
  if (share.auth.length > 0) {
    const given = basicAuth(call.req.headers.authorization);
    const challenge = { 'www-authenticate': 'Basic realm="share", charset="UTF-8"' };
    if (!given) {
      throw new ApiError(
        401,
        'SHARE_PASSWORD_REQUIRED',
        'This share is protected by a password.',
        'Send it with HTTP basic auth (any user name unless one was set).',
        undefined,
        challenge,
      );
    }
    if (!(await passwordOpens(call, puid, given.user, given.pass))) {
      throw new ApiError(
        401,
        'SHARE_PASSWORD_INVALID',
        'The user name or password does not open this share.',
        'Check them with the share owner.',
        undefined,
        challenge,
      );
    }
  }
  const limit = intParam(call.query.limit, 'limit', { min: 1, max: 1000, fallback: 100 });
  const offset = intParam(call.query.offset, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
  const { files, total } = shares.sharedFiles(share, limit, offset);
  return {
    share: {
      puid: share.puid,
      title: share.title,
      description: share.description,
      starts_at: share.starts_at ? apiTime(share.starts_at) : null,
      expires_at: share.expires_at ? apiTime(share.expires_at) : null,
    },
    files: files.map((f) => fileObject(call.url, f)),
    total,
    limit,
    offset,
  };
}

export const shareRoutes: RouteSpec[] = [
  {
    method: 'GET',
    path: '/shares',
    versions: ['v5'],
    permissions: ['OBJECTS_SHARE_MANAGE'],
    summary: 'List shares',
    handler: (call) => {
      const limit = intParam(call.query.limit, 'limit', { min: 1, max: 1000, fallback: 100 });
      const offset = intParam(call.query.offset, 'offset', {
        min: 0,
        max: Number.MAX_SAFE_INTEGER,
        fallback: 0,
      });
      const { shares, total } = call.ctx.catalog.shares.list(limit, offset);
      return { shares: shares.map((s) => shareObject(call.url, s)), info: { total, limit, offset } };
    },
  },
  {
    method: 'POST',
    path: '/shares',
    versions: ['v5'],
    permissions: ['OBJECTS_SHARE_MANAGE'],
    summary: 'Create a share',
    handler: createShare,
  },
  // Our extensions: one share's details, and deleting it.
  {
    method: 'GET',
    path: '/shares/:uuid',
    versions: ['v5'],
    permissions: ['OBJECTS_SHARE_MANAGE'],
    summary: 'Share details (extension)',
    handler: (call) => ({
      share: shareObject(call.url, call.ctx.catalog.shares.require(uuidParam(call.params.uuid, 'uuid'))),
    }),
  },
  {
    method: 'DELETE',
    path: '/shares/:uuid',
    versions: ['v5'],
    permissions: ['OBJECTS_SHARE_MANAGE'],
    summary: 'Delete a share (extension)',
    handler: (call) => {
      const share = call.ctx.catalog.shares.delete(uuidParam(call.params.uuid, 'uuid'));
      return { action: 'share_deleted', share_uuid: share.uuid };
    },
  },
  {
    method: 'GET',
    path: '/s/:puid/:slug',
    versions: ['v5'],
    permissions: 'public',
    summary: 'Open a share link: the shared assets as JSON',
    handler: openShare,
  },
];
