/** `sfx info PATH|UUID...` (one asset's fields) and `sfx stat [FOLDER]` (counts and sizes by type). */
import type { Command } from 'commander';
import type { FileObject, FileStats } from '@sfx/client';
import { keyValues, table } from '../table.js';
import { assetBytes, assetPath, shortTime, tagLabels, visibilityText } from './asset-view.js';
import { formatBytes, outputMode, type OutputFlags, type OutputMode } from './output.js';
import { normalizeFolder, openDam, type ConnectionFlags } from './session.js';

type Flags = ConnectionFlags & OutputFlags;

const INFO_HELP = `
Examples:
  sfx info /products/shoe.jpg            # field: value lines
  sfx info 0b6f3c1e-...                  # the same asset by uuid
  sfx info /products/shoe.jpg --json     # the API's file object
  sfx info /products/shoe.jpg | awk -F'\\t' '$1=="sha1" {print $2}'   # piped: field<TAB>value`;

const STAT_HELP = `
Examples:
  sfx stat                               # the whole project
  sfx stat /products                     # /products and everything below it
  sfx stat /products --json

Counts come from the API's search statistics (GET /v5/files/stats), one query per kind of type.`;

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('Show an asset: uuid, path, size, type, sha1, dates, CDN URL, permalink, metadata, tags, product, visibility')
    .argument('<asset...>', 'a path (/folder/name.ext) or a uuid; several give several blocks')
    .option('--json', 'print the file object (an array for several)')
    .option('--connection <name>', 'the stored connection (default: $SFX_CONNECTION, or the only one)')
    .addHelpText('after', INFO_HELP)
    .action((refs: string[], flags: Flags) => info(refs, flags));
  program
    .command('stat')
    .description('Count the assets below a folder, and their size, in all and by kind of type')
    .argument('[folder]', 'the folder (default /: the whole project)', '/')
    .option('--json', 'print {folder, assets, bytes, direct, by_type} as JSON')
    .option('--connection <name>', 'the stored connection (default: $SFX_CONNECTION, or the only one)')
    .addHelpText('after', STAT_HELP)
    .action((folder: string, flags: Flags) => stat(folder, flags));
}

async function info(refs: string[], flags: Flags): Promise<void> {
  const dam = await openDam(flags);
  const files: FileObject[] = [];
  for (const ref of refs) files.push(await dam.file(ref));
  const mode = outputMode(flags);
  if (mode === 'json') {
    process.stdout.write(`${JSON.stringify(files.length === 1 ? files[0] : files, null, 2)}\n`);
    return;
  }
  const blocks = files.map((file) => fields(file));
  process.stdout.write(`${blocks.map((pairs) => render(mode, pairs)).join(mode === 'table' ? '\n\n' : '\n')}\n`);
}

function render(mode: OutputMode, pairs: Array<readonly [string, string]>): string {
  if (mode === 'table') return keyValues(pairs);
  return pairs.map(([k, v]) => `${k}\t${v.replace(/[\t\n]/g, ' ')}`).join('\n');
}

function fields(file: FileObject): Array<readonly [string, string]> {
  const bytes = assetBytes(file);
  const product = file.product?.ref ? `${file.product.ref}${file.product.position != null ? ` (position ${file.product.position})` : ''}` : '-';
  const tags = tagLabels(file);
  const pairs: Array<readonly [string, string]> = [
    ['uuid', file.uuid],
    ['path', assetPath(file)],
    ['size', bytes === undefined ? '' : `${formatBytes(bytes)} (${bytes} bytes)`],
    ['type', file.type ?? ''],
    ['sha1', file.hash?.sha1 ?? ''],
    ['created', shortTime(file.created_at)],
    ['modified', shortTime(file.modified_at)],
    ['cdn', file.url?.cdn ?? ''],
    ['permalink', file.url?.permalink ?? ''],
    ['tags', tags.length ? tags.join(', ') : '-'],
    ['product', product],
    ['visibility', visibilityText(file) || '-'],
  ];
  const meta = Object.entries(file.meta ?? {});
  if (meta.length === 0) pairs.push(['meta', '-']);
  for (const [key, value] of meta) pairs.push([`meta.${key}`, typeof value === 'string' ? value : JSON.stringify(value)]);
  return pairs;
}

/** MIME top-level types; what matches none of them is counted as "other". */
const KINDS = ['image', 'video', 'audio', 'text', 'application', 'font', 'model'] as const;

interface Count {
  assets: number;
  bytes: number;
}

const countOf = (s: FileStats): Count => ({ assets: s.total_files_count ?? s.approx_files_count ?? 0, bytes: s.total_files_size ?? s.approx_files_size ?? 0 });

async function stat(path: string, flags: Flags): Promise<void> {
  const dam = await openDam(flags);
  const folder = normalizeFolder(path);
  await dam.folder(folder);
  const stats = (extra: { recursive?: boolean; q?: string } = {}): Promise<Count> =>
    dam.client.files.stats({ folder, recursive: true, ...extra }).then(countOf);
  const [all, direct, ...kinds] = await Promise.all([stats(), stats({ recursive: false }), ...KINDS.map((kind) => stats({ q: `type:${kind}` }))]);
  const byType: Array<{ type: string } & Count> = KINDS.map((type, i) => ({ type, ...kinds[i]! })).filter((k) => k.assets > 0);
  const counted = byType.reduce((sum, k) => ({ assets: sum.assets + k.assets, bytes: sum.bytes + k.bytes }), { assets: 0, bytes: 0 });
  if (all.assets > counted.assets) byType.push({ type: 'other', assets: all.assets - counted.assets, bytes: Math.max(0, all.bytes - counted.bytes) });
  const mode = outputMode(flags);
  if (mode === 'json') {
    process.stdout.write(`${JSON.stringify({ folder, ...all, direct, by_type: byType }, null, 2)}\n`);
    return;
  }
  const size = (bytes: number): string => (mode === 'tsv' ? String(bytes) : formatBytes(bytes));
  const head: Array<readonly [string, string]> = [
    ['folder', folder],
    ['assets', String(all.assets)],
    ['size', size(all.bytes)],
    ['in the folder itself', `${direct.assets} asset${direct.assets === 1 ? '' : 's'}, ${size(direct.bytes)}`],
  ];
  if (mode === 'tsv') {
    const lines = [...head.map(([k, v]) => `${k}\t${v}`), ...byType.map((k) => `type:${k.type}\t${k.assets}\t${k.bytes}`)];
    process.stdout.write(`${lines.join('\n')}\n`);
    return;
  }
  const rows = byType.map((k) => [k.type, String(k.assets), formatBytes(k.bytes)]);
  process.stdout.write(`${keyValues(head)}\n${rows.length ? `\n${table(['TYPE', 'ASSETS', 'SIZE'], rows)}\n` : ''}`);
}
