// Shared by search-1000000x.mjs and list-1000000x.mjs: seeds a metadata store with N synthetic assets
// straight through MetadataStore (inserting 1M over HTTP would take hours), starts the built server
// (bench/lib/servers.mjs, startDistServer) on that data folder, times GETs over HTTP one at a time on a
// keep-alive connection, and times the raw SQLite query each one stands for in this process (the floor:
// no HTTP, no counts, no JSON).
import { Buffer } from 'node:buffer';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URLSearchParams } from 'node:url';
import { ROOT, log, machine, workloadArgs } from './contract.mjs';
import { startDistServer } from './servers.mjs';

const DIST = join(ROOT, 'packages/server/dist');
const ENTRY = join(DIST, 'index.js');
export const TOKEN = 'demo';
export const KEY = 'bench-scale-root-key-0123456789';
/** Bump when the seeded data changes shape, so cached seeds are not reused. */
const SEED_VERSION = 1;

/** The contract's arguments plus `--n ASSETS` (default 1M, quick 100k) and `--seed-cache DIR`. */
export function scaleArgs() {
  const args = workloadArgs({ n: { type: 'string' }, 'seed-cache': { type: 'string' } });
  const n = Number(args.n ?? (args.quick ? 100_000 : 1_000_000));
  if (!Number.isInteger(n) || n < 1000) {
    log('--n must be a whole number of assets >= 1000');
    process.exit(2);
  }
  return { quick: args.quick, runs: args.runs, n, seedCache: args['seed-cache'] };
}

// ---- data -------------------------------------------------------------------------------------

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'te', 'vo', 'zu', 'pi', 'do', 'fa', 'gi', 'ho', 'ju', 'be', 'co', 'ra', 'xu', 'we'];
/** 8000 three-syllable words; `kalo*` is the prefix of 20 of them. */
export const word = (n) => SYLLABLES[n % 20] + SYLLABLES[Math.floor(n / 20) % 20] + SYLLABLES[Math.floor(n / 400) % 20];
export const WORDS = 8000;
export const FOLDERS = 100;
export const COLORS = ['red', 'blue', 'green'];
/** Deterministic spread of i over [0, m) that is not just i mod m. */
export const mix = (i, m) => Number((BigInt(i) * 2654435761n + 12345n) % BigInt(m));
/** Asset i: in /cat/f{i%100}, three title words, sku, color, tag lot{i%1000}, summer on one in ten. */
export function asset(i) {
  const title = [mix(i, WORDS), mix(i + 7, WORDS), mix(i * 3 + 1, WORDS)].map(word).join(' ');
  const tags = [{ sid: `#lot${i % 1000}`, label: `lot${i % 1000}` }];
  if (i % 10 === 0) tags.push({ sid: '#tgsummer', label: 'summer' });
  return {
    name: `asset-${i}.jpg`,
    meta: { sku: `SKU-${i}`, color: COLORS[i % 3], title },
    tags: { en: tags },
  };
}

