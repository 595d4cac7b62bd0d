// Shared by the request-rate workloads (get-small, cdn-cached): starts the sfx server and a peer
// as child processes, drives each in turn with autocannon from this process, and reads the
// children's peak RSS from /proc. Runs alternate (sfx, peer, sfx, peer, ...) so background load
// on a shared machine hits both alike; ratios come from the same run.

import { spawn } from 'node:child_process';
import { clearTimeout, setTimeout } from 'node:timers';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, '..', '..');
export const CLI = join(ROOT, 'packages', 'cli', 'bin', 'sfx.js');
export const TOKEN = 'demo';

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const CLOCK_TICKS = 100;

export const log = (message) => process.stderr.write(`${message}\n`);

export function parseArgs(argv) {
  const quick = argv.includes('--quick');
  const at = argv.indexOf('--runs');
  const runs = at >= 0 ? Number(argv[at + 1]) : quick ? 1 : 3;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a whole number of at least 1');
  const durationAt = argv.indexOf('--duration');
  const duration = durationAt >= 0 ? Number(argv[durationAt + 1]) : quick ? 4 : 10;
  const connectionsAt = argv.indexOf('--connections');
  const connections = connectionsAt >= 0 ? Number(argv[connectionsAt + 1]) : 32;
  return { quick, runs, duration, connections };
}

const children = new Set();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Spawns a Node script and waits for the first `listening on http://...` on its stdout. */
export async function startNode(label, args) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => process.stderr.write(text.replace(/^(?=.)/gm, `[${label}] `)));
  const url = await new Promise((resolvePromise, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${label} did not start within 60 s`)), 60_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      out += text;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited before listening (${code ?? signal}); stdout: ${out.trim()}`));
    });
    child.once('error', reject);
  });
  return {
    url,
    pid: child.pid,
    /** CPU time (user + system) the process has used so far, in microseconds; null once it is gone. */
    cpuMicros() {
      try {
        // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
        return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
      } catch {
        return null;
      }
    },
    /** VmHWM: the process's peak resident set so far, in bytes. */
    peakRss() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = /VmHWM:\s+(\d+) kB/.exec(status);
        return kb ? Number(kb[1]) * 1024 : null;
      } catch {
        return null;
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function startSfx(dataDir, key) {
  return startNode('sfx', [CLI, 'server', '--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--root-key', key,
    '--durability', 'relaxed', '--log', 'warn']);
}

/** Writes a peer's source next to the data and starts it; the source prints `listening on URL`. */
export function startPeerScript(label, dir, source) {
  const file = join(dir, `${label.replace(/\W+/g, '-')}.mjs`);
  writeFileSync(file, source);
  return startNode(label, [file]);
}

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

export function machine() {
  const list = cpus();
  return { cpus: list.length, model: list[0]?.model ?? 'unknown', node: process.version };
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
