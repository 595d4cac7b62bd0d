#!/usr/bin/env node
// Writes the built-ins reference into docs/flows.md (between its markers) from the built-in
// connectors. Run through `npm run docs:flows`, which builds the package first (this reads dist/).
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultRegistry, FLOWS_DOC_PATH, renderBuiltinsMarkdown, withBuiltinsSection } from '../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const target = join(root, FLOWS_DOC_PATH);
const before = await readFile(target, 'utf8');
const text = withBuiltinsSection(before, renderBuiltinsMarkdown(defaultRegistry()));
if (before === text) {
  console.log(`${FLOWS_DOC_PATH}: the built-ins reference is up to date.`);
} else {
  const temp = `${target}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, target);
  const actions = defaultRegistry().builtinNames().reduce((n, name) => n + defaultRegistry().builtin(name).actions.length, 0);
  console.log(`Wrote the built-ins reference of ${FLOWS_DOC_PATH}: ${actions} actions.`);
}
