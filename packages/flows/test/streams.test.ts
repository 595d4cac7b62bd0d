/** Streams across steps with the real built-ins: a CSV mapped and filtered lazily into another CSV. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRegistry, Engine, loadFlow, SqliteRunStore } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfx-streams-'));
  const rows = ['sku,price'];
  for (let i = 0; i < 500; i++) rows.push(`S-${i},${i % 7}`);
  await writeFile(join(dir, 'in.csv'), `${rows.join('\n')}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('transform over a stream', () => {
  it('maps and filters a source lazily and writes the result, never journaling the stream', async () => {
    const { flow, problems } = loadFlow(
      `name: reshape
steps:
  - id: rows
    uses: csv.read
    with: { path: in.csv, types: { price: number } }
  - id: priced
    uses: transform.filter
    with: { items: "{% $steps.rows %}", expression: "price > 0" }
  - id: shaped
    uses: transform.map
    with: { items: "{% $steps.priced %}", expression: "{ 'sku': sku, 'cents': price * 100 }" }
  - id: out
    uses: csv.write
    with: { path: out.csv, rows: "{% $steps.shaped %}" }
`,
      { registry: defaultRegistry(), baseDir: dir },
    );
    expect(problems).toEqual([]);
    expect(flow!.steps.map((s) => s.deferred)).toEqual([true, true, true, false]);
    const store = new SqliteRunStore(':memory:');
    const result = await new Engine({ store }).run(flow!);
    expect(result.status).toBe('succeeded');
    expect(result.steps.map((s) => s.status)).toEqual(['source', 'source', 'source', 'succeeded']);
    const lines = (await readFile(join(dir, 'out.csv'), 'utf8')).trim().split('\n');
    const expected = Array.from({ length: 500 }, (_, i) => i).filter((i) => i % 7 > 0);
    expect(lines).toHaveLength(expected.length + 1);
    expect(lines[0]).toBe('sku,cents');
    expect(lines[1]).toBe(`S-${expected[0]},${(expected[0]! % 7) * 100}`);
    expect(store.getStep(result.runId, 'out')?.output).toMatchObject({ rows: expected.length });
  });

  it('says a stream cannot be used in an expression, only looped over or handed on', () => {
    const { problems } = loadFlow(
      `name: misuse
steps:
  - id: rows
    uses: csv.read
    with: { path: in.csv }
  - id: count
    uses: log.info
    with: { message: "{% $count($steps.rows) %}" }
`,
      { registry: defaultRegistry(), baseDir: dir },
    );
    expect(problems.map((p) => `${p.line}:${p.path}`)).toEqual(['8:steps[1].with.message']);
    expect(problems[0]!.message).toContain('yields items one by one');
  });
});
