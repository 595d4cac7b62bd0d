import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import mime from 'mime-types';
import { loadSharp } from '../sharp-loader.js';
import type { DuplicatePolicy, ServerContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import { addressRefusal, guardedFetch } from '../net/guarded-agent.js';
import type { NewFile } from '../store/metadata-store.js';
import { checkName, extensionOf, joinPath, normalizeFolderPath, splitPath } from '../store/names.js';
import type { StagedBlob } from '../store/blobs.js';
import type { FileTags, FileWithFolder, JsonObject } from '../store/rows.js';
import { objectField } from './params.js';

/** One file received and staged on disk, with what the request said about it. */
export interface StagedUpload {
  staged: StagedBlob;
  name: string;
  folder: string;
  type: string;
  meta: JsonObject;
  tags: string[];
  info: JsonObject;
  product?: { ref: string | null; position: number | null };
  /** Identifies the item in replies (part name, URL or index). */
  source: string;
}

export type UploadOutcome =
  { ok: true; file: FileWithFolder; overwrite: boolean } | { ok: false; source: string; error: ApiError };

export interface UploadOptions {
  folder: string;
  overwrite: boolean;
  /**
   * Called with every staged file (its final folder known) before any is committed; throwing
   * refuses the whole request and discards them all. SASS keys' folder scope and quotas use it.
   */
  admit?: (uploads: readonly StagedUpload[]) => void;
  /** Checks a target folder as soon as it is known, so a refused streamed upload is not read first. */
  placeable?: (folder: string) => void;
  /** Overrides the project's duplicate policy (airbox uploads always store: the duplicate reply would tell what the folder holds). */
  duplicatePolicy?: DuplicatePolicy;
  /**
   * Whether the caller may change an existing file's metadata (FILE_META_CHANGE); default true. An
   * overwrite carrying meta or tags changes the replaced file's, which creating metadata does not
   * cover, so without it such a file is refused (403) while the rest of the request goes on.
   */
  mayChangeExistingMeta?: boolean;
}

const RANDOM_SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `sky.jpg` -> `sky-U0wznLpH.jpg`, the shape the real API gives renamed uploads. */
export function withSuffix(name: string): string {
  const bytes = randomBytes(8);
  const suffix = Array.from(bytes, (b) => RANDOM_SUFFIX_ALPHABET[b % RANDOM_SUFFIX_ALPHABET.length]).join('');
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)}-${suffix}${name.slice(dot)}` : `${name}-${suffix}`;
}

export function mimeFor(name: string, declared?: string): string {
  const clean = declared?.split(';')[0]?.trim().toLowerCase();
  if (clean && clean !== 'application/octet-stream' && /^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(clean))
    return clean;
  return mime.lookup(name) || 'application/octet-stream';
}

/** A name that may carry a folder path ("/docs/a.pdf") splits into folder and name. */
export function placeName(folder: string, rawName: string, field: string): { folder: string; name: string } {
  if (typeof rawName === 'string' && rawName.includes('/')) {
    const segments = splitPath(rawName);
    const name = segments.pop();
    if (!name) throw badRequest('INVALID_NAME', `"${field}" ends with "/" and names no file.`);
    const sub = normalizeFolderPath(
      rawName.startsWith('/') ? '/' + segments.join('/') : `${folder}/${segments.join('/')}`,
      field,
    );
    return { folder: sub, name: checkName(name, field) };
  }
  return { folder, name: checkName(rawName, field) };
}

function tagList(value: unknown, field: string): string[] {
  if (value === undefined || value === null || value === '') return [];
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = value.split(',');
    }
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
    parsed = (parsed as JsonObject).new_tags ?? [];
  if (!Array.isArray(parsed) || parsed.some((t) => typeof t !== 'string')) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"${field}" must be a list of tag labels.`,
      'Example: ["summer", "beach"]',
    );
  }
  return (parsed as string[]).map((t) => t.trim()).filter((t) => t.length > 0);
}

export function productField(value: unknown, field: string): StagedUpload['product'] {
  if (value === undefined || value === null || value === '') return undefined;
  const object = objectField(value, field);
  const ref = object.ref === undefined || object.ref === null ? null : String(object.ref);
  const position = object.position === undefined || object.position === null ? null : Number(object.position);
  if (position !== null && !Number.isInteger(position))
    throw badRequest('INVALID_PARAMETER', `"${field}.position" must be a whole number.`);
  return { ref, position };
}

