import { createWriteStream } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { action, collectItems, makeContext, runAction, useTempDir } from './context.test-util.js';

const tmp = useTempDir();

/** Heap in use after a full collection, so garbage not yet collected does not count. */
function retainedHeap(): number {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

const PRODUCTS = '\ufeffProduct SKU, Name ,Price\r\nA-1,"Chair, oak",12.5\r\n\r\nB-2,"Lamp ""XL""\nwhite",7\r\nC-3,Café,0\r\n';

describe('csv.read', () => {
  it('maps rows by the header, trimming fields and skipping empty lines, across a quoted newline and a BOM', async () => {
    await writeFile(path.join(tmp.current, 'p.csv'), PRODUCTS);
    const rows = await collectItems(makeContext(tmp.current), 'csv', 'read', { path: 'p.csv' });
    expect(rows.map((r) => r.item)).toEqual([
      { 'Product SKU': 'A-1', Name: 'Chair, oak', Price: '12.5' },
      { 'Product SKU': 'B-2', Name: 'Lamp "XL"\nwhite', Price: '7' },
      { 'Product SKU': 'C-3', Name: 'Café', Price: '0' },
    ]);
  });

  it('renames columns with a map, and types values', async () => {
    await writeFile(path.join(tmp.current, 'p.csv'), PRODUCTS);
    const ctx = makeContext(tmp.current);
    const rows = await collectItems(ctx, 'csv', 'read', { path: 'p.csv', columns: { 'Product SKU': 'sku', Price: 'price' }, types: { price: 'number' } });
    expect(rows[0]!.item).toEqual({ sku: 'A-1', Name: 'Chair, oak', price: 12.5 });
    const auto = await collectItems(ctx, 'csv', 'read', { path: 'p.csv', types: 'auto' });
    expect((auto[2]!.item as Record<string, unknown>).Price).toBe(0);
    await expect(collectItems(ctx, 'csv', 'read', { path: 'p.csv', columns: { SKU: 'sku' } })).rejects.toThrow(/no column "SKU" to rename. Its header has: "Product SKU", "Name", "Price"/);
    await expect(collectItems(ctx, 'csv', 'read', { path: 'p.csv', types: { Name: 'number' } })).rejects.toThrow(/line 2, column "Name": "Chair, oak" is not a number/);
  });

  it('names columns by position for a file without a header row, and says so when they are missing', async () => {
    await writeFile(path.join(tmp.current, 'n.csv'), 'a;1\nb;2\n');
    const ctx = makeContext(tmp.current);
    const rows = await collectItems(ctx, 'csv', 'read', { path: 'n.csv', header: false, columns: ['k', 'v'], delimiter: ';' });
    expect(rows.map((r) => r.item)).toEqual([{ k: 'a', v: '1' }, { k: 'b', v: '2' }]);
    const parsed = action('csv', 'read').input.safeParse({ path: 'n.csv', header: false });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/without a header row.*needs columns/);
    // A misspelt option is an error, not silently ignored.
    expect(action('csv', 'read').input.safeParse({ path: 'n.csv', delimeter: ';' }).error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['delimeter'] });
  });

  it('resumes from any cursor with exactly the remaining rows, re-reading only the header', async () => {
    await writeFile(path.join(tmp.current, 'p.csv'), PRODUCTS);
    const ctx = makeContext(tmp.current);
    const input = { path: 'p.csv', columns: { 'Product SKU': 'sku' } };
    const all = await collectItems(ctx, 'csv', 'read', input);
    expect(all).toHaveLength(3);
    for (let k = 0; k < all.length; k++) {
      const rest = await collectItems(ctx, 'csv', 'read', input, all[k]!.cursor);
      expect(rest).toEqual(all.slice(k + 1));
    }
    // The cursor is where the next row starts: the bytes from there begin with that row.
    const bytes = await readFile(path.join(tmp.current, 'p.csv'));
    expect(bytes.subarray(Number(all[1]!.cursor)).toString('utf8')).toBe('C-3,Café,0\r\n');
    await expect(collectItems(ctx, 'csv', 'read', input, '99999')).rejects.toMatchObject({ code: 'BAD_CURSOR' });
  });

  it('reports a malformed file as a parse error naming the file', async () => {
    await writeFile(path.join(tmp.current, 'bad.csv'), '\na,b\n1,2\n1,2,3\n');
    await expect(collectItems(makeContext(tmp.current), 'csv', 'read', { path: 'bad.csv' })).rejects.toThrow(/csv.read: "bad.csv" is not valid CSV: .*line 4/);
    await expect(collectItems(makeContext(tmp.current), 'csv', 'read', { path: 'none.csv' })).rejects.toThrow(/nothing at "none.csv"/);
  });

  it('streams 200k rows in bounded memory, resuming mid-file with the rest', async () => {
    const file = path.join(tmp.current, 'big.csv');
    const out = createWriteStream(file);
    out.write('id,name,description\n');
    const ROWS = 200_000;
    for (let i = 0; i < ROWS; i++) {
      if (!out.write(`${i},item ${i},"a description long enough to make the file about 15 MB, row ${i} of many"\n`)) {
        await new Promise<void>((r) => out.once('drain', () => r()));
      }
    }
    out.end();
    await finished(out);

    const ctx = makeContext(tmp.current);
    const read = action('csv', 'read');
    const input = read.input.parse({ path: 'big.csv' });
    const before = retainedHeap();
    let peak = 0;
    let count = 0;
    let midCursor = '';
    for await (const { item, cursor } of read.items!(ctx, input)) {
      if ((item as { id: string }).id !== String(count)) throw new Error(`row ${count} out of order`);
      count++;
      if (count === 150_000) midCursor = cursor;
      if (count % 50_000 === 0) peak = Math.max(peak, retainedHeap() - before);
    }
    expect(count).toBe(ROWS);
    // Holding the rows read so far retains ~45 MB by the last sample; streaming keeps under 1 MB.
    expect(peak).toBeLessThan(20 * 1024 * 1024);

    let rest = 0;
    let firstId: string | undefined;
    for await (const { item } of read.items!(ctx, input, midCursor)) {
      firstId ??= (item as { id: string }).id;
      rest++;
    }
    expect(firstId).toBe('150000');
    expect(rest).toBe(ROWS - 150_000);
  });
});

