#!/usr/bin/env node
import { main } from '../dist/main.js';

// `sfx catalog | head`: a reader that stops early is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

main(process.argv).catch((error) => {
  process.stderr.write(`sfx: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
