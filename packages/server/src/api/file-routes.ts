import { sassUploadAdmission, sassUploadPlaceable } from '../auth/sass-rules.js';
import { compileSearch, type SingleFilter } from '../search/query.js';
import { ApiError, badRequest } from '../errors.js';
import { type Call, type RouteSpec, successJson } from '../http/route.js';
import { dataMemo } from '../store/data-memo.js';
import { prepareReply } from '../http/prepared-replies.js';
import { sendError } from '../http/app.js';
import { checkName, normalizeFolderPath } from '../store/names.js';
import type { FileTags, JsonObject } from '../store/rows.js';
import {
  bodyObject,
  boolParam,
  dateParam,
  intParam,
  objectField,
  single,
  sortParam,
  stringParam,
  uuidList,
  uuidParam,
} from './params.js';
import { collectionSearch } from './collection-routes.js';
import { fileObject, folderObject, prettySize } from './serialize.js';
import { commitUploads, receiveBase64, receiveMultipart, receiveStream, receiveUrls, type StagedUpload, type UploadOptions, type UploadOutcome } from './uploads.js';

const FILE_SORT: Record<string, string> = {
  name: 'f.name',
  filename: 'f.name',
  created_at: 'f.created_at',
  created: 'f.created_at',
  uploaded_at: 'f.created_at',
  updated_at: 'f.modified_at',
  modified_at: 'f.modified_at',
  updated: 'f.modified_at',
  size: 'f.size',
  type: 'f.type',
  // Best full-text matches first (see docs/search.md); without words in q, the default order.
  relevance: 'relevance',
};

export const MAX_LIMIT = 4000;
export const MAX_META_BYTES = 256 * 1024;

/** Builds the WHERE filter shared by the list and the stats calls. */
function fileFilter(call: Call): {
  folder: string;
  recursive: boolean;
  where: { sql: string; params: unknown[] };
  text: string | null;
  single?: SingleFilter;
} {
  const { query } = call;
  const folder = normalizeFolderPath(single(query.folder) ?? '/', 'folder');
  // A collection spans the whole library, so its listing is recursive unless told otherwise.
  const recursive = boolParam(query.recursive, 'recursive', query.collection_uuid !== undefined);
  const parts: string[] = [];
  const params: unknown[] = [];
  const q = stringParam(query.q, 'q');
  let text: string | null = null;
  let whole: SingleFilter | undefined;
  if (q) {
    const compiled = compileSearch(q);
    parts.push(compiled.where);
    params.push(...compiled.params);
    text = compiled.text ?? null;
    whole = compiled.single;
  }
  if (query.collection_uuid !== undefined) {
    const compiled = collectionSearch(call.ctx, query.collection_uuid, query.f64);
    parts.push(`(${compiled.where})`);
    params.push(...compiled.params);
  }
  const mime = stringParam(query.mime, 'mime', 255);
  if (mime) {
    parts.push(mime.endsWith('/*') ? 'f.type LIKE ?' : 'f.type = ?');
    params.push(mime.endsWith('/*') ? mime.slice(0, -1) + '%' : mime.toLowerCase());
  }
  const dates: Array<[string, string, string]> = [
    ['created_after', 'f.created_at', '>='],
    ['created_before', 'f.created_at', '<'],
    ['updated_after', 'f.modified_at', '>='],
    ['updated_before', 'f.modified_at', '<'],
  ];
  for (const [field, column, op] of dates) {
    const value = dateParam(query[field], field);
    if (value) {
      parts.push(`${column} ${op} ?`);
      params.push(value);
    }
  }
  // It stands for q alone: any other filter narrows the matches, so those are counted through the WHERE.
  if (parts.length !== 1) whole = undefined;
  return { folder, recursive, where: { sql: parts.length ? parts.join(' AND ') : '1', params }, text, ...(whole && { single: whole }) };
}

