/**
 * `sfx mv`, `sfx rename`, `sfx rm` and `sfx mkdir`: the DAM's assets and folders handled like a
 * file system. Every reference is resolved before anything changes, so a typo changes nothing.
 */
import type { Command } from 'commander';
import { CliError, EXIT_USAGE, UsageError } from '../errors.js';
import { confirm, reasonOf } from './args.js';
import { folderPath, resolveEntry, type Entry } from './entries.js';
import { outputMode, printRows, type OutputFlags } from './output.js';
import { normalizeFolder, openDam, splitPath, type ConnectionFlags } from './session.js';

type Flags = ConnectionFlags & OutputFlags;

const CONNECTION = ['--connection <name>', 'the stored connection (default: $SFX_CONNECTION, or the only one)'] as const;

export function registerManage(program: Command): void {
  program
    .command('mv')
    .description('Move assets and folders into a folder')
    .argument('<paths...>', 'assets or folders (paths or uuids), then the destination folder')
    .option('--json', 'print what moved as JSON')
    .option(...CONNECTION)
    .addHelpText(
      'after',
      `
Examples:
  sfx mv /inbox/a.jpg /inbox/b.jpg /products      # two assets
  sfx mv 3f2a...-uuid /archive                     # by uuid
  sfx mv /inbox/2024 /archive                      # a folder, with all it holds

The destination must exist (sfx mkdir -p creates it). A path ending in / always means a folder.`,
    )
    .action((args: string[], flags: Flags) => mv(args, flags));

  program
    .command('rename')
    .description('Rename an asset or a folder (in place; sfx mv moves)')
    .argument('<path>', 'the asset or folder (path or uuid)')
    .argument('<newName>', 'the new name, without a folder')
    .option('--json', 'print the renamed object as JSON')
    .option(...CONNECTION)
    .addHelpText(
      'after',
      `
Examples:
  sfx rename /products/IMG_001.jpg red-shoe.jpg
  sfx rename /products/old-name new-name            # a folder

A name already taken in the folder is an error (exit 1) and nothing changes.`,
    )
    .action((ref: string, name: string, flags: Flags) => rename(ref, name, flags));

  program
    .command('rm')
    .description('Delete assets, and folders with -r')
    .argument('<paths...>', 'assets or folders (paths or uuids)')
    .option('-r, --recursive', 'delete folders with everything in them')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print what was deleted as JSON')
    .option(...CONNECTION)
    .addHelpText(
      'after',
      `
Examples:
  sfx rm /products/old.jpg                         # one asset: no question asked
  sfx rm /tmp/a.jpg /tmp/b.jpg                      # asks first on a terminal
  sfx rm -r /old-campaign --yes                     # a folder and all it holds, no question

Deleting more than one asset or any folder asks for confirmation on a terminal; without one
(scripts, pipes) it is refused unless --yes is given (exit 2). Nothing is deleted unless every
path is found.`,
    )
    .action((refs: string[], flags: Flags & { recursive?: boolean; yes?: boolean }) => rm(refs, flags));

  program
    .command('mkdir')
    .description('Create folders')
    .argument('<folders...>', 'folder paths, e.g. /products/shoes')
    .option('-p, --parents', 'create missing parents too, and accept folders that exist')
    .option('--json', 'print the folders as JSON')
    .option(...CONNECTION)
    .addHelpText(
      'after',
      `
Examples:
  sfx mkdir /products                  # its parent (/) exists
  sfx mkdir -p /products/shoes/red     # parents made as needed; no error if it exists

Without -p a missing parent or an existing folder is an error (exit 1) naming it.`,
    )
    .action((folders: string[], flags: Flags & { parents?: boolean }) => mkdir(folders, flags));
}

interface MoveRow {
  kind: 'file' | 'folder';
  from: string;
  to: string;
  uuid: string;
}

const MOVE_COLUMNS = [
  { header: 'FROM', value: (r: MoveRow) => r.from },
  { header: 'TO', value: (r: MoveRow) => r.to },
  { header: 'UUID', value: (r: MoveRow) => r.uuid },
];

