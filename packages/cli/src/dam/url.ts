/** `sfx url PATH|UUID...`: CDN URLs, with the CDN's resize and format transforms. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { cdnUrl, type Transform } from '@sfx/client';
import { UsageError } from '../errors.js';
import { assetPath } from './asset-view.js';
import { openDam, type ConnectionFlags } from './session.js';

interface UrlFlags extends ConnectionFlags {
  w?: number;
  h?: number;
  func?: Transform['func'];
  format?: string;
  q?: number;
  dpr?: number;
  gravity?: string;
  param?: string[];
  json?: boolean;
}

const HELP = `
Examples:
  sfx url /products/shoe.jpg                          # the asset's CDN URL
  sfx url /products/shoe.jpg --w 400 --format webp    # 400 px wide, as WebP
  sfx url /products/shoe.jpg --w 300 --h 300 --func crop --gravity face
  sfx url /products/a.jpg /products/b.jpg --w 800     # one URL a line, in the order given
  sfx find /products --tag summer | cut -f1 | xargs sfx url --w 400

The URL keeps the asset's version hash (vh), so caches miss when the content changes. Build URLs
when you need them: a path-based CDN URL changes when the asset is renamed or moved.`;

function whole(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 5) throw new InvalidArgumentError('--dpr must be a number above 0, at most 5.');
  return n;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerUrl(program: Command): void {
  program
    .command('url')
    .description('Print CDN URLs of assets, resized or converted on the fly (--w, --h, --func, --format, --q)')
    .argument('<asset...>', 'paths (/folder/name.ext) or uuids')
    .option('--w <px>', 'width in pixels (1-10000)', whole('--w', 1, 10_000))
    .option('--h <px>', 'height in pixels (1-10000)', whole('--h', 1, 10_000))
    .addOption(new Option('--func <mode>', 'how to fit --w x --h').choices(['crop', 'cover', 'fit', 'bound']))
    .option('--format <format>', 'output format: webp, avif, jpeg, png (force_format)')
    .option('--q <quality>', 'quality 1-100', whole('--q', 1, 100))
    .option('--dpr <ratio>', 'device pixel ratio, e.g. 2', positive)
    .option('--gravity <where>', 'crop anchor with --func crop: auto, face, north, ...')
    .option('--param <name=value>', 'any other CDN parameter (repeatable)', collect)
    .option('--json', 'print [{asset, uuid, path, url}] as JSON')
    .option('--connection <name>', 'the stored connection (default: $SFX_CONNECTION, or the only one)')
    .addHelpText('after', HELP)
    .action((refs: string[], flags: UrlFlags) => urls(refs, flags));
}

function transformOf(flags: UrlFlags): Transform {
  const transform: Transform = {};
  for (const pair of flags.param ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--param ${JSON.stringify(pair)} must be name=value, e.g. --param r=90.`);
    transform[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  if (flags.format !== undefined && !/^[a-z0-9]+(,[a-z0-9]+)*$/i.test(flags.format))
    throw new UsageError(`--format ${JSON.stringify(flags.format)} is not a format: give webp, avif, jpeg or png.`);
  if (flags.gravity !== undefined && flags.func !== 'crop') throw new UsageError('--gravity applies with --func crop.');
  return {
    ...transform,
    ...(flags.w !== undefined && { w: flags.w }),
    ...(flags.h !== undefined && { h: flags.h }),
    ...(flags.func !== undefined && { func: flags.func }),
    ...(flags.format !== undefined && { force_format: flags.format.toLowerCase() }),
    ...(flags.q !== undefined && { q: flags.q }),
    ...(flags.dpr !== undefined && { dpr: flags.dpr }),
    ...(flags.gravity !== undefined && { gravity: flags.gravity }),
  };
}

async function urls(refs: string[], flags: UrlFlags): Promise<void> {
  const transform = transformOf(flags);
  const dam = await openDam(flags);
  const out: Array<{ asset: string; uuid: string; path: string; url: string }> = [];
  for (const ref of refs) {
    const file = await dam.file(ref);
    out.push({ asset: ref, uuid: file.uuid, path: assetPath(file), url: cdnUrl(file, transform) });
  }
  process.stdout.write(flags.json ? `${JSON.stringify(out, null, 2)}\n` : `${out.map((o) => o.url).join('\n')}\n`);
}
