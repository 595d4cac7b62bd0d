#!/usr/bin/env node
// search-1000000x: `GET /files?q=...` over HTTP against 1M seeded assets (100k with --quick), by query kind:
// a whole word, an asset name, a word prefix (`kalo*`), a rare and a common `#tag`, a unique and a common
// `key:value`, and a word sorted by relevance. Peer: the bare SQLite lookup each stands for, in-process.
// Usage: node bench/search-1000000x.mjs [--quick] [--runs N] [--n ASSETS] [--seed-cache DIR]
import { exitOn, log } from './lib/contract.mjs';
import { WORDS, apiGet, asset, measure, mix, query, report, scaleArgs, withScaleServer, word } from './lib/scale.mjs';

const options = scaleArgs();
const PER_KIND = options.quick ? 60 : 200;
const page = { folder: '/', recursive: '1', limit: '100' };

async function main() {
  return withScaleServer(options, async (server, raw) => {
    const n = options.n;
    const fts = raw.prepare('SELECT rowid FROM files_fts WHERE files_fts MATCH ? LIMIT 100');
    const ftsCount = raw.prepare('SELECT count(*) AS c FROM files_fts WHERE files_fts MATCH ?').pluck();
    const ftsRanked = raw.prepare('SELECT rowid FROM files_fts WHERE files_fts MATCH ? ORDER BY rank LIMIT 100');
    const tag = raw.prepare('SELECT file_id FROM file_tags WHERE label = ? LIMIT 100');
    const meta = raw.prepare(`SELECT file_id FROM file_meta WHERE key = ? AND lower(value) = lower(?) LIMIT 100`);
    const pick = (k) => Array.from({ length: PER_KIND }, (_, i) => mix(i * 7919 + k, n));
    const totalIs = (expected) => (body) =>
      body.info?.total_files_count === expected ? null : `total ${body.info?.total_files_count}, expected ${expected}`;
    const hasName = (name) => (body) => (body.files?.some((f) => f.name === name) ? null : `${name} not among the results`);

    const kinds = [
      {
        name: 'term (whole word)',
        target: { p50: 2, p99: 10 },
        cases: pick(1).map((i) => {
          const w = word(mix(i, WORDS));
          return { path: query({ ...page, q: w }), raw: () => fts.all(`"${w}"`), check: totalIs(ftsCount.get(`"${w}"`)) };
        }),
      },
      {
        name: 'term (asset name)',
        target: { p50: 2, p99: 10 },
        cases: pick(2).map((i) => ({
          path: query({ ...page, q: `asset-${i}` }),
          raw: () => fts.all(`"asset" "${i}"`),
          check: hasName(asset(i).name),
        })),
      },
      {
        name: 'prefix (kalo*)',
        target: { p50: 10 },
        cases: pick(3).map((i) => {
          const p = word(mix(i, WORDS)).slice(0, 4);
          return { path: query({ ...page, q: `${p}*` }), raw: () => fts.all(`"${p}"*`) };
        }),
      },
      {
        name: '#tag (0.1%)',
        target: { p50: 10 },
        cases: pick(4).map((i) => ({ path: query({ ...page, q: `#lot${i % 1000}` }), raw: () => tag.all(`lot${i % 1000}`), check: totalIs(n / 1000) })),
      },
      {
        name: '#tag (10%)',
        target: { p50: 10 },
        cases: pick(5).slice(0, Math.ceil(PER_KIND / 4)).map(() => ({ path: query({ ...page, q: '#summer' }), raw: () => tag.all('summer'), check: totalIs(n / 10) })),
      },
      {
        name: 'key:value (1 match)',
        target: { p50: 10 },
        cases: pick(6).map((i) => ({ path: query({ ...page, q: `sku:SKU-${i}` }), raw: () => meta.all('sku', `SKU-${i}`), check: totalIs(1) })),
      },
      {
        name: 'key:value (33%)',
        target: { p50: 10 },
        cases: pick(7).slice(0, Math.ceil(PER_KIND / 4)).map((i) => {
          const color = ['red', 'blue', 'green'][i % 3];
          return { path: query({ ...page, q: `color:${color}` }), raw: () => meta.all('color', color) };
        }),
      },
    ];
    if (!process.argv.includes('--no-relevance')) {
      kinds.push({
        name: 'term, sort=relevance',
        target: { p50: 2, p99: 10 },
        cases: pick(8).map((i) => {
          const w = word(mix(i, WORDS));
          return { path: query({ ...page, q: w, sort: 'relevance' }), raw: () => ftsRanked.all(`"${w}"`), check: totalIs(ftsCount.get(`"${w}"`)) };
        }),
      });
    }
    log('warming up');
    for (const kind of kinds) for (const c of kind.cases.slice(0, 5)) await apiGet(server.url, c.path);
    const { metrics, failures } = await measure(server, kinds, options.runs);
    const correctness = { ok: failures.length === 0, detail: failures.length ? failures.slice(0, 5).join('; ') : `totals and hits checked for ${kinds.length} query kinds at ${n} assets` };
    report('search-1000000x', options.quick, metrics, { server: server.peakRss() }, correctness);
    return correctness.ok;
  });
}

exitOn(main());