function listFiles(call: Call): Record<string, unknown> {
  const { ctx, query, url } = call;
  const filter = fileFilter(call);
  const limit = intParam(query.limit, 'limit', { min: 1, max: MAX_LIMIT, fallback: 1000 });
  const offset = intParam(query.offset, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
  const { text, ...scope } = filter;
  const sorted = sortParam(query, FILE_SORT, 'f.created_at DESC');
  const relevance = sorted.startsWith('relevance ') ? text : null;
  const orderBy = sorted.startsWith('relevance ') ? 'f.created_at DESC' : sorted;
  const result = ctx.store.listFiles({ ...scope, orderBy: `${orderBy}, f.id ${orderBy.endsWith('DESC') ? 'DESC' : 'ASC'}`, limit, offset, relevance });
  const base = result.base;
  return {
    type: 'LIST',
    base: base ? folderObject(url, base.folder, base.counts) : null,
    files: result.files.map((file) => fileObject(url, file)),
    folders: [],
    warnings: base ? [] : [`The folder ${filter.folder} does not exist.`],
    limit,
    offset,
    stats: { approx_files_count: result.total, approx_files_size: result.bytes, approx_files_count_method: 'COUNT_EXACT' },
    info: { total_files_count: result.total, total_files_size: result.bytes, total_files_size_pretty: prettySize(result.bytes) },
  };
}

function fileStats(call: Call): Record<string, unknown> {
  const { text: _text, ...filter } = fileFilter(call);
  const result = call.ctx.store.listFiles({ ...filter, orderBy: 'f.id', limit: 0, offset: 0 });
  return {
    stats: { approx_files_count: result.total, approx_files_size: result.bytes },
    info: { total_files_count: result.total, total_files_size: result.bytes },
  };
}

function uploadReply(call: Call, outcomes: UploadOutcome[], failures: Array<{ source: string; error: ApiError }>, single: boolean): Record<string, unknown> | undefined {
  const files = outcomes.flatMap((o) => (o.ok ? [fileObject(call.url, o.file, { upload: { overwrite: o.overwrite } })] : []));
  const errors = [
    ...outcomes.flatMap((o) => (o.ok ? [] : [{ source: o.source, error: o.error }])),
    ...failures,
  ].map(({ source, error }) => ({ source, status: 'error', code: error.code, msg: error.message, hint: error.hint ?? '', ...error.extra }));
  const info = { uploaded_files: files.length, files_count: outcomes.length + failures.length };
  if (single && files.length === 0 && errors.length === 1) {
    const only = [...outcomes.flatMap((o) => (o.ok ? [] : [o.error])), ...failures.map((f) => f.error)][0]!;
    // The duplicate reply is HTTP 200 with status "error", as the real API sends it.
    sendError(call.reply, new ApiError(only.httpStatus, only.code, only.message, only.hint, { ...only.extra, info }));
    return undefined;
  }
  if (files.length === 0 && errors.length > 0) {
    call.reply.code(400).send({ status: 'error', code: 'UPLOAD_FAILED', msg: 'None of the files could be uploaded.', hint: 'See "errors" for each file.', errors, info });
    return undefined;
  }
  const reply: Record<string, unknown> = single && files.length === 1 ? { file: files[0] } : { files };
  if (errors.length > 0) reply.errors = errors;
  reply.info = info;
  return reply;
}

/**
 * `obfuscate=KEEP_ORIGINAL_NAME` asks to keep the sent name. caradvice's client sends it (alone, with
 * no `overwrite`) for "overwrite the file at the destination if it already exists", and Scaleflex's
 * uploader documents its forced name as replacing a same-named file, so a kept name that clashes
 * replaces the existing file's content, as `overwrite=1` does (docs/api-fidelity.md).
 */
function keepsOriginalName(call: Call): boolean {
  const value = stringParam(call.query.obfuscate, 'obfuscate', 100);
  if (value === undefined || value === '') return false;
  if (value === 'KEEP_ORIGINAL_NAME') return true;
  throw badRequest(
    'INVALID_PARAMETER',
    `"obfuscate" accepts only KEEP_ORIGINAL_NAME; got ${JSON.stringify(value)}.`,
    'Send obfuscate=KEEP_ORIGINAL_NAME to keep the name (a same-named file is replaced), or leave it out.',
  );
}

/** Permissions that let an upload carry metadata or tags: the one named for it, or the update one. */
const META_AT_UPLOAD = ['FILE_META_CREATE', 'FILE_META_CHANGE'] as const;

/**
 * Metadata (and tags) sent with an upload create the new file's metadata: FILE_META_CREATE ("Create
 * file metadata") beside FILE_UPLOAD; FILE_META_CHANGE, which older Scaleflex pages describe with the
 * same words, also does (docs/api-fidelity.md). Refused with the route layer's 403 before anything
 * is committed. An overwrite that would change a replaced file's metadata needs FILE_META_CHANGE
 * (`mayChangeExistingMeta`, checked where the clash is found).
 */
function metaAtUploadAdmission(call: Call): (uploads: readonly StagedUpload[]) => void {
  return (uploads) => {
    const granted = call.principal?.permissions;
    if (!granted || META_AT_UPLOAD.some((p) => granted.has(p))) return;
    const carrying = uploads.find((u) => Object.keys(u.meta).length > 0 || u.tags.length > 0);
    if (!carrying) return;
    throw new ApiError(
      403,
      'PERMISSION_DENIED',
      `This key lacks the FILE_META_CREATE permission needed to upload "${carrying.source}" with metadata or tags.`,
      'Grant FILE_META_CREATE (or FILE_META_CHANGE) to the key, or upload without meta and tags.',
    );
  };
}

function uploadOptions(call: Call): UploadOptions {
  const sassAdmit = sassUploadAdmission(call);
  const metaAdmit = metaAtUploadAdmission(call);
  return {
    folder: normalizeFolderPath(single(call.query.folder) ?? single(call.query.dir) ?? '/', 'folder'),
    overwrite: boolParam(call.query.overwrite, 'overwrite') || keepsOriginalName(call),
    admit: (uploads) => {
      metaAdmit(uploads);
      sassAdmit?.(uploads);
    },
    placeable: sassUploadPlaceable(call),
    mayChangeExistingMeta: call.principal?.permissions.has('FILE_META_CHANGE') ?? true,
  };
}

async function upload(call: Call): Promise<Record<string, unknown> | undefined> {
  const options = uploadOptions(call);
  const contentType = String(call.req.headers['content-type'] ?? '').toLowerCase();
  if (contentType.startsWith('multipart/form-data')) {
    const staged = await receiveMultipart(call.ctx, call.req.raw, call.req.headers, options.folder);
    return uploadReply(call, await commitUploads(call.ctx, staged, options), [], staged.length === 1);
  }
  if (call.body === undefined) {
    throw badRequest('INVALID_REQUEST', 'An upload needs a multipart body with a "file" part, or a JSON body.',
      'Send multipart/form-data, or JSON {"files_urls":[...]} or {"name","data","postactions":"decode_base64"}.');
  }
  const body = bodyObject(call.body);
  if (Array.isArray(body.files_urls)) {
    const { uploads, failures } = await receiveUrls(call.ctx, body.files_urls, options.folder);
    const outcomes = await commitUploads(call.ctx, uploads, options);
    return uploadReply(call, outcomes, failures, body.files_urls.length === 1);
  }
  if (body.files_urls !== undefined) throw badRequest('INVALID_PARAMETER', '"files_urls" must be an array of {url, name?, meta?, tags?}.');
  if (body.postactions !== undefined && body.postactions !== 'decode_base64') {
    throw badRequest('INVALID_PARAMETER', `"postactions" must be "decode_base64"; got ${JSON.stringify(body.postactions)}.`);
  }
  if (typeof body.data === 'string' || Array.isArray(body.files)) {
    const staged = await receiveBase64(call.ctx, body, options.folder);
    return uploadReply(call, await commitUploads(call.ctx, staged, options), [], staged.length === 1);
  }
  throw badRequest('INVALID_REQUEST', 'The JSON body is neither a URL import nor a base64 upload.',
    'Send {"files_urls":[{"url":"https://..."}]} or {"name":"a.png","data":"<base64>","postactions":"decode_base64"}.');
}

async function streamUpload(call: Call): Promise<Record<string, unknown> | undefined> {
  const options = uploadOptions(call);
  const filename = stringParam(call.query.filename ?? call.query.name, 'filename', 4096);
  if (!filename) throw badRequest('INVALID_PARAMETER', '"filename" is required for a streamed upload.', 'PUT /v4/files?folder=/videos&filename=big.mp4');
  if (call.body !== undefined) throw badRequest('INVALID_REQUEST', 'Send the file bytes as the body with Content-Type: application/octet-stream.');
  const staged: StagedUpload[] = await receiveStream(call.ctx, call.req.raw, options.folder, filename, call.req.headers['content-type'], options.placeable);
  return uploadReply(call, await commitUploads(call.ctx, staged, options), [], true);
}

export function checkMeta(value: unknown, field = 'meta'): JsonObject {
  const meta = objectField(value, field);
  if (Buffer.byteLength(JSON.stringify(meta)) > MAX_META_BYTES) {
    throw badRequest('META_TOO_LARGE', `"${field}" is larger than ${MAX_META_BYTES} bytes of JSON.`);
  }
  for (const key of Object.keys(meta)) {
    if (key.length === 0 || key.length > 256 || /[\u0000-\u001f]/.test(key)) {
      throw badRequest('INVALID_META_KEY', `Metadata key ${JSON.stringify(key)} must be 1-256 characters without control characters.`);
    }
  }
  return meta;
}

function updateMeta(call: Call, mode: 'replace' | 'merge'): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const body = bodyObject(call.body);
  if (body.meta === undefined) throw badRequest('INVALID_PARAMETER', '"meta" is required.', 'Example: {"meta": {"title": {"en": "Sky"}}}');
  const file = call.ctx.store.updateFileMeta(uuid, checkMeta(body.meta), mode);
  return { action: 'meta_updated', file_uuid: file.uuid, meta: JSON.parse(file.meta) as unknown, file: fileObject(call.url, file) };
}