async function mv(args: string[], flags: Flags): Promise<void> {
  if (args.length < 2) throw new UsageError('sfx mv needs what to move and then the destination folder, e.g. sfx mv /inbox/a.jpg /products.');
  const dam = await openDam(flags);
  const destination = await dam.folder(args[args.length - 1]!);
  const dest = folderPath(destination);
  const entries: Entry[] = [];
  for (const ref of args.slice(0, -1)) entries.push(await resolveEntry(dam, ref));
  const files = entries.filter((e) => e.kind === 'file');
  const folders = entries.filter((e) => e.kind === 'folder');
  for (const f of folders)
    if (dest === f.path || dest.startsWith(`${f.path}/`)) throw new CliError(`cannot move ${f.path} into itself (${dest}).`, EXIT_USAGE);
  const rows: MoveRow[] = [];
  const inDest = (name: string): string => `${dest === '/' ? '' : dest}/${name}`;
  if (files.length > 0) {
    await dam.client.files.moveMany(files.map((f) => f.file.uuid), dest);
    for (const f of files) rows.push({ kind: 'file', from: f.path, to: inDest(f.file.name), uuid: f.file.uuid });
  }
  if (folders.length > 0) {
    await dam.client.folders.moveMany(folders.map((f) => f.folder.uuid), dest);
    for (const f of folders) rows.push({ kind: 'folder', from: `${f.path}/`, to: `${inDest(f.folder.name)}/`, uuid: f.folder.uuid });
  }
  printRows(
    outputMode(flags),
    MOVE_COLUMNS,
    rows,
  );
}

async function rename(ref: string, name: string, flags: Flags): Promise<void> {
  if (name.includes('/') || name.trim() === '' || name === '.' || name === '..')
    throw new UsageError(`the new name must be a plain name without "/", got ${JSON.stringify(name)} (sfx mv moves to another folder).`);
  const dam = await openDam(flags);
  const entry = await resolveEntry(dam, ref);
  const current = entry.kind === 'file' ? entry.file.name : entry.folder.name;
  if (current === name) {
    process.stderr.write(`${entry.path} is already named ${name}: nothing to do.\n`);
    return;
  }
  const parent = splitPath(entry.path).folder;
  const to = `${parent === '/' ? '' : parent}/${name}`;
  let renamed: unknown;
  try {
    renamed = entry.kind === 'file' ? await dam.client.files.rename(entry.file.uuid, name) : await dam.client.folders.rename(entry.folder.uuid, name);
  } catch (error) {
    throw new CliError(`could not rename ${entry.path} to ${name}: ${reasonOf(error)}`);
  }
  const uuid = entry.kind === 'file' ? entry.file.uuid : entry.folder.uuid;
  printRows(
    outputMode(flags),
    MOVE_COLUMNS,
    [{ kind: entry.kind, from: entry.path, to, uuid }],
    () => renamed,
  );
}

interface DeletedRow {
  kind: 'file' | 'folder';
  path: string;
  uuid: string;
  detail: string;
}

