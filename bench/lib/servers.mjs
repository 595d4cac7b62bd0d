// Starting what a workload measures against, each as a child process on 127.0.0.1 (its CPU and
// memory its own): the sfx server from the built CLI or from packages/server/dist, and peers
// (a script that prints `listening on <url>`). Every child is killed if the workload exits early.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { CLI, ROOT } from './contract.mjs';
import { cpuSecondsOf, peakRssOf } from './proc.mjs';

const children = new Set();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/**
 * Spawns `node args` and waits for `listening on <url>` on its stdout. Resolves its url, pid,
 * cpuMicros() and peakRss() (null once it is gone), and stop(): SIGTERM (SIGKILL after 10 s),
 * resolving with the child's stdout after the listening line (a report it prints on exit).
 * `prefixStderr` labels each line the child writes to stderr; otherwise it goes straight through.
 */
export async function startListening(args, label, { prefixStderr = false, timeoutMs = 300_000 } = {}) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', prefixStderr ? 'pipe' : 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (prefixStderr) {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text) => process.stderr.write(text.replace(/^(?=.)/gm, `[${label}] `)));
  }
  let out = '';
  let after = -1;
  const url = await new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${label} did not start within ${timeoutMs / 1000} s`)), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (text) => {
      out += text;
      const match = after < 0 && /listening on (http:\/\/\S+)\n/.exec(out);
      if (match) {
        after = match.index + match[0].length;
        clearTimeout(timer);
        done(match[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`${label} exited (${code ?? signal}) before listening: ${out.trim()}`));
    });
    child.once('error', fail);
  });
  return {
    url,
    pid: child.pid,
    /** CPU time (user + system) the process has used so far, in microseconds; null once it is gone. */
    cpuMicros() {
      const seconds = cpuSecondsOf(child.pid);
      return seconds === null ? null : seconds * 1e6;
    },
    peakRss: () => peakRssOf(child.pid),
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done(out.slice(after));
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('close', () => {
          clearTimeout(timer);
          done(out.slice(after));
        });
        child.kill('SIGTERM');
      }),
  };
}

/** `sfx server` from the built CLI, on a data dir of its own, with `key` as its root key. */
export function startSfxServer(dataDir, key, { label = 'sfx server', extra = [], ...options } = {}) {
  return startListening([CLI, 'server', '--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--root-key', key,
    '--durability', 'relaxed', '--log', 'warn', ...extra], label, options);
}

/**
 * The built server (packages/server/dist) started by bench/lib/dist-server.mjs, for options the
 * CLI does not expose; `serverOptions` are startServer's (data, rootKey, token, duplicatePolicy...).
 */
export function startDistServer(serverOptions, { label = 'sfx server', ...options } = {}) {
  return startListening([join(ROOT, 'bench/lib/dist-server.mjs'), JSON.stringify(serverOptions)], label, options);
}

/** Writes a peer's source next to the data and starts it; the source prints `listening on <url>`. */
export function startPeerScript(label, dir, source, options = {}) {
  const file = join(dir, `${label.replace(/\W+/g, '-')}.mjs`);
  writeFileSync(file, source);
  return startListening([file], label, options);
}

/** Every file of a folder, listed over the API: [{ name, sha1, size }]. */
export async function listFolder(url, folder, key) {
  const files = [];
  for (let offset = 0; ; offset += 1000) {
    const response = await globalThis.fetch(`${url}/demo/v4/files?folder=${encodeURIComponent(folder)}&limit=1000&offset=${offset}`, {
      headers: { 'X-Filerobot-Key': key },
    });
    const body = await response.json();
    if (!Array.isArray(body.files)) throw new Error(`listing ${folder} failed: ${JSON.stringify(body).slice(0, 300)}`);
    for (const f of body.files) files.push({ name: f.name, sha1: f.hash?.sha1, size: f.size?.bytes ?? f.size });
    if (body.files.length < 1000) return files;
  }
}