export async function imageInfo(path: string, type: string): Promise<JsonObject> {
  if (!type.startsWith('image/')) return {};
  try {
    const meta = await loadSharp()(path).metadata();
    if (!meta.width || !meta.height) return {};
    const ratio = meta.width / meta.height;
    const orientation = ratio > 2 ? 'PA' : ratio > 1.05 ? 'LD' : ratio < 0.95 ? 'PO' : 'SQ';
    return {
      img_w: meta.width,
      img_h: meta.height,
      img_type: meta.format,
      img_o: orientation,
      area: meta.width * meta.height,
    };
  } catch {
    return {};
  }
}

/**
 * Makes staged uploads visible, one by one: blob moved into place durably, then one savepoint
 * that places the row (creating the folder, applying the duplicate policy and the name-clash
 * rule), committed together with the other uploads finishing at the same moment. Anything not
 * committed is discarded, so a failed request leaves nothing behind.
 */
export async function commitUploads(
  ctx: ServerContext,
  uploads: StagedUpload[],
  options: UploadOptions,
): Promise<UploadOutcome[]> {
  const outcomes: UploadOutcome[] = [];
  let next = 0;
  try {
    options.admit?.(uploads);
    for (; next < uploads.length; next++) {
      const upload = uploads[next]!;
      const info = { ...(await imageInfo(upload.staged.tempPath, upload.type)), ...upload.info };
      await ctx.blobs.commit(upload.staged);
      try {
        outcomes.push(await ctx.store.groupedTransaction(() => placeCommitted(ctx, upload, info, options)));
      } catch (error) {
        // Its bytes are already in blobs/, not tmp/: queue them for removal like any unreferenced blob.
        ctx.store.queueBlobDelete(upload.staged.blobId);
        next++;
        throw error;
      } finally {
        ctx.blobs.release(upload.staged.blobId);
      }
    }
  } finally {
    for (const upload of uploads.slice(next)) await ctx.blobs.discard(upload.staged);
    await ctx.reclaimBlobs();
  }
  return outcomes;
}

function placeCommitted(
  ctx: ServerContext,
  upload: StagedUpload,
  info: JsonObject,
  options: UploadOptions,
): UploadOutcome {
  return ctx.store.transaction((): UploadOutcome => {
    const folder = ctx.store.ensureFolder(upload.folder);
    const tags = resolveTags(ctx, upload.tags);
    const record: NewFile = {
      folderId: folder.id,
      name: upload.name,
      extension: extensionOf(upload.name),
      type: upload.type,
      size: upload.staged.size,
      sha1: upload.staged.sha1,
      blobId: upload.staged.blobId,
      meta: upload.meta,
      tags,
      info,
      productRef: upload.product?.ref ?? null,
      productPosition: upload.product?.position ?? null,
    };
    const clash = ctx.store.fileByName(folder.id, upload.name);
    if (clash && options.overwrite) {
      if (options.mayChangeExistingMeta === false && (Object.keys(upload.meta).length > 0 || upload.tags.length > 0)) {
        ctx.store.queueBlobDelete(upload.staged.blobId);
        return { ok: false, source: upload.source, error: metaChangeOnReplace(upload.folder, upload.name) };
      }
      return { ok: true, file: ctx.store.replaceContent(clash, record), overwrite: true };
    }
    if ((options.duplicatePolicy ?? ctx.duplicatePolicy) === 'skip') {
      const same = ctx.store.sameContentInFolder(folder.id, upload.staged.sha1);
      if (same) {
        ctx.store.queueBlobDelete(upload.staged.blobId);
        return {
          ok: false,
          source: upload.source,
          error: new ApiError(
            200,
            'SAME_ASSET_EXISTS_SKIP_UPLOAD',
            `The same content already exists as ${joinPath(same.folder_path, same.name)}.`,
            'The upload was skipped; use the existing file, or upload with overwrite=1 to replace it.',
            { existing_file_uuid: same.uuid, similar_file_path: '' },
          ),
        };
      }
    }
    if (clash) record.name = withSuffix(upload.name);
    return { ok: true, file: ctx.store.insertFile(record), overwrite: false };
  });
}

const metaChangeOnReplace = (folder: string, name: string): ApiError =>
  new ApiError(
    403,
    'PERMISSION_DENIED',
    `Replacing ${joinPath(folder, name)} with metadata or tags would change that existing file's, which needs the FILE_META_CHANGE permission.`,
    'Grant FILE_META_CHANGE to the key, send the file without meta and tags, or upload without overwrite and obfuscate=KEEP_ORIGINAL_NAME (a new file with a suffixed name).',
  );

