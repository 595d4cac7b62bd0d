/**
 * Resumable uploads with the tus 1.0 protocol, served where the real service has them: its
 * "connector host" (`https://{region}.connector.filerobot.com/files`, reference §3.6) is mirrored
 * at `{base}/connector/files`, and the finished file at `{base}/connector/json/{id}`.
 *
 * Core protocol plus the creation, termination and expiration extensions. Auth is the API's
 * (`X-Filerobot-Key`, an API or SASS key with FILE_UPLOAD) plus `X-Filerobot-Token`, which must
 * name this server's project. An upload belongs to its creator (the API key, or the SASS key's
 * template): to any other key it does not exist. Each PATCH streams its body to the upload's data file, fsyncs, and
 * only then records and acknowledges the new offset; the last byte commits the file through the
 * same path as every other upload (sha1, duplicate policy, folder created, product link).
 *
 * Written here rather than with `@tus/server` + `@tus/file-store`: the file store acknowledges
 * offsets without fsync and takes the offset from the file size, the server routes and
 * authenticates outside our route table (no permission matrix, no SASS rules, no error envelope),
 * and both need Node >= 20.19 where this project supports 20.18.
 */
import { createHash } from 'node:crypto';
import { ApiError, badRequest, notFound } from '../errors.js';
import type { Call, Principal, RouteSpec } from '../http/route.js';
import { route } from '../http/route.js';
import { sassUploadAdmission, sassUploadPlaceable } from '../auth/sass-rules.js';
import { normalizeFolderPath } from '../store/names.js';
import { BodyTooLong, ResumableStore, type ResumableUpload } from '../store/resumable.js';
import type { ServerContext } from '../context.js';
import { fileObject } from './serialize.js';
import { commitUploads, mimeFor, placeName, productField } from './uploads.js';

export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,termination,expiration';
/** Where the connector host is mirrored on the server's base URL. */
export const CONNECTOR_PREFIX = '/connector';

const TOKEN_HEADER = 'x-filerobot-token';

function header(call: Call, name: string): string | undefined {
  const raw = call.req.headers[name];
  return (Array.isArray(raw) ? raw[0] : raw)?.trim();
}

function tusHeaders(call: Call, extra: Record<string, string | number> = {}): void {
  call.reply.header('tus-resumable', TUS_VERSION).header('cache-control', 'no-store');
  for (const [name, value] of Object.entries(extra)) call.reply.header(name, String(value));
}

/** 412 for any other protocol version (tus §"Tus-Resumable"); OPTIONS and the JSON lookup are exempt. */
function checkVersion(call: Call): void {
  const version = header(call, 'tus-resumable');
  if (version !== TUS_VERSION) {
    throw new ApiError(
      412,
      'TUS_VERSION_UNSUPPORTED',
      version ? `tus version ${version} is not supported.` : 'The Tus-Resumable header is missing.',
      `Send Tus-Resumable: ${TUS_VERSION}.`,
      {},
      { 'tus-version': TUS_VERSION, 'tus-resumable': TUS_VERSION },
    );
  }
}

/** The project comes from `X-Filerobot-Token`, as on the connector host (the path carries no token). */
function checkToken(call: Call): void {
  const token = header(call, TOKEN_HEADER);
  if (!token) {
    throw badRequest(
      'TOKEN_REQUIRED',
      'The X-Filerobot-Token header is missing.',
      `Send X-Filerobot-Token: ${call.ctx.token} (the project token) with every resumable upload request.`,
    );
  }
  if (token !== call.ctx.token) {
    throw notFound('PROJECT_NOT_FOUND', `No project has the token "${token}" on this server.`, `This server serves the project "${call.ctx.token}".`);
  }
}

function expiresHeader(upload: ResumableUpload): string {
  return new Date(upload.expiresAt).toUTCString();
}