function setTags(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const body = bodyObject(call.body);
  const lang = typeof body.lang === 'string' && /^[a-z]{2}([_-][A-Za-z]{2})?$/.test(body.lang) ? body.lang : 'en';
  const list = (value: unknown, field: string): string[] => {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw badRequest('INVALID_PARAMETER', `"${field}" must be an array of strings.`);
    return value as string[];
  };
  const existing = list(body.existing_tags, 'existing_tags');
  const added = list(body.new_tags, 'new_tags');
  const { store } = call.ctx;
  const file = store.requireFile(uuid);
  // The tag editor sends the sids it keeps plus the labels it adds; tags named by neither are removed.
  const next = store.transaction(() => {
    const entries = [...existing, ...added].map((value) => store.resolveTag(value, lang, true)).filter((e) => e !== undefined);
    const tags = JSON.parse(file.tags) as FileTags;
    tags[lang] = [...new Map(entries.map((e) => [e.sid, e])).values()];
    if (tags[lang]!.length === 0) delete tags[lang];
    return store.setFileTags(uuid, tags);
  });
  return { action: 'tags_updated', file_uuid: uuid, file: fileObject(call.url, next) };
}

function rename(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const body = bodyObject(call.body);
  if (body.meta !== undefined) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"meta" is not accepted by PATCH /v5/files/{uuid}, which only renames.',
      'Change metadata with PATCH /v5/file/{uuid}/meta (it does not rename); the legacy PATCH /v4/files/{uuid} takes {name, meta}.',
    );
  }
  if (body.name === undefined) throw badRequest('INVALID_PARAMETER', '"name" is required.', 'Example: {"name": "new-name.jpg"}');
  const file = call.ctx.store.renameFile(uuid, checkName(body.name));
  return { action: 'file_renamed', file_uuid: uuid, file: fileObject(call.url, file) };
}

