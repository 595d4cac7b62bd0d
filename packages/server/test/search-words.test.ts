/**
 * Full text over HTTP: a plain word matches whole words, `word*` matches a prefix, `sort=relevance`
 * puts the best bm25 matches first, and paging a listing with offsets (served through keyset
 * anchors) gives every file exactly once, in the order of one big page, across a write.
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
  name: string;
}

const names = async (query: string): Promise<string[]> => {
  const reply = await h.call('GET', `/files?${query}`);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return (reply.body.files as FileObject[]).map((f) => f.name).sort();
};

describe('full-text words', () => {
  beforeAll(async () => {
    for (const name of ['shoe.png', 'red-shoes.jpg', 'shoelace.png', 'horseshoe.gif']) await h.upload('/words', name, name);
  });

  it('a plain word matches whole words only', async () => {
    expect(await names('folder=/words&q=shoe')).toEqual(['shoe.png']);
    expect(await names('folder=/words&q=shoes')).toEqual(['red-shoes.jpg']);
    expect(await names('folder=/words&q=sho')).toEqual([]);
  });

  it('a trailing * matches words starting with it, in quotes too, and negated', async () => {
    expect(await names('folder=/words&q=shoe*')).toEqual(['red-shoes.jpg', 'shoe.png', 'shoelace.png']);
    expect(await names(`folder=/words&q=${encodeURIComponent('"red sho*"')}`)).toEqual(['red-shoes.jpg']);
    expect(await names(`folder=/words&q=${encodeURIComponent('-shoe*')}`)).toEqual(['horseshoe.gif']);
  });
});

describe('sort=relevance', () => {
  it('orders the best matches first, and falls back to the default order without words', async () => {
    const meta = async (uuid: string, title: string): Promise<void> => {
      expect((await h.call('PATCH', `/file/${uuid}/meta`, { body: { meta: { title } } })).status).toBe(200);
    };
    const strong = (await h.upload('/rank', 'a.txt', 'a')).file as FileObject;
    const weak = (await h.upload('/rank', 'b.txt', 'b')).file as FileObject;
    const none = (await h.upload('/rank', 'c.txt', 'c')).file as FileObject;
    await meta(strong.uuid, 'kayak kayak kayak');
    await meta(weak.uuid, 'a long description of a trip that mentions a kayak once among many other words');
    await meta(none.uuid, 'canoe');
    const uuids = async (query: string): Promise<string[]> =>
      ((await h.call('GET', `/files?folder=/rank&${query}`)).body.files as FileObject[]).map((f) => f.uuid);
    // Newest first by default, so the weak match comes first without relevance.
    expect(await uuids('q=kayak')).toEqual([weak.uuid, strong.uuid]);
    expect(await uuids('q=kayak&sort=relevance')).toEqual([strong.uuid, weak.uuid]);
    expect(await uuids('q=kayak&sort=relevance:desc&limit=1&offset=1')).toEqual([weak.uuid]);
    expect(await uuids('sort=relevance')).toEqual([none.uuid, weak.uuid, strong.uuid]);
  });
});

describe('paging with offsets', () => {
  it('returns every file once, in the order of one big page, also after a write', async () => {
    for (let i = 0; i < 23; i++) await h.upload('/pages', `p${i}.txt`, `page ${i}`);
    const walk = async (): Promise<{ paged: string[]; whole: string[] }> => {
      const whole = ((await h.call('GET', '/files?folder=/pages&limit=100')).body.files as FileObject[]).map((f) => f.uuid);
      const paged: string[] = [];
      for (let offset = 0; offset < whole.length; offset += 4) {
        const reply = await h.call('GET', `/files?folder=/pages&limit=4&offset=${offset}`);
        paged.push(...(reply.body.files as FileObject[]).map((f) => f.uuid));
      }
      return { paged, whole };
    };
    const first = await walk();
    expect(first.whole).toHaveLength(23);
    expect(first.paged).toEqual(first.whole);
    await h.upload('/pages', 'late.txt', 'late');
    const second = await walk();
    expect(second.whole).toHaveLength(24);
    expect(second.paged).toEqual(second.whole);
  });
});