function resolveTags(ctx: ServerContext, labels: string[]): FileTags {
  if (labels.length === 0) return {};
  const entries = labels.map((label) => ctx.store.resolveTag(label, 'en', true)!).filter(Boolean);
  const unique = [...new Map(entries.map((e) => [e.sid, e])).values()];
  return { en: unique };
}

// ---- multipart ---------------------------------------------------------------------------

/** Part names that carry per-file data: `meta[file]`, `tags[files[]]`, `info[photo.jpg]`. */
const KEYED = /^(meta|tags|info|product)\[(.*)\]$/;

/**
 * Reads a multipart upload: each file part streams straight to a temp file; `meta`, `tags`,
 * `info` and `product` parts apply to the file whose part name or filename they name, or to all
 * files when unkeyed. Parts may come before or after the file they describe.
 */
export async function receiveMultipart(
  ctx: ServerContext,
  request: Readable,
  headers: Record<string, unknown>,
  folder: string,
  /** Largest file accepted (an airbox's `max_file_size`); default the server's upload limit. */
  maxFileBytes: number = ctx.limits.maxUploadBytes,
  options: {
    /** Most file parts accepted (an airbox's per-request limit); default the server's `maxFilesPerRequest`. */
    maxFiles?: number;
    /** Called as each file part arrives, before any of it is written; throwing refuses the request (quotas). */
    onFile?: () => void;
  } = {},
): Promise<StagedUpload[]> {
  const maxFiles = Math.min(options.maxFiles ?? ctx.limits.maxFilesPerRequest, ctx.limits.maxFilesPerRequest);
  const { maxFieldsPerRequest, maxFieldBytes, maxFieldBytesPerRequest } = ctx.limits;
  const fields = new Map<string, string>();
  const keyed: Array<{ kind: string; key: string; value: string }> = [];
  const files: Array<{ part: string; filename: string; type: string; staged: Promise<StagedBlob> }> = [];
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: headers as busboy.BusboyConfig['headers'],
      defParamCharset: 'utf8',
      limits: {
        files: maxFiles,
        fields: maxFieldsPerRequest,
        fieldSize: maxFieldBytes,
        parts: maxFiles + maxFieldsPerRequest,
        headerPairs: 100,
      },
    });
  } catch (error) {
    throw badRequest(
      'INVALID_MULTIPART',
      `The multipart body cannot be read: ${(error as Error).message}.`,
      'Let your HTTP library set the multipart boundary.',
    );
  }

  // Once the request is refused, later parts are read and dropped: nothing more is kept.
  let refused = false;
  let fieldBytes = 0;
  const done = new Promise<void>((resolve, rejectWith) => {
    const reject = (error: unknown): void => {
      refused = true;
      rejectWith(error);
    };
    parser.on('file', (part, stream, info) => {
      if (!refused) {
        try {
          options.onFile?.();
        } catch (error) {
          reject(error);
        }
      }
      // A part stream errors when the body breaks off inside it; with no listener that error
      // would end the process. The parser reports the same failure, which refuses the request.
      if (refused) {
        stream.on('error', () => {});
        stream.resume();
        return;
      }
      // Stage through a pass-through: when staging fails (too large, disk error) the pipeline
      // destroys its source, and a destroyed busboy part stream would stall the whole parser.
      const through = new PassThrough({ highWaterMark: 1 << 20 });
      // pipe() does not pass errors on: end the staging with it, which removes the temp file.
      stream.on('error', (error) => through.destroy(error));
      stream.pipe(through);
      const staged = ctx.blobs.stage(through, maxFileBytes);
      // Keep reading the request if one part fails, so the error reply is not a reset.
      staged.catch(() => {
        stream.unpipe(through);
        stream.resume();
      });
      files.push({ part, filename: info.filename ?? '', type: info.mimeType, staged });
    });
    parser.on('field', (name, value, info) => {
      if (refused) return;
      // Fields are held in memory until the body ends: bound each one and their sum.
      fieldBytes += Buffer.byteLength(name) + Buffer.byteLength(value);
      if (info.valueTruncated || info.nameTruncated) {
        reject(
          new ApiError(
            413,
            'FIELD_TOO_LARGE',
            `The multipart part "${name}" is larger than the ${maxFieldBytes} bytes a non-file part may hold.`,
            'Send files in parts with a filename; keep meta, tags and info parts small.',
          ),
        );
        return;
      }
      if (fieldBytes > maxFieldBytesPerRequest) {
        reject(
          new ApiError(
            413,
            'FIELDS_TOO_LARGE',
            `The non-file parts of this multipart body hold more than ${maxFieldBytesPerRequest} bytes together.`,
            'Send fewer or smaller meta, tags and info parts, or split the upload into several requests.',
          ),
        );
        return;
      }
      const match = KEYED.exec(name);
      if (match) keyed.push({ kind: match[1]!, key: match[2]!, value });
      else fields.set(name, value);
    });
    parser.on('filesLimit', () =>
      reject(
        badRequest(
          'TOO_MANY_FILES',
          `At most ${maxFiles} files can be sent in one request.`,
        ),
      ),
    );
    parser.on('partsLimit', () =>
      reject(badRequest('TOO_MANY_PARTS', 'The multipart body has too many parts.')),
    );
    parser.on('fieldsLimit', () =>
      reject(
        badRequest(
          'TOO_MANY_PARTS',
          `The multipart body has more than ${maxFieldsPerRequest} non-file parts.`,
          'Send per-file meta, tags and info as one JSON part each, or split the upload.',
        ),
      ),
    );
    parser.on('error', (error: Error) => {
      reject(malformedMultipart(error));
      stopParsing();
    });
    parser.on('close', () => resolve());
    const aborted = (): void => {
      reject(badRequest('REQUEST_ABORTED', 'The client closed the connection before the upload ended.'));
      stopParsing();
    };
    request.on('aborted', aborted);
    request.on('error', aborted);
    request.on('close', () => {
      if (!request.readableEnded) aborted();
    });
    // Dropped while the request waited for its handler: those events are already gone.
    if (request.destroyed && !request.readableEnded) aborted();
  });
  /**
   * Ends the parse after a broken body: destroying the parser ends the part being staged (its
   * temp file is removed), and the rest of the request is read and dropped, so the client gets
   * the error reply rather than a reset.
   */
  function stopParsing(): void {
    request.unpipe(parser);
    if (!parser.destroyed) parser.destroy();
    if (!request.destroyed) request.resume();
  }

  request.pipe(parser);
  // Every 'file' event fires before 'close', so `files` is complete once `done` settles.
  const [parsed] = await Promise.allSettled([done]);
  const stagedAll = await Promise.allSettled(files.map((f) => f.staged));
  const failure = [parsed!, ...stagedAll].find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failure) {
    for (const r of stagedAll) if (r.status === 'fulfilled') await ctx.blobs.discard(r.value);
    throw failure.reason;
  }
  if (files.length === 0) {
    throw badRequest(
      'NO_FILE',
      'The multipart body holds no file part.',
      'Send the file in a part named "file" with a filename.',
    );
  }

  const uploads: StagedUpload[] = [];
  try {
    for (const [index, file] of files.entries()) {
      const staged = (stagedAll[index] as PromiseFulfilledResult<StagedBlob>).value;
      const matches = (entry: { key: string }): boolean =>
        entry.key === file.part || entry.key === file.filename;
      const valueFor = (kind: string): string | undefined =>
        keyed.find((e) => e.kind === kind && matches(e))?.value ??
        (files.length === 1 ? keyed.find((e) => e.kind === kind)?.value : undefined) ??
        fields.get(kind);
      const info = objectField(valueFor('info'), `info[${file.part}]`);
      const rawName = typeof info.name === 'string' && info.name ? info.name : file.filename;
      if (!rawName)
        throw badRequest(
          'INVALID_NAME',
          `The file part "${file.part}" has no filename.`,
          'Send filename="..." in the part header.',
        );
      const placed = placeName(folder, rawName, `filename of part "${file.part}"`);
      uploads.push({
        staged,
        name: placed.name,
        folder: placed.folder,
        type: mimeFor(placed.name, typeof info.type === 'string' ? info.type : file.type),
        meta: objectField(valueFor('meta'), `meta[${file.part}]`),
        tags: tagList(valueFor('tags'), `tags[${file.part}]`),
        info: {},
        product: productField(valueFor('product'), `product[${file.part}]`),
        source: file.filename || file.part,
      });
    }
  } catch (error) {
    for (const r of stagedAll) if (r.status === 'fulfilled') await ctx.blobs.discard(r.value);
    throw error;
  }
  return uploads;
}

