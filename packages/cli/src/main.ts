import type { Command } from 'commander';
import { EXIT_USAGE } from './errors.js';

/**
 * `sfx server` gets a program holding only its own command; everything else the full one. The
 * command modules are imported here, when chosen, so a server's memory holds only the server.
 */
async function programFor(argv: string[]): Promise<Command> {
  if (argv[2] === 'server') return (await import('./server-command.js')).buildServerProgram();
  return (await import('./program.js')).buildProgram();
}

/**
 * Commander ends with 1 on an unknown option or a malformed value; for sfx that is bad input found
 * before any request, exit code 2 (errors.ts). Help and --version keep theirs (0).
 */
function usageExitCode(command: Command): void {
  command.exitOverride((error) => process.exit(error.exitCode === 1 ? EXIT_USAGE : error.exitCode));
  for (const sub of command.commands) usageExitCode(sub);
}

export async function main(argv: string[]): Promise<void> {
  const program = await programFor(argv);
  usageExitCode(program);
  await program.parseAsync(argv);
}
