#!/usr/bin/env node
// Starts the built server (packages/server/dist) with options the CLI does not expose, for
// workloads that need them: `node bench/lib/dist-server.mjs '<ServerOptions as JSON>'`.
// Prints `listening on <url>`; stops on SIGTERM.

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './contract.mjs';

const { startServer } = await import(pathToFileURL(join(ROOT, 'packages/server/dist/index.js')).href);
const server = await startServer({ port: 0, durability: 'relaxed', logLevel: 'warn', ...JSON.parse(process.argv[2] ?? '{}') });
process.stdout.write(`listening on ${server.url}\n`);
process.once('SIGTERM', () => server.close().then(() => process.exit(0)));
