/**
 * `sfx open [PATH]`: the web console's page of the project, a folder or an asset, in a browser.
 * The console is served by `sfx serve` (or `npm start`) at /ui; a console that does not answer is
 * an error with how to start one, so `sfx open` never opens a page that cannot load.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { httpUrlOption } from '../url-option.js';
import { assetPath } from './asset-view.js';
import { isUuid, openDam, splitPath, type ConnectionFlags } from './session.js';

interface OpenFlags extends ConnectionFlags {
  print?: boolean;
  console?: string;
}

const DEFAULT_CONSOLE = 'http://127.0.0.1:7020';

const HELP = `
Examples:
  sfx open                          # the console's Assets page
  sfx open /products                # the folder, in the console
  sfx open /products/shoe.jpg       # the asset's details panel
  sfx open /products --print        # print the console URL only (no browser, no check)
  sfx open --console http://dam-tools.internal:7020 /products

The console is served by \`sfx serve\` (and \`npm start\`) at /ui; its address comes from --console,
else $SFX_CONSOLE_URL, else ${DEFAULT_CONSOLE}. The browser is $BROWSER when set, else the
system's opener (xdg-open, open, start). Not logged in yet: the console asks for its token first,
then shows the page. Only the CDN URL of an asset: \`sfx url PATH\`.`;

function consoleBase(value: string): string {
  const url = httpUrlOption('--console', value, `the console's URL, such as ${DEFAULT_CONSOLE}`);
  return url.origin + url.pathname.replace(/\/+$/, '').replace(/\/ui$/, '');
}

export function registerOpen(program: Command): void {
  program
    .command('open')
    .description('Open the web console on the project, a folder or an asset')
    .argument('[path]', 'a folder, an asset path (/folder/name.ext) or uuid; without it, every asset')
    .option('--console <url>', `the console's address (default: $SFX_CONSOLE_URL or ${DEFAULT_CONSOLE})`, consoleBase)
    .option('--print', 'print the URL only: no browser, and no check that the console answers')
    .option('--connection <name>', 'the stored connection (default: $SFX_CONNECTION, or the only one)')
    .addHelpText('after', HELP)
    .action((ref: string | undefined, flags: OpenFlags) => open(ref, flags));
}

function assetsUrl(base: string, params: Record<string, string>): string {
  const query = new URLSearchParams(params).toString();
  return `${base}/ui/assets${query ? `?${query}` : ''}`;
}

async function open(ref: string | undefined, flags: OpenFlags): Promise<void> {
  const base = flags.console ?? consoleBase(process.env.SFX_CONSOLE_URL || DEFAULT_CONSOLE);
  let url = assetsUrl(base, {});
  let what = 'every asset';
  if (ref !== undefined && ref.trim() !== '' && ref.trim() !== '/') {
    // The path is checked against the DAM first: an unknown one is an error, not an empty page.
    const dam = await openDam(flags);
    try {
      const file = await dam.file(ref);
      const path = assetPath(file);
      url = assetsUrl(base, { folder: splitPath(path).folder, sel: file.uuid });
      what = path;
    } catch (error) {
      if (!(error instanceof CliError) || isUuid(ref)) throw error;
      const folder = await dam.folder(ref).catch(() => undefined);
      if (!folder) throw error;
      url = assetsUrl(base, { folder: folder.path });
      what = `folder ${folder.path}`;
    }
  }
  if (flags.print) {
    process.stdout.write(`${url}\n`);
    return;
  }
  await checkConsole(base);
  process.stdout.write(`${url}\n`);
  await launch(url);
  process.stderr.write(`opened ${what} in the console (log in with the token sfx serve printed if asked).\n`);
}

async function checkConsole(base: string): Promise<void> {
  const login = `${base}/ui/login`;
  try {
    const reply = await fetch(login, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
    await reply.body?.cancel();
    if (reply.status === 200) return;
    throw new CliError(
      `${base} answered ${reply.status} at /ui/login: it is not an sfx console (started without --no-console?). Give the console's address with --console URL.`,
    );
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `no console answers at ${base}: start one with \`sfx serve --flows DIR\` (or \`npm start\`), or give its address with --console URL (or SFX_CONSOLE_URL).`,
    );
  }
}

function opener(url: string): { command: string; args: string[] } {
  const browser = process.env.BROWSER?.trim();
  if (browser) return { command: browser, args: [url] };
  if (process.platform === 'darwin') return { command: 'open', args: [url] };
  if (process.platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', url] };
  return { command: 'xdg-open', args: [url] };
}

/** Starts the browser and lets it live on after sfx exits; fails only when it cannot start. */
function launch(url: string): Promise<void> {
  const { command, args } = opener(url);
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.once('error', () =>
      fail(new CliError(`could not start a browser (${command}): open the URL above yourself, or set BROWSER to your browser's command.`)),
    );
    child.once('spawn', () => {
      child.unref();
      done();
    });
  });
}
