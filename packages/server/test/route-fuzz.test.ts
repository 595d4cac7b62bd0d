/**
 * Bad-input fuzz over the whole route table: for every route, a few seeded random requests with odd
 * path parameters ('..', encoded slashes, NUL, huge strings, real ids of the wrong kind), odd query
 * values, random JSON and non-JSON bodies and mismatched Content-Types. Each must get an answer
 * below 500; the server must keep answering; and a refused request (4xx) must leave the store as
 * it was: every SQLite table's content and the files under blobs/, tmp/ and resumable/.
 *
 * FUZZ_SEED and FUZZ_RUNS (cases per route) override the fixed seed and count for a longer hunt.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type RouteSpec } from '../src/index.js';
import { urlsOf } from '../src/http/route.js';
import { startHarness, type Harness } from './harness.js';
import { rawRequest } from './raw-http.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20260310);
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 6);

let h: Harness;
let db: Database.Database;
/** Real values for each path parameter name, so some requests reach deep into the handlers. */
const pool: Record<string, string[]> = {};
const add = (name: string, value: unknown): void => {
  if (typeof value === 'string' && value) (pool[name] ??= []).push(value);
};

beforeAll(async () => {
  h = await startHarness({
    allowPrivateWebhooks: true,
    // URL imports and webhooks never leave the machine: every name resolves to loopback, which
    // imports refuse at once.
    resolveHost: async () => [{ address: '127.0.0.1', family: 4 }],
    limits: { urlFetchTimeoutMs: 3000 },
  });
  db = new Database(join(h.dir, 'metadata.sqlite'), { readonly: true, fileMustExist: true });
  await seed();
});
afterAll(async () => {
  db?.close();
  await h?.close();
});

async function ok(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await h.call(method, path, { body });
  expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
  return r.body;
}

/** One of each kind of thing the routes act on. */
async function seed(): Promise<void> {
  const png = await sharp({ create: { width: 24, height: 16, channels: 3, background: '#3366aa' } }).png().toBuffer();
  const pic = (await h.upload('/seed', 'pic.png', png, { meta: '{"title":"t"}', tags: '["sea"]' })).file as Record<string, unknown>;
  const doc = (await h.upload('/seed/sub', 'doc.txt', 'some text')).file as Record<string, unknown>;
  for (const file of [pic, doc]) add('uuid', file.uuid);
  const folders = (await ok('GET', '/folders?folder=/seed')).folders as Array<{ uuid: string }>;
  const seedFolder = (await ok('GET', '/folders?folder=/')).folders as Array<{ uuid: string; name: string }>;
  for (const f of [...folders, ...seedFolder]) {
    add('uuid', f.uuid);
    add('folder_uuid', f.uuid);
    add('dest_uuid', f.uuid);
  }
  await ok('PUT', `/file/${String(pic.uuid)}/product`, { product: { ref: 'REF-1', position: 1 } }).catch(() => undefined);
  add('ref', 'REF-1');
  const label = (await ok('POST', '/labels', { label: { name: 'Fuzz' } })).label as { sid?: string; uuid?: string };
  add('uuid', label.uuid);
  const collection = (await ok('POST', '/collections', { title: 'Fuzz', query: '#sea' })).collection as { uuid: string };
  add('uuid', collection.uuid);
  const share = (await ok('POST', '/shares', { title: 'Fuzz', items: [{ type: 'file_uuid', identifiers: [pic.uuid] }] })).share as Record<string, unknown>;
  add('uuid', share.uuid);
  add('puid', share.puid);
  add('slug', share.slug);
  const key = (await ok('POST', '/access/keys', { description: 'fuzz', permissions: ['OBJECTS_LIST'] })).key as { uuid: string };
  add('uuid', key.uuid);
  const template = (await ok('POST', '/access/templates', { name: 'fuzz', permissions: ['FILE_UPLOAD'], dir_scope: '/seed/*' })).template as Record<string, unknown>;
  add('id', template.id ?? template.uuid);
  add('templateId', template.id ?? template.uuid);
  // Paused: a webhook that records nothing cannot write in the background while a refused request is checked.
  const webhook = (await ok('POST', '/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['*'], active: false })).webhook as { uuid: string };
  add('uuid', webhook.uuid);
  const approval = (await ok('POST', '/approvals', { files_uuids: [pic.uuid], approvers: ['a@example.com'] })).approval as { uuid: string };
  add('uuid', approval.uuid);
  const airbox = (await ok('POST', '/airboxes', { title: 'Fuzz box', folder: '/seed/box' })).airbox as Record<string, unknown>;
  add('uuid', airbox.uuid);
  add('puid', airbox.puid);
  add('title', 'fuzz-box');
  const bulk = await ok('PUT', '/bulk/prepare', {
    bulk: { target: { files_uuids: [pic.uuid] }, changes: [{ type: 'meta.replace', key: 'k', value: { en: 'v' } }] },
  });
  add('bulk_uuid', bulk.bulk_uuid);
  const tus = await fetch(`${h.server.connectorUrl}/files`, {
    method: 'POST',
    headers: {
      'tus-resumable': '1.0.0',
      'x-filerobot-key': h.server.rootKey,
      'x-filerobot-token': h.server.token,
      'upload-length': '100',
      'upload-metadata': `filename ${Buffer.from('t.bin').toString('base64')}`,
    },
  });
  expect(tus.status).toBe(201);
  add('id', tus.headers.get('location')!.split('/').pop());
  add('key', 'k');
  add('value', 'v');
  add('job', 'job-1');
  add('delivery_uuid', '6f1c1b1e-0000-4000-8000-000000000000');
}

// ---- what the store holds --------------------------------------------------------------------

async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string, prefix: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full, `${prefix}${entry.name}/`);
      else out.push(`${prefix}${entry.name}:${(await stat(full).catch(() => undefined))?.size ?? 'gone'}`);
    }
  };
  await walk(join(h.dir, dir), `${dir}/`);
  return out.sort();
}

