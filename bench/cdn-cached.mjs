#!/usr/bin/env node
// cdn-cached: repeated CDN hits on one cached transform (`GET /demo/cdn/bench/photo.jpg?w=200`)
// at 32 connections, side by side with a node:http server sending the same bytes from memory.
// Usage: node bench/cdn-cached.mjs [--quick] [--runs N] [--duration s] [--connections n]
// See bench/README.md (cdn-cached) for the method and figures.

import { Buffer } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitOn, log, ROOT } from './lib/contract.mjs';
import { pairArgs, report, sideBySide, startPeer, startSfx, TOKEN } from './lib/http-pair.mjs';
/* global fetch -- Node 20's global fetch */

const require = createRequire(join(ROOT, 'packages', 'server', 'package.json'));
const sharp = require('sharp');

const peerSource = (file, type, etag) => `
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
const body = readFileSync(${JSON.stringify(file)});
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': ${JSON.stringify(type)}, 'content-length': body.length, etag: ${JSON.stringify(etag)} });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write('listening on http://127.0.0.1:' + server.address().port + '\\n'));
`;

const sha1 = (bytes) => createHash('sha1').update(bytes).digest('hex');

async function fetchBytes(url) {
  const response = await fetch(url);
  return { status: response.status, etag: response.headers.get('etag'), type: response.headers.get('content-type'),
    bytes: Buffer.from(await response.arrayBuffer()) };
}

async function main() {
  const options = pairArgs();
  const dir = mkdtempSync(join(tmpdir(), 'sfx-cdn-cached-'));
  const key = randomBytes(16).toString('hex');
  const sfx = await startSfx(join(dir, 'data'), key);
  let peer;
  try {
    // A 1600x1200 photo-like gradient with noise, so the 200 px render is a real JPEG of a few KB.
    const noise = randomBytes(1600 * 1200 * 3);
    const image = await sharp(noise, { raw: { width: 1600, height: 1200, channels: 3 } }).blur(3).jpeg({ quality: 85 }).toBuffer();
    const put = await fetch(`${sfx.url}/${TOKEN}/v5/files?folder=/bench&filename=photo.jpg`, {
      method: 'PUT', headers: { 'x-filerobot-key': key, 'content-type': 'image/jpeg' }, body: image,
    });
    if (!put.ok) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
    const url = `${sfx.url}/${TOKEN}/cdn/bench/photo.jpg?w=200`;
    const first = await fetchBytes(url); // renders and caches
    const second = await fetchBytes(url); // a cache hit
    const meta = await sharp(second.bytes).metadata();
    const renderOk = first.status === 200 && second.status === 200 && sha1(first.bytes) === sha1(second.bytes) &&
      first.etag === second.etag && meta.width === 200 && meta.format === 'jpeg';
    const file = join(dir, 'render.jpg');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, second.bytes));
    peer = await startPeer('node-http', dir, peerSource(file, second.type, second.etag));
    log(`sfx ${sfx.url} (pid ${sfx.pid}), node:http peer ${peer.url} (pid ${peer.pid}); render ${second.bytes.length} B`);
    const size = second.bytes.length;
    // autocannon hands the body over as text; its length in UTF-16 units is fixed by the bytes.
    const textLength = second.bytes.toString().length;
    const verify = (body) => body.length === textLength;
    const result = await sideBySide({ ...options, sfx: { url, verify, proc: sfx }, peer: { url: peer.url, verify, proc: peer } });
    const after = await fetchBytes(url);
    const afterOk = after.status === 200 && sha1(after.bytes) === sha1(second.bytes) && after.etag === second.etag;
    const ok = renderOk && afterOk && result.sfx.errors === 0 && result.peer.errors === 0;
    report({
      workload: 'cdn-cached',
      quick: options.quick,
      peerName: 'node:http',
      target: '>= 0.7x node:http',
      minRatio: 0.7,
      note: `GET /${TOKEN}/cdn/bench/photo.jpg?w=200 (a ${size} B cached JPEG render), ${options.connections} connections, ${options.duration} s x ${options.runs} runs each, alternating, same machine`,
      sfx: result.sfx,
      peer: result.peer,
      rss: { sfx: sfx.peakRss(), peer: peer.peakRss() },
      correctness: {
        ok,
        detail: `render is a 200 px wide JPEG, same bytes (sha1 ${sha1(second.bytes).slice(0, 12)}) and ETag ${second.etag} on the miss, ` +
          `the hit and after the load: ${renderOk && afterOk}; every body of the right length, no errors or non-2xx: ` +
          `sfx ${result.sfx.errors} bad of ${result.sfx.requests}, node:http ${result.peer.errors} bad of ${result.peer.requests}`,
      },
    });
    return ok;
  } finally {
    await sfx.stop();
    await peer?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

exitOn(main());