/**
 * The legacy v4 update (reference §1 row 17, §3.9 form 3): `{name, meta?}` renames and merges
 * metadata in one transaction. As caradvice found on the real API, `name` is required and always
 * goes through the uniqueness check, so sending the current name is a 409 E801_ALREADY_EXIST: a
 * metadata change through this route needs a new name. The route declares FILE_RENAME; sending
 * `meta` also needs FILE_META_CHANGE, checked here with the same 403 the route layer gives.
 */
function legacyUpdate(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const body = bodyObject(call.body);
  if (body.meta !== undefined && !call.principal?.permissions.has('FILE_META_CHANGE')) {
    throw new ApiError(
      403,
      'PERMISSION_DENIED',
      'This key lacks the FILE_META_CHANGE permission needed for PATCH /files/:uuid with "meta".',
      'Grant the permission to the key, or leave "meta" out and change it with PUT /v4/file/{uuid}/meta by a key that has it.',
    );
  }
  if (body.name === undefined) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"name" is required by PATCH /v4/files/{uuid}, also when only "meta" changes; the current name is refused (409 E801_ALREADY_EXIST), as on the real API.',
      'Change metadata alone with PUT /v4/file/{uuid}/meta or PATCH /v5/file/{uuid}/meta.',
    );
  }
  const name = checkName(body.name);
  const meta = body.meta === undefined ? undefined : checkMeta(body.meta);
  const { store } = call.ctx;
  const file = store.transaction(() => {
    let next = store.renameFile(uuid, name);
    if (meta !== undefined) next = store.updateFileMeta(uuid, meta, 'merge');
    return next;
  });
  // The documented reply of this route (reference §3.7), plus the merged metadata when it changed.
  return {
    action: 'file_renamed',
    file_uuid: uuid,
    ...(meta === undefined ? {} : { meta: JSON.parse(file.meta) as unknown }),
    file: fileObject(call.url, file),
  };
}