/** A busboy parse failure as the API error a client can act on. */
function malformedMultipart(error: Error): ApiError {
  if (/unexpected end/i.test(error.message)) {
    return badRequest(
      'INVALID_MULTIPART',
      'The multipart body ended before its closing boundary: the upload was cut short.',
      'Send the whole body, ending with "--{boundary}--"; let your HTTP library build it (FormData).',
    );
  }
  return badRequest(
    'INVALID_MULTIPART',
    `The multipart body is malformed: ${error.message}.`,
    'Let your HTTP library build the multipart body (FormData) and set its boundary.',
  );
}

// ---- base64 ------------------------------------------------------------------------------

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}\s*$/;

export async function receiveBase64(
  ctx: ServerContext,
  body: JsonObject,
  folder: string,
): Promise<StagedUpload[]> {
  const items = Array.isArray(body.files) ? (body.files as unknown[]) : [body];
  const uploads: StagedUpload[] = [];
  try {
    for (const [index, raw] of items.entries()) {
      const field = Array.isArray(body.files) ? `files[${index}]` : 'body';
      const item = objectField(raw, field);
      if (typeof item.data !== 'string')
        throw badRequest('INVALID_PARAMETER', `"${field}.data" must hold the file's bytes in base64.`);
      let data = item.data;
      const comma = data.startsWith('data:') ? data.indexOf(',') : -1;
      if (comma >= 0) data = data.slice(comma + 1);
      if (!BASE64.test(data))
        throw badRequest(
          'INVALID_BASE64',
          `"${field}.data" is not valid base64.`,
          'Encode the bytes with standard base64 (A-Z a-z 0-9 + /).',
        );
      if (typeof item.name !== 'string')
        throw badRequest('INVALID_NAME', `"${field}.name" must name the file, e.g. "logo.png".`);
      const placed = placeName(folder, item.name, `${field}.name`);
      const staged = await ctx.blobs.stage(
        Readable.from([Buffer.from(data, 'base64')]),
        ctx.limits.maxUploadBytes,
      );
      uploads.push({
        staged,
        name: placed.name,
        folder: placed.folder,
        type: mimeFor(placed.name, typeof item.type === 'string' ? item.type : undefined),
        meta: objectField(item.meta, `${field}.meta`),
        tags: tagList(item.tags, `${field}.tags`),
        info: {},
        product: productField(item.product, `${field}.product`),
        source: placed.name,
      });
    }
  } catch (error) {
    for (const upload of uploads) await ctx.blobs.discard(upload.staged);
    throw error;
  }
  return uploads;
}