/** A hash of every table's rows and of the stored files: any write shows. */
async function fingerprint(): Promise<string> {
  const hash = createHash('sha1');
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all() as string[];
  for (const table of tables) {
    hash.update(table);
    hash.update(JSON.stringify(db.prepare(`SELECT * FROM "${table}"`).raw().all()));
  }
  for (const dir of ['blobs', 'tmp', 'resumable']) hash.update((await listing(dir)).join('\n'));
  return hash.digest('hex');
}

// ---- random requests -------------------------------------------------------------------------

const printable = (max: number): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 32, max: 126 }), { maxLength: max }).map((codes) => String.fromCharCode(...codes));

/** Path segments that have broken routers and handlers: traversal, encoded separators, NUL, huge. */
const ODD_SEGMENTS = [
  '..', '.', '%2e%2e', '%2E%2E%2F%2E%2E', '%2F', 'a%2Fb', '..%2F..%2Fetc%2Fpasswd', '%5C..%5C', '%00', 'a%00b',
  '%', '%ZZ', '%C0%AF', '%E2%80%AE', '%F0%9F%98%80', '-1', '0', '1e309', 'NaN', 'null', 'undefined', '[]', '%7B%7D',
  '6f1c1b1e-0000-4000-8000-000000000000', 'ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ', '__proto__', 'constructor',
];

function segment(name: string): fc.Arbitrary<string> {
  const real = Object.values(pool).flat();
  const own = pool[name] ?? [];
  return fc.oneof(
    { weight: 5, arbitrary: own.length ? fc.constantFrom(...own) : fc.constantFrom(...ODD_SEGMENTS) },
    { weight: 1, arbitrary: real.length ? fc.constantFrom(...real) : fc.constant('x') },
    { weight: 3, arbitrary: fc.constantFrom(...ODD_SEGMENTS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 24 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => 'x'.repeat(n)) },
  );
}

