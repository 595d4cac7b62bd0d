/**
 * The server's memory at rest (issue 13: under 150 MB during a 1 GiB upload): sharp (libvips) is
 * loaded when an image is first read or made, not at start, and not for API calls and non-image
 * uploads; and libvips' in-memory operation cache is off once it is loaded.
 * This file imports nothing that loads sharp itself: each test file runs in a process of its own.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

const require = createRequire(import.meta.url);
/** Whether the sharp package has been required in this process (ESM imports of it land here too). */
const sharpInProcess = (): boolean => Object.keys(require.cache).some((path) => /[/\\]node_modules[/\\]sharp[/\\]/.test(path));

// A 1x1 RGBA PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

describe('server footprint', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('loads sharp only when an image is first read, with its operation cache off', async () => {
    expect(sharpInProcess()).toBe(false);
    const text = await h.upload('/docs', 'notes.txt', 'plain text, no pixels');
    expect(text.status, JSON.stringify(text)).toBe('success');
    const listed = await h.call('GET', '/files?folder=/docs');
    expect(listed.status).toBe(200);
    const cdn = (text.file as { url: { cdn: string } }).url.cdn;
    const original = await fetch(cdn);
    expect([original.status, await original.text()]).toEqual([200, 'plain text, no pixels']);
    expect(sharpInProcess()).toBe(false);

    const image = await h.upload('/img', 'dot.png', PNG);
    expect(image.status, JSON.stringify(image)).toBe('success');
    const render = await fetch(`${(image.file as { url: { cdn: string } }).url.cdn}?w=2&force_format=png`);
    expect([render.status, render.headers.get('content-type')]).toEqual([200, 'image/png']);
    expect(sharpInProcess()).toBe(true);
    const sharp = require('sharp') as typeof import('sharp');
    expect(sharp.cache()).toMatchObject({ memory: { max: 0 }, files: { max: 0 }, items: { max: 0 } });
  });
});
