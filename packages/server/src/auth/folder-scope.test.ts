import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeFolderPath } from '../store/names.js';
import { formatScope, parseScope, scopeAllows, scopeAllowsSubtree } from './folder-scope.js';

// Names that look alike or smuggle structure; "." and ".." are generated too and must be refused.
const name = fc.constantFrom(
  'a',
  'ab',
  'a b',
  'b',
  'incoming',
  'Incoming',
  'é',
  'e\u0301',
  '%2F',
  '%2e%2e',
  '.a',
  'a.',
);
const segment = fc.oneof(
  { weight: 6, arbitrary: name },
  { weight: 1, arbitrary: fc.constantFrom('.', '..', '', ' .. ', '*', 'a*') },
);
const segments = fc.array(name, { minLength: 1, maxLength: 4 });
const raw = fc.array(segment, { maxLength: 6 }).map((s) => '/' + s.join('/'));

/** The model: a normalised path is in a subtree scope when the scope's segments are a prefix of its own. */
function modelWithin(path: string[], base: string[]): boolean {
  return base.length <= path.length && base.every((s, i) => s.normalize('NFC') === path[i]!.normalize('NFC'));
}

describe('folder scopes', () => {
  it('parse and print: "/x/*" is the subtree, "/x" the folder alone, "" and null no scope', () => {
    expect(parseScope('/incoming/*', 'f')).toEqual({ base: '/incoming', subtree: true });
    expect(parseScope('/incoming//a/', 'f')).toEqual({ base: '/incoming/a', subtree: false });
    expect(parseScope('/*', 'f')).toEqual({ base: '/', subtree: true });
    expect(parseScope(null, 'f')).toBeNull();
    expect(parseScope('', 'f')).toBeNull();
    expect(formatScope(parseScope('/a/b/*', 'f'))).toBe('/a/b/*');
    expect(formatScope(parseScope('/*', 'f'))).toBe('/*');
    for (const bad of ['incoming/*', '/a/../b', '/a/*/b', '/a*', 42])
      expect(() => parseScope(bad, 'f'), String(bad)).toThrow();
  });

  it('no normalised path escapes a subtree scope; exactly the segment-prefix model is admitted', () => {
    fc.assert(
      fc.property(segments, raw, (base, path) => {
        const scope = parseScope(`/${base.join('/')}/*`, 'scope')!;
        let normalised: string;
        try {
          normalised = normalizeFolderPath(path);
        } catch {
          // Refused paths (dot segments, ...) never reach a scope check: nothing to admit.
          expect(path.split('/').some((s) => s.trim() === '.' || s.trim() === '..')).toBe(true);
          return;
        }
        const parts = normalised.split('/').filter(Boolean);
        expect(parts.every((p) => p !== '.' && p !== '..')).toBe(true);
        expect(scopeAllows(scope, normalised)).toBe(modelWithin(parts, base));
        expect(scopeAllowsSubtree(scope, normalised)).toBe(modelWithin(parts, base));
      }),
      { numRuns: 2000 },
    );
  });

  it('an exact scope admits its own folder only, and never a subtree', () => {
    fc.assert(
      fc.property(segments, segments, (base, path) => {
        const scope = parseScope('/' + base.join('/'), 'scope')!;
        const normalised = normalizeFolderPath('/' + path.join('/'));
        expect(scopeAllows(scope, normalised)).toBe(normalised === normalizeFolderPath('/' + base.join('/')));
        expect(scopeAllowsSubtree(scope, normalised)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('a scope admits a path only if it admits every ancestor down from its base', () => {
    fc.assert(
      fc.property(segments, segments, (base, extra) => {
        const scope = parseScope(`/${base.join('/')}/*`, 'scope')!;
        const path = [...base, ...extra];
        for (let i = 0; i <= path.length; i++) {
          const prefix = normalizeFolderPath('/' + path.slice(0, i).join('/'));
          expect(scopeAllows(scope, prefix)).toBe(i >= base.length);
        }
      }),
    );
  });
});
