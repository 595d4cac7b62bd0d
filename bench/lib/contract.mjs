// Plumbing shared by resync-10000x and faults-1pct: the workload contract's arguments
// (`--quick`, `--runs N`), /proc memory readings, order statistics, and the last-line JSON summary
// that `bench/run.mjs` aggregates (see "The workload contract" in bench/README.md).

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clearInterval, setInterval } from 'node:timers';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'packages/cli/bin/sfx.js');
export const MB = 1e6;

export const log = (text) => process.stderr.write(`${text}\n`);

/** The contract's `--quick` and `--runs N` (default 3, quick 1) plus a workload's own options. */
export function workloadArgs(options = {}) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, runs: { type: 'string' }, keep: { type: 'boolean', default: false }, ...options } });
  const runs = Number(values.runs ?? (values.quick ? 1 : 3));
  if (!Number.isInteger(runs) || runs < 1) {
    log('--runs must be a whole number >= 1');
    process.exit(2);
  }
  return { ...values, runs };
}

/** Exits 2 (could not run) unless on Linux with the packages built. */
export function requireBuilt(...distFiles) {
  if (process.platform !== 'linux') {
    log('this workload reads /proc: Linux only');
    process.exit(2);
  }
  for (const file of ['packages/cli/dist/main.js', ...distFiles]) {
    if (!existsSync(join(ROOT, file))) {
      log(`build first: npm run build (${file} is missing)`);
      process.exit(2);
    }
  }
}

export function machine() {
  const list = cpus();
  return { cpus: list.length, model: list[0]?.model.trim() ?? 'unknown', node: process.version };
}

/** `{ rss, hwm }` in bytes, zeros once the process is gone. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const read = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: read('VmRSS'), hwm: read('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/**
 * Tracks a process's peak RSS until stopped: sampled VmRSS, plus its VmHWM high-water mark unless
 * `withHwm` is false (for a long-lived process whose earlier phases must not count).
 */
export function peakTracker(pid, everyMs = 50, withHwm = true) {
  let peak = 0;
  const read = () => {
    const { rss, hwm } = memoryOf(pid);
    peak = Math.max(peak, rss, withHwm ? hwm : 0);
  };
  const timer = setInterval(read, everyMs);
  return {
    peak: () => (read(), peak),
    stop() {
      read();
      clearInterval(timer);
      return peak;
    },
  };
}

/** Runs `node <args>` to its end: exit code, stdout, stderr, seconds and peak RSS. */
export function runNode(args, options = {}) {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    const tracker = peakTracker(child.pid, 20);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));
    child.once('error', fail);
    // 'exit' comes before the pipes close, while /proc/<pid> may still be readable for the last VmHWM.
    child.once('exit', () => tracker.stop());
    child.once('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      done({ code, stdout, stderr, seconds, peakRss: tracker.stop() });
    });
  });
}

/**
 * A child Node process that prints `listening on <url>` once up. Resolves its url, pid, and
 * stop(): SIGTERM, then the child's stdout after the listening line (a report it prints on exit).
 */
export async function startListening(args, label) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let after = -1;
  const url = await new Promise((done, fail) => {
    child.stdout.setEncoding('utf8').on('data', (text) => {
      out += text;
      const match = after < 0 && /listening on (http:\/\/\S+)\n/.exec(out);
      if (match) {
        after = match.index + match[0].length;
        done(match[1]);
      }
    });
    child.once('exit', (code) => fail(new Error(`${label} exited (${code}) before listening: ${out.trim()}`)));
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  return {
    url,
    pid: child.pid,
    stop: () =>
      new Promise((done) => {
        process.removeListener('exit', kill);
        if (child.exitCode !== null || child.signalCode !== null) return done(out.slice(after));
        child.once('close', () => done(out.slice(after)));
        child.kill('SIGTERM');
      }),
  };
}

export function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted.at(-1) };
}

export const round = (value, digits = 3) => (value === null || value === undefined ? null : Number(value.toPrecision(digits)));

/** One metric of the summary; `ratio` is sfx relative to the peer, >1 meaning sfx is better. */
export function metric({ name, unit, values, peer = null, peerValues = null, higherIsBetter = true, target, met }) {
  const own = stats(values);
  const peerMedian = peerValues ? stats(peerValues).median : null;
  let ratio = null;
  if (peerMedian !== null && own.median > 0 && peerMedian > 0) ratio = higherIsBetter ? own.median / peerMedian : peerMedian / own.median;
  return { name, unit, median: round(own.median), min: round(own.min), max: round(own.max), peer, peerMedian: round(peerMedian), ratio: round(ratio), target, met };
}

/** Prints the human table and, as the last stdout line, the contract's JSON summary. */
export function emitSummary({ workload, quick, metrics, rss, correctness, notes = [] }) {
  const rows = metrics.map((m) => [
    m.name,
    `${m.median} ${m.unit} (${m.min}-${m.max})`,
    m.peer ? `${m.peer}: ${m.peerMedian} ${m.unit}` : '-',
    m.ratio === null ? '-' : `${m.ratio}x`,
    m.target,
    m.met === null ? '-' : m.met ? 'yes' : 'NO',
  ]);
  const head = ['metric', 'sfx median (min-max)', 'peer median', 'ratio', 'target', 'met'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  const out = [`\n${workload}${quick ? ' (quick)' : ''}`, line(head), ...rows.map(line)];
  out.push(`peak RSS: ${Object.entries(rss).map(([who, bytes]) => `${who} ${(bytes / MB).toFixed(1)} MB`).join(', ')}`);
  out.push(`correctness: ${correctness.ok ? 'ok' : 'FAILED'}: ${correctness.detail}`);
  for (const note of notes) out.push(note);
  process.stdout.write(`${out.join('\n')}\n`);
  process.stdout.write(`${JSON.stringify({ workload, quick, machine: machine(), metrics, rss, correctness })}\n`);
  return correctness.ok ? 0 : 1;
}