function moveOne(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const dest = call.ctx.store.requireFolder(uuidParam(call.params.folder_uuid, 'folder_uuid'));
  const files = call.ctx.store.moveFiles([uuid], dest);
  return { action: 'files_moved', files_uuids: [uuid], new_folder_uuid: dest.uuid, files: files.map((f) => fileObject(call.url, f)) };
}

function moveMany(call: Call): Record<string, unknown> {
  const body = bodyObject(call.body);
  const uuids = uuidList(body.files_uuids, 'files_uuids');
  const { store } = call.ctx;
  const dest = typeof body.new_folder_uuid === 'string'
    ? store.requireFolder(uuidParam(body.new_folder_uuid, 'new_folder_uuid'))
    : store.ensureFolder(normalizeFolderPath(body.new_folder_name, 'new_folder_name'));
  const files = store.moveFiles(uuids, dest);
  return { action: 'files_moved', files_uuids: uuids, new_folder_uuid: dest.uuid, files: files.map((f) => fileObject(call.url, f)) };
}

async function deleteOne(call: Call): Promise<Record<string, unknown>> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  call.ctx.store.requireFile(uuid);
  call.ctx.store.deleteFiles([uuid]);
  await call.ctx.reclaimBlobs();
  return { action: 'file_deleted', file_uuid: uuid };
}

async function deleteMany(call: Call): Promise<Record<string, unknown>> {
  const body = bodyObject(call.body);
  const uuids = uuidList(body.files_uuids ?? body.file_uuids, 'files_uuids');
  const { deleted, missing } = call.ctx.store.deleteFiles(uuids);
  await call.ctx.reclaimBlobs();
  return { action: 'files_deleted', files_uuids: deleted.map((f) => f.uuid), not_found_uuids: missing };
}

/**
 * File details are the hottest read (clients poll them), so the serialized reply is kept until
 * the database changes (see store/data-memo.ts): it depends only on the rows (the file, its folder,
 * the visibility of the folders above) and on the URL base and API version, which key it. For an
 * API key without a rate limit the whole reply is prepared too (http/prepared-replies.ts): a SASS
 * key's answer also depends on the caller's address, the time and its quotas.
 */
function details(call: Call): undefined {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const { url, ctx } = call;
  const memo = dataMemo(ctx.store.db);
  const memoKey = `details:${url.version}:${url.base}:${uuid}`;
  let body = memo?.get(memoKey) as string | undefined;
  if (body === undefined) {
    body = successJson({ file: fileObject(url, ctx.store.requireFile(uuid)) });
    memo?.set(memoKey, body);
  }
  call.reply.type('application/json; charset=utf-8').send(body);
  if (call.principal?.kind === 'api-key' && ctx.limits.requestsPerMinutePerKey === 0) prepareReply(call, memo, body);
  return undefined;
}

