/**
 * The totals of a `#tag` or `key:value` search (read from counters the store keeps as it writes)
 * stay exact over HTTP through uploads, overwrites, tag and metadata changes, moves, deletes and
 * folder deletes: after every step, each total and size equals a brute-force count over every
 * file object the server lists, in every folder scope.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

interface FileObject {
  uuid: string;
  size: { bytes: number };
  meta: Record<string, unknown>;
  tags: Record<string, Array<{ label: string }>>;
  folder: { name: string };
}

/** Counted queries, and what each matches, written independently of the server's SQL. */
const QUERIES: Array<[string, (f: FileObject) => boolean]> = [
  ['#summer', (f) => hasTag(f, 'summer')],
  ['tags:Winter', (f) => hasTag(f, 'winter')],
  ['color:red', (f) => textLeaves(f.meta.color).some((v) => v.toLowerCase() === 'red')],
  ['meta.color:BLUE', (f) => textLeaves(f.meta.color).some((v) => v.toLowerCase() === 'blue')],
];
const SCOPES: Array<[string, boolean]> = [['/', true], ['/c', true], ['/c/a', false], ['/c/b', true], ['/d', false]];

const hasTag = (f: FileObject, label: string): boolean =>
  Object.values(f.tags).some((list) => list.some((t) => t.label.toLowerCase() === label));

function textLeaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(textLeaves);
  return [];
}

const inScope = (f: FileObject, folder: string, recursive: boolean): boolean =>
  recursive ? folder === '/' || f.folder.name === folder || f.folder.name.startsWith(`${folder}/`) : f.folder.name === folder;

async function everyFile(): Promise<FileObject[]> {
  const reply = await h.call('GET', '/files?folder=/&recursive=1&limit=4000');
  expect(reply.status).toBe(200);
  return reply.body.files as FileObject[];
}

async function expectExactTotals(step: string): Promise<void> {
  const all = await everyFile();
  for (const [q, matches] of QUERIES) {
    for (const [folder, recursive] of SCOPES) {
      const expected = all.filter((f) => inScope(f, folder, recursive) && matches(f));
      const query = `folder=${encodeURIComponent(folder)}&recursive=${recursive ? 1 : 0}&q=${encodeURIComponent(q)}&limit=2`;
      const list = await h.call('GET', `/files?${query}`);
      const label = `${step}: q=${q} in ${folder}${recursive ? '/**' : ''}`;
      if (list.status === 200 && (list.body.base as unknown) === null) {
        // A folder that does not exist (yet, or any more) has nothing to count.
        expect(expected, label).toEqual([]);
        continue;
      }
      expect(list.status, label).toBe(200);
      const info = list.body.info as { total_files_count: number; total_files_size: number };
      expect({ count: info.total_files_count, size: info.total_files_size }, label).toEqual({
        count: expected.length,
        size: expected.reduce((sum, f) => sum + f.size.bytes, 0),
      });
      const page = (list.body.files as FileObject[]).map((f) => f.uuid);
      expect(page.every((uuid) => expected.some((f) => f.uuid === uuid)), label).toBe(true);
      expect(page.length, label).toBe(Math.min(2, expected.length));
      const stats = await h.call('GET', `/files/stats?${query}`);
      expect((stats.body.info as { total_files_count: number }).total_files_count, label).toBe(expected.length);
    }
  }
}

async function upload(folder: string, name: string, content: string, meta: object, tags: string[], overwrite = false): Promise<FileObject> {
  const fields: Record<string, string> = { meta: JSON.stringify(meta) };
  if (tags.length > 0) fields.tags = tags.join(',');
  const body = await h.upload(folder, name, content, fields, overwrite ? '&overwrite=1' : '');
  expect(body.status, JSON.stringify(body)).toBe('success');
  return body.file as FileObject;
}

const ok = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
  const reply = await h.call(method, path, body === undefined ? {} : { body });
  expect(reply.status, `${method} ${path}: ${JSON.stringify(reply.body)}`).toBe(200);
  return reply.body;
};

describe('totals of #tag and key:value searches', () => {
  it('stay exact through uploads, overwrites, tag and meta changes, moves, deletes and folder deletes', async () => {
    const a1 = await upload('/c/a', 'one.txt', 'x'.repeat(10), { color: 'Red' }, ['Summer']);
    const a2 = await upload('/c/a', 'two.txt', 'x'.repeat(20), { color: ['red', 'RED', 'blue'] }, ['summer', 'winter']);
    const b1 = await upload('/c/b', 'three.txt', 'x'.repeat(40), { color: { en: 'blue', fr: 'bleu' } }, ['Winter']);
    const b2 = await upload('/c/b/deep', 'four.txt', 'x'.repeat(80), { color: 'green' }, []);
    await upload('/d', 'five.txt', 'x'.repeat(160), { color: 'red', title: 'summer' }, ['summer']);
    await expectExactTotals('after uploads');
    // The brute force sees what was uploaded (so the comparisons above are not between empty sets).
    const total = async (q: string): Promise<unknown> =>
      ((await h.call('GET', `/files?folder=/&recursive=1&q=${encodeURIComponent(q)}`)).body.info as { total_files_count: number }).total_files_count;
    expect([await total('#summer'), await total('color:red'), await total('color:blue'), await total('tags:winter')]).toEqual([3, 3, 2, 2]);

    // An overwrite changes the size (and merges the new metadata).
    await upload('/c/a', 'one.txt', 'y'.repeat(300), { shape: 'round' }, [], true);
    await expectExactTotals('after an overwrite');

    await ok('PUT', `/file/${a1.uuid}/tags`, { existing_tags: [], new_tags: ['winter'] });
    await ok('PUT', `/file/${b2.uuid}/tags`, { existing_tags: [], new_tags: ['SUMMER', 'winter'] });
    await expectExactTotals('after tag changes');
    await ok('PUT', `/file/${b2.uuid}/tags`, { existing_tags: [], new_tags: [] });
    await expectExactTotals('after removing every tag of a file');

    await ok('PATCH', `/file/${a2.uuid}/meta`, { meta: { color: 'blue' } });
    await ok('PATCH', `/file/${b2.uuid}/meta`, { meta: { color: ['Red', 'red'] } });
    await ok('PATCH', `/file/${b1.uuid}/meta`, { meta: { color: null } });
    await expectExactTotals('after metadata changes');

    await ok('POST', '/files/move', { files_uuids: [a2.uuid, b2.uuid], new_folder_name: '/d' });
    await ok('POST', '/files/move', { files_uuids: [a1.uuid], new_folder_name: '/c/b/deep' });
    await expectExactTotals('after moves between folders');

    await ok('DELETE', `/files/${a2.uuid}`);
    await expectExactTotals('after a delete');

    const folder = (await h.call('GET', '/folders?folder=/c')).body.folders as Array<{ uuid: string; path: string }>;
    await ok('DELETE', `/folders/${folder.find((f) => f.path === '/c/b')!.uuid}`);
    await expectExactTotals('after a folder delete');
  });
});