// ---- remote URLs -------------------------------------------------------------------------

/**
 * Fetches one URL with its body streamed to a temp file; follows up to 5 redirects. Every connection
 * goes through `ctx.urlImportGuard`, which refuses loopback, private and other non-public addresses
 * (unless allowPrivateUrlImports) on the very addresses it connects to, so a DNS answer that changes
 * between a check and the connection (rebinding) cannot reach internal services.
 */
async function fetchToStage(
  ctx: ServerContext,
  rawUrl: string,
): Promise<{ staged: StagedBlob; type: string; finalUrl: URL }> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw badRequest('INVALID_URL', `${JSON.stringify(rawUrl)} is not a URL.`);
  }
  const signal = AbortSignal.timeout(ctx.limits.urlFetchTimeoutMs);
  for (let hop = 0; hop <= 5; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw badRequest('INVALID_URL', `Only http and https URLs can be imported; got ${url.protocol}.`);
    }
    let response: Awaited<ReturnType<typeof guardedFetch>>;
    try {
      response = await guardedFetch(url, {
        redirect: 'manual',
        signal,
        dispatcher: ctx.urlImportGuard.agent,
      });
    } catch (error) {
      const refused = addressRefusal(error);
      if (refused) {
        throw badRequest(
          'URL_NOT_ALLOWED',
          `${refused.message}.`,
          'Import from a public address, or start the server with --allow-private-url-imports for local testing.',
        );
      }
      const reason =
        (error as Error).name === 'TimeoutError'
          ? `took longer than ${ctx.limits.urlFetchTimeoutMs} ms`
          : (((error as Error).cause as Error | undefined)?.message ?? (error as Error).message);
      throw badRequest('URL_FETCH_FAILED', `Fetching ${url.href} failed: ${reason}.`);
    }
    if (response.status >= 300 && response.status < 400 && response.headers.get('location')) {
      await response.body?.cancel();
      url = new URL(response.headers.get('location')!, url);
      continue;
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw badRequest('URL_FETCH_FAILED', `Fetching ${url.href} answered HTTP ${response.status}.`);
    }
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > ctx.limits.maxUploadBytes) {
      await response.body.cancel();
      throw new ApiError(
        413,
        'PAYLOAD_TOO_LARGE',
        `${url.href} is ${declared} bytes, more than the ${ctx.limits.maxUploadBytes} an upload accepts.`,
      );
    }
    const body = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
    const staged = await ctx.blobs.stage(body, ctx.limits.maxUploadBytes);
    return { staged, type: response.headers.get('content-type') ?? '', finalUrl: url };
  }
  throw badRequest('URL_FETCH_FAILED', `${rawUrl} redirects more than 5 times.`);
}

