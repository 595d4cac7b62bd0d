/** `sfx find [FOLDER] [QUERY...]`: search assets with the API's `q` grammar and friendly flags. */
import { type Command, InvalidArgumentError } from 'commander';
import { APIError, type FileObject } from '@sfx/client';
import { CliError } from '../errors.js';
import { assetColumns } from './asset-view.js';
import { outputMode, printRows, printWarnings, type OutputFlags } from './output.js';
import { buildQuery, sinceDate, type SearchFlags } from './search-query.js';
import { normalizeFolder, openDam, type ConnectionFlags } from './session.js';

interface FindFlags extends ConnectionFlags, OutputFlags, SearchFlags {
  since?: string;
  long?: boolean;
  limit: number;
  sort?: string;
  recursive: boolean;
}

const HELP = `
Examples:
  sfx find summer                        # full text (name, metadata, tags), everywhere
  sfx find /products "#summer" -l        # tagged summer, below /products, with size, type, date, uuid
  sfx find /products --tag summer --meta color=red,blue --type image
  sfx find --since 3d --type video       # videos created or changed in the last 3 days
  sfx find / 'size>1000000 -#draft'      # over 1 MB and not tagged draft
  sfx find /products --name 'IMG_*' --json
  sfx find /products --limit 0 | cut -f1 # every match, piped: one path a line

QUERY is the API's search expression (docs/search.md): words (prefix match), "#tag", key:value,
key:a,b (either), key:-value (not), size>N, created:2026-01-01..2026-02-01, -term (not).
A first argument that starts with / is the folder; everything else is the query.
The flags add terms: --tag T is "#T", --meta k=v is k:v (k alone: k:non-empty), --type image is
type:image (image/png: type:image_png), --name GLOB is name:GLOB, --since D is updated_after=D.
The total goes to stderr ("N assets match"); an unknown folder is an error (exit 1).`;

function limit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('--limit must be a whole number >= 0 (0: every match).');
  return n;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerFind(program: Command): void {
  program
    .command('find')
    .description('Search assets below a folder: the API search grammar, or --tag, --meta, --type, --since, --name')
    .argument('[folder]', 'the folder to search below (default /); a first word not starting with / is the query')
    .argument('[query...]', 'the search expression (docs/search.md)')
    .option('--tag <tag>', 'tagged so (repeatable: every tag must be there)', collect)
    .option('--meta <key=value>', 'metadata key equal to value; a,b for either; key alone: has a value (repeatable)', collect)
    .option('--type <kind>', 'image, video, audio, text, application, or a MIME type such as image/png (repeatable: any of them)', collect)
    .option('--since <when>', 'created or changed since: 90m, 12h, 3d, 2w, or a date such as 2026-01-01')
    .option('--name <glob>', 'file name, * as wildcard (e.g. "IMG_*.jpg")')
    .option('--no-recursive', 'only the folder itself, not its subfolders')
    .option('-l, --long', 'size, type, modification date and uuid too')
    .option('--limit <n>', 'at most this many (0: every match)', limit, 100)
    .option('--sort <field:dir>', 'e.g. name:asc, size:desc, created_at:desc (default: newest first)')
    .option('--json', 'print {folder, q, total, files} as JSON')
    .option('--connection <name>', 'the stored connection (default: $SFX_CONNECTION, or the only one)')
    .addHelpText('after', HELP)
    .action((first: string | undefined, rest: string[], flags: FindFlags) => find(first, rest, flags));
}

async function find(first: string | undefined, rest: string[], flags: FindFlags): Promise<void> {
  const startsWithFolder = first !== undefined && first.startsWith('/');
  const folder = normalizeFolder(startsWithFolder ? first : '/');
  const words = startsWithFolder ? rest : [...(first !== undefined ? [first] : []), ...rest];
  const q = buildQuery(words.join(' '), flags);
  const updatedAfter = flags.since !== undefined ? sinceDate(flags.since) : undefined;
  const dam = await openDam(flags);
  await dam.folder(folder);
  const listing = dam.client.files.list({
    folder,
    recursive: flags.recursive,
    ...(q ? { q } : {}),
    ...(updatedAfter ? { updated_after: updatedAfter } : {}),
    sort: flags.sort ?? 'created_at:desc',
    ...(flags.limit > 0 ? { maxItems: flags.limit, pageSize: Math.min(flags.limit, 1000) } : { pageSize: 1000 }),
  });
  const files: FileObject[] = [];
  let total: number | undefined;
  try {
    for await (const page of listing.pages()) {
      if (total === undefined) {
        total = page.info?.total_files_count ?? page.stats?.approx_files_count;
        printWarnings(page);
      }
      for (const file of page.files ?? []) if (flags.limit === 0 || files.length < flags.limit) files.push(file);
    }
  } catch (error) {
    if (error instanceof APIError && error.code === 'INVALID_QUERY')
      throw new CliError(
        `the search ${JSON.stringify(q)} is not valid: ${sentence(error.msg ?? error.message)}${error.hint ? ` ${sentence(error.hint)}` : ''} (docs/search.md has the grammar.)`,
      );
    throw error;
  }
  total ??= files.length;
  const mode = outputMode(flags);
  printRows(mode, assetColumns(mode, flags.long ?? false), files, () => ({
    folder,
    recursive: flags.recursive,
    q,
    ...(updatedAfter ? { updated_after: updatedAfter } : {}),
    total,
    files,
  }));
  if (mode !== 'json') process.stderr.write(`${summary(total, files.length)}\n`);
}

function summary(total: number, shown: number): string {
  const match = `${total} asset${total === 1 ? '' : 's'} match${total === 1 ? 'es' : ''}`;
  if (total === 0) return 'No asset matches.';
  return shown < total ? `${match}; showing ${shown} (--limit N for more, --limit 0 for all).` : `${match}.`;
}

const sentence = (text: string): string => (/[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`);