/** `key base64,key2 base64,key3`: keys unique, values base64 (possibly absent). */
export function parseMetadata(raw: string | undefined): Map<string, string> {
  const pairs = new Map<string, string>();
  if (!raw) return pairs;
  for (const item of raw.split(',')) {
    const parts = item.trim().split(/ +/);
    const key = parts[0] ?? '';
    if (parts.length > 2 || !/^[\x21-\x2b\x2d-\x7e]+$/.test(key)) {
      throw badRequest('INVALID_UPLOAD_METADATA', `Upload-Metadata holds a malformed pair: ${JSON.stringify(item.slice(0, 80))}.`,
        'Send comma-separated "key base64value" pairs, e.g. "name cGhvdG8uanBn,filerobot-folder L2luYm94".');
    }
    if (pairs.has(key)) throw badRequest('INVALID_UPLOAD_METADATA', `Upload-Metadata names "${key}" twice.`);
    const value = parts[1] ?? '';
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
      throw badRequest('INVALID_UPLOAD_METADATA', `The value of "${key}" in Upload-Metadata is not base64.`);
    }
    pairs.set(key, Buffer.from(value, 'base64').toString('utf8'));
  }
  return pairs;
}

function lengthHeader(call: Call, name: string): number {
  const value = header(call, name);
  if (value === undefined || !/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw badRequest(
      'INVALID_HEADER',
      value === undefined ? `The ${name} header is missing.` : `${name} must be a whole number of bytes; got ${JSON.stringify(value.slice(0, 40))}.`,
      name === 'upload-length' ? 'Send Upload-Length with the size of the whole file (deferred lengths are not supported).' : undefined,
    );
  }
  return Number(value);
}

function uploadId(call: Call): string {
  const id = call.params.id ?? '';
  if (!ResumableStore.isId(id)) throw notFound('UPLOAD_NOT_FOUND', 'No resumable upload has this id.', 'Create one with POST /connector/files.');
  return id;
}

/**
 * An upload belongs to the API key that created it, or to the security template whose SASS key
 * did (SASS keys are short-lived, so any key of that template may carry on). The template id is a
 * credential, so only its hash is recorded.
 */
function ownerOf(principal: Principal): string {
  if (principal.kind === 'api-key') return `key:${principal.key.uuid}`;
  return `template:${createHash('sha256').update(principal.sass.template.id).digest('hex').slice(0, 32)}`;
}

function ownedBy(upload: ResumableUpload, principal: Principal): boolean {
  return upload.owner === undefined ? upload.createdBy === principal.id : upload.owner === ownerOf(principal);
}

const uploadNotFound = (): ApiError =>
  notFound('UPLOAD_NOT_FOUND', 'No resumable upload has this id.', 'It may have expired or been terminated; create a new one with POST /connector/files.');

/**
 * The upload `id`, when `principal` (if given) owns it. Someone else's upload answers exactly like
 * an unknown one, before any other check (expiry included), so its id reveals nothing.
 */
async function load(ctx: ServerContext, id: string, principal?: Principal): Promise<ResumableUpload> {
  const upload = await ctx.resumable.get(id);
  if (!upload || (principal && !ownedBy(upload, principal))) throw uploadNotFound();
  if (upload.expiresAt <= ctx.clock()) {
    throw new ApiError(410, 'UPLOAD_EXPIRED', 'This resumable upload expired.', 'Create a new one with POST /connector/files and send the file again.');
  }
  return upload;
}

/** A SASS key with an upload scope may only touch uploads that land inside it. */
function checkPlacement(call: Call, upload: ResumableUpload): void {
  sassUploadPlaceable(call)?.(upload.folder);
}

function touch(ctx: ServerContext, upload: ResumableUpload): void {
  upload.updatedAt = ctx.clock();
  upload.expiresAt = upload.updatedAt + ctx.limits.resumableExpiryMs;
}

/**
 * Every byte is in: hash, then commit like any upload. Recorded in steps (`committing`, then the
 * asset) so that a crash anywhere is recognised on the next look: the blob id tells whether the
 * commit landed, the sha1 finds the asset a duplicate skip kept.
 */
