#!/usr/bin/env node
// list-1000000x: listing pages over HTTP against 1M seeded assets (100k with --quick): the first page, pages
// at random depths (newest first, and by name), a client paging on with offset, a deep page in one folder,
// and a deep page right after a write (nothing remembered). Peer: the indexed LIMIT/OFFSET query alone.
// Usage: node bench/list-1000000x.mjs [--quick] [--runs N] [--n ASSETS] [--seed-cache DIR]
import { exitOn, log } from './lib/contract.mjs';
import { FOLDERS, KEY, TOKEN, apiGet, measure, mix, percentile, query, report, scaleArgs, withScaleServer } from './lib/scale.mjs';
import { request } from 'node:http';

const options = scaleArgs();
const PER_KIND = options.quick ? 60 : 200;
const LIMIT = 100;

/** PATCHes one file's metadata: any write drops what the server remembers about listing positions. */
function touch(base, uuid, i) {
  return new Promise((resolvePromise, reject) => {
    const body = JSON.stringify({ meta: { touched: i } });
    const req = request(`${base}/${TOKEN}/v5/file/${uuid}/meta`, { method: 'PATCH', headers: { 'x-filerobot-key': KEY, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolvePromise() : reject(new Error(`PATCH meta: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  return withScaleServer(options, async (server, raw) => {
    const n = options.n;
    const byCreated = raw.prepare('SELECT * FROM files INDEXED BY files_created ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?');
    const byName = raw.prepare('SELECT * FROM files ORDER BY name, id LIMIT ? OFFSET ?');
    const inFolder = raw.prepare('SELECT * FROM files WHERE folder_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?');
    const folderId = raw.prepare("SELECT id FROM folders WHERE path = '/cat/f7'").pluck().get();
    const uuids = (sql, ...args) => raw.prepare(sql).pluck().all(...args);
    const expectPage = (expected) => (body) => {
      const got = (body.files ?? []).map((f) => f.uuid);
      return JSON.stringify(got) === JSON.stringify(expected) ? null : `page differs from the raw query (${got.length} vs ${expected.length} rows)`;
    };
    const root = { folder: '/', recursive: '1', limit: String(LIMIT) };
    const depths = (k, max) => Array.from({ length: PER_KIND }, (_, i) => mix(i * 7919 + k, max - LIMIT));
    const sequentialStart = Math.floor(n / 2);
    const kinds = [
      {
        name: 'first page',
        target: { p50: 10 },
        cases: Array.from({ length: PER_KIND }, () => ({ path: query(root), raw: () => byCreated.all(LIMIT, 0) })),
      },
      {
        name: 'page at random depth',
        target: { p50: 10 },
        cases: depths(1, n).map((offset, i) => ({
          path: query({ ...root, offset: String(offset) }),
          raw: () => byCreated.all(LIMIT, offset),
          check: i < 5 ? expectPage(uuids('SELECT uuid FROM files INDEXED BY files_created ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?', LIMIT, offset)) : undefined,
        })),
      },
      {
        name: 'paging on from n/2',
        target: { p50: 10 },
        cases: Array.from({ length: PER_KIND }, (_, i) => {
          const offset = sequentialStart + i * LIMIT;
          return { path: query({ ...root, offset: String(offset) }), raw: () => byCreated.all(LIMIT, offset) };
        }),
      },
      {
        name: 'by name, random depth',
        target: { p50: 10 },
        cases: depths(2, n).map((offset, i) => ({
          path: query({ ...root, sort: 'name:asc', offset: String(offset) }),
          raw: () => byName.all(LIMIT, offset),
          check: i < 3 ? expectPage(uuids('SELECT uuid FROM files ORDER BY name, id LIMIT ? OFFSET ?', LIMIT, offset)) : undefined,
        })),
      },
      {
        name: 'one folder, random depth',
        target: { p50: 10 },
        cases: depths(3, n / FOLDERS).map((offset) => ({
          path: query({ folder: '/cat/f7', limit: String(LIMIT), offset: String(offset) }),
          raw: () => inFolder.all(folderId, LIMIT, offset),
        })),
      },
    ];
    log('warming up');
    for (const kind of kinds) for (const c of kind.cases.slice(0, 3)) await apiGet(server.url, c.path);
    const { metrics, failures } = await measure(server, kinds, options.runs);

    // A deep page right after a write: the server must walk to it (the worst case, measured apart).
    const cold = { http: [], raw: [] };
    const victims = uuids('SELECT uuid FROM files ORDER BY id LIMIT 20');
    const coldCases = options.quick ? 8 : 20;
    for (let i = 0; i < coldCases; i++) {
      await touch(server.url, victims[i % victims.length], i);
      const offset = n - LIMIT - mix(i, Math.floor(n / 10));
      cold.http.push((await apiGet(server.url, query({ ...root, offset: String(offset) }))).ms);
      const t0 = process.hrtime.bigint();
      byCreated.all(LIMIT, offset);
      cold.raw.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const coldP50 = percentile(cold.http, 50);
    const rawP50 = percentile(cold.raw, 50);
    log(`deep page after a write: http p50 ${coldP50.toFixed(2)} ms, raw p50 ${rawP50.toFixed(2)} ms (${coldCases} writes)`);
    metrics.push({
      name: 'deep page (last 10%) after a write p50', unit: 'ms', median: round(coldP50), min: round(Math.min(...cold.http)), max: round(Math.max(...cold.http)),
      peer: 'raw SQLite query in-process', peerMedian: round(rawP50), ratio: round(coldP50 / rawP50), target: '< 10 ms', met: coldP50 < 10,
    });
    const correctness = { ok: failures.length === 0, detail: failures.length ? failures.slice(0, 5).join('; ') : `pages equal the raw query's at sampled depths, ${n} assets` };
    report('list-1000000x', options.quick, metrics, { server: server.peakRss() }, correctness);
    return correctness.ok;
  });
}

const round = (x) => Math.round(x * 1000) / 1000;

exitOn(main());