async function rm(refs: string[], flags: Flags & { recursive?: boolean; yes?: boolean }): Promise<void> {
  const dam = await openDam(flags);
  const entries: Entry[] = [];
  for (const ref of refs) entries.push(await resolveEntry(dam, ref));
  const folders = entries.filter((e) => e.kind === 'folder');
  if (folders.length > 0 && !flags.recursive)
    throw new CliError(`${folders.map((f) => `${f.path}/`).join(', ')} ${folders.length > 1 ? 'are folders' : 'is a folder'}: add -r to delete with everything inside. Nothing was deleted.`, EXIT_USAGE);
  const files = entries.filter((e) => e.kind === 'file');
  if (folders.some((f) => f.path === '/')) throw new CliError('refusing to delete the root folder. Nothing was deleted.', EXIT_USAGE);
  if ((entries.length > 1 || folders.length > 0) && !flags.yes) {
    const what = describe(files.length, folders.map((f) => f.path));
    if (!(process.stdin.isTTY && process.stderr.isTTY))
      throw new UsageError(`refusing to delete ${what} without confirmation: add --yes (no terminal to ask on). Nothing was deleted.`);
    if (!(await confirm(`Delete ${what}?`))) throw new CliError('nothing was deleted.');
  }
  const rows: DeletedRow[] = [];
  // Each delete on its own: one that fails leaves the rest done and says which.
  const failures: string[] = [];
  for (const entry of entries) {
    try {
      if (entry.kind === 'file') {
        await dam.client.files.delete(entry.file.uuid);
        rows.push({ kind: 'file', path: entry.path, uuid: entry.file.uuid, detail: '' });
      } else {
        const gone = await dam.client.folders.delete(entry.folder.uuid);
        const count = (n: number | undefined, noun: string): string => (n === undefined ? '' : `${n} ${noun}${n === 1 ? '' : 's'}`);
        const removed = [count(gone.files, 'file'), count(gone.folders, 'folder')].filter(Boolean).join(' and ');
        const detail = removed ? `${removed} removed` : '';
        rows.push({ kind: 'folder', path: `${entry.path}/`, uuid: entry.folder.uuid, detail });
      }
    } catch (error) {
      failures.push(`${entry.path}: ${reasonOf(error)}`);
    }
  }
  printRows(
    outputMode(flags),
    [
      { header: 'DELETED', value: (r: DeletedRow) => r.path },
      { header: 'UUID', value: (r: DeletedRow) => r.uuid },
      { header: 'DETAIL', value: (r: DeletedRow) => r.detail },
    ],
    rows,
    () => ({ deleted: rows, failed: failures }),
  );
  if (failures.length > 0) throw new CliError(`could not delete ${failures.length} of ${entries.length}:\n  ${failures.join('\n  ')}`);
}

function describe(files: number, folders: readonly string[]): string {
  const parts: string[] = [];
  if (files > 0) parts.push(`${files} asset${files === 1 ? '' : 's'}`);
  if (folders.length > 0) parts.push(`${folders.length === 1 ? 'the folder' : 'the folders'} ${folders.join(', ')} with everything in ${folders.length === 1 ? 'it' : 'them'}`);
  return parts.join(' and ');
}

interface MkdirRow {
  path: string;
  result: 'created' | 'exists';
  uuid: string;
}

async function mkdir(paths: string[], flags: Flags & { parents?: boolean }): Promise<void> {
  const wanted = paths.map((p) => normalizeFolder(p));
  const root = wanted.find((p) => p === '/');
  if (root) throw new UsageError('/ is the root folder: it always exists. Give a path such as /products.');
  const dam = await openDam(flags);
  const rows: MkdirRow[] = [];
  for (const path of wanted) {
    const existing = await dam.client.folders.findByPath(path);
    if (existing) {
      if (!flags.parents) throw new CliError(`${path} already exists (sfx mkdir -p accepts existing folders).`);
      rows.push({ path, result: 'exists', uuid: existing.uuid });
      continue;
    }
    if (flags.parents) {
      rows.push({ path, result: 'created', uuid: (await dam.client.folders.ensure(path)).uuid });
      continue;
    }
    const parent = splitPath(path).folder;
    try {
      await dam.folder(parent);
    } catch (error) {
      throw new CliError(`cannot create ${path}: its parent ${parent} does not exist (sfx mkdir -p creates parents). ${(error as Error).message}`);
    }
    rows.push({ path, result: 'created', uuid: (await dam.client.folders.create(path)).uuid });
  }
  printRows(
    outputMode(flags),
    [
      { header: 'FOLDER', value: (r: MkdirRow) => r.path },
      { header: 'RESULT', value: (r: MkdirRow) => r.result },
      { header: 'UUID', value: (r: MkdirRow) => r.uuid },
    ],
    rows,
  );
}
