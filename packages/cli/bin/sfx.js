#!/usr/bin/env node
import { main } from '../dist/main.js';

main(process.argv).catch((error) => {
  process.stderr.write(`sfx: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
