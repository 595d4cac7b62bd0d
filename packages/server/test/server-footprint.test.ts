/**
 * The server's memory at rest (issue 13: under 150 MB during a 1 GiB upload): sharp (libvips) is
 * loaded when an image is first read or made, and undici when a URL is first imported (or a
 * webhook called), not at start, and not for API calls and plain uploads; libvips' in-memory
 * operation cache is off once it is loaded. This file imports nothing that loads either itself:
 * each test file runs in a process of its own.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

const require = createRequire(import.meta.url);
/** Whether a package has been loaded in this process (ESM imports of CommonJS land here too). */
const inProcess = (name: string): boolean => Object.keys(require.cache).some((path) => path.includes(`/node_modules/${name}/`));

// A 1x1 RGBA PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

describe('server footprint', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ allowPrivateUrlImports: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('loads sharp only when an image is first read, with its operation cache off', async () => {
    expect(inProcess('sharp')).toBe(false);
    const text = await h.upload('/docs', 'notes.txt', 'plain text, no pixels');
    expect(text.status, JSON.stringify(text)).toBe('success');
    const listed = await h.call('GET', '/files?folder=/docs');
    expect(listed.status).toBe(200);
    const cdn = (text.file as { url: { cdn: string } }).url.cdn;
    const original = await fetch(cdn);
    expect([original.status, await original.text()]).toEqual([200, 'plain text, no pixels']);
    expect(inProcess('sharp')).toBe(false);

    const image = await h.upload('/img', 'dot.png', PNG);
    expect(image.status, JSON.stringify(image)).toBe('success');
    const render = await fetch(`${(image.file as { url: { cdn: string } }).url.cdn}?w=2&force_format=png`);
    expect([render.status, render.headers.get('content-type')]).toEqual([200, 'image/png']);
    expect(inProcess('sharp')).toBe(true);
    const sharp = require('sharp') as typeof import('sharp');
    expect(sharp.cache()).toMatchObject({ memory: { max: 0 }, files: { max: 0 }, items: { max: 0 } });
  });

  it('loads undici only when a URL is first imported', async () => {
    const text = await h.upload('/src', 'remote.txt', 'fetched by URL');
    const cdn = (text.file as { url: { cdn: string } }).url.cdn;
    expect(inProcess('undici')).toBe(false);
    const imported = await h.call('POST', '/upload?folder=/imported', { version: 'v4', body: { files_urls: [{ url: cdn, name: 'copy.txt' }] } });
    expect(imported.status, JSON.stringify(imported.body)).toBe(200);
    expect(inProcess('undici')).toBe(true);
    const listed = await h.call('GET', '/files?folder=/imported');
    expect((listed.body.files as Array<{ name: string }>).map((f) => f.name)).toEqual(['copy.txt']);
  });
});
