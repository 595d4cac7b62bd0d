import { describe, expect, it } from 'vitest';
import { README_END, README_START, WORKLOADS, lastJsonLine, recordFor, renderMarkdown, replaceLatestResults } from './suite.mjs';

const machine = { cpus: 2, model: 'AMD EPYC', node: 'v20.20.2' };
const summary = (workload, overrides = {}) => ({
  workload,
  quick: true,
  machine,
  metrics: [
    { name: 'files/s, 32 at once', unit: 'files/s', median: 412.4, min: 398, max: 431, peer: 'curl --parallel', peerMedian: 450, ratio: 0.916, target: '>= 1.0x curl', met: false },
    { name: 'client RSS', unit: 'MB', median: 48, min: 48, max: 48, peer: null, peerMedian: null, ratio: null, target: '< 60 MB', met: true },
  ],
  rss: { 'sfx server': 150_300_000 },
  correctness: { ok: true, detail: '10000 stored, sha1s equal' },
  ...overrides,
});
const stdoutOf = (object) => `a human table\nmetric  value\n${JSON.stringify(object)}\n`;

describe('reading a workload run', () => {
  it('takes the JSON object on the last stdout line only', () => {
    expect(lastJsonLine(stdoutOf({ workload: 'x', metrics: [] }))).toEqual({ workload: 'x', metrics: [] });
    expect(lastJsonLine('{"workload":"x"}\nthen a table\n')).toBeNull();
    expect(lastJsonLine('{"cut off')).toBeNull();
    expect(lastJsonLine('[1,2]')).toBeNull();
    expect(lastJsonLine('')).toBeNull();
  });

  it('keeps the summary of a passing run, with its status and time', () => {
    const record = recordFor({ workload: 'upload-100KiB-10000x', code: 0, stdout: stdoutOf(summary('upload-100KiB-10000x')), seconds: 12.345 });
    expect(record).toMatchObject({ workload: 'upload-100KiB-10000x', status: 'ok', seconds: 12.3, exitCode: 0 });
    expect(record.metrics).toHaveLength(2);
  });

  it('tells a missed target (data) from failed correctness and from a run that gave no summary', () => {
    const failedCheck = summary('faults-1pct', { correctness: { ok: false, detail: '3 lost' } });
    expect(recordFor({ workload: 'faults-1pct', code: 1, stdout: stdoutOf(failedCheck) }).status).toBe('correctness failed');
    expect(recordFor({ workload: 'get-small', code: 2, stdout: 'half a table\n', stderr: 'Error: build first\n' })).toMatchObject({ status: 'failed', error: 'Error: build first' });
    expect(recordFor({ workload: 'get-small', code: 0, stdout: stdoutOf(summary('cdn-cached')) }).status).toBe('failed');
    expect(recordFor({ workload: 'get-small', code: 137, stdout: '', timedOut: true }).status).toBe('timed out');
    expect(recordFor({ workload: 'list-1000000x', present: false })).toEqual({ workload: 'list-1000000x', status: 'not present' });
  });
});

describe('the markdown report', () => {
  const records = [
    recordFor({ workload: 'upload-100KiB-10000x', code: 0, stdout: stdoutOf(summary('upload-100KiB-10000x')), seconds: 20 }),
    recordFor({ workload: 'search-1000000x', present: false }),
    recordFor({ workload: 'faults-1pct', code: 1, stdout: stdoutOf(summary('faults-1pct', { correctness: { ok: false, detail: '2 duplicated | 0 lost' } })), seconds: 9 }),
  ];
  const markdown = renderMarkdown(records, { machine, date: '2026-11-24 05:00 UTC', quick: true, runs: 1, loadavg: [3.2, 2.5, 2] });

  it('has one row per metric with median (min-max), peer, ratio, target and met', () => {
    expect(markdown).toContain('| workload | metric | sfx median (min-max) | peer | peer median | ratio | target | met |');
    expect(markdown).toContain('| upload-100KiB-10000x | files/s, 32 at once | 412 files/s (398-431) | curl --parallel | 450 files/s | 0.916x | >= 1.0x curl | **no** |');
    // min = max: no spread shown, no peer.
    expect(markdown).toContain('| upload-100KiB-10000x | client RSS | 48 MB | - | - | - | < 60 MB | yes |');
  });

  it('names the machine and run, marks absent workloads, and escapes pipes', () => {
    expect(markdown).toMatch(/^Quick run \(`npm run bench -- --quick`, 1 run per workload\), 2026-11-24 05:00 UTC, on 2 x AMD EPYC, Node v20.20.2, load average 3.2 2.5 2.0/);
    expect(markdown).toContain('| search-1000000x | (not present) |');
    expect(markdown).toContain('- search-1000000x: not present in this checkout.');
    expect(markdown).toContain('- faults-1pct: correctness failed in 9 s; correctness **failed**: 2 duplicated | 0 lost');
    expect(markdown).toContain('peak RSS sfx server 150 MB');
    const tableLines = markdown.split('\n').filter((l) => l.startsWith('| faults-1pct'));
    for (const line of tableLines) expect(line.split(/(?<!\\)\|/).length).toBe(10);
  });

  it('replaces only the block between the README markers', () => {
    const readme = `# Benchmarks\n\nintro\n\n## Latest results\n\n${README_START}\nold table\n${README_END}\n\n## upload-memory\nkept\n`;
    const updated = replaceLatestResults(readme, markdown);
    expect(updated).not.toContain('old table');
    expect(updated).toContain(markdown.trim());
    expect(updated.startsWith('# Benchmarks\n\nintro\n\n## Latest results\n\n')).toBe(true);
    expect(updated.endsWith(`${README_END}\n\n## upload-memory\nkept\n`)).toBe(true);
    expect(replaceLatestResults(updated, 'new')).toContain(`${README_START}\n\nnew\n\n${README_END}`);
    expect(() => replaceLatestResults('# no markers\n', markdown)).toThrow(/latest-results:start/);
  });

  it('says a standalone benchmark has no contract metrics', () => {
    const standalone = renderMarkdown([{ workload: 'upload-memory', standalone: true, status: 'ok', seconds: 30, summary: { bench: 'upload-memory' } }], { machine, date: 'd', quick: false, runs: 3 });
    expect(standalone).toContain('| upload-memory | (standalone benchmark, ok; its own summary is in the .jsonl) |');
  });

  it('lists the eight workloads of issue 13', () => {
    expect(WORKLOADS).toHaveLength(8);
    expect(new Set(WORKLOADS).size).toBe(8);
  });
});
