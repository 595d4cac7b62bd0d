import type { Command } from 'commander';

/**
 * `sfx server` gets a program holding only its own command; everything else the full one. The
 * command modules are imported here, when chosen, so a server's memory holds only the server.
 */
async function programFor(argv: string[]): Promise<Command> {
  if (argv[2] === 'server') return (await import('./server-command.js')).buildServerProgram();
  return (await import('./program.js')).buildProgram();
}

export async function main(argv: string[]): Promise<void> {
  await (await programFor(argv)).parseAsync(argv);
}
