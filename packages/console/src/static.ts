import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** dist/static: what scripts/build-browser.mjs wrote (our bundles and stylesheet). From src/ (tests) or dist/ alike. */
export const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'static');

const require = createRequire(import.meta.url);

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** The files under /ui/static: only those named here or built into dist/static (no path from the URL reaches the disk). */
export function registerStatic(ui: FastifyInstance): void {
  const vendor: Record<string, string> = {
    'htmx.min.js': require.resolve('htmx.org/dist/htmx.min.js'),
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
    return reply.header('Cache-Control', 'no-cache').type(TYPES[ext]!).send(body);
  });
}
