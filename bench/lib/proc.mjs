// What the workloads measure of a process from /proc (peak RSS, CPU time), and running a child
// command to its end with its peak RSS.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { clearInterval, setInterval } from 'node:timers';

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const CLOCK_TICKS = 100;

/** `{ rss, hwm }` in bytes, or null once the process is gone. */
function readMemory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const read = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: read('VmRSS'), hwm: read('VmHWM') };
  } catch {
    return null;
  }
}

/** `{ rss, hwm }` in bytes, zeros once the process is gone. */
export function memoryOf(pid) {
  return readMemory(pid) ?? { rss: 0, hwm: 0 };
}

/** VmHWM, the process's peak resident set so far, in bytes; null once it is gone. */
export function peakRssOf(pid) {
  return readMemory(pid)?.hwm ?? null;
}

/** User + system CPU seconds a process has used so far; null once it is gone. */
export function cpuSecondsOf(pid) {
  try {
    // Fields after the parenthesised command name (which may hold ") "): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
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

/** Runs `command args` to its end: exit code, stdout, stderr, seconds and peak RSS. */
export function runChild(command, args, options = {}) {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
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

/** Runs `node args` to its end, as runChild does. */
export const runNode = (args, options = {}) => runChild(process.execPath, args, options);
