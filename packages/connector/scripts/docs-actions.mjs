#!/usr/bin/env node
// Writes docs/actions.md from the connector's catalogue. Run through `npm run docs:actions`,
// which builds the connector first (this script reads dist/).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACTIONS_DOC_PATH, exportCatalog, renderActionsMarkdown } from '../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const target = join(root, ACTIONS_DOC_PATH);
const text = renderActionsMarkdown(exportCatalog());
const before = await readFile(target, 'utf8').catch(() => undefined);
if (before === text) {
  console.log(`${ACTIONS_DOC_PATH} is up to date.`);
} else {
  await mkdir(dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, target);
  const catalog = exportCatalog();
  console.log(
    `Wrote ${ACTIONS_DOC_PATH}: ${catalog.actions.length} actions, ${catalog.triggers.length} triggers.`,
  );
}
