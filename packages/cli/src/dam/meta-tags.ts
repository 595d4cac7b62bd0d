/**
 * `sfx meta get|set|unset` and `sfx tag add|rm`: one asset's metadata and tags, by path or uuid.
 * Keys and tags that are not there are errors with the closest ones the asset has.
 */
import type { Command } from 'commander';
import type { FileObject, Meta } from '@sfx/client';
import { nearest } from '@sfx/flows';
import { CliError, UsageError } from '../errors.js';
import { parseMetaPairs, parseTags, reasonOf, showValue, tagLabels } from './args.js';
import { outputMode, printRows, type OutputFlags } from './output.js';
import { openDam, type ConnectionFlags, type Dam } from './session.js';

type Flags = ConnectionFlags & OutputFlags;

const CONNECTION = ['--connection <name>', 'the stored connection (default: $SFX_CONNECTION, or the only one)'] as const;

export function registerMetaTags(program: Command): void {
  const meta = program.command('meta').description("Read and change an asset's metadata");
  meta
    .command('get')
    .description("An asset's metadata, or one key's value")
    .argument('<path>', 'the asset (path or uuid)')
    .argument('[key]', 'only this key (its value alone is printed)')
    .option('--json', 'print the metadata as JSON')
    .option(...CONNECTION)
    .addHelpText('after', '\nExamples:\n  sfx meta get /products/shoe.jpg\n  sfx meta get /products/shoe.jpg color     # the value alone, for scripts\n  sfx meta get 3f2a...-uuid --json')
    .action((ref: string, key: string | undefined, flags: Flags) => metaGet(ref, key, flags));
  meta
    .command('set')
    .description('Set metadata keys (merged: other keys stay)')
    .argument('<path>', 'the asset (path or uuid)')
    .argument('<pairs...>', 'key=value; a value that parses as JSON stays JSON')
    .option('--json', 'print the metadata after the change as JSON')
    .option(...CONNECTION)
    .addHelpText('after', `\nExamples:\n  sfx meta set /products/shoe.jpg color=red season=2025\n  sfx meta set /products/shoe.jpg 'sizes=["S","M"]' 'title={"en":"Shoe","fr":"Chaussure"}'`)
    .action((ref: string, pairs: string[], flags: Flags) => metaSet(ref, pairs, flags));
  meta
    .command('unset')
    .description('Remove metadata keys')
    .argument('<path>', 'the asset (path or uuid)')
    .argument('<keys...>', 'the keys to remove')
    .option('--json', 'print the metadata after the change as JSON')
    .option(...CONNECTION)
    .addHelpText('after', '\nExamples:\n  sfx meta unset /products/shoe.jpg color season\n\nA key the asset does not have is an error (exit 1) and nothing changes.')
    .action((ref: string, keys: string[], flags: Flags) => metaUnset(ref, keys, flags));

  const tag = program.command('tag').description("Add or remove an asset's tags");
  tag
    .command('add')
    .description('Add tags (the ones it has stay)')
    .argument('<path>', 'the asset (path or uuid)')
    .argument('<tags...>', 'tag labels')
    .option('--json', 'print the tags after the change as JSON')
    .option(...CONNECTION)
    .addHelpText('after', '\nExamples:\n  sfx tag add /products/shoe.jpg summer sale')
    .action((ref: string, tags: string[], flags: Flags) => tagAdd(ref, tags, flags));
  tag
    .command('rm')
    .description('Remove tags')
    .argument('<path>', 'the asset (path or uuid)')
    .argument('<tags...>', 'tag labels')
    .option('--json', 'print the tags after the change as JSON')
    .option(...CONNECTION)
    .addHelpText('after', '\nExamples:\n  sfx tag rm /products/shoe.jpg sale\n\nA tag the asset does not have is an error (exit 1) and nothing changes.')
    .action((ref: string, tags: string[], flags: Flags) => tagRm(ref, tags, flags));
}

interface KeyValue {
  key: string;
  value: unknown;
}

