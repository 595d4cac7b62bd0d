import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { prepareReply } from '../http/prepared-replies.js';
import type { Call, RouteSpec } from '../http/route.js';
import { notFound } from '../errors.js';
import { uuidParam } from '../api/params.js';
import type { FileWithFolder } from '../store/rows.js';
import { splitPath } from '../store/names.js';
import { budgetClient } from './render-budget.js';
import { dataMemo } from '../store/data-memo.js';
import { bytesInMemory, negotiatesFormat, parseTransformParams, type TransformParams } from './transform.js';

interface Body {
  path: string;
  size: number;
  type: string;
  etag: string;
  /** The whole body in memory (a small cached render): sent as it is, no file opened. */
  bytes?: Buffer;
}

/** Parses a single `bytes=` range; multiple ranges are answered with the whole body, as RFC 9110 allows. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, from, to] = match;
  if (from === '' && to === '') return undefined;
  let start: number;
  let end: number;
  if (from === '') {
    const suffix = Number(to);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(from);
    end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const value = candidate.trim().replace(/^W\//, '');
    return value === '*' || value === etag;
  });
}

/** Sends a file body with validators, ranges and caching headers; HEAD gets the headers only. */
function sendBody(call: Call, file: FileWithFolder, body: Body, disposition?: 'attachment'): undefined {
  const { req, reply } = call;
  const lastModified = new Date(file.modified_at);
  lastModified.setMilliseconds(0);
  reply.header('etag', body.etag);
  reply.header('last-modified', lastModified.toUTCString());
  reply.header('accept-ranges', 'bytes');
  reply.header('content-type', body.type);
  // The type is the uploader's word: never let a browser sniff another one, nor run a stored page
  // or script with this origin's rights (an HTML or SVG upload opened from its public URL).
  reply.header('x-content-type-options', 'nosniff');
  reply.header('content-security-policy', 'sandbox');
  const versioned = typeof call.query.vh === 'string' && file.sha1.startsWith(call.query.vh);
  // A URL carrying the current version hash never changes meaning; other URLs must revalidate.
  reply.header(
    'cache-control',
    versioned ? 'public, max-age=31536000, immutable' : 'public, max-age=0, must-revalidate',
  );
  if (disposition) {
    reply.header(
      'content-disposition',
      `attachment; filename="${file.name.replace(/["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    );
  }
  const ifNoneMatch = req.headers['if-none-match'];
  const ifModifiedSince = req.headers['if-modified-since'];
  if (
    etagMatches(ifNoneMatch, body.etag) ||
    (!ifNoneMatch && ifModifiedSince && Date.parse(ifModifiedSince) >= lastModified.getTime())
  ) {
    reply.code(304).send();
    return undefined;
  }
  const ifRange = req.headers['if-range'];
  const rangeAllowed = !ifRange || ifRange === body.etag;
  const range = rangeAllowed ? parseRange(req.headers.range, body.size) : undefined;
  if (range === 'unsatisfiable') {
    reply
      .code(416)
      .header('content-range', `bytes */${body.size}`)
      .header('content-type', 'application/json; charset=utf-8');
    reply.send({
      status: 'error',
      code: 'RANGE_NOT_SATISFIABLE',
      msg: `The file has ${body.size} bytes; the requested range is outside it.`,
      hint: '',
    });
    return undefined;
  }
  const length = range ? range.end - range.start + 1 : body.size;
  if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${body.size}`);
  reply.header('content-length', String(length));
  if (req.method === 'HEAD' || length === 0) {
    reply.send();
    return undefined;
  }
  if (body.bytes) {
    reply.send(range ? body.bytes.subarray(range.start, range.end + 1) : body.bytes);
    return undefined;
  }
  reply.send(createReadStream(body.path, range));
  return undefined;
}

function fileAtPath(call: Call, memo: Map<string, unknown> | undefined, rawPath: string): FileWithFolder {
  // Remembered until the database changes, so a hit costs no lookup, and a file deleted, replaced,
  // renamed or moved is seen by the very next request (see store/data-memo.ts).
  const memoKey = `cdn-path:${rawPath}`;
  let file = memo?.get(memoKey) as FileWithFolder | null | undefined;
  if (file === undefined) {
    file = lookUpPath(call, rawPath) ?? null;
    memo?.set(memoKey, file);
  }
  if (file) return file;
  const segments = splitPath(rawPath);
  const name = segments.pop();
  throw notFound(
    'FILE_NOT_FOUND',
    `No file is published at /${segments.join('/')}${segments.length ? '/' : ''}${name ?? ''}.`,
    'The CDN path is the folder path plus the file name; it changes when a file is renamed or moved.',
  );
}

function lookUpPath(call: Call, rawPath: string): FileWithFolder | undefined {
  const segments = splitPath(rawPath);
  const name = segments.pop();
  if (!name) return undefined;
  const folder = call.ctx.store.folderByPath('/' + segments.join('/'));
  return (folder && call.ctx.store.fileByName(folder.id, name)) || undefined;
}

/** A render's ETag suffix: the same for the same params and output type, whatever the file. */
const variants = new Map<string, string>();
const MAX_VARIANTS = 10_000;

function variantOf(params: TransformParams, type: string): string {
  const text = `${JSON.stringify(params)}${type}`;
  let variant = variants.get(text);
  if (variant === undefined) {
    variant = createHash('sha1').update(text).digest('hex').slice(0, 12);
    if (variants.size >= MAX_VARIANTS) variants.clear();
    variants.set(text, variant);
  }
  return variant;
}

async function deliver(call: Call, withTransforms: boolean): Promise<undefined> {
  // Taken before anything is read: a reply prepared from what this request read goes into this
  // memo, which is already discarded if the database changed meanwhile.
  const memo = dataMemo(call.ctx.store.db);
  const file = fileAtPath(call, memo, call.params['*'] ?? '');
  const original: Body = {
    path: call.ctx.blobs.pathOf(file.blob_id),
    size: file.size,
    type: file.type,
    etag: `"${file.sha1}"`,
  };
  const params = withTransforms ? parseTransformParams(call.query) : undefined;
  if (!params) return sendBody(call, file, original);
  const accept = call.req.headers.accept;
  // Renders are budgeted per caller: the CDN is public, so the address is all there is to go by.
  // Only a render is budgeted, so the address is worked out only then.
  const client = (): string => budgetClient(call.ctx.network.clientAddress(call.req));
  const out = await call.ctx.transforms.get(file.blob_id, original.path, file.type, params, accept, client);
  const variant = variantOf(params, out.type);
  if (negotiatesFormat(params)) call.reply.header('vary', 'Accept');
  const bytes = bytesInMemory(out);
  sendBody(call, file, { path: out.path, size: out.size, type: out.type, etag: `"${file.sha1}-${variant}"`, bytes });
  // Nothing in a hit's reply depends on the caller: prepared for everyone, while the render stays in memory.
  const renderKey = out.key;
  if (bytes && renderKey) prepareReply(call, memo, bytes, () => call.ctx.transforms.hitInMemory(renderKey, bytes));
  return undefined;
}

export const cdnRoutes: RouteSpec[] = [
  {
    method: 'GET',
    path: '/cdn/*',
    versions: [],
    permissions: 'public',
    summary: 'CDN delivery with Cloudimage-style transforms',
    handler: (call) => deliver(call, true),
  },
  {
    method: 'GET',
    path: '/store/*',
    versions: [],
    permissions: 'public',
    summary: 'Origin store delivery (no transforms)',
    handler: (call) => deliver(call, false),
  },
  {
    method: 'GET',
    path: '/get/:uuid/download',
    versions: ['v4', 'v5'],
    permissions: 'public',
    summary: 'Download the original bytes',
    handler: (call) => {
      const file = call.ctx.store.requireFile(uuidParam(call.params.uuid, 'uuid'));
      return sendBody(
        call,
        file,
        {
          path: call.ctx.blobs.pathOf(file.blob_id),
          size: file.size,
          type: file.type,
          etag: `"${file.sha1}"`,
        },
        'attachment',
      );
    },
  },
];
