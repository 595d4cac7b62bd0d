import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { action, collectItems, makeContext, runAction, useTempDir } from './context.test-util.js';
import { comparePaths } from './fs.js';

const tmp = useTempDir();

async function tree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
}

describe('fs.list', () => {
  const files = {
    'a.txt': 'a',
    'a/x.jpg': 'xx',
    'a/b/y.jpg': 'yyy',
    'a.b/z.png': 'z',
    'b.jpg': 'b',
    'B.jpg': 'B',
    '.hidden/h.jpg': 'h',
    'node_modules/m.jpg': 'm',
  };

  it('walks depth first in a stable sorted order, relative to the folder resolved against baseDir', async () => {
    await tree(path.join(tmp.current, 'in'), files);
    const ctx = makeContext(tmp.current);
    const items = await collectItems(ctx, 'fs', 'list', { path: 'in' });
    expect(items.map((i) => i.item && (i.item as { path: string }).path)).toEqual([
      'B.jpg',
      'a/b/y.jpg',
      'a/x.jpg',
      'a.b/z.png',
      'a.txt',
      'b.jpg',
      'node_modules/m.jpg',
    ]);
    const first = items[1]!.item as Record<string, unknown>;
    expect(first).toMatchObject({ name: 'y.jpg', extension: 'jpg', type: 'file', size: 3, absolutePath: path.join(tmp.current, 'in/a/b/y.jpg') });
    expect(typeof first.mtime).toBe('string');
    expect(items.map((i) => i.cursor)).toEqual(items.map((i) => (i.item as { path: string }).path));
  });

  it('keeps files matching glob and not ignore, with dot files only when asked', async () => {
    await tree(tmp.current, files);
    const ctx = makeContext(tmp.current);
    const jpgs = await collectItems(ctx, 'fs', 'list', { glob: '**/*.jpg', ignore: 'node_modules/**' });
    expect(jpgs.map((i) => (i.item as { path: string }).path)).toEqual(['B.jpg', 'a/b/y.jpg', 'a/x.jpg', 'b.jpg']);
    const top = await collectItems(ctx, 'fs', 'list', { glob: ['*.jpg', '*.png'], recursive: false });
    expect(top.map((i) => (i.item as { path: string }).path)).toEqual(['B.jpg', 'b.jpg']);
    const withDot = await collectItems(ctx, 'fs', 'list', { glob: '**/h.jpg', dot: true });
    expect(withDot.map((i) => (i.item as { path: string }).path)).toEqual(['.hidden/h.jpg']);
  });

  it('resumes after a cursor with exactly the remaining files, from any point', async () => {
    await tree(tmp.current, files);
    const ctx = makeContext(tmp.current);
    const all = await collectItems(ctx, 'fs', 'list', {});
    for (let k = 0; k < all.length; k++) {
      const rest = await collectItems(ctx, 'fs', 'list', {}, all[k]!.cursor);
      expect(rest.map((i) => i.cursor)).toEqual(all.slice(k + 1).map((i) => i.cursor));
    }
    // A cursor whose file has since been deleted still resumes at the right place.
    const gone = await collectItems(ctx, 'fs', 'list', {}, 'a/b/zz.jpg');
    expect(gone.map((i) => i.cursor)).toEqual(['a/x.jpg', 'a.b/z.png', 'a.txt', 'b.jpg', 'node_modules/m.jpg']);
  });

  it('orders paths segment by segment, as the walk yields them', () => {
    expect(comparePaths(['a', 'x'], ['a.txt'])).toBeLessThan(0);
    expect(comparePaths(['a'], ['a', 'x'])).toBeLessThan(0);
    expect(comparePaths(['b'], ['a', 'z'])).toBeGreaterThan(0);
  });

  it('fails naming an unknown folder, and a file given as the folder', async () => {
    const ctx = makeContext(tmp.current);
    await expect(collectItems(ctx, 'fs', 'list', { path: 'missing/dir' })).rejects.toThrow(/nothing at "missing\/dir"/);
    await writeFile(path.join(tmp.current, 'f.txt'), 'x');
    await expect(collectItems(ctx, 'fs', 'list', { path: 'f.txt' })).rejects.toMatchObject({ code: 'NOT_A_FOLDER' });
  });
});

