/**
 * `sfx open [PATH]`: where the project (or an asset) would be opened in a browser. sfx has no web
 * console yet, so it opens nothing: it prints the URL and says so, rather than pretend.
 */
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { assetPath } from './asset-view.js';
import { isUuid, openDam, type ConnectionFlags } from './session.js';

interface OpenFlags extends ConnectionFlags {
  print?: boolean;
}

const HELP = `
Examples:
  sfx open                          # the project's server URL
  sfx open /products/shoe.jpg       # the asset's CDN URL
  sfx open /products/shoe.jpg --print | xargs xdg-open

There is no web console yet, so nothing is opened: the URL is printed, with a note on stderr
(--print: the URL alone).`;

export function registerOpen(program: Command): void {
  program
    .command('open')
    .description('Print the URL of the project or of an asset (there is no web console to open yet)')
    .argument('[asset]', 'a path (/folder/name.ext) or uuid; without it, the project')
    .option('--print', 'print the URL only, without the note')
    .option('--connection <name>', 'the stored connection (default: $SFX_CONNECTION, or the only one)')
    .addHelpText('after', HELP)
    .action((ref: string | undefined, flags: OpenFlags) => open(ref, flags));
}

async function open(ref: string | undefined, flags: OpenFlags): Promise<void> {
  const dam = await openDam(flags);
  const server = dam.client.endpoint.base;
  let url = server;
  let what = `project "${dam.client.endpoint.token}" (${dam.connectionName})`;
  if (ref !== undefined && ref.trim() !== '' && ref.trim() !== '/') {
    try {
      const file = await dam.file(ref);
      if (!file.url?.cdn) throw new CliError(`the API gave no CDN URL for ${assetPath(file)}.`);
      url = file.url.cdn;
      what = assetPath(file);
    } catch (error) {
      // A folder has no URL of its own until there is a console: say so rather than fail.
      if (!(error instanceof CliError) || isUuid(ref)) throw error;
      const folder = await dam.folder(ref).catch(() => undefined);
      if (!folder) throw error;
      what = `folder ${folder.path} (a folder has no URL of its own; this is the server)`;
    }
  }
  process.stdout.write(`${url}\n`);
  if (!flags.print) process.stderr.write(`sfx has no web console yet, so nothing was opened: the URL above is ${what}.\n`);
}
