import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectItems, makeContext, runAction, useTempDir } from './context.test-util.js';

const tmp = useTempDir();

describe('json.read and json.parse', () => {
  it('parses a file, refuses one over maxBytes, and names the line and column of a syntax error', async () => {
    await writeFile(path.join(tmp.current, 'ok.json'), '\ufeff{"a": [1, 2]}');
    await writeFile(path.join(tmp.current, 'bad.json'), '{\n  "a": 1,\n  "b": x\n}');
    const ctx = makeContext(tmp.current);
    expect(await runAction(ctx, 'json', 'read', { path: 'ok.json' })).toEqual({ a: [1, 2] });
    await expect(runAction(ctx, 'json', 'read', { path: 'ok.json', maxBytes: 4 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await expect(runAction(ctx, 'json', 'read', { path: 'bad.json' })).rejects.toThrow(/"bad.json" is not valid JSON at line 3, column 8/);
    await expect(runAction(ctx, 'json', 'read', { path: 'gone.json' })).rejects.toThrow(/nothing at "gone.json"/);
    expect(await runAction(ctx, 'json', 'parse', { text: '[true]' })).toEqual([true]);
    expect(await runAction(ctx, 'json', 'stringify', { value: { a: 1 } })).toBe('{"a":1}');
  });
});

describe('json.write', () => {
  it('writes a value, a stream as a list, and JSON Lines, atomically', async () => {
    const ctx = makeContext(tmp.current);
    await runAction(ctx, 'json', 'write', { path: 'v.json', value: { a: 1 } });
    expect(JSON.parse(await readFile(path.join(tmp.current, 'v.json'), 'utf8'))).toEqual({ a: 1 });
    async function* items() {
      yield { n: 1, deep: { x: [1] } };
      yield 'two';
    }
    expect(await runAction(ctx, 'json', 'write', { path: 's.json', value: items() })).toMatchObject({ items: 2 });
    expect(JSON.parse(await readFile(path.join(tmp.current, 's.json'), 'utf8'))).toEqual([{ n: 1, deep: { x: [1] } }, 'two']);
    await runAction(ctx, 'json', 'write', { path: 'e.json', value: (async function* () {})() });
    expect(JSON.parse(await readFile(path.join(tmp.current, 'e.json'), 'utf8'))).toEqual([]);
    await runAction(ctx, 'json', 'write', { path: 'l.jsonl', value: [{ a: 1 }, { a: 2 }], format: 'jsonl' });
    expect(await readFile(path.join(tmp.current, 'l.jsonl'), 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    await expect(runAction(ctx, 'json', 'write', { path: 'x.jsonl', value: { a: 1 }, format: 'jsonl' })).rejects.toThrow(/single value/);
    expect((await readdir(tmp.current)).sort()).toEqual(['e.json', 'l.jsonl', 's.json', 'v.json']);
  });
});

describe('json.lines', () => {
  const LINES = '{"id":1,"name":"é"}\r\n\n{"id":2}\n[3]\n"four"';

  it('yields each line\'s value, skipping blank lines, and resumes from any cursor with the rest', async () => {
    await writeFile(path.join(tmp.current, 'd.jsonl'), LINES);
    const ctx = makeContext(tmp.current);
    const all = await collectItems(ctx, 'json', 'lines', { path: 'd.jsonl' });
    expect(all.map((x) => x.item)).toEqual([{ id: 1, name: 'é' }, { id: 2 }, [3], 'four']);
    for (let k = 0; k < all.length; k++) {
      expect(await collectItems(ctx, 'json', 'lines', { path: 'd.jsonl' }, all[k]!.cursor)).toEqual(all.slice(k + 1));
    }
  });

  it('reads lines split across many small chunks, and names the line of bad JSON', async () => {
    const big = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(i % 50) })).join('\n');
    await writeFile(path.join(tmp.current, 'big.jsonl'), `${big}\n{oops}\n`);
    const ctx = makeContext(tmp.current);
    const items: unknown[] = [];
    await expect(
      (async () => {
        for await (const x of (await import('./index.js')).getBuiltin('json', 'lines')!.items!(ctx, { path: 'big.jsonl', maxLineBytes: 1000 }))
          items.push(x.item);
      })(),
    ).rejects.toThrow(/line 3001 is not valid JSON/);
    expect(items).toHaveLength(3000);
    expect(items[2999]).toEqual({ i: 2999, pad: 'x'.repeat(2999 % 50) });
    await expect(collectItems(ctx, 'json', 'lines', { path: 'big.jsonl', maxLineBytes: 20 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });
});

describe('json errors', () => {
  it('say what is wrong where, without quoting the text', async () => {
    const ctx = makeContext(tmp.current);
    await expect(runAction(ctx, 'json', 'parse', { text: '{"a":1,}' })).rejects.toThrow(/line 1, column 8: expected a property name in double quotes, found '}'/);
    await expect(runAction(ctx, 'json', 'parse', { text: '[1\n 2]' })).rejects.toThrow(/line 2, column 2: expected ',' or ']'/);
    await expect(runAction(ctx, 'json', 'parse', { text: '"secret-ish' })).rejects.toThrow(/^json.parse: text is not valid JSON at line 1, column 12: a string that is never closed\.$/);
  });
});
