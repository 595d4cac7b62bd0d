// The suite's bookkeeping, kept free of I/O so it can be tested on canned output: which workloads
// exist, reading a workload's last-line JSON, the record kept per workload, the markdown table,
// and the "Latest results" block of bench/README.md.

/** The workloads of issue 13, in the order the suite runs them (cheap and fast first). */
export const WORKLOADS = [
  'get-small',
  'cdn-cached',
  'search-1000000x',
  'list-1000000x',
  'resync-10000x',
  'faults-1pct',
  'upload-100KiB-10000x',
  'upload-1GiB-1x',
];

/**
 * The earlier benchmarks: standalone, not run by default, and not on the workload contract (their
 * JSON summaries differ). `--only NAME -- ARGS` runs one with ARGS, e.g. a size.
 */
export const STANDALONE = {
  'upload-memory': { json: true, about: 'server RSS while a large file goes in and out (PUT, multipart, tus)' },
  'client-upload-memory': { json: true, about: "the client's RSS while it uploads and downloads a large file" },
  'sync-memory': { json: true, about: '`sfx sync` peak RSS as the file count grows' },
  'list-search-scale': { json: false, about: 'list and search query times at N assets, straight on the database' },
  'cdn-render-flood': { json: false, about: 'one keyless caller flooding the CDN with distinct large transforms' },
  'scale-out-workers': { json: true, about: 'a flow\'s loop items on 1, 2 and 4 BullMQ workers against a DAM with fixed latency (needs redis-server)' },
};

export const README_START = '<!-- latest-results:start -->';
export const README_END = '<!-- latest-results:end -->';

/** The JSON object on the last non-empty stdout line, or null when there is none. */
export function lastJsonLine(stdout) {
  const last = stdout.trimEnd().split('\n').at(-1)?.trim() ?? '';
  if (!last.startsWith('{')) return null;
  try {
    const value = JSON.parse(last);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * The record the suite keeps for one workload: its summary plus how the run went.
 * status: ok | correctness failed | failed (no summary, or it exited non-zero without saying why) |
 * timed out | not present.
 */
export function recordFor({ workload, present = true, code = 0, stdout = '', stderr = '', seconds = 0, timedOut = false }) {
  if (!present) return { workload, status: 'not present' };
  const summary = lastJsonLine(stdout);
  const base = { seconds: Number(seconds.toFixed(1)), exitCode: code };
  if (timedOut) return { workload, status: 'timed out', ...base, error: tail(stderr) };
  if (!summary || !Array.isArray(summary.metrics)) return { workload, status: 'failed', ...base, error: tail(stderr) || 'no JSON summary on the last stdout line' };
  if (summary.workload !== workload) return { workload, status: 'failed', ...base, error: `its summary names workload ${JSON.stringify(summary.workload)}` };
  const correct = summary.correctness?.ok === true;
  const status = correct && code === 0 ? 'ok' : correct ? 'failed' : 'correctness failed';
  return { ...summary, status, ...base, ...(status === 'failed' && { error: tail(stderr) }) };
}

function tail(text, lines = 3) {
  return text.trim().split('\n').slice(-lines).join(' / ').slice(-400);
}

/** A figure with about three significant digits and thousands separators. */
export function formatNumber(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return '-';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(abs)));
  return value.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: digits });
}

const MB = 1e6;
const cell = (text) => String(text).replaceAll('|', '\\|').replaceAll('\n', ' ');

/** One table row per metric; a workload without metrics gets one row saying why. */
export function tableRows(records) {
  const rows = [];
  for (const record of records) {
    if (!Array.isArray(record.metrics) || record.metrics.length === 0) {
      const what = record.standalone ? `(standalone benchmark, ${record.status}; its own summary is in the .jsonl)` : `(${record.status})`;
      rows.push([record.workload, what, '', '', '', '', '', '']);
      continue;
    }
    for (const m of record.metrics) {
      const spread = m.min === m.max ? '' : ` (${formatNumber(m.min)}-${formatNumber(m.max)})`;
      rows.push([
        record.workload,
        m.name,
        `${formatNumber(m.median)} ${m.unit}${spread}`,
        m.peer ?? '-',
        m.peer ? `${formatNumber(m.peerMedian)} ${m.unit}` : '-',
        m.ratio === null || m.ratio === undefined ? '-' : `${formatNumber(m.ratio)}x`,
        m.target ?? '-',
        m.met === true ? 'yes' : m.met === false ? '**no**' : '-',
      ]);
    }
  }
  return rows;
}

/** The markdown report: a header naming the machine and run, the table, then correctness and RSS. */
export function renderMarkdown(records, { machine, date, quick, runs, loadavg }) {
  const head = ['workload', 'metric', 'sfx median (min-max)', 'peer', 'peer median', 'ratio', 'target', 'met'];
  const lines = [
    `${quick ? 'Quick run' : 'Full run'} (\`npm run bench${quick ? ' -- --quick' : ''}\`, ${runs} run${runs === 1 ? '' : 's'} per workload), ${date}, on ${machine.cpus} x ${machine.model}, Node ${machine.node}${loadavg ? `, load average ${loadavg.map((l) => l.toFixed(1)).join(' ')} at the start` : ''}.`,
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => ([2, 4, 5].includes(i) ? '---:' : '---')).join(' | ')} |`,
    ...tableRows(records).map((row) => `| ${row.map(cell).join(' | ')} |`),
    '',
  ];
  for (const record of records) {
    if (record.status === 'not present') {
      lines.push(`- ${record.workload}: not present in this checkout.`);
      continue;
    }
    const parts = [`${record.status}${record.seconds !== undefined ? ` in ${formatNumber(record.seconds)} s` : ''}`];
    if (record.correctness) parts.push(`correctness ${record.correctness.ok ? 'ok' : '**failed**'}: ${record.correctness.detail}`);
    if (record.rss && Object.keys(record.rss).length)
      parts.push(`peak RSS ${Object.entries(record.rss).map(([who, bytes]) => `${who} ${formatNumber(bytes / MB)} MB`).join(', ')}`);
    if (record.error) parts.push(`error: ${record.error}`);
    lines.push(`- ${record.workload}: ${parts.join('; ')}.`);
  }
  return `${lines.join('\n')}\n`;
}

/** The README with the text between the latest-results markers replaced by `block`. */
export function replaceLatestResults(readme, block) {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start)
    throw new Error(`bench/README.md has no "${README_START}" ... "${README_END}" pair; put the two markers where the latest results go.`);
  return `${readme.slice(0, start + README_START.length)}\n\n${block.trim()}\n\n${readme.slice(end)}`;
}