describe('fs.read', () => {
  it('reads text and base64, and refuses a file over maxBytes before reading it', async () => {
    await writeFile(path.join(tmp.current, 'f.bin'), Buffer.from([0, 1, 2, 255]));
    await writeFile(path.join(tmp.current, 'f.txt'), 'héllo');
    const ctx = makeContext(tmp.current);
    expect(await runAction(ctx, 'fs', 'read', { path: 'f.txt' })).toMatchObject({ content: 'héllo', size: 6 });
    expect(await runAction(ctx, 'fs', 'read', { path: 'f.bin', encoding: 'base64' })).toMatchObject({ content: 'AAEC/w==' });
    await expect(runAction(ctx, 'fs', 'read', { path: 'f.txt', maxBytes: 5 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await expect(runAction(ctx, 'fs', 'read', { path: 'nope.txt' })).rejects.toThrow(/fs.read: nothing at "nope.txt"/);
    await expect(runAction(ctx, 'fs', 'read', { path: '.' })).rejects.toMatchObject({ code: 'NOT_A_FILE' });
  });
});

describe('fs.write', () => {
  it('writes text, base64 and a stream of chunks, creating folders, and replaces the file', async () => {
    const ctx = makeContext(tmp.current);
    await runAction(ctx, 'fs', 'write', { path: 'out/a.txt', content: 'first' });
    const result = await runAction(ctx, 'fs', 'write', { path: 'out/a.txt', content: 'second' });
    expect(result).toMatchObject({ path: 'out/a.txt', bytes: 6 });
    expect(await readFile(path.join(tmp.current, 'out/a.txt'), 'utf8')).toBe('second');
    await runAction(ctx, 'fs', 'write', { path: 'b.bin', content: 'AAEC/w==', encoding: 'base64' });
    expect([...(await readFile(path.join(tmp.current, 'b.bin')))]).toEqual([0, 1, 2, 255]);
    await runAction(ctx, 'fs', 'write', { path: 's.txt', content: Readable.from(['one ', Buffer.from('two')]) });
    expect(await readFile(path.join(tmp.current, 's.txt'), 'utf8')).toBe('one two');
    expect(await readdir(path.join(tmp.current, 'out'))).toEqual(['a.txt']);
  });

  it('leaves the old file and no temp file when the content stream fails midway', async () => {
    const ctx = makeContext(tmp.current);
    await writeFile(path.join(tmp.current, 'keep.txt'), 'old');
    async function* failing() {
      yield 'new content that never completes';
      throw new Error('source broke');
    }
    await expect(runAction(ctx, 'fs', 'write', { path: 'keep.txt', content: failing() })).rejects.toThrow('source broke');
    expect(await readFile(path.join(tmp.current, 'keep.txt'), 'utf8')).toBe('old');
    expect(await readdir(tmp.current)).toEqual(['keep.txt']);
    async function* objects() {
      yield { not: 'text' };
    }
    await expect(runAction(ctx, 'fs', 'write', { path: 'o.txt', content: objects() })).rejects.toThrow(/item 0 of the content stream is an object/);
    expect(await readdir(tmp.current)).toEqual(['keep.txt']);
  });

  it('fails naming the missing folder when mkdirs is false, leaving nothing behind', async () => {
    const ctx = makeContext(tmp.current);
    async function* slow() {
      yield 'a';
      await new Promise((r) => setTimeout(r, 20));
      yield 'b';
    }
    await expect(runAction(ctx, 'fs', 'write', { path: 'no/dir/a.txt', content: slow(), mkdirs: false })).rejects.toThrow(/the folder of "no\/dir\/a.txt" does not exist/);
    await expect(runAction(ctx, 'fs', 'write', { path: 'no/dir/a.txt', content: 'x', mkdirs: false })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await readdir(tmp.current)).toEqual([]);
  });

  it('refuses to replace a file when overwrite is false', async () => {
    const ctx = makeContext(tmp.current);
    await writeFile(path.join(tmp.current, 'x.txt'), 'old');
    await expect(runAction(ctx, 'fs', 'write', { path: 'x.txt', content: 'new', overwrite: false })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(await readFile(path.join(tmp.current, 'x.txt'), 'utf8')).toBe('old');
  });

  it('says what is missing when content is not given', () => {
    const result = action('fs', 'write').input.safeParse({ path: 'x' });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain('content is required');
  });
});

describe('fs.move, stat, mkdir, delete', () => {
  it('moves, refuses to replace unless asked, and reconciles a move that already happened', async () => {
    const ctx = makeContext(tmp.current);
    await writeFile(path.join(tmp.current, 'a.txt'), 'A');
    await writeFile(path.join(tmp.current, 'b.txt'), 'B');
    await expect(runAction(ctx, 'fs', 'move', { from: 'a.txt', to: 'b.txt' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await runAction(ctx, 'fs', 'move', { from: 'a.txt', to: 'sub/c.txt' });
    expect(await readFile(path.join(tmp.current, 'sub/c.txt'), 'utf8')).toBe('A');
    await expect(runAction(ctx, 'fs', 'move', { from: 'a.txt', to: 'sub/c.txt' })).rejects.toThrow(/nothing at "a.txt"/);
    const move = action('fs', 'move');
    expect(await move.reconcile!(ctx, move.input.parse({ from: 'a.txt', to: 'sub/c.txt' }))).toEqual({ output: { from: 'a.txt', to: 'sub/c.txt' } });
    expect(await move.reconcile!(ctx, move.input.parse({ from: 'b.txt', to: 'sub/d.txt' }))).toBeUndefined();
  });

  it('stats files and folders; a missing path is an error unless mustExist is false', async () => {
    const ctx = makeContext(tmp.current);
    await writeFile(path.join(tmp.current, 'f.txt'), 'abc');
    const when = new Date('2024-01-02T03:04:05Z');
    await utimes(path.join(tmp.current, 'f.txt'), when, when);
    expect(await runAction(ctx, 'fs', 'stat', { path: 'f.txt' })).toMatchObject({ exists: true, type: 'file', size: 3, mtime: when.toISOString() });
    expect(await runAction(ctx, 'fs', 'stat', { path: '.' })).toMatchObject({ type: 'directory' });
    await expect(runAction(ctx, 'fs', 'stat', { path: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await runAction(ctx, 'fs', 'stat', { path: 'nope', mustExist: false })).toMatchObject({ exists: false });
  });

  it('creates folders idempotently and deletes only what it is told to', async () => {
    const ctx = makeContext(tmp.current);
    await runAction(ctx, 'fs', 'mkdir', { path: 'd/e' });
    await runAction(ctx, 'fs', 'mkdir', { path: 'd/e' });
    expect((await stat(path.join(tmp.current, 'd/e'))).isDirectory()).toBe(true);
    await writeFile(path.join(tmp.current, 'd/e/f.txt'), 'x');
    await expect(runAction(ctx, 'fs', 'delete', { path: 'd' })).rejects.toThrow(/not empty.*recursive: true/);
    await runAction(ctx, 'fs', 'delete', { path: 'd/e/f.txt' });
    await runAction(ctx, 'fs', 'delete', { path: 'd', recursive: true });
    await expect(runAction(ctx, 'fs', 'delete', { path: 'd' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await runAction(ctx, 'fs', 'delete', { path: 'd', missingOk: true })).toEqual({ path: 'd', deleted: false });
  });
});