/** The permalink answers with a redirect to the CDN URL, which survives renames and moves. */
function permalink(call: Call): undefined {
  const file = call.ctx.store.requireFile(uuidParam(call.params.uuid, 'uuid'));
  const target = fileObject(call.url, file).url as { cdn: string };
  // Said outright so that a HEAD, which fastify leaves without a length, matches the GET.
  call.reply.header('cache-control', 'no-cache').header('content-length', '0').redirect(target.cdn, 302);
  return undefined;
}

export const fileRoutes: RouteSpec[] = [
  { method: 'GET', path: '/files', versions: ['v4', 'v5'], permissions: ['OBJECTS_LIST'], summary: 'List and search files', handler: listFiles },
  { method: 'GET', path: '/files/stats', versions: ['v5'], permissions: ['OBJECTS_LIST'], summary: 'Count and size of a search', handler: fileStats },
  { method: 'GET', path: '/files/:uuid', versions: ['v4', 'v5'], permissions: ['OBJECTS_FETCH'], summary: 'File details', handler: details },
  { method: 'GET', path: '/file/:uuid', versions: ['v5'], permissions: ['OBJECTS_FETCH'], summary: 'File details (singular path)', handler: details },
  {
    method: 'POST', path: '/files', versions: ['v4', 'v5'], permissions: ['FILE_UPLOAD'], summary: 'Upload files (multipart, URLs or base64)',
    streamBody: true, bodyLimit: (ctx) => ctx.limits.maxJsonUploadBytes, handler: upload,
  },
  {
    // The older docs' upload path, and the only one the PyPI `filerobot` client (and Scaleflex's
    // python uploader, with `dir=`) posts to: the same upload as POST /files.
    method: 'POST', path: '/upload', versions: ['v4'], permissions: ['FILE_UPLOAD'], summary: 'Upload files (legacy path; same as POST /files)',
    streamBody: true, bodyLimit: (ctx) => ctx.limits.maxJsonUploadBytes, handler: upload,
  },
  { method: 'PUT', path: '/files', versions: ['v4', 'v5'], permissions: ['FILE_UPLOAD'], summary: 'Streamed upload of one large file', streamBody: true, handler: streamUpload },
  { method: 'PATCH', path: '/files/:uuid', versions: ['v5'], permissions: ['FILE_RENAME'], summary: 'Rename a file', handler: rename },
  {
    method: 'PATCH', path: '/files/:uuid', versions: ['v4'], permissions: ['FILE_RENAME'],
    summary: 'Rename a file, and merge metadata (legacy v4 {name, meta}; "meta" also needs FILE_META_CHANGE)', handler: legacyUpdate,
  },
  { method: 'PUT', path: '/files/:uuid/folders/:folder_uuid', versions: ['v4', 'v5'], permissions: ['FILE_MOVE'], summary: 'Move one file', handler: moveOne },
  { method: 'POST', path: '/files/move', versions: ['v4', 'v5'], permissions: ['FILE_MOVE'], summary: 'Move many files', handler: moveMany },
  { method: 'DELETE', path: '/files/:uuid', versions: ['v4', 'v5'], permissions: ['FILE_DELETE'], summary: 'Delete one file', handler: deleteOne },
  { method: 'DELETE', path: '/files', versions: ['v4', 'v5'], permissions: ['FILE_DELETE', 'OBJECTS_FETCH'], summary: 'Delete many files', handler: deleteMany },
  { method: 'PUT', path: '/file/:uuid/meta', versions: ['v4', 'v5'], permissions: ['FILE_META_CHANGE'], summary: 'Update file metadata (merge)', handler: (c) => updateMeta(c, 'merge') },
  { method: 'PATCH', path: '/file/:uuid/meta', versions: ['v5'], permissions: ['FILE_META_CHANGE'], summary: 'Update file metadata (merge)', handler: (c) => updateMeta(c, 'merge') },
  { method: 'PUT', path: '/file/:uuid/tags', versions: ['v5'], permissions: ['FILE_META_CHANGE'], summary: 'Set the tags of a file', handler: setTags },
  { method: 'GET', path: '/get/:uuid', versions: ['v4', 'v5'], permissions: 'public', summary: 'Permalink: redirect to the CDN URL', handler: permalink },
];

