#!/usr/bin/env node
// `npm run bench`: runs the size-driven benchmarks in bench/ (upload-memory, client-upload-memory), passing its own
// arguments through (`npm run bench -- --bytes 512MiB`), and keeps each JSON summary under
// bench/results/ (gitignored). Exits with the first non-zero status of a benchmark.

import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const BENCHES = ['upload-memory.mjs', 'client-upload-memory.mjs'];

function runBench(script, args) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(HERE, script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      out += text;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolvePromise({ code: code ?? (signal ? 128 : 1), out }));
  });
}

async function main() {
  const args = process.argv.slice(2);
  const wantJson = args.includes('--json');
  const passed = wantJson ? args : [...args, '--json'];
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  let status = 0;
  for (const script of BENCHES) {
    process.stderr.write(`== ${script} ==\n`);
    const { code, out } = await runBench(script, passed);
    const lines = out.trimEnd().split('\n');
    const last = lines.at(-1) ?? '';
    const hasJson = last.startsWith('{');
    process.stdout.write(`${(hasJson && !wantJson ? lines.slice(0, -1) : lines).join('\n')}\n`);
    if (hasJson) {
      const dir = join(HERE, 'results');
      await mkdir(dir, { recursive: true });
      const file = join(dir, `${script.replace(/\.mjs$/, '')}-${stamp}.json`);
      await writeFile(file, `${JSON.stringify(JSON.parse(last), null, 2)}\n`);
      process.stderr.write(`summary saved to ${relative(process.cwd(), file)}\n`);
    }
    if (code !== 0 && status === 0) status = code;
  }
  return status;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(2);
  },
);
