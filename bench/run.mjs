#!/usr/bin/env node
// `npm run bench`: the benchmark suite of issue 13. Runs every workload script in
// bench/lib/suite.mjs's WORKLOADS (a missing one is reported "not present" and skipped), each in
// its own process with `--quick` / `--runs N`, keeps the last-line JSON summary of each, and writes
// bench/results/<timestamp>.jsonl and .md (the markdown table). See bench/README.md.
//
//   npm run bench [-- --quick] [--runs N] [--only a,b] [--update-readme] [--timeout S] [-- ARGS]
//
// --only picks workloads, or one of the standalone benchmarks (upload-memory, sync-memory, ...);
// ARGS after a second `--` go to every picked script (`--only upload-memory -- --bytes 2GiB`).
// --update-readme replaces the "Latest results" block of bench/README.md with this run's table.
// Exit status: 0 when every workload that is present ran and passed its correctness check.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clearTimeout, setTimeout } from 'node:timers';
import { STANDALONE, WORKLOADS, recordFor, renderMarkdown, replaceLatestResults } from './lib/suite.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const USAGE = `usage: npm run bench -- [--quick] [--runs N] [--only NAME[,NAME]] [--update-readme] [--timeout SECONDS] [-- ARGS]
workloads:  ${WORKLOADS.join(', ')}
standalone: ${Object.keys(STANDALONE).join(', ')} (only with --only)
`;

function options(argv) {
  const split = argv.indexOf('--');
  const own = split < 0 ? argv : argv.slice(0, split);
  const passthrough = split < 0 ? [] : argv.slice(split + 1);
  const { values } = parseArgs({
    args: own,
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      only: { type: 'string' },
      'update-readme': { type: 'boolean', default: false },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const runs = Number(values.runs ?? (values.quick ? 1 : 3));
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a whole number >= 1');
  // A guard against a hung workload, not a budget: generous, and per workload.
  const timeout = Number(values.timeout ?? (values.quick ? 300 : 3600));
  if (!(timeout > 0)) throw new Error('--timeout must be a number of seconds > 0');
  const only = values.only ? values.only.split(',').map((n) => n.trim().replace(/\.mjs$/, '')) : WORKLOADS;
  for (const name of only) {
    if (!WORKLOADS.includes(name) && !STANDALONE[name]) throw new Error(`--only: no workload or benchmark named "${name}"\n${USAGE}`);
  }
  return { quick: values.quick, runs, only, timeout, passthrough, updateReadme: values['update-readme'] };
}

/** Runs one script in its own process group (so a timeout takes its children too); echoes its output. */
function runScript(script, args, timeoutSeconds, { hideLastJson }) {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (text) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text) => {
      stderr += text;
      process.stderr.write(text);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      process.stderr.write(`bench: ${relative(HERE, script)} ran past ${timeoutSeconds} s; stopping it\n`);
      process.kill(-child.pid, 'SIGKILL');
    }, timeoutSeconds * 1000);
    const forwardSignal = (signal) => () => {
      process.kill(-child.pid, 'SIGTERM');
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    };
    const onInt = forwardSignal('SIGINT');
    const onTerm = forwardSignal('SIGTERM');
    process.once('SIGINT', onInt).once('SIGTERM', onTerm);
    child.once('error', fail);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('SIGINT', onInt).removeListener('SIGTERM', onTerm);
      const lines = stdout.trimEnd().split('\n');
      const shown = hideLastJson && lines.at(-1)?.startsWith('{') ? lines.slice(0, -1) : lines;
      if (shown.join('').trim()) process.stdout.write(`${shown.join('\n')}\n`);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      done({ code: code ?? (signal ? 128 : 1), stdout, stderr, seconds, timedOut });
    });
  });
}

async function main() {
  const opts = options(process.argv.slice(2));
  const list = cpus();
  const machine = { cpus: list.length, model: list[0]?.model.trim() ?? 'unknown', node: process.version };
  const date = new Date();
  const load = loadavg();
  const records = [];
  for (const name of opts.only) {
    const script = join(HERE, `${name}.mjs`);
    if (!existsSync(script)) {
      process.stderr.write(`== ${name}: not present, skipped ==\n`);
      records.push(recordFor({ workload: name, present: false }));
      continue;
    }
    const standalone = STANDALONE[name];
    const args = standalone
      ? [...opts.passthrough, ...(standalone.json && !opts.passthrough.includes('--json') ? ['--json'] : [])]
      : ['--runs', String(opts.runs), ...(opts.quick ? ['--quick'] : []), ...opts.passthrough];
    process.stderr.write(`== ${name} ${args.join(' ')} ==\n`);
    const run = await runScript(script, args, opts.timeout, { hideLastJson: true });
    if (standalone) {
      // Not on the contract: keep its own summary as it is, and whether it passed.
      records.push({ workload: name, standalone: true, status: run.timedOut ? 'timed out' : run.code === 0 ? 'ok' : 'failed', exitCode: run.code, seconds: Number(run.seconds.toFixed(1)), summary: standalone.json ? parseLast(run.stdout) : null });
    } else {
      records.push(recordFor({ workload: name, ...run }));
    }
    process.stderr.write(`== ${name}: ${records.at(-1).status} in ${run.seconds.toFixed(1)} s ==\n`);
  }

  const stamp = date.toISOString().replace(/[:.]/g, '-');
  const dir = join(HERE, 'results');
  await mkdir(dir, { recursive: true });
  const meta = { machine, date: date.toISOString(), quick: opts.quick, runs: opts.runs, loadavg: load };
  await writeFile(join(dir, `${stamp}.jsonl`), records.map((r) => `${JSON.stringify({ ...r, run: meta })}\n`).join(''));
  const markdown = renderMarkdown(records, { ...meta, date: date.toISOString().slice(0, 16).replace('T', ' ') + ' UTC' });
  await writeFile(join(dir, `${stamp}.md`), markdown);
  process.stdout.write(`\n${markdown}`);
  process.stderr.write(`results: ${relative(process.cwd(), join(dir, stamp))}.jsonl and .md\n`);
  if (opts.updateReadme) {
    const readmePath = join(HERE, 'README.md');
    await writeFile(readmePath, replaceLatestResults(await readFile(readmePath, 'utf8'), markdown));
    process.stderr.write(`updated the "Latest results" section of ${relative(process.cwd(), readmePath)}\n`);
  }
  return records.some((r) => r.status !== 'ok' && r.status !== 'not present') ? 1 : 0;
}

function parseLast(stdout) {
  try {
    return JSON.parse(stdout.trimEnd().split('\n').at(-1) ?? '');
  } catch {
    return null;
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
