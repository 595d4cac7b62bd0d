/** `sfx ls [FOLDER] [-l] [-R]`: a folder's subfolders and assets, like ls. */
import type { Command } from 'commander';
import type { FileObject, FolderObject } from '@sfx/client';
import { formatBytes, outputMode, printRows, type Column, type OutputFlags } from './output.js';
import { normalizeFolder, openDam, type ConnectionFlags } from './session.js';

interface LsFlags extends ConnectionFlags, OutputFlags {
  long?: boolean;
  recursive?: boolean;
}

interface Entry {
  kind: 'folder' | 'file';
  path: string;
  name: string;
  size?: number;
  type?: string;
  modified?: string;
  uuid: string;
  raw: FileObject | FolderObject;
}

function fileEntry(f: FileObject, folder: string): Entry {
  const dir = (f.url?.path ? f.url.path.replace(/\/[^/]*$/, '') : folder) || '/';
  return {
    kind: 'file',
    path: `${dir === '/' ? '' : dir}/${f.name}`,
    name: f.name,
    size: typeof f.size === 'object' ? (f.size as { bytes?: number }).bytes : undefined,
    type: f.type,
    modified: f.modified_at ?? f.created_at,
    uuid: f.uuid,
    raw: f,
  };
}

function folderEntry(f: FolderObject): Entry {
  return { kind: 'folder', path: `${f.path.replace(/\/$/, '')}/`, name: `${f.name}/`, modified: f.updated_at ?? f.created_at, uuid: f.uuid, raw: f };
}

const HELP = `
Examples:
  sfx ls                      # the root folder
  sfx ls /products -l         # with size, type, date and uuid
  sfx ls /products -R         # every asset below /products
  sfx ls /products --json     # the folder and file objects as JSON
  sfx ls /products | cut -f1  # piped: tab-separated, no header

An unknown folder is an error (exit 1) that names the closest folders there are.`;

export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('List a folder: its subfolders, then its assets (-R: every asset below it)')
    .argument('[folder]', 'the folder (default /)', '/')
    .option('-l, --long', 'size, type, modification date and uuid too')
    .option('-R, --recursive', 'every asset below the folder, with its path')
    .option('--json', 'print the folders and files as JSON')
    .option('--connection <name>', 'the stored connection (default: $SFX_CONNECTION, or the only one)')
    .addHelpText('after', HELP)
    .action((folder: string, flags: LsFlags) => ls(folder, flags));
}

async function ls(path: string, flags: LsFlags): Promise<void> {
  const dam = await openDam(flags);
  const folder = normalizeFolder(path);
  await dam.folder(folder);
  const entries: Entry[] = [];
  // dam.folder() made sure the folder exists: the listing's only warning would say it does not.
  if (!flags.recursive) for await (const f of dam.client.folders.list({ folder })) entries.push(folderEntry(f));
  for await (const f of dam.client.files.list({ folder, recursive: flags.recursive ?? false, sort: 'name:asc' })) entries.push(fileEntry(f, folder));
  if (flags.recursive) entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const mode = outputMode(flags);
  const nameColumn: Column<Entry> = { header: flags.recursive ? 'PATH' : 'NAME', value: (e) => (flags.recursive ? e.path : e.name) };
  const columns: Array<Column<Entry>> = flags.long
    ? [
        nameColumn,
        { header: 'SIZE', value: (e) => (e.kind === 'folder' ? '-' : mode === 'tsv' ? String(e.size ?? '') : formatBytes(e.size)) },
        { header: 'TYPE', value: (e) => (e.kind === 'folder' ? 'folder' : (e.type ?? '')) },
        { header: 'MODIFIED', value: (e) => (e.modified ?? '').replace('T', ' ').slice(0, 19) },
        { header: 'UUID', value: (e) => e.uuid },
      ]
    : [nameColumn];
  printRows(mode, columns, entries, () => ({
    folder,
    folders: entries.filter((e) => e.kind === 'folder').map((e) => e.raw),
    files: entries.filter((e) => e.kind === 'file').map((e) => e.raw),
  }));
  if (mode === 'table' && entries.length === 0) process.stderr.write(`${folder} is empty.\n`);
}