async function complete(call: Pick<Call, 'ctx' | 'url'>, upload: ResumableUpload): Promise<void> {
  const { ctx } = call;
  if (upload.fileUuid || upload.failure || upload.offset !== upload.length) return;
  if (upload.committing) {
    const settled = settleInterrupted(ctx, upload);
    if (settled) {
      await ctx.resumable.save(upload);
      return;
    }
    // A crash after the bytes moved into blobs/ but before their row committed (the start-up sweep
    // spares such blobs): take them back, and commit again below.
    await ctx.resumable.takeBack(upload, ctx.blobs.pathOf(upload.blobId));
  }
  upload.sha1 ??= await ctx.resumable.sha1(upload);
  upload.committing = true;
  await ctx.resumable.save(upload);
  let outcome;
  try {
    [outcome] = await commitUploads(
      ctx,
      [
        {
          staged: { blobId: upload.blobId, tempPath: ctx.resumable.dataPath(upload.id), size: upload.length, sha1: upload.sha1 },
          name: upload.name,
          folder: upload.folder,
          type: upload.type,
          meta: {},
          tags: [],
          info: {},
          product: upload.product,
          source: upload.name,
        },
      ],
      { folder: upload.folder, overwrite: false },
    );
  } catch (error) {
    // The data file is gone (commitUploads discards what it could not commit): record why.
    const apiError = error instanceof ApiError ? error : undefined;
    upload.failure = { code: apiError?.code ?? 'COMMIT_FAILED', msg: apiError?.message ?? 'The upload could not be committed.' };
    await ctx.resumable.save(upload);
    throw error;
  } finally {
    ctx.resumable.forgetHash(upload.id);
  }
  if (outcome?.ok) {
    upload.fileUuid = outcome.file.uuid;
  } else if (outcome && outcome.error.code === 'SAME_ASSET_EXISTS_SKIP_UPLOAD') {
    upload.fileUuid = String(outcome.error.extra?.existing_file_uuid);
    upload.duplicate = true;
  } else {
    upload.failure = { code: outcome?.error.code ?? 'COMMIT_FAILED', msg: outcome?.error.message ?? 'The upload could not be committed.' };
  }
  upload.committing = false;
  await ctx.resumable.save(upload);
}

/**
 * Completes an upload whose bytes are all in (HEAD, the JSON lookup): a commit that fails for good
 * is recorded on the upload (`failure`) and reported from it, here and on every later request.
 */
async function completeNow(call: Call, id: string): Promise<ResumableUpload> {
  return call.ctx.resumable.exclusive(id, async () => {
    const current = await load(call.ctx, id);
    try {
      await complete(call, current);
    } catch (error) {
      if (!current.failure) throw error;
    }
    return current;
  });
}

/** Every byte arrived but the commit failed for good: the upload cannot go on (HEAD and PATCH). */
function failed(upload: ResumableUpload): ApiError {
  const failure = upload.failure ?? { code: 'COMMIT_FAILED', msg: 'The upload could not be committed.' };
  return new ApiError(400, failure.code, `Every byte arrived but the file could not be stored: ${failure.msg}`,
    'Create a new upload with valid metadata.', {}, { 'upload-offset': String(upload.offset), 'tus-resumable': TUS_VERSION });
}

/** A commit a crash interrupted: did it land (the blob is referenced), or was it a duplicate skip? */
function settleInterrupted(ctx: ServerContext, upload: ResumableUpload): boolean {
  const row = ctx.store.db.prepare('SELECT uuid FROM files WHERE blob_id = ? LIMIT 1').get(upload.blobId) as { uuid: string } | undefined;
  if (row) {
    upload.fileUuid = row.uuid;
    upload.committing = false;
    return true;
  }
  const folder = ctx.store.folderByPath(upload.folder);
  const same = folder && upload.sha1 ? ctx.store.sameContentInFolder(folder.id, upload.sha1) : undefined;
  if (same) {
    upload.fileUuid = same.uuid;
    upload.duplicate = true;
    upload.committing = false;
    return true;
  }
  return false;
}