export interface UrlImportItem {
  url: string;
  name?: string;
  meta?: unknown;
  tags?: unknown;
  info?: unknown;
  product?: unknown;
}

/** Imports up to the API's 20 URLs, 4 at a time; a URL that fails becomes a per-item error. */
export async function receiveUrls(
  ctx: ServerContext,
  items: unknown[],
  folder: string,
): Promise<{ uploads: StagedUpload[]; failures: Array<{ source: string; index: number; error: ApiError }> }> {
  if (items.length === 0)
    throw badRequest(
      'INVALID_PARAMETER',
      '"files_urls" is empty.',
      'Example: {"files_urls": [{"url": "https://example.com/a.jpg"}]}',
    );
  if (items.length > ctx.limits.maxUrlsPerRequest) {
    throw badRequest(
      'TOO_MANY_URLS',
      `"files_urls" holds ${items.length} URLs; at most ${ctx.limits.maxUrlsPerRequest} are accepted per request.`,
      `Send them in batches of ${ctx.limits.maxUrlsPerRequest}.`,
    );
  }
  const parsed = items.map((raw, index) => {
    const field = `files_urls[${index}]`;
    const item = typeof raw === 'string' ? { url: raw } : objectField(raw, field);
    if (typeof item.url !== 'string')
      throw badRequest('INVALID_PARAMETER', `"${field}.url" must be a URL string.`);
    return { field, index, item: item as unknown as UrlImportItem };
  });
  const results: Array<StagedUpload | { source: string; index: number; error: ApiError }> = new Array(
    parsed.length,
  );
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < parsed.length) {
      const { field, index, item } = parsed[next++]!;
      try {
        const fetched = await fetchToStage(ctx, item.url);
        try {
          const fallbackName =
            decodeURIComponent(fetched.finalUrl.pathname.split('/').filter(Boolean).pop() ?? '') || 'file';
          const placed = placeName(folder, item.name ?? fallbackName, `${field}.name`);
          results[index] = {
            staged: fetched.staged,
            name: placed.name,
            folder: placed.folder,
            type: mimeFor(placed.name, fetched.type),
            meta: objectField(item.meta, `${field}.meta`),
            tags: tagList(item.tags, `${field}.tags`),
            info: objectField(item.info, `${field}.info`),
            product: productField(item.product, `${field}.product`),
            source: item.url,
          };
        } catch (error) {
          await ctx.blobs.discard(fetched.staged);
          throw error;
        }
      } catch (error) {
        const apiError =
          error instanceof ApiError
            ? error
            : badRequest('URL_FETCH_FAILED', `Importing ${item.url} failed: ${(error as Error).message}`);
        results[index] = { source: item.url, index, error: apiError };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, parsed.length) }, worker));
  const uploads: StagedUpload[] = [];
  const failures: Array<{ source: string; index: number; error: ApiError }> = [];
  for (const result of results) {
    if ('staged' in result) uploads.push(result);
    else failures.push(result);
  }
  return { uploads, failures };
}

// ---- streamed PUT ------------------------------------------------------------------------

export async function receiveStream(
  ctx: ServerContext,
  request: Readable,
  folder: string,
  filename: string,
  declaredType?: string,
  placeable?: (folder: string) => void,
): Promise<StagedUpload[]> {
  const placed = placeName(folder, filename, 'filename');
  placeable?.(placed.folder);
  let staged: StagedBlob;
  try {
    staged = await ctx.blobs.stage(request, ctx.limits.maxUploadBytes);
  } catch (error) {
    // A client that goes away mid-body is not a server failure: no 500, no error in the log.
    const code = (error as NodeJS.ErrnoException).code;
    if (!request.readableEnded && (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE')) {
      throw badRequest('REQUEST_ABORTED', 'The client closed the connection before the upload ended.');
    }
    throw error;
  }
  return [
    {
      staged,
      name: placed.name,
      folder: placed.folder,
      type: mimeFor(placed.name, declaredType),
      meta: {},
      tags: [],
      info: {},
      source: placed.name,
    },
  ];
}