/** `/cdn/*` and `/store/*` tails: a real file's path, traversal, and garbage. */
const wildcard = fc.oneof(
  fc.constantFrom('seed/pic.png', 'seed/sub/doc.txt', '../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', '%2e%2e/%2e%2e/x', 'seed/%00.png', 'x'.repeat(3000), ''),
  fc.array(fc.constantFrom(...ODD_SEGMENTS, 'seed', 'pic.png'), { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/')),
);

const QUERY_NAMES = [
  'folder', 'dir', 'limit', 'offset', 'q', 'sort', 'order', 'recursive', 'overwrite', 'filename', 'name', 'format', 'lang',
  'collection_uuid', 'filter_by', 'mime', 'meta_key', 'match', 'search', 'state', 'status', 'approver', 'requester',
  'applies_to', 'where', 'file_uuid', 'f', 'js', 'vh', 'w', 'h', 'func', 'gravity', 'dpr', 'bg_colour', 'r', 'org_if_sml',
  'greyscale', 'password', 'token', 'download', 'version', 'expires',
];
const ODD_VALUES = [
  '', '..', '/../..', '/%00', '-1', '0', '99999999999999999999', '1e309', 'NaN', 'true', 'yes', '[]', '{"a":1}', '*', '%',
  '\u0000', '\u202e', '😀', 'a,b,,c', 'x'.repeat(5000), '6f1c1b1e-0000-4000-8000-000000000000', '/seed', 'seed/pic.png',
];
const queryValue = fc.oneof(fc.constantFrom(...ODD_VALUES), fc.string({ maxLength: 30 }), fc.integer().map(String));
const query = fc
  .array(fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...QUERY_NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }), queryValue), { maxLength: 5 })
  .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));