/**
 * Uploads not yet finished hold a record and a data file until they expire: each owner (an API
 * key, or a template with all its SASS keys, so renewing a SASS key brings no fresh allowance) may
 * have `limits.maxPendingResumablePerKey` of them and the server `limits.maxPendingResumable` (429
 * TOO_MANY_PENDING_UPLOADS, Retry-After when the first of them expires).
 */
function checkPendingCaps(ctx: ServerContext, owner: string, now: number): void {
  const { maxPendingResumablePerKey: perKey, maxPendingResumable: total } = ctx.limits;
  const mine = ctx.resumable.pending(now, owner);
  const all = ctx.resumable.pending(now);
  const who = owner.startsWith('template:') ? "this key's security template has" : 'this key has';
  const over = mine.count >= perKey ? { scope: `${who} ${mine.count}`, cap: perKey, next: mine.nextExpiry }
    : all.count >= total ? { scope: `the server has ${all.count}`, cap: total, next: all.nextExpiry }
    : undefined;
  if (!over) return;
  const wait = Math.max(1, Math.ceil(((over.next ?? now + 60_000) - now) / 1000));
  throw new ApiError(429, 'TOO_MANY_PENDING_UPLOADS',
    `Too many unfinished resumable uploads: ${over.scope}, at most ${over.cap} are kept.`,
    'Finish them (PATCH the remaining bytes) or terminate the ones you gave up on (DELETE), then create this one; unfinished uploads also go when they expire.',
    { retry_after: wait }, { 'retry-after': String(wait) });
}

function options(call: Call): undefined {
  call.reply
    .code(204)
    .header('tus-resumable', TUS_VERSION)
    .header('tus-version', TUS_VERSION)
    .header('tus-extension', TUS_EXTENSIONS)
    .header('tus-max-size', String(call.ctx.limits.maxUploadBytes))
    .send();
  return undefined;
}

async function create(call: Call): Promise<undefined> {
  const { ctx } = call;
  checkVersion(call);
  checkToken(call);
  if (header(call, 'upload-defer-length') !== undefined) {
    throw badRequest('DEFER_LENGTH_UNSUPPORTED', 'Deferred upload lengths are not supported.', 'Send Upload-Length with the size of the whole file.');
  }
  const length = lengthHeader(call, 'upload-length');
  if (length > ctx.limits.maxUploadBytes) {
    throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `Upload-Length ${length} is more than the ${ctx.limits.maxUploadBytes} bytes this server accepts.`,
      'See Tus-Max-Size in the OPTIONS reply.', {}, { 'tus-max-size': String(ctx.limits.maxUploadBytes) });
  }
  if (header(call, 'content-length') && Number(header(call, 'content-length')) > 0) {
    throw badRequest('CREATION_WITH_UPLOAD_UNSUPPORTED', 'The creation request carries a body; this server does not take bytes on creation.',
      'Create with an empty POST, then send the bytes with PATCH.');
  }
  const rawMetadata = header(call, 'upload-metadata') ?? '';
  const metadata = parseMetadata(rawMetadata);
  const rawName = metadata.get('name') ?? metadata.get('filename');
  if (!rawName) {
    throw badRequest('INVALID_UPLOAD_METADATA', 'Upload-Metadata has no "name".', 'Send name (base64 of the file name), and optionally type, filerobot-folder and product.');
  }
  const folder = normalizeFolderPath(metadata.get('filerobot-folder') ?? '/', 'filerobot-folder');
  const placed = placeName(folder, rawName, 'name');
  let product: ResumableUpload['product'];
  const rawProduct = metadata.get('product');
  if (rawProduct !== undefined && rawProduct !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawProduct);
    } catch {
      throw badRequest('INVALID_UPLOAD_METADATA', '"product" in Upload-Metadata must be JSON, e.g. {"ref":"SKU-1","position":1}.');
    }
    product = productField(parsed, 'product');
  }
  // The upload scope and the per-minute quotas are settled now, once, not at each chunk.
  sassUploadAdmission(call)?.([{ folder: placed.folder }]);
  const now = ctx.clock();
  const createdBy = call.principal?.id ?? '';
  const owner = ownerOf(call.principal!);
  // No await between this check and `resumable.create`, which counts the new upload at once.
  checkPendingCaps(ctx, owner, now);
  const upload: ResumableUpload = {
    id: ResumableStore.newId(),
    length,
    offset: 0,
    rawMetadata,
    folder: placed.folder,
    name: placed.name,
    type: mimeFor(placed.name, metadata.get('type') ?? metadata.get('filetype')),
    product,
    blobId: ResumableStore.newId(),
    createdBy,
    owner,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + ctx.limits.resumableExpiryMs,
  };
  await ctx.resumable.create(upload);
  if (length === 0) await ctx.resumable.exclusive(upload.id, () => complete(call, upload));
  tusHeaders(call, { location: `${call.url.base}${CONNECTOR_PREFIX}/files/${upload.id}`, 'upload-expires': expiresHeader(upload), 'upload-offset': 0 });
  call.reply.code(201).send();
  return undefined;
}

