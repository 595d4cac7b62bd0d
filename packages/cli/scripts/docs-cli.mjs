#!/usr/bin/env node
// Writes docs/cli.md from the commands' own --help. Run through `npm run docs:cli`, which builds
// the CLI first (this script reads dist/). It walks the whole program, so commands added anywhere
// are picked up by running it again.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_DOC_PATH, renderCliMarkdown } from '../dist/cli-docs.js';
import { buildProgram } from '../dist/program.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const target = join(root, CLI_DOC_PATH);
const text = renderCliMarkdown(buildProgram());
const before = await readFile(target, 'utf8').catch(() => undefined);
if (before === text) {
  console.log(`${CLI_DOC_PATH} is up to date.`);
} else {
  await mkdir(dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, target);
  console.log(`Wrote ${CLI_DOC_PATH}: ${(text.match(/^## sfx/gm) ?? []).length} commands.`);
}
