import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';

/** dist/static: what scripts/build-browser.mjs wrote (our bundles and stylesheet). From src/ (tests) or dist/ alike. */
export const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'static');

const require = createRequire(import.meta.url);

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * A static file as served: its bytes, compressed once (the flow editor is 430 KB, 130 KB in
 * brotli), and a validator, so that a page view revalidates its scripts with a 304 instead of
 * downloading them again.
 */
interface Prepared {
  etag: string;
  identity: Buffer;
  br: Buffer;
  gzip: Buffer;
}

/** Which encoding the client takes: brotli, then gzip, by its Accept-Encoding (q=0 refuses one). */
export function pickEncoding(accept: string | undefined): 'br' | 'gzip' | undefined {
  const offered = new Map<string, number>();
  for (const part of (accept ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    offered.set(name, q ? Number(q.slice(2)) || 0 : 1);
  }
  const takes = (name: string): boolean => (offered.get(name) ?? offered.get('*') ?? 0) > 0;
  if (takes('br')) return 'br';
  if (takes('gzip')) return 'gzip';
  return undefined;
}

/** The files under /ui/static: only those named here or built into dist/static (no path from the URL reaches the disk). */
export function registerStatic(ui: FastifyInstance): void {
  const vendor: Record<string, string> = {
    'htmx.min.js': require.resolve('htmx.org/dist/htmx.min.js'),
  };
  // Keyed by path and the file's bytes' hash: a rebuild (npm run build while serving) is picked up.
  const prepared = new Map<string, Prepared>();
  const prepare = (path: string, body: Buffer): Prepared => {
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    const known = prepared.get(path);
    if (known?.etag === etag) return known;
    const entry: Prepared = {
      etag,
      identity: body,
      br: brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length } }),
      gzip: gzipSync(body, { level: 9 }),
    };
    prepared.set(path, entry);
    return entry;
  };
  ui.get('/static/:file', async (request, reply) => {
    const { file } = request.params as { file: string };
    const ext = file.slice(file.lastIndexOf('.'));
    if (!/^[a-z0-9][a-z0-9._-]*$/i.test(file) || !TYPES[ext])
      return reply.code(404).type('text/plain').send('not found');
    const path = vendor[file] ?? join(STATIC_DIR, file);
    const body = await readFile(path).catch(() => undefined);
    if (!body)
      return reply
        .code(404)
        .type('text/plain')
        .send(
          vendor[file] || !file.endsWith('.js') && !file.endsWith('.css')
            ? 'not found'
            : `not found: ${file} is built by "npm run build" (packages/console/scripts/build-browser.mjs).`,
        );
    const entry = prepare(path, body);
    const encoding = pickEncoding(request.headers['accept-encoding']);
    // Each encoding is its own representation, with its own tag (a shared cache keeps them apart).
    const etag = encoding ? `${entry.etag.slice(0, -1)}-${encoding}"` : entry.etag;
    reply.header('Cache-Control', 'no-cache').header('ETag', etag).header('Vary', 'Accept-Encoding').type(TYPES[ext]!);
    const validators = request.headers['if-none-match'];
    if (validators && validators.split(',').some((v) => v.trim().replace(/^W\//, '') === etag)) return reply.code(304).send();
    if (!encoding) return reply.send(entry.identity);
    return reply.header('Content-Encoding', encoding).send(entry[encoding]);
  });
}