async function head(call: Call): Promise<undefined> {
  const { ctx } = call;
  checkVersion(call);
  checkToken(call);
  const id = uploadId(call);
  let upload = await load(ctx, id, call.principal);
  checkPlacement(call, upload);
  // All bytes in but not (yet) committed, e.g. a crash right after the last PATCH: finish it now.
  if (upload.offset === upload.length && !upload.fileUuid && !upload.failure) upload = await completeNow(call, id);
  if (upload.failure) throw failed(upload);
  tusHeaders(call, {
    'upload-offset': upload.offset,
    'upload-length': upload.length,
    'upload-expires': expiresHeader(upload),
  });
  if (upload.rawMetadata) call.reply.header('upload-metadata', upload.rawMetadata);
  call.reply.code(200).send();
  return undefined;
}

async function patch(call: Call): Promise<undefined> {
  const { ctx } = call;
  checkVersion(call);
  checkToken(call);
  const id = uploadId(call);
  const type = String(call.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/offset+octet-stream') {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'A PATCH must carry Content-Type: application/offset+octet-stream.');
  }
  const claimed = lengthHeader(call, 'upload-offset');
  const raw = call.req.raw;
  let reading = false;
  const upload = await ctx.resumable.exclusive(
    id,
    async () => {
      const current = await load(ctx, id, call.principal);
      checkPlacement(call, current);
      if (claimed !== current.offset) {
        throw new ApiError(409, 'OFFSET_MISMATCH', `Upload-Offset is ${claimed} but the upload is at ${current.offset}.`,
          'Ask for the offset with HEAD and continue from there.', { offset: current.offset },
          { 'upload-offset': String(current.offset), 'tus-resumable': TUS_VERSION });
      }
      const declared = header(call, 'content-length');
      if (declared !== undefined && current.offset + Number(declared) > current.length) {
        throw badRequest('UPLOAD_LENGTH_EXCEEDED', `The body (${declared} bytes) goes past Upload-Length (${current.length - current.offset} bytes left).`);
      }
      if (current.offset < current.length) {
        reading = true;
        const result = await ctx.resumable.append(current, raw).finally(() => (reading = false));
        const moved = result.offset !== current.offset;
        current.offset = result.offset;
        // Whatever reached the disk counts, also from a body cut short: the client resumes after it.
        // Only stored bytes push the expiry back: empty PATCHes cannot keep an upload alive forever.
        if (moved) {
          touch(ctx, current);
          await ctx.resumable.save(current);
        }
        if (result.error) {
          if (result.error instanceof BodyTooLong) {
            throw badRequest('UPLOAD_LENGTH_EXCEEDED', result.error.message);
          }
          throw new ApiError(400, 'REQUEST_ABORTED', `The body ended early; ${current.offset} bytes are stored.`,
            'Ask for the offset with HEAD and continue from there.', {}, { 'upload-offset': String(current.offset) });
        }
      }
      await complete(call, current);
      return current;
    },
    // A newer request for the same upload means this one's client gave up on it: stop reading.
    { preempt: true, onAbort: () => reading && raw.destroy(new Error('superseded by a newer request for this upload')) },
  );
  if (upload.failure) throw failed(upload);
  tusHeaders(call, { 'upload-offset': upload.offset, 'upload-expires': expiresHeader(upload) });
  call.reply.code(204).send();
  return undefined;
}