function printMeta(flags: Flags, meta: Meta): void {
  const rows: KeyValue[] = Object.entries(meta).map(([key, value]) => ({ key, value }));
  printRows(
    outputMode(flags),
    [
      { header: 'KEY', value: (r: KeyValue) => r.key },
      { header: 'VALUE', value: (r: KeyValue) => showValue(r.value) },
    ],
    rows,
    () => meta,
  );
}

function missing(what: string, asked: string, known: readonly string[], file: FileObject): CliError {
  const near = nearest(asked, known);
  return new CliError(
    `${file.url?.path ?? file.name} has no ${what} ${JSON.stringify(asked)}.${near.length ? ` Did you mean ${near.map((n) => JSON.stringify(n)).join(', ')}?` : ''} It has: ${known.length ? known.join(', ') : '(none)'}. Nothing was changed.`,
  );
}

async function metaGet(ref: string, key: string | undefined, flags: Flags): Promise<void> {
  const dam = await openDam(flags);
  const file = await dam.file(ref);
  const meta = file.meta ?? {};
  if (key === undefined) return printMeta(flags, meta);
  if (!(key in meta)) throw missing('metadata key', key, Object.keys(meta), file);
  process.stdout.write(flags.json ? `${JSON.stringify(meta[key], null, 2)}\n` : `${showValue(meta[key])}\n`);
}

async function changeMeta(dam: Dam, file: FileObject, change: Meta): Promise<Meta> {
  try {
    return await dam.client.meta.update(file.uuid, change);
  } catch (error) {
    throw new CliError(`could not change the metadata of ${file.url?.path ?? file.name}: ${reasonOf(error)}`);
  }
}

async function metaSet(ref: string, pairs: string[], flags: Flags): Promise<void> {
  const change = parseMetaPairs(pairs, 'meta set');
  const dam = await openDam(flags);
  const file = await dam.file(ref);
  printMeta(flags, await changeMeta(dam, file, change));
}

async function metaUnset(ref: string, keys: string[], flags: Flags): Promise<void> {
  const dam = await openDam(flags);
  const file = await dam.file(ref);
  const meta = file.meta ?? {};
  const absent = keys.find((k) => !(k in meta));
  if (absent !== undefined) throw missing('metadata key', absent, Object.keys(meta), file);
  printMeta(flags, await changeMeta(dam, file, Object.fromEntries(keys.map((k) => [k, null]))));
}

function printTags(flags: Flags, file: FileObject): void {
  const labels = tagLabels(file);
  printRows(outputMode(flags), [{ header: 'TAG', value: (t: string) => t }], labels, () => ({ uuid: file.uuid, tags: file.tags ?? {} }));
}

async function tagAdd(ref: string, tags: string[], flags: Flags): Promise<void> {
  const labels = parseTags(tags);
  if (labels.length === 0) throw new UsageError('give at least one tag label, e.g. sfx tag add /a.jpg summer.');
  const dam = await openDam(flags);
  const file = await dam.file(ref);
  try {
    printTags(flags, await dam.client.tags.add(file, labels));
  } catch (error) {
    throw new CliError(`could not tag ${file.url?.path ?? file.name}: ${reasonOf(error)}`);
  }
}

async function tagRm(ref: string, tags: string[], flags: Flags): Promise<void> {
  const labels = parseTags(tags);
  if (labels.length === 0) throw new UsageError('give at least one tag label, e.g. sfx tag rm /a.jpg summer.');
  const dam = await openDam(flags);
  const file = await dam.file(ref);
  const has = tagLabels(file);
  const lower = new Set(has.map((t) => t.toLowerCase()));
  const absent = labels.find((l) => !lower.has(l.toLowerCase()));
  if (absent !== undefined) throw missing('tag', absent, has, file);
  const removing = new Set(labels.map((l) => l.toLowerCase()));
  const all = (file.tags ?? {}) as Record<string, Array<{ sid: string; label: string }>>;
  const keep = [...new Set(Object.values(all).flatMap((list) => list.filter((t) => !removing.has(t.label.toLowerCase())).map((t) => t.sid)))];
  try {
    printTags(flags, await dam.client.tags.set(file.uuid, { existing: keep, add: [] }));
  } catch (error) {
    throw new CliError(`could not untag ${file.url?.path ?? file.name}: ${reasonOf(error)}`);
  }
}