describe('csv.write', () => {
  it('writes rows with columns in order and header names, casting values', async () => {
    const ctx = makeContext(tmp.current);
    const result = await runAction(ctx, 'csv', 'write', {
      path: 'out/r.csv',
      rows: [
        { sku: 'A-1', url: 'https://x/a.jpg?w=10', tags: ['a', 'b'], ok: true, extra: 1 },
        { sku: 'B,2', url: null, ok: false },
      ],
      columns: { sku: 'SKU', url: 'CDN URL', tags: 'Tags', ok: 'OK' },
    });
    expect(result).toMatchObject({ path: 'out/r.csv', rows: 2 });
    expect(await readFile(path.join(tmp.current, 'out/r.csv'), 'utf8')).toBe(
      'SKU,CDN URL,Tags,OK\nA-1,https://x/a.jpg?w=10,"[""a"",""b""]",true\n"B,2",,,false\n',
    );
  });

  it('takes the first row\'s keys without columns, and warns when later rows have more', async () => {
    const ctx = makeContext(tmp.current);
    await runAction(ctx, 'csv', 'write', { path: 'r.csv', rows: [{ a: 1, b: 2 }, { a: 3, c: 4 }] });
    expect(await readFile(path.join(tmp.current, 'r.csv'), 'utf8')).toBe('a,b\n1,2\n3,\n');
    expect(ctx.logs).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringMatching(/row 1 has keys the first row did not \(c\)/) })]);
  });

  it('writes a stream of many rows and reads them back', async () => {
    const ctx = makeContext(tmp.current);
    async function* rows() {
      for (let i = 0; i < 20_000; i++) yield { id: i, name: `n${i}` };
    }
    expect(await runAction(ctx, 'csv', 'write', { path: 's.csv', rows: rows() })).toMatchObject({ rows: 20_000 });
    const back = await collectItems(ctx, 'csv', 'read', { path: 's.csv', types: { id: 'integer' } });
    expect(back).toHaveLength(20_000);
    expect(back[19_999]!.item).toEqual({ id: 19_999, name: 'n19999' });
  });

  it('leaves the old file and no temp file when a row is bad', async () => {
    const ctx = makeContext(tmp.current);
    await writeFile(path.join(tmp.current, 'r.csv'), 'old\n');
    await expect(runAction(ctx, 'csv', 'write', { path: 'r.csv', rows: [{ a: 1 }, 'oops'] })).rejects.toThrow(/row 1 is a string, not an object/);
    expect(await readFile(path.join(tmp.current, 'r.csv'), 'utf8')).toBe('old\n');
    expect(await readdir(tmp.current)).toEqual(['r.csv']);
  });

  it('writes only the header for no rows when columns are given', async () => {
    const ctx = makeContext(tmp.current);
    expect(await runAction(ctx, 'csv', 'write', { path: 'e.csv', rows: [], columns: ['a', 'b'] })).toMatchObject({ rows: 0 });
    expect(await readFile(path.join(tmp.current, 'e.csv'), 'utf8')).toBe('a,b\n');
  });
});
