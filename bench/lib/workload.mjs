// Shared plumbing for the workload scripts (bench/<workload>.mjs): arguments, a server from the
// built CLI, /proc readings, medians, and the contract's last-line JSON summary.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { clearInterval, setInterval } from 'node:timers';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'packages/cli/bin/sfx.js');
export const CLIENT = join(ROOT, 'packages/client/dist/index.js');
export const KEY = 'bench-root-key';
export const MB = 1e6;

export const log = (text) => process.stderr.write(`${text}\n`);

/** `--quick` and `--runs N` (default 3 full, 1 quick), plus the workload's own options. */
export function workloadArgs(options = {}) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, runs: { type: 'string' }, keep: { type: 'boolean', default: false }, ...options },
    allowPositionals: true,
  });
  values.runs = Number(values.runs ?? (values.quick ? 1 : 3));
  if (!Number.isInteger(values.runs) || values.runs < 1) throw new Error('--runs must be a whole number >= 1');
  return values;
}

export function requireBuilt() {
  if (process.platform !== 'linux') {
    log('this workload reads /proc: Linux only');
    process.exit(2);
  }
  if (!existsSync(CLIENT) || !existsSync(join(ROOT, 'packages/cli/dist/main.js'))) {
    log('build first: npm run build');
    process.exit(2);
  }
}

/** `{ rss, hwm }` in bytes; zeros once the process is gone. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const read = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    return { rss: read('VmRSS'), hwm: read('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** User + system CPU seconds a process has used so far. */
export function cpuSecondsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** Samples a process's RSS every 50 ms until stopped; the peak also counts its VmHWM. */
export function peakSampler(pid) {
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, memoryOf(pid).rss);
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, memoryOf(pid).hwm);
    },
  };
}

/** A fresh `sfx server` child on 127.0.0.1 with its own data dir. */
export async function startServer(dataDir, extra = []) {
  const args = [CLI, 'server', '--port', '0', '--data', dataDir, '--root-key', KEY, '--durability', 'relaxed', '--log', 'warn', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      out += text;
      const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolvePromise(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${out}`)));
  });
  return {
    url,
    pid: child.pid,
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', r);
        child.kill('SIGTERM');
      }),
  };
}

/** Runs a command to its end; resolves with its exit code, stdout, stderr and peak RSS (sampled). */
export function runChild(command, args, options = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    const sampler = peakSampler(child.pid);
    let stdout = '';
    let stderr = '';
    let hwm = 0;
    // VmHWM is gone once the process is reaped: read it while the child is a zombie-to-be.
    const hwmTimer = setInterval(() => (hwm = Math.max(hwm, memoryOf(child.pid).hwm)), 20);
    child.stdout.setEncoding('utf8').on('data', (t) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t) => (stderr += t));
    child.once('error', reject);
    child.once('exit', (code) => {
      clearInterval(hwmTimer);
      const peak = Math.max(sampler.stop(), hwm);
      resolvePromise({ code, stdout, stderr, peakRss: peak });
    });
  });
}

export function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted.at(-1) };
}

export function machine() {
  return { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version };
}

/** Lists every file of a folder over the API: [{ name, sha1, size }]. */
export async function listFolder(url, folder) {
  const files = [];
  for (let offset = 0; ; offset += 1000) {
    const response = await globalThis.fetch(`${url}/demo/v4/files?folder=${encodeURIComponent(folder)}&limit=1000&offset=${offset}`, {
      headers: { 'X-Filerobot-Key': KEY },
    });
    const body = await response.json();
    if (!Array.isArray(body.files)) throw new Error(`listing ${folder} failed: ${JSON.stringify(body).slice(0, 300)}`);
    for (const f of body.files) files.push({ name: f.name, sha1: f.hash?.sha1, size: f.size?.bytes ?? f.size });
    if (body.files.length < 1000) return files;
  }
}

export function summaryLine(object) {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}
