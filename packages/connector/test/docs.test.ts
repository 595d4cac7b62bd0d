/** docs/actions.md is generated from the catalogue and must match it. */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ACTIONS_DOC_PATH, exportCatalog, renderActionsMarkdown, type CatalogJson } from '../src/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('docs/actions.md', () => {
  const text = renderActionsMarkdown(exportCatalog());

  it('is up to date with the catalogue', async () => {
    const checkedIn = await readFile(join(ROOT, ACTIONS_DOC_PATH), 'utf8').catch(() => '');
    if (checkedIn !== text) throw new Error(`${ACTIONS_DOC_PATH} is out of date: run npm run docs:actions`);
  });

  it('has a section per action and trigger, and every link of the contents leads to a heading', () => {
    const catalog = exportCatalog();
    const headings = [...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]!);
    for (const action of catalog.actions) expect(headings).toContain(`${action.id}: ${action.title}`);
    for (const trigger of catalog.triggers)
      expect(headings).toContain(trigger.title ? `${trigger.id}: ${trigger.title}` : trigger.id);
    // GitHub's anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered.
    const seen = new Map<string, number>();
    const anchors = new Set(
      headings.map((h) => {
        const base = h
          .toLowerCase()
          .replace(/[^\p{L}\p{N}\s_-]/gu, '')
          .replace(/\s/g, '-');
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        return n ? `${base}-${n}` : base;
      }),
    );
    const links = [...text.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(catalog.actions.length);
    for (const link of links) expect(anchors, link).toContain(link);
  });

  it('shows each input field with its type, whether it is required and its description', () => {
    const list = section(text, 'files.list: List files');
    expect(list).toContain('| `limit` | whole number (1-4000) | no | Page size (1-4000). Default: `100`. |');
    expect(list).toContain('- Permissions: `OBJECTS_LIST`');
    expect(list).toContain('- Endpoint: documented');
    expect(list).toContain('"folder": "/catalogue"');
    const upload = section(text, 'upload-asset: Upload an asset with metadata');
    expect(upload).toMatch(/\| `source` \| \{path\} or \{url\} or \{base64[^|]*\} \| yes \|/);
    expect(upload).toContain('| `product.ref` | string | yes |');
    expect(upload).toContain('- Also needs `OBJECTS_FETCH` when the folder already holds the same content');
  });

  it('explains what documented, inferred and extension mean', () => {
    expect(text).toMatch(/`inferred`: no real endpoint was found[^\n]*may differ from the real service/);
    expect(text).toMatch(/`extension`: only the sfx local server serves it/);
  });

  it('is deterministic and follows the catalogue it is given', () => {
    expect(renderActionsMarkdown(exportCatalog())).toBe(text);
    const catalog: CatalogJson = exportCatalog();
    const changed = {
      ...catalog,
      actions: catalog.actions.map((a, i) => (i === 0 ? { ...a, title: 'Renamed' } : a)),
    };
    expect(renderActionsMarkdown(changed)).not.toBe(text);
    expect(renderActionsMarkdown(changed)).toContain(`${catalog.actions[0]!.id}: Renamed`);
  });
});

function section(text: string, heading: string): string {
  const start = text.indexOf(`#### ${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const end = text.indexOf('\n#### ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}
