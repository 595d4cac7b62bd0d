#!/usr/bin/env node
import { main } from '../dist/main.js';

// `sfx catalog | head`: a reader that stops early is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

main(process.argv).catch((error) => {
  process.stderr.write(`sfx: ${error instanceof Error ? error.message : String(error)}\n`);
  // CliError carries its exit code (2: bad input, found before any request); anything else is 1.
  const code = error instanceof Error ? error.exitCode : undefined;
  process.exitCode = Number.isInteger(code) && code > 0 ? code : 1;
});
