/** docs/flows.md's built-ins reference is generated from the built-in connectors and must match them. */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ActionRegistry, BUILTINS_BEGIN, BUILTINS_END, defaultRegistry, defineStepAction, FLOWS_DOC_PATH, renderBuiltinsMarkdown, withBuiltinsSection } from '../src/index.js';
import { BUILTINS } from '../src/builtins/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('docs/flows.md', () => {
  const section = renderBuiltinsMarkdown(defaultRegistry());

  it('holds the built-ins reference as the built-ins are now', async () => {
    const doc = await readFile(join(ROOT, FLOWS_DOC_PATH), 'utf8');
    if (withBuiltinsSection(doc, section) !== doc) throw new Error(`the built-ins reference in ${FLOWS_DOC_PATH} is out of date: run npm run docs:flows`);
  });

  it('has a section per built-in action, with its description and input fields, and the <connection>.assets source', () => {
    for (const connector of BUILTINS) {
      for (const action of connector.actions) {
        expect(section).toContain(`#### ${connector.name}.${action.id}: ${action.title}\n\n${action.description}\n`);
      }
    }
    expect(section).toContain('#### `<connection>.assets`: ');
    expect(section).toContain('| `path` | string | yes |');
    expect(section).toMatch(/#### csv\.write: [^\n]+\n[\s\S]*?\| `rows` \| list, or a stream \(`\{% \$steps\.<id> %\}`\) \| yes \|/);
    expect(section).toContain('| `header` | boolean | no | Default: `true`. |');
    // Every link of the contents leads to a heading of the section.
    const anchors = new Set([...section.matchAll(/^#{3,4} (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')));
    const links = [...section.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBe(BUILTINS.reduce((n, c) => n + c.actions.length, 0) + 1);
    for (const link of links) expect(anchors, link).toContain(link);
  });

  it('follows the built-ins it is given', () => {
    const extra = {
      name: 'demo',
      description: 'A demo connector.',
      actions: [
        defineStepAction({
          id: 'ping',
          title: 'Ping',
          description: 'Answers pong.',
          input: z.object({ times: z.number().int().min(1).default(1).describe('How many pongs.') }),
          kind: 'read',
          idempotent: true,
          run: async () => 'pong',
        }),
      ],
    };
    const text = renderBuiltinsMarkdown(new ActionRegistry([...BUILTINS, extra]));
    expect(text).not.toBe(section);
    expect(text).toContain('### demo\n\nA demo connector.');
    expect(text).toContain('| `times` | whole number (>= 1) | no | How many pongs. Default: `1`. |');
  });

  it('replaces only what lies between the markers, and refuses a file without them', () => {
    const doc = `# Guide\n\nbefore\n\n${BUILTINS_BEGIN}\nold\n${BUILTINS_END}\n\nafter\n`;
    const out = withBuiltinsSection(doc, 'new\n');
    expect(out).toBe(`# Guide\n\nbefore\n\n${BUILTINS_BEGIN}\n\nnew\n\n${BUILTINS_END}\n\nafter\n`);
    expect(withBuiltinsSection(out, 'new\n')).toBe(out);
    expect(() => withBuiltinsSection('# Guide\n', 'new\n')).toThrow(/markers/);
  });
});
