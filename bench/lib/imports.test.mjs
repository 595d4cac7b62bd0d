/**
 * The benchmarks run outside `npm test` (they take minutes), so a name one of them imports from a
 * module that no longer exports it would only show when someone runs the suite. This reads every
 * bench script's local imports and checks each name against what the module exports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BENCH = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const scripts = [
  ...readdirSync(BENCH).filter((f) => f.endsWith('.mjs')).map((f) => join(BENCH, f)),
  ...readdirSync(join(BENCH, 'lib')).filter((f) => f.endsWith('.mjs') && !f.endsWith('.test.mjs')).map((f) => join(BENCH, 'lib', f)),
];

function exportsOf(file) {
  const text = readFileSync(file, 'utf8');
  const names = new Set();
  for (const m of text.matchAll(/^export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)/gm)) names.add(m[1]);
  for (const m of text.matchAll(/^export\s*\{([^}]*)\}/gm))
    for (const part of m[1].split(',')) {
      const name = part.trim().split(/\s+as\s+/).pop();
      if (name) names.add(name);
    }
  return names;
}

function localImports(file) {
  const text = readFileSync(file, 'utf8');
  const found = [];
  for (const m of text.matchAll(/^import\s*\{([^}]*)\}\s*from\s*'(\.{1,2}\/[^']+)'/gm)) {
    const names = m[1].split(',').map((p) => p.trim().split(/\s+as\s+/)[0]).filter(Boolean);
    found.push({ from: resolve(dirname(file), m[2]), names });
  }
  return found;
}

describe('bench scripts', () => {
  it.each(scripts.map((s) => [s.slice(BENCH.length + 1), s]))('%s imports only names its modules export', (_name, file) => {
    for (const { from, names } of localImports(file)) {
      const exported = exportsOf(from);
      expect(names.filter((n) => !exported.has(n)), `from ${from.slice(BENCH.length + 1)}`).toEqual([]);
    }
  });
});