async function seed(dir, n) {
  const { openDatabase } = await import(join(DIST, 'store/database.js'));
  const { MetadataStore } = await import(join(DIST, 'store/metadata-store.js'));
  const db = openDatabase(join(dir, 'metadata.sqlite'), 'relaxed');
  const store = new MetadataStore(db);
  const t0 = Date.now();
  const folders = Array.from({ length: FOLDERS }, (_, i) => store.ensureFolder(`/cat/f${i}`));
  const batch = 50_000;
  for (let start = 0; start < n; start += batch) {
    db.transaction(() => {
      for (let i = start; i < Math.min(n, start + batch); i++) {
        const a = asset(i);
        store.insertFile({ folderId: folders[i % FOLDERS].id, name: a.name, extension: 'jpg', type: 'image/jpeg', size: 1000 + i,
          sha1: i.toString(16).padStart(40, '0'), blobId: `b${i}`, meta: a.meta, tags: a.tags, info: {} });
      }
    })();
    log(`seeded ${Math.min(n, start + batch)}/${n} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** A data folder holding N seeded assets; with a cache folder, seeded once and copied afterwards. */
export async function seededDataDir(n, cacheDir) {
  const dir = mkdtempSync(join(tmpdir(), 'sfx-bench-scale-'));
  if (!cacheDir) {
    await seed(dir, n);
    return dir;
  }
  const cached = join(cacheDir, `scale-v${SEED_VERSION}-${n}.sqlite`);
  if (!existsSync(cached)) {
    mkdirSync(cacheDir, { recursive: true });
    await seed(dir, n);
    copyFileSync(join(dir, 'metadata.sqlite'), cached);
  } else {
    log(`using cached seed ${cached} (${(statSync(cached).size / 1e6).toFixed(0)} MB)`);
    copyFileSync(cached, join(dir, 'metadata.sqlite'));
  }
  return dir;
}

/** A read-only connection to the same file, for the raw-SQLite peer. */
export async function rawDatabase(dir) {
  const { default: BetterSqlite3 } = await import(join(ROOT, 'node_modules/better-sqlite3/lib/index.js'));
  return new BetterSqlite3(join(dir, 'metadata.sqlite'), { readonly: true });
}

// ---- server -----------------------------------------------------------------------------------

export async function startServer(dir) {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run npm run build first`);
  // startServer from this tree's dist, in a child (its own CPU and RSS), as `sfx server` runs it.
  return startDistServer({ data: dir, rootKey: KEY, token: TOKEN }, { label: 'sfx server', prefixStderr: true });
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** GET {url}/{token}/v5{path} with the root key; resolves to {status, body, ms}. */
export function apiGet(base, path) {
  return new Promise((resolvePromise, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request(`${base}/${TOKEN}/v5${path}`, { agent, headers: { 'x-filerobot-key': KEY } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        try {
          resolvePromise({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString('utf8')), ms });
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export const query = (params) => `/files?${new URLSearchParams(params).toString()}`;

export function timeSync(fn) {
  const t0 = process.hrtime.bigint();
  const result = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, result };
}

// ---- statistics and output --------------------------------------------------------------------

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const median = (values) => percentile(values, 50);

/**
 * Runs every kind `runs` times: each run times all its cases over HTTP, then the same cases raw.
 * kinds: [{name, target: {p50, p99}, cases: [{path, raw: () => any, check?: (body) => string|null}]}]
 */
export async function measure(server, kinds, runs) {
  const perKind = new Map(kinds.map((k) => [k.name, { http50: [], http99: [], raw50: [], raw99: [] }]));
  const failures = [];
  for (let run = 1; run <= runs; run++) {
    for (const kind of kinds) {
      const http = [];
      const raw = [];
      for (const c of kind.cases) {
        const reply = await apiGet(server.url, c.path);
        if (reply.status !== 200) failures.push(`${kind.name} ${c.path}: HTTP ${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`);
        else if (c.check && run === 1) {
          const problem = c.check(reply.body);
          if (problem) failures.push(`${kind.name} ${c.path}: ${problem}`);
        }
        http.push(reply.ms);
        raw.push(timeSync(c.raw).ms);
      }
      const agg = perKind.get(kind.name);
      agg.http50.push(percentile(http, 50));
      agg.http99.push(percentile(http, 99));
      agg.raw50.push(percentile(raw, 50));
      agg.raw99.push(percentile(raw, 99));
      log(`run ${run}/${runs} ${kind.name.padEnd(28)} http p50 ${percentile(http, 50).toFixed(2)} p99 ${percentile(http, 99).toFixed(2)} ms; raw p50 ${percentile(raw, 50).toFixed(3)} ms (${kind.cases.length} queries)`);
    }
  }
  const metrics = [];
  for (const kind of kinds) {
    const agg = perKind.get(kind.name);
    for (const [p, httpValues, rawValues] of [['p50', agg.http50, agg.raw50], ['p99', agg.http99, agg.raw99]]) {
      const target = kind.target[p];
      const value = median(httpValues);
      const peer = median(rawValues);
      metrics.push({
        name: `${kind.name} ${p}`,
        unit: 'ms',
        median: round(value),
        min: round(Math.min(...httpValues)),
        max: round(Math.max(...httpValues)),
        peer: 'raw SQLite query in-process',
        peerMedian: round(peer),
        ratio: round(value / peer),
        target: target === undefined ? 'none' : `< ${target} ms`,
        met: target === undefined ? null : value < target,
      });
    }
  }
  return { metrics, failures };
}

const round = (x) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

export function report(workload, quick, metrics, rss, correctness) {
  const rows = metrics.map((m) => `| ${m.name} | ${m.median} | ${m.min}-${m.max} | ${m.peerMedian} | ${m.ratio} | ${m.target} | ${m.met === null ? '' : m.met ? 'yes' : 'NO'} |`);
  process.stdout.write(
    [
      `${workload}${quick ? ' (quick)' : ''}: latency of one GET at a time over HTTP (median of runs, min-max), raw = the SQL alone in-process`,
      '',
      '| metric | ms | min-max | raw ms | ratio | target | met |',
      '| --- | ---: | ---: | ---: | ---: | --- | --- |',
      ...rows,
      '',
      `server peak RSS ${(rss.server / 1e6).toFixed(1)} MB; correctness: ${correctness.ok ? 'ok' : 'FAILED'} (${correctness.detail})`,
      '',
    ].join('\n'),
  );
  const summary = {
    workload,
    quick,
    machine: machine(),
    metrics,
    rss,
    correctness,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

/** Seeds (or copies), starts the server, runs `body(server, raw)`, and always cleans up. */
export async function withScaleServer(options, body) {
  const dir = await seededDataDir(options.n, options.seedCache);
  let server;
  let raw;
  try {
    server = await startServer(dir);
    raw = await rawDatabase(dir);
    log(`server pid ${server.pid} at ${server.url}, data ${dir}`);
    return await body(server, raw);
  } finally {
    raw?.close();
    await server?.stop();
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
