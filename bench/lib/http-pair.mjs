// Shared by the request-rate workloads (get-small, cdn-cached): drives the sfx server and a peer
// (children started with bench/lib/servers.mjs) in turn with autocannon from this process. Runs
// alternate (sfx, peer, sfx, peer, ...) so background load on a shared machine hits both alike;
// ratios come from the same run.

import autocannon from 'autocannon';
import { log, machine, workloadArgs } from './contract.mjs';
import { startPeerScript, startSfxServer } from './servers.mjs';

export const TOKEN = 'demo';

/** The contract's arguments plus `--duration s` (default 10, quick 4) and `--connections n` (32). */
export function pairArgs() {
  const args = workloadArgs({ duration: { type: 'string' }, connections: { type: 'string' } });
  const duration = Number(args.duration ?? (args.quick ? 4 : 10));
  const connections = Number(args.connections ?? 32);
  if (!(duration > 0) || !Number.isInteger(connections) || connections < 1) {
    log('--duration must be a number of seconds > 0, --connections a whole number >= 1');
    process.exit(2);
  }
  return { ...args, duration, connections };
}

const CHILD = { prefixStderr: true, timeoutMs: 60_000 };

/** The sfx side: `sfx server` from the built CLI, its stderr labelled. */
export const startSfx = (dataDir, key) => startSfxServer(dataDir, key, { label: 'sfx', ...CHILD });

/** The peer side: a script written to `dir` that prints `listening on <url>`. */
export const startPeer = (label, dir, source) => startPeerScript(label, dir, source, CHILD);

/**
 * One autocannon run; `verify` sees each body and counts failures as mismatches. With `proc` (a
 * started server), the result also carries `cpuPerRequest`: the server's CPU microseconds over
 * the run divided by the requests answered, steadier than req/s on a machine shared with others.
 */
export async function load(url, { headers = {}, duration, connections, verify, proc }) {
  const cpuBefore = proc?.cpuMicros() ?? null;
  const result = await new Promise((resolvePromise, reject) => {
    autocannon(
      { url, headers, duration, connections, pipelining: 1, verifyBody: verify },
      (error, outcome) => (error ? reject(error) : resolvePromise(outcome)),
    );
  });
  const cpuAfter = proc?.cpuMicros() ?? null;
  result.cpuPerRequest = cpuBefore !== null && cpuAfter !== null && result.requests.total > 0
    ? (cpuAfter - cpuBefore) / result.requests.total : null;
  return result;
}

export function summarize(results) {
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const pick = (f) => {
    const values = results.map(f);
    return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
  };
  return {
    rps: pick((r) => r.requests.average),
    p50: pick((r) => r.latency.p50),
    p99: pick((r) => r.latency.p99),
    cpu: results.every((r) => r.cpuPerRequest !== null) ? pick((r) => r.cpuPerRequest) : null,
    errors: results.reduce((n, r) => n + r.errors + r.timeouts + r.non2xx + (r.mismatches ?? 0), 0),
    requests: results.reduce((n, r) => n + r.requests.total, 0),
  };
}

const cpuNote = (result) => (result.cpuPerRequest === null ? '' : `, ${Math.round(result.cpuPerRequest)} µs CPU/request`);

/** Runs sfx and the peer alternately `runs` times after a short warm-up of each. */
export async function sideBySide({ runs, duration, connections, sfx, peer, warmup = 2 }) {
  for (const side of [sfx, peer]) await load(side.url, { ...side, duration: warmup, connections });
  const sfxResults = [];
  const peerResults = [];
  for (let i = 0; i < runs; i++) {
    log(`run ${i + 1}/${runs}: sfx`);
    sfxResults.push(await load(sfx.url, { ...sfx, duration, connections }));
    log(`  ${Math.round(sfxResults.at(-1).requests.average)} req/s${cpuNote(sfxResults.at(-1))}; peer`);
    peerResults.push(await load(peer.url, { ...peer, duration, connections }));
    log(`  ${Math.round(peerResults.at(-1).requests.average)} req/s${cpuNote(peerResults.at(-1))}`);
  }
  return { sfx: summarize(sfxResults), peer: summarize(peerResults) };
}

const fmt = (n, digits = 0) => n.toFixed(digits);
const cpuCell = (side) => (side.cpu ? `${fmt(side.cpu.median)} (${fmt(side.cpu.min)}-${fmt(side.cpu.max)})` : '-');

/** The table on stdout and the contract's JSON object as the last stdout line. */
export function report({ workload, quick, peerName, target, minRatio, sfx, peer, rss, correctness, note }) {
  const ratio = sfx.rps.median / peer.rps.median;
  const lines = [
    `${workload}: ${note}`,
    '',
    '| server | req/s median (min-max) | p50 ms | p99 ms | CPU µs/request median (min-max) | peak RSS MB |',
    '|---|---|---|---|---|---|',
    `| sfx | ${fmt(sfx.rps.median)} (${fmt(sfx.rps.min)}-${fmt(sfx.rps.max)}) | ${fmt(sfx.p50.median, 1)} | ${fmt(sfx.p99.median, 1)} | ${cpuCell(sfx)} | ${fmt((rss.sfx ?? 0) / 1e6)} |`,
    `| ${peerName} | ${fmt(peer.rps.median)} (${fmt(peer.rps.min)}-${fmt(peer.rps.max)}) | ${fmt(peer.p50.median, 1)} | ${fmt(peer.p99.median, 1)} | ${cpuCell(peer)} | ${fmt((rss.peer ?? 0) / 1e6)} |`,
    '',
    `ratio sfx/${peerName}: ${fmt(ratio, 2)}x (target ${target}); correctness: ${correctness.ok ? 'ok' : 'FAILED'} (${correctness.detail})`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const metric = (name, unit, s, p, withTarget) => ({
    name,
    unit,
    median: s.median,
    min: s.min,
    max: s.max,
    peer: peerName,
    peerMedian: p.median,
    ratio: p.median ? s.median / p.median : null,
    target: withTarget ? target : null,
    met: withTarget ? s.median / p.median >= minRatio : null,
  });
  const summary = {
    workload,
    quick,
    machine: machine(),
    metrics: [
      metric('throughput', 'req/s', sfx.rps, peer.rps, true),
      metric('latency p50', 'ms', sfx.p50, peer.p50, false),
      metric('latency p99', 'ms', sfx.p99, peer.p99, false),
      ...(sfx.cpu && peer.cpu
        ? [{ ...metric('server CPU per request', 'µs', sfx.cpu, peer.cpu, false), ratio: peer.cpu.median / sfx.cpu.median }]
        : []),
    ],
    rss: { sfx: rss.sfx, [peerName]: rss.peer },
    correctness,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