const BODY_KEYS = [
  'name', 'folder', 'folders', 'files', 'files_uuids', 'file_uuids', 'folders_uuids', 'uuids', 'meta', 'tags', 'new_tags', 'existing_tags',
  'lang', 'labels', 'label', 'title', 'description', 'url', 'events', 'secret', 'basic_auth', 'active', 'expires_at', 'starts_at', 'expires_tz',
  'max_file_size', 'operations', 'save_as', 'files_urls', 'data', 'postactions', 'auth', 'items', 'query', 'type', 'product', 'ref', 'position',
  'permissions', 'dir_scope', 'visibility', 'bulk', 'approvers', 'due_date', 'vote', 'comment', 'new_folder_name', 'new_folder_uuid', 'options',
  'fields', 'rule', 'path', 'value', 'key', '__proto__', 'constructor',
];
/** JSON values for body fields: odd scalars, the store's real ids, and nested shapes of both. */
function fieldValue(): fc.Arbitrary<unknown> {
  const real = Object.values(pool).flat();
  const leaf = fc.oneof(
    fc.constantFrom(...ODD_VALUES, null, true, false, 0, -1, 1e308, Number.MAX_SAFE_INTEGER),
    fc.constantFrom(...real),
    fc.string({ maxLength: 20 }),
    fc.integer(),
    fc.double(),
  );
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    { weight: 2, arbitrary: fc.array(leaf, { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.dictionary(fc.constantFrom(...BODY_KEYS, 'en', 'fr', 'x'), leaf, { maxKeys: 3 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );
}

const BOUNDARY = 'fuzzBoundary';
const multipart = fc.oneof(
  fc.constant(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\n\r\nabc\r\n--${BOUNDARY}--\r\n`),
  fc.constant(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\n\r\nab`),
  fc.constant(`--${BOUNDARY}\r\ngarbage\r\n\r\nx\r\n--${BOUNDARY}--\r\n`),
  fc.tuple(fc.constantFrom('meta', 'tags', 'info', 'product', 'meta[file]'), printable(60)).map(
    ([name, value]) =>
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="../${value.slice(0, 10)}"\r\n\r\nabc\r\n--${BOUNDARY}--\r\n`,
  ),
);

function body(): fc.Arbitrary<string | Buffer | undefined> {
  const knownShape = fc.dictionary(fc.constantFrom(...BODY_KEYS), fieldValue(), { maxKeys: 5 });
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 8, arbitrary: knownShape.map((o) => JSON.stringify(o)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '{', '{"a":', '[]', 'null', '""', '0', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}',
        'not json', '\u0000', '1e309', '{"a":1}{"b":2}', '\uFEFF{}', '{"meta":' + '['.repeat(5000) + ']'.repeat(5000) + '}',
      ),
    },
    { weight: 1, arbitrary: multipart },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
  );
}

const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain',
  'multipart/form-data', `multipart/form-data; boundary=${BOUNDARY}`, `multipart/form-data; boundary="${BOUNDARY}"`,
  'multipart/mixed; boundary=x', 'application/octet-stream', 'application/offset+octet-stream', 'application/x-www-form-urlencoded',
  'image/png', 'garbage', ';;;', 'application/json, text/plain', 'APPLICATION/JSON',
];

function headers(spec: RouteSpec): fc.Arbitrary<Record<string, string>> {
  const tokenValue = fc.oneof(fc.constant(h.server.token), printable(20));
  const numeric = fc.constantFrom('0', '1', '-1', 'abc', '1e3', '99999999999999999999', '', ' 5');
  const extras = fc.record(
    {
      'upload-offset': numeric,
      'upload-length': numeric,
      'upload-defer-length': fc.constantFrom('1', '0', 'x'),
      'upload-metadata': fc.oneof(printable(40), fc.constantFrom('filename', 'filename !!!', `filename ${Buffer.from('../x').toString('base64')}`, 'a b,a c')),
      'tus-resumable': fc.constantFrom('1.0.0', '0.2.2', 'x'),
      'x-filerobot-token': tokenValue,
      'x-filerobot-airbox-puid': fc.oneof(fc.constantFrom(...(pool.puid ?? ['x'])), printable(30)),
      range: fc.constantFrom('bytes=0-10', 'bytes=-5', 'bytes=abc', 'bytes=10-2', 'bytes=0-99999999999', 'bytes=0-1,3-4', 'items=0-1'),
      'if-none-match': printable(30),
      'if-modified-since': fc.constantFrom('yesterday', 'Wed, 21 Oct 2015 07:28:00 GMT', ''),
      'x-forwarded-for': fc.constantFrom('198.51.100.1', 'not-an-ip', '::1, 10.0.0.1', ''),
      accept: fc.constantFrom('*/*', 'image/webp', 'text/html', 'garbage'),
    },
    { requiredKeys: [] },
  );
  const key = fc.oneof(
    { weight: 20, arbitrary: fc.constant(h.server.rootKey) },
    { weight: 1, arbitrary: fc.constantFrom('', 'SASS__garbage', 'nope', 'SASS__' + 'x'.repeat(500)) },
  );
  return fc
    .record({
      type: fc.oneof(
        { weight: 6, arbitrary: fc.constant('application/json') },
        { weight: 1, arbitrary: fc.constant(undefined) },
        { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      ),
      extras,
      key,
    })
    .map(({ type, extras: more, key: secret }) => {
      const out: Record<string, string> = { ...more };
      if (spec.connector) out['x-filerobot-token'] ??= h.server.token;
      if (secret) out['x-filerobot-key'] = secret;
      if (type) out['content-type'] = type;
      return out;
    });
}

interface FuzzCase {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
}

function cases(spec: RouteSpec): fc.Arbitrary<FuzzCase> {
  const patterns = urlsOf(spec);
  const names = [...new Set(patterns.flatMap((p) => [...p.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!)))].filter((n) => n !== 'token');
  return fc
    .record({
      pattern: fc.constantFrom(...patterns),
      params: fc.record(Object.fromEntries(names.map((n) => [n, segment(n)])) as Record<string, fc.Arbitrary<string>>),
      tail: wildcard,
      token: fc.oneof({ weight: 30, arbitrary: fc.constant(h.server.token) }, { weight: 1, arbitrary: fc.constantFrom('other', '..', '%2F') }),
      query,
      headers: headers(spec),
      body: body(),
    })
    .map(({ pattern, params, tail, token, query: q, headers: hs, body: b }) => {
      const path = pattern
        .replace(':token', token)
        .replace(/:([A-Za-z_]+)/g, (_, name: string) => params[name] ?? 'x')
        .replace('*', tail);
      return { method: spec.method, url: `${h.server.url}${path}${q ? `?${q}` : ''}`, headers: hs, body: b };
    });
}

async function alive(): Promise<void> {
  const r = await h.call('GET', '/access/key');
  expect(r.status, 'the server stopped answering').toBe(200);
}

/** A refused request's cleanup (a temp file) may trail its reply by a moment; a write stays. */
async function unchangedSince(before: string, what: string): Promise<void> {
  let now = await fingerprint();
  for (let i = 0; i < 40 && now !== before; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    now = await fingerprint();
  }
  expect(now, `${what} was refused but changed the store`).toBe(before);
}

async function run(c: FuzzCase): Promise<void> {
  const what = `${c.method} ${c.url.slice(0, 300)} ${JSON.stringify(c.headers).slice(0, 300)} body=${JSON.stringify(String(c.body ?? '')).slice(0, 200)}`;
  const before = await fingerprint();
  const reply = await rawRequest({ method: c.method, url: c.url, headers: c.headers, body: c.body });
  expect(reply, `${what}: no reply`).not.toBe('closed');
  if (reply === 'closed') return;
  expect(reply.status, `${what}: ${JSON.stringify(reply.body).slice(0, 500)}`).toBeLessThan(500);
  if (reply.status >= 400) {
    if (c.method !== 'HEAD') expect(reply.body, `${what}: a refusal names its reason`).toMatchObject({ status: 'error', code: expect.any(String) });
    await unchangedSince(before, what);
  }
  await alive();
}

describe('route-table fuzz', () => {
  it('covers every route of the table', () => {
    expect(ROUTES.length).toBeGreaterThan(100);
  });

  ROUTES.forEach((spec, index) => {
    it(`${spec.method} ${spec.path}: no 5xx, the server answers, a refusal changes nothing`, async () => {
      await fc.assert(fc.asyncProperty(cases(spec), run), { seed: SEED + index, numRuns: RUNS_PER_ROUTE, endOnFailure: true });
    });
  });
});

describe('what the fuzz found, as plain requests', () => {
  it('a path with a malformed percent-encoding is a 400 INVALID_PATH in the error envelope (was fastify\'s own body)', async () => {
    for (const path of ['/files/%ZZ', '/files/%', '/folders/%E0%A4%A']) {
      const r = await h.call('GET', path);
      expect([r.status, r.body.status, r.body.code], path).toEqual([400, 'error', 'INVALID_PATH']);
      expect(String(r.body.hint)).toContain('encodeURIComponent');
    }
  });

  it('a path segment past 2048 characters is a 414 PATH_SEGMENT_TOO_LONG in the error envelope, without echoing it', async () => {
    const r = await h.call('GET', `/files/${'x'.repeat(3000)}`);
    expect([r.status, r.body.status, r.body.code]).toEqual([414, 'error', 'PATH_SEGMENT_TOO_LONG']);
    expect(String(r.body.msg)).not.toContain('xxxxxxxx');
  });

  it('the store fingerprint sees a write, so an unchanged one means nothing was written', async () => {
    const uuid = ((await h.upload('/check', 'check.txt', 'check')).file as { uuid: string }).uuid;
    const before = await fingerprint();
    const r = await h.call('PATCH', `/file/${uuid}/meta`, { body: { meta: { fingerprint_check: String(Date.now()) } } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(await fingerprint()).not.toBe(before);
  });
});
