// The workload contract every bench/<workload>.mjs keeps (see "The workload contract" in
// bench/README.md): its arguments (`--quick`, `--runs N`, `--help`), the repository's paths,
// statistics, and the human table plus the last-line JSON summary that bench/run.mjs aggregates.

import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'packages/cli/bin/sfx.js');
export const CLIENT = join(ROOT, 'packages/client/dist/index.js');
export const MB = 1e6;

export const log = (text) => process.stderr.write(`${text}\n`);

/**
 * The contract's `--quick` and `--runs N` (default 3, quick 1), `--keep` (leave the data behind)
 * and `--help`, plus a workload's own string options. A bad value exits 2: the workload could not run.
 */
export function workloadArgs(options = {}) {
  const all = {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
    ...options,
  };
  let values;
  try {
    ({ values } = parseArgs({ options: all, allowPositionals: true }));
  } catch (error) {
    log(`${error.message}\n${usage(all)}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${usage(all)}\n`);
    process.exit(0);
  }
  const runs = Number(values.runs ?? (values.quick ? 1 : 3));
  if (!Number.isInteger(runs) || runs < 1) {
    log('--runs must be a whole number >= 1');
    process.exit(2);
  }
  return { ...values, runs };
}

function usage(options) {
  const flags = Object.entries(options).map(([name, o]) =>
    o.type === 'boolean' ? `[--${name}]` : `[--${name} ${o.default === undefined ? name.toUpperCase() : o.default}]`);
  return `usage: node bench/${basename(process.argv[1] ?? 'workload.mjs')} ${flags.join(' ')}\n(see bench/README.md)`;
}

/** Exits 2 (could not run) unless on Linux (the workloads read /proc) with the packages built. */
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

/** The contract's JSON summary as the last stdout line, for workloads that print their own table. */
export function summaryLine(object) {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

/** Prints the human table and, as the last stdout line, the contract's JSON summary; returns the exit code. */
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
  summaryLine({ workload, quick, machine: machine(), metrics, rss, correctness });
  return correctness.ok ? 0 : 1;
}

/** Exits with the contract's status once `promise` settles: 0 ok, 1 correctness failed, 2 could not run. */
export function exitOn(promise) {
  promise.then(
    (ok) => process.exit(ok ? 0 : 1),
    (error) => {
      log(`bench: ${error instanceof Error ? error.stack : String(error)}`);
      process.exit(2);
    },
  );
}
