#!/usr/bin/env node
// get-small: tiny authenticated GETs (file details, `GET /demo/v5/files/{uuid}`) at 32 connections,
// side by side with a bare fastify route returning the same JSON body. Usage:
//   node bench/get-small.mjs [--quick] [--runs N] [--duration s] [--connections n]
// See bench/README.md (get-small) for the method and figures.

import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
/* global fetch -- Node 20's global fetch */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitOn, log } from './lib/contract.mjs';
import { pairArgs, report, sideBySide, startPeer, startSfx, TOKEN } from './lib/http-pair.mjs';

const require = createRequire(import.meta.url);
const FASTIFY = require.resolve('fastify');

const peerSource = (body) => `
import Fastify from ${JSON.stringify(FASTIFY)};
const body = ${body};
const app = Fastify({ logger: false });
app.get('/files/:uuid', async () => body);
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write('listening on ' + url + '\\n');
`;

async function main() {
  const options = pairArgs();
  const dir = mkdtempSync(join(tmpdir(), 'sfx-get-small-'));
  const key = randomBytes(16).toString('hex');
  const sfx = await startSfx(join(dir, 'data'), key);
  let peer;
  try {
    const content = Buffer.from('hello from get-small\n');
    const put = await fetch(`${sfx.url}/${TOKEN}/v5/files?folder=/bench&filename=hello.txt`, {
      method: 'PUT', headers: { 'x-filerobot-key': key, 'content-type': 'text/plain' }, body: content,
    });
    if (!put.ok) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
    const uploaded = (await put.json()).file;
    const url = `${sfx.url}/${TOKEN}/v5/files/${uploaded.uuid}`;
    const first = await fetch(url, { headers: { 'x-filerobot-key': key } });
    const expected = await first.text();
    const parsed = JSON.parse(expected);
    const detailOk = first.ok && parsed.file?.uuid === uploaded.uuid && parsed.file?.hash?.sha1 === uploaded.hash?.sha1 &&
      parsed.file?.size?.bytes === content.length;
    peer = await startPeer('fastify', dir, peerSource(expected));
    const peerExpected = JSON.stringify(parsed);
    log(`sfx ${sfx.url} (pid ${sfx.pid}), fastify peer ${peer.url} (pid ${peer.pid}); ${expected.length} B body`);
    const result = await sideBySide({
      ...options,
      sfx: { url, headers: { 'x-filerobot-key': key }, verify: (body) => body === expected, proc: sfx },
      peer: { url: `${peer.url}/files/${uploaded.uuid}`, verify: (body) => body === peerExpected, proc: peer },
    });
    const ok = detailOk && result.sfx.errors === 0 && result.peer.errors === 0;
    report({
      workload: 'get-small',
      quick: options.quick,
      peerName: 'fastify',
      target: '>= 0.5x fastify',
      minRatio: 0.5,
      note: `GET /${TOKEN}/v5/files/{uuid} (${expected.length} B JSON), ${options.connections} connections, ${options.duration} s x ${options.runs} runs each, alternating, same machine`,
      sfx: result.sfx,
      peer: result.peer,
      rss: { sfx: sfx.peakRss(), peer: peer.peakRss() },
      correctness: {
        ok,
        detail: `details body matches the upload (uuid, sha1, size): ${detailOk}; every body byte-equal to the first one, ` +
          `no errors or non-2xx: sfx ${result.sfx.errors} bad of ${result.sfx.requests}, fastify ${result.peer.errors} bad of ${result.peer.requests}`,
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
