import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { checkName, isWithin, normalizeFolderPath } from './names.js';

describe('folder paths', () => {
  it('normalises slashes and refuses dot segments and control characters', () => {
    expect(normalizeFolderPath('a//b/')).toBe('/a/b');
    expect(normalizeFolderPath('/')).toBe('/');
    for (const bad of ['/a/../b', '/./a', '/a/\u0000', '/a\\b', '/a/ .. ']) {
      expect(() => normalizeFolderPath(bad), bad).toThrow(ApiError);
    }
  });

  it('never yields a "." or ".." segment, an empty segment or a trailing slash, whatever the input', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', '.', '..', '', ' ', '/', '\\', '\u0000', 'é', '%2e'), { maxLength: 12 }).map((p) => p.join('/')), (raw) => {
        try {
          const path = normalizeFolderPath(raw);
          const segments = path.split('/').slice(1);
          expect(path.startsWith('/')).toBe(true);
          if (path !== '/') expect(segments.every((s) => s.length > 0 && s.trim() !== '.' && s.trim() !== '..')).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(ApiError);
          expect((error as ApiError).httpStatus).toBe(400);
        }
      }),
    );
  });

  it('isWithin separates /a from /ab', () => {
    expect(isWithin('/a/b', '/a')).toBe(true);
    expect(isWithin('/a', '/a')).toBe(true);
    expect(isWithin('/ab', '/a')).toBe(false);
    expect(isWithin('/anything', '/')).toBe(true);
  });
});

describe('names', () => {
  it('accepts ordinary names in NFC and refuses what would be ambiguous', () => {
    expect(checkName('cafe\u0301.jpg')).toBe('café.jpg');
    for (const bad of ['', '..', 'a/b', 'a\nb', 'x'.repeat(256)]) expect(() => checkName(bad), bad).toThrow(ApiError);
  });
});