async function terminate(call: Call): Promise<undefined> {
  const { ctx } = call;
  checkVersion(call);
  checkToken(call);
  const id = uploadId(call);
  await ctx.resumable.exclusive(
    id,
    async () => {
      const upload = await ctx.resumable.get(id);
      if (!upload || !ownedBy(upload, call.principal!)) throw uploadNotFound();
      checkPlacement(call, upload);
      // An upload already committed stays an asset: only the upload's record goes.
      await ctx.resumable.remove(id);
    },
    { preempt: true },
  );
  tusHeaders(call);
  call.reply.code(204).send();
  return undefined;
}

/** The finished file, as the real service's `GET {connector}/json/{fileId}` gives it (no auth). */
async function fileJson(call: Call): Promise<Record<string, unknown>> {
  const { ctx } = call;
  const id = uploadId(call);
  let upload = await load(ctx, id);
  if (upload.offset === upload.length && !upload.fileUuid && !upload.failure) upload = await completeNow(call, id);
  if (upload.failure) throw badRequest(upload.failure.code, `The upload finished but the file could not be stored: ${upload.failure.msg}`);
  if (!upload.fileUuid) {
    throw new ApiError(409, 'UPLOAD_INCOMPLETE', `The upload has ${upload.offset} of ${upload.length} bytes.`, 'Send the rest with PATCH, then ask again.');
  }
  const file = ctx.store.fileByUuid(upload.fileUuid);
  if (!file) throw notFound('FILE_NOT_FOUND', 'The file this upload became no longer exists.');
  return {
    file: fileObject(call.url, file),
    upload: { id: upload.id, duplicate: upload.duplicate === true },
  };
}

const tus = { versions: [], connector: true as const };

export const tusRoutes: RouteSpec[] = [
  route({ ...tus, method: 'OPTIONS', path: `${CONNECTOR_PREFIX}/files`, permissions: 'public', summary: 'tus capabilities (version, extensions, max size)', handler: options }),
  route({ ...tus, method: 'POST', path: `${CONNECTOR_PREFIX}/files`, permissions: ['FILE_UPLOAD'], summary: 'Create a resumable (tus) upload', handler: create }),
  route({ ...tus, method: 'HEAD', path: `${CONNECTOR_PREFIX}/files/:id`, permissions: ['FILE_UPLOAD'], summary: 'Offset of a resumable upload', handler: head }),
  route({ ...tus, method: 'PATCH', path: `${CONNECTOR_PREFIX}/files/:id`, permissions: ['FILE_UPLOAD'], summary: 'Append bytes to a resumable upload', streamBody: true, handler: patch }),
  route({ ...tus, method: 'DELETE', path: `${CONNECTOR_PREFIX}/files/:id`, permissions: ['FILE_UPLOAD'], summary: 'Terminate a resumable upload', handler: terminate }),
  route({ ...tus, method: 'GET', path: `${CONNECTOR_PREFIX}/json/:id`, permissions: 'public', summary: 'The file a finished resumable upload became', handler: fileJson }),
];
