import type { FileObject } from '@sfx/client';
import { describe, expect, it } from 'vitest';
import { chipOf, decodeCursor, encodeCursor, nextCursor, splitQuery, withoutTerm, withTerm } from '../src/pages/asset-query.js';

const at = (iso: string, i: number): FileObject => ({ uuid: `u${i}`, name: `f${i}`, created_at: iso });

/** Walks a newest-first list the way the DAM answers `created_before` + offset, page by page. */
function walk(all: FileObject[], limit: number): string[] {
  const seen: string[] = [];
  let cursor: ReturnType<typeof nextCursor>;
  for (let guard = 0; guard < 100; guard++) {
    const pool = cursor ? all.filter((f) => Date.parse(f.created_at!) < Date.parse(cursor!.before)) : all;
    const page = pool.slice(cursor?.skip ?? 0, (cursor?.skip ?? 0) + limit);
    seen.push(...page.map((f) => f.uuid));
    cursor = nextCursor(cursor, page, limit);
    if (!cursor) break;
  }
  return seen;
}

describe('keyset paging of the asset grid', () => {
  it('visits every asset once, even when many share a second across several pages', () => {
    const all: FileObject[] = [];
    let i = 0;
    for (const [second, n] of [['2026-01-01T10:00:09Z', 3], ['2026-01-01T10:00:08Z', 11], ['2026-01-01T10:00:05Z', 1], ['2026-01-01T09:00:00Z', 7]] as const)
      for (let k = 0; k < n; k++) all.push(at(second, i++));
    const seen = walk(all, 4);
    expect(seen).toEqual(all.map((f) => f.uuid));
  });

  it('a cursor survives the URL and a tampered one starts from the top', () => {
    const cursor = { before: '2026-01-01T10:00:09.000Z', skip: 3 };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    expect(decodeCursor('not-a-cursor')).toBeUndefined();
    expect(decodeCursor(Buffer.from('["x",-1]').toString('base64url'))).toBeUndefined();
  });
});

describe('q terms and chips', () => {
  it('splits on + and spaces but keeps quoted words together', () => {
    expect(splitQuery('"red shoe"+#summer  title:"Big bag"')).toEqual(['"red shoe"', '#summer', 'title:"Big bag"']);
    expect(chipOf('#summer')).toMatchObject({ kind: 'tag', label: 'tag summer' });
    expect(chipOf('size>1000')).toMatchObject({ kind: 'meta', label: 'size > 1000' });
    expect(withTerm('#a', '#b')).toBe('#a #b');
    expect(withTerm('#a', '#a')).toBe('#a');
    expect(withoutTerm('#a "x y"', '"x y"')).toBe('#a');
  });
});
