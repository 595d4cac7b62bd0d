import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

type FileObject = {
  uuid: string;
  name: string;
  type: string;
  meta: Record<string, unknown>;
  labels: string[];
  tags: Record<string, Array<{ sid: string; label: string }>>;
  product: { ref: string | null; position: number | null };
  folder: { uuid: string; name: string };
};
type Field = {
  uuid: string;
  key: string;
  ckey: string;
  type: string;
  possible_values: Array<{ api_value: string; internal_unique_value: string; label: string }>;
};

let h: Harness;
let seq = 0;

/** Uploads a distinct image (or text file) and returns its file object. */
async function upload(folder: string, name: string, image = true): Promise<FileObject> {
  seq++;
  const content = image
    ? await sharp({ create: { width: 4 + seq, height: 4, channels: 3, background: '#00ff00' } })
        .png()
        .toBuffer()
    : `text ${seq} ${name}`;
  const reply = await h.upload(folder, name, content);
  expect(reply.status, JSON.stringify(reply)).toBe('success');
  return reply.file as FileObject;
}

const file = async (uuid: string): Promise<FileObject> =>
  (await h.call('GET', `/files/${uuid}`)).body.file as FileObject;

async function keyWith(...permissions: string[]): Promise<string> {
  const r = await h.call('POST', '/access/keys', {
    body: { description: permissions.join('+'), permissions },
  });
  return (r.body.key as { secret: string }).secret;
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('products', () => {
  it('attaches a file with ref and position, appends without a position, and shows it on the file', async () => {
    const a = await upload('/products', 'a.png');
    const b = await upload('/products', 'b.png');
    const r = await h.call('PUT', `/file/${a.uuid}/product`, {
      version: 'v4',
      body: { product: { ref: 'H03423', position: 3 } },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: 'success',
      action: 'product_ref_updated',
      product_ref: 'H03423',
      product_position: 3,
      file_uuid: a.uuid,
    });
    expect((r.body.file as FileObject).product).toEqual({ ref: 'H03423', position: 3 });
    const next = await h.call('PUT', `/file/${b.uuid}/product`, {
      version: 'v4',
      body: { product: { ref: 'H03423' } },
    });
    expect(next.body.product_position).toBe(4);
    expect((await file(b.uuid)).product).toEqual({ ref: 'H03423', position: 4 });
  });

  it('refuses refs with whitespace or reserved characters and non-integer positions, naming the field', async () => {
    const a = await upload('/products', 'bad.png');
    const space = await h.call('PUT', `/file/${a.uuid}/product`, {
      version: 'v4',
      body: { product: { ref: 'H 1', position: 1 } },
    });
    expect([space.status, space.body.code]).toEqual([400, 'INVALID_PRODUCT_REF']);
    expect(space.body.msg).toContain('"product.ref"');
    expect(space.body.msg).toContain('whitespace');
    for (const ref of ['A#1', 'A/1', 'A?1', 'A`1', 'A,1']) {
      const r = await h.call('PUT', `/file/${a.uuid}/product`, {
        version: 'v4',
        body: { product: { ref, position: 1 } },
      });
      expect([r.status, r.body.code], ref).toEqual([400, 'INVALID_PRODUCT_REF']);
      expect(String(r.body.msg)).toContain(JSON.stringify(ref.slice(1, 2)));
    }
    const position = await h.call('PUT', `/file/${a.uuid}/product`, {
      version: 'v4',
      body: { product: { ref: 'OK-1', position: 1.5 } },
    });
    expect([position.status, position.body.code]).toEqual([400, 'INVALID_PRODUCT_POSITION']);
    expect(position.body.msg).toContain('"product.position"');
    const missing = await h.call('PUT', `/file/${a.uuid}/product`, { version: 'v4', body: {} });
    expect([missing.status, missing.body.hint]).toEqual([
      400,
      'Example: {"product": {"ref": "H03423", "position": 1}}',
    ]);
    expect((await file(a.uuid)).product).toEqual({ ref: null, position: null });
  });

  it('404s on unknown files and is served only at the v4 path the docs print', async () => {
    const unknown = '6f1c1b1e-0000-4000-8000-0000000000aa';
    const r = await h.call('PUT', `/file/${unknown}/product`, {
      version: 'v4',
      body: { product: { ref: 'X1' } },
    });
    expect([r.status, r.body.code]).toEqual([404, 'FILE_NOT_FOUND']);
    const v5 = await h.call('PUT', `/file/${unknown}/product`, {
      version: 'v5',
      body: { product: { ref: 'X1' } },
    });
    expect([v5.status, v5.body.code]).toEqual([404, 'ROUTE_NOT_FOUND']);
  });

  it('changes a position, and refuses it for a file without a product', async () => {
    const a = await upload('/products', 'pos.png');
    const none = await h.call('PATCH', `/file/${a.uuid}/product/position`, {
      version: 'v4',
      body: { position: 6 },
    });
    expect([none.status, none.body.code]).toEqual([400, 'NO_PRODUCT']);
    await h.call('PUT', `/file/${a.uuid}/product`, {
      version: 'v4',
      body: { product: { ref: 'POS-1', position: 1 } },
    });
    const r = await h.call('PATCH', `/file/${a.uuid}/product/position`, {
      version: 'v4',
      body: { position: 6 },
    });
    expect(r.body).toMatchObject({
      action: 'product_position_updated',
      product_ref: 'POS-1',
      product_position: 6,
    });
    expect((await file(a.uuid)).product.position).toBe(6);
    const bad = await h.call('PATCH', `/file/${a.uuid}/product/position`, {
      version: 'v4',
      body: { position: 'six' },
    });
    expect([bad.status, bad.body.code]).toEqual([400, 'INVALID_PRODUCT_POSITION']);
  });

  it('attaches many files at once (unversioned and v4 paths), all or none, keeping existing positions', async () => {
    const a = await upload('/bulk-product', 'a.png');
    const b = await upload('/bulk-product', 'b.png');
    const c = await upload('/bulk-product', 'c.txt', false);
    const unknown = '6f1c1b1e-0000-4000-8000-0000000000bb';
    const refused = await h.call('PUT', `${h.server.url}/${h.server.token}/product/MANY-1/files`, {
      body: { files_uuids: [a.uuid, unknown] },
    });
    expect([refused.status, refused.body.code, refused.body.not_found_uuids]).toEqual([
      404,
      'FILE_NOT_FOUND',
      [unknown],
    ]);
    expect((await file(a.uuid)).product.ref).toBeNull();

    const first = await h.call('PUT', `${h.server.url}/${h.server.token}/product/MANY-1/files`, {
      body: { files_uuids: [b.uuid, a.uuid] },
    });
    expect(first.status).toBe(200);
    expect((first.body.files as FileObject[]).map((f) => [f.uuid, f.product.position])).toEqual([
      [b.uuid, 1],
      [a.uuid, 2],
    ]);
    const again = await h.call('PUT', '/product/MANY-1/files', {
      version: 'v4',
      body: { files_uuids: [c.uuid, a.uuid] },
    });
    expect((again.body.files as FileObject[]).map((f) => [f.uuid, f.product.position])).toEqual([
      [c.uuid, 3],
      [a.uuid, 2],
    ]);
    const badRef = await h.call('PUT', '/product/MANY%201/files', {
      version: 'v4',
      body: { files_uuids: [a.uuid] },
    });
    expect([badRef.status, badRef.body.code]).toEqual([400, 'INVALID_PRODUCT_REF']);
  });

  it("lists products with asset and image counts on v4 and v5, with the asset picker's prefix search", async () => {
    for (const version of ['v4', 'v5'] as const) {
      const r = await h.call('GET', '/products', { version });
      expect(r.status).toBe(200);
      const products = r.body.products as Array<{
        ref: string;
        stats: { count_assets: number; count_images: number };
      }>;
      expect(products.find((p) => p.ref === 'MANY-1')?.stats).toEqual({ count_assets: 3, count_images: 2 });
      expect(products.map((p) => p.ref)).toEqual([...products.map((p) => p.ref)].sort());
    }
    const prefix = await h.call('GET', `/products?q=${encodeURIComponent('reference~^man')}`, {
      version: 'v5',
    });
    expect((prefix.body.products as Array<{ ref: string }>).map((p) => p.ref)).toEqual(['MANY-1']);
    const page = await h.call('GET', '/products?limit=1&offset=1', { version: 'v4' });
    expect((page.body.products as unknown[]).length).toBe(1);
    expect(page.body.total).toBeGreaterThanOrEqual(3);
  });

  it("lists a product's assets by position, its images only on the akeneo alias, and 404s unknown refs", async () => {
    const assets = await h.call('GET', '/product/MANY-1/assets', { version: 'v4' });
    expect((assets.body.assets as FileObject[]).map((f) => f.product.position)).toEqual([1, 2, 3]);
    const images = await h.call('GET', '/product/MANY-1/images', { version: 'v4' });
    expect((images.body.images as FileObject[]).map((f) => f.type)).toEqual(['image/png', 'image/png']);
    const unknown = await h.call('GET', '/product/NOPE-9/assets', { version: 'v4' });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'PRODUCT_NOT_FOUND']);
  });

  it('renames a ref on every asset, refuses to merge into a used ref, and 404s an unknown one', async () => {
    const clash = await h.call('PATCH', '/product/MANY-1', { version: 'v4', body: { ref: 'H03423' } });
    expect([clash.status, clash.body.code]).toEqual([409, 'E801_ALREADY_EXIST']);
    const r = await h.call('PATCH', '/product/MANY-1', { version: 'v4', body: { ref: 'MANY-2' } });
    expect(r.body).toMatchObject({ status: 'success', new_product_ref: 'MANY-2' });
    expect((r.body.files_uuids as string[]).length).toBe(3);
    expect((await h.call('GET', '/product/MANY-1/assets', { version: 'v4' })).status).toBe(404);
    expect(
      ((await h.call('GET', '/product/MANY-2/assets', { version: 'v4' })).body.assets as unknown[]).length,
    ).toBe(3);
    const gone = await h.call('PATCH', '/product/MANY-1', { version: 'v4', body: { ref: 'MANY-3' } });
    expect([gone.status, gone.body.code]).toEqual([404, 'PRODUCT_NOT_FOUND']);
    const bad = await h.call('PATCH', '/product/MANY-2', { version: 'v4', body: { ref: 'has space' } });
    expect([bad.status, bad.body.code]).toEqual([400, 'INVALID_PRODUCT_REF']);
  });

  it('detaches a file from its product (extension)', async () => {
    const assets = (await h.call('GET', '/product/MANY-2/assets', { version: 'v4' })).body
      .assets as FileObject[];
    const r = await h.call('DELETE', `/file/${assets[0]!.uuid}/product`, { version: 'v4' });
    expect(r.body).toMatchObject({ action: 'product_ref_removed', file_uuid: assets[0]!.uuid });
    expect((await file(assets[0]!.uuid)).product).toEqual({ ref: null, position: null });
    expect(
      ((await h.call('GET', '/product/MANY-2/assets', { version: 'v4' })).body.assets as unknown[]).length,
    ).toBe(2);
  });

  it('variants: the documented envelope with none, and 404 for unknown files', async () => {
    const a = await upload('/variants', 'v.png');
    const r = await h.call('GET', `/files/${a.uuid}/variants`, { version: 'v4' });
    expect(r.body).toEqual({ status: 'success', file_uuid: a.uuid, variants: [] });
    const unknown = await h.call('GET', '/files/6f1c1b1e-0000-4000-8000-0000000000cc/variants', {
      version: 'v4',
    });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'FILE_NOT_FOUND']);
  });
});

describe('labels and bulk changes', () => {
  let label: { uuid: string; sid: string; name: string };

  it('creates a label with a #lb sid and lists it with its asset count', async () => {
    const r = await h.call('POST', '/labels', {
      body: {
        label: {
          name: 'Fashion',
          color: '#9580E9',
          shape: 'pin',
          is_pinned: true,
          permissions: { viewing: { scope: 'SK_ORG', ids: null } },
        },
      },
    });
    expect(r.status).toBe(200);
    expect(typeof r.body.duration).toBe('number');
    label = r.body.label as typeof label;
    expect(label.sid).toMatch(/^#lb[0-9a-z]{7}$/);
    expect(r.body.label).toMatchObject({ name: 'Fashion', color: '#9580E9', shape: 'pin', is_pinned: true });
    expect(r.body.label).toHaveProperty('created_at');
    const list = await h.call('GET', '/labels');
    expect(
      (list.body.labels as Array<{ sid: string; assets_count: number }>).find((l) => l.sid === label.sid)
        ?.assets_count,
    ).toBe(0);
  });

  it('refuses a duplicate name, a bad colour and a missing label object', async () => {
    const dup = await h.call('POST', '/labels', { body: { label: { name: 'fashion' } } });
    expect([dup.status, dup.body.code]).toEqual([409, 'E801_ALREADY_EXIST']);
    const color = await h.call('POST', '/labels', { body: { label: { name: 'Other', color: 'purple' } } });
    expect([color.status, color.body.code]).toEqual([400, 'INVALID_PARAMETER']);
    expect(color.body.msg).toContain('"label.color"');
    const perms = await h.call('POST', '/labels', {
      body: { label: { name: 'Other', permissions: { editing: {} } } },
    });
    expect(perms.body.msg).toContain('label.permissions.editing');
    const missing = await h.call('POST', '/labels', { body: {} });
    expect([missing.status, missing.body.msg]).toEqual([400, '"label" is required.']);
    expect((await h.call('POST', '/labels', { version: 'v4', body: { label: { name: 'v4' } } })).status).toBe(
      404,
    );
  });

  it('prepares and commits tag, metadata and label changes; search and counts see them at once', async () => {
    const a = await upload('/bulk', 'a.png');
    const b = await upload('/bulk', 'b.png');
    await h.call('PUT', `/file/${a.uuid}/tags`, { body: { lang: 'en', new_tags: ['Existing'] } });
    const existingSid = (await file(a.uuid)).tags.en![0]!.sid;
    const prepared = await h.call('PUT', '/bulk/prepare', {
      body: {
        bulk: {
          target: { files_uuids: [a.uuid, b.uuid] },
          changes: [
            { type: 'tags.add', value: existingSid },
            { type: 'tags.add', value: ['Brandnew'] },
            { type: 'meta.replace', key: 'warranty', value: { en: '123' } },
            { type: 'labels.add', value: label.sid },
          ],
        },
      },
    });
    expect(prepared.status, JSON.stringify(prepared.body)).toBe(200);
    const bulkUuid = prepared.body.bulk_uuid as string;
    expect(bulkUuid).toMatch(/^[0-9a-f-]{36}$/);
    // Staging changes nothing yet.
    expect((await file(b.uuid)).meta).toEqual({});
    expect(((await h.call('GET', `/bulk/${bulkUuid}`)).body.bulk as { status: string }).status).toBe(
      'prepared',
    );

    const committed = await h.call('POST', `/bulk/${bulkUuid}/commit`);
    expect(committed.status, JSON.stringify(committed.body)).toBe(200);
    const bulk = committed.body.bulk as {
      status: string;
      results: Array<{ file_uuid: string; status: string }>;
      summary: { succeeded: number };
    };
    expect(bulk.status).toBe('committed');
    expect(bulk.results).toEqual([
      { file_uuid: a.uuid, status: 'success' },
      { file_uuid: b.uuid, status: 'success' },
    ]);
    for (const uuid of [a.uuid, b.uuid]) {
      const f = await file(uuid);
      expect(f.meta.warranty).toEqual({ en: '123' });
      expect(f.labels).toEqual([label.sid]);
      expect(f.tags.en!.map((t) => t.label).sort()).toEqual(['Brandnew', 'Existing']);
    }
    const byTag = await h.call('GET', `/files?folder=/bulk&q=${encodeURIComponent('#brandnew')}`);
    expect((byTag.body.files as FileObject[]).length).toBe(2);
    const byMeta = await h.call('GET', `/files?folder=/bulk&q=${encodeURIComponent('warranty:123')}`);
    expect((byMeta.body.files as FileObject[]).length).toBe(2);
    const byLabel = await h.call('GET', `/files?folder=/bulk&q=${encodeURIComponent(`labels:${label.sid}`)}`);
    expect((byLabel.body.files as FileObject[]).length).toBe(2);
    const labels = await h.call('GET', '/labels');
    expect(
      (labels.body.labels as Array<{ sid: string; assets_count: number }>).find((l) => l.sid === label.sid)
        ?.assets_count,
    ).toBe(2);
    const tags = await h.call('GET', '/tags?q=brandnew');
    expect((tags.body.tags as unknown[]).length).toBe(1);

    const twice = await h.call('POST', `/bulk/${bulkUuid}/commit`);
    expect([twice.status, twice.body.code]).toEqual([409, 'BULK_ALREADY_COMMITTED']);

    const removal = await h.call('PUT', '/bulk/prepare', {
      body: {
        bulk: {
          target: { file_uuids: [a.uuid] },
          changes: [
            { type: 'tags.del', value: 'existing' },
            { type: 'labels.del', value: label.sid },
            { type: 'meta.replace', key: 'warranty', value: null },
          ],
        },
      },
    });
    await h.call('POST', `/bulk/${removal.body.bulk_uuid as string}/commit`);
    const after = await file(a.uuid);
    expect(after.tags.en!.map((t) => t.label)).toEqual(['Brandnew']);
    expect(after.labels).toEqual([]);
    expect(after.meta).not.toHaveProperty('warranty');
  });

  it('reports files deleted after prepare per file, and rolls back everything when one file fails', async () => {
    const a = await upload('/bulk2', 'a.png');
    const b = await upload('/bulk2', 'b.png');
    const prepared = await h.call('PUT', '/bulk/prepare', {
      body: {
        bulk: {
          target: { files_uuids: [a.uuid, b.uuid] },
          changes: [{ type: 'meta.replace', key: 'k', value: 'v' }],
        },
      },
    });
    await h.call('DELETE', `/files/${b.uuid}`);
    const r = await h.call('POST', `/bulk/${prepared.body.bulk_uuid as string}/commit`);
    const results = (r.body.bulk as { results: Array<{ file_uuid: string; status: string; code?: string }> })
      .results;
    expect(results).toEqual([
      { file_uuid: a.uuid, status: 'success' },
      expect.objectContaining({ file_uuid: b.uuid, status: 'error', code: 'FILE_NOT_FOUND' }),
    ]);
    expect((await file(a.uuid)).meta).toEqual({ k: 'v' });

    // c is fine, d's metadata overflows on the second change: neither file nor the tag dictionary changes.
    const c = await upload('/bulk2', 'c.png');
    const d = await upload('/bulk2', 'd.png');
    await h.call('PUT', `/file/${d.uuid}/meta`, { body: { meta: { big: 'x'.repeat(200_000) } } });
    const overflow = await h.call('PUT', '/bulk/prepare', {
      body: {
        bulk: {
          target: { files_uuids: [c.uuid, d.uuid] },
          changes: [
            { type: 'tags.add', value: 'Rollbacktag' },
            { type: 'meta.replace', key: 'big2', value: 'y'.repeat(100_000) },
          ],
        },
      },
    });
    const failed = await h.call('POST', `/bulk/${overflow.body.bulk_uuid as string}/commit`);
    expect([failed.status, failed.body.code]).toEqual([400, 'META_TOO_LARGE']);
    expect(failed.body.msg).toContain(d.uuid);
    expect((await file(c.uuid)).tags).toEqual({});
    expect((await file(c.uuid)).meta).toEqual({});
    expect(((await h.call('GET', '/tags?q=rollbacktag')).body.tags as unknown[]).length).toBe(0);
    expect(
      ((await h.call('GET', `/bulk/${overflow.body.bulk_uuid as string}`)).body.bulk as { status: string })
        .status,
    ).toBe('prepared');
  });

  it('validates changes, targets and unknown ids with clear errors', async () => {
    const a = await upload('/bulk3', 'a.png');
    const prep = (bulk: unknown) => h.call('PUT', '/bulk/prepare', { body: { bulk } });
    const type = await prep({
      target: { files_uuids: [a.uuid] },
      changes: [{ type: 'tags.replace', value: 'x' }],
    });
    expect([type.status, type.body.code]).toEqual([400, 'INVALID_BULK_CHANGE']);
    expect(type.body.msg).toContain('tags.add, tags.del, meta.replace, labels.add, labels.del');
    const noKey = await prep({
      target: { files_uuids: [a.uuid] },
      changes: [{ type: 'meta.replace', value: 'x' }],
    });
    expect(noKey.body.msg).toContain('"bulk.changes[0].key"');
    const unknownLabel = await prep({
      target: { files_uuids: [a.uuid] },
      changes: [{ type: 'labels.add', value: '#lbnothere' }],
    });
    expect([unknownLabel.status, unknownLabel.body.code]).toEqual([400, 'UNKNOWN_LABEL']);
    const unknownTag = await prep({
      target: { files_uuids: [a.uuid] },
      changes: [{ type: 'tags.add', value: '#tg00000000' }],
    });
    expect([unknownTag.status, unknownTag.body.code]).toEqual([400, 'UNKNOWN_TAG']);
    const ghost = '6f1c1b1e-0000-4000-8000-0000000000dd';
    const missing = await prep({
      target: { files_uuids: [a.uuid, ghost] },
      changes: [{ type: 'meta.replace', key: 'k', value: 1 }],
    });
    expect([missing.status, missing.body.not_found_uuids]).toEqual([404, [ghost]]);
    const empty = await prep({ target: { files_uuids: [a.uuid] }, changes: [] });
    expect(empty.body.msg).toContain('"bulk.changes"');
    expect((await h.call('PUT', '/bulk/prepare', { body: {} })).body.msg).toBe('"bulk" is required.');
    const unknownBulk = await h.call('POST', `/bulk/${ghost}/commit`);
    expect([unknownBulk.status, unknownBulk.body.code]).toEqual([404, 'BULK_NOT_FOUND']);
    expect((await h.call('GET', `/bulk/${ghost}`)).status).toBe(404);
  });

  it('label changes need FILE_LABEL_CHANGE besides FILE_META_CHANGE', async () => {
    const a = await upload('/bulk4', 'a.png');
    const body = {
      bulk: { target: { files_uuids: [a.uuid] }, changes: [{ type: 'labels.add', value: label.sid }] },
    };
    const metaOnly = await keyWith('FILE_META_CHANGE');
    const denied = await h.call('PUT', '/bulk/prepare', { key: metaOnly, body });
    expect([denied.status, denied.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(denied.body.msg).toContain('FILE_LABEL_CHANGE');
    const both = await keyWith('FILE_META_CHANGE', 'FILE_LABEL_CHANGE');
    const ok = await h.call('PUT', '/bulk/prepare', { key: both, body });
    expect(ok.status).toBe(200);
    const commitDenied = await h.call('POST', `/bulk/${ok.body.bulk_uuid as string}/commit`, {
      key: metaOnly,
    });
    expect(commitDenied.status).toBe(403);
    expect((await h.call('POST', `/bulk/${ok.body.bulk_uuid as string}/commit`, { key: both })).status).toBe(
      200,
    );
    expect((await file(a.uuid)).labels).toEqual([label.sid]);
  });
});

describe('settings and the metadata model', () => {
  it('v4 settings answer without a key with the public subset; v5 needs CONFIG_LIST; the public v5 form needs none', async () => {
    const v4 = await h.call('GET', '/settings', { version: 'v4', key: null });
    expect(v4.status).toBe(200);
    const model = (
      v4.body.metadata as {
        model: Array<{ applies_to: string; groups: Array<{ name: string; fields: Field[] }> }>;
      }
    ).model;
    expect(model[0]!.applies_to).toBe('FILES');
    expect(model[0]!.groups.flatMap((g) => g.fields.map((f) => f.key))).toEqual(
      expect.arrayContaining(['title', 'category']),
    );
    expect(v4.body).not.toHaveProperty('upload');
    expect(v4.body.project_branding).toHaveProperty('brandColor');

    expect((await h.call('GET', '/settings', { key: null })).status).toBe(401);
    const v5 = await h.call('GET', '/settings');
    const settings = v5.body.settings as Record<
      string,
      { max_urls_per_request?: number; store?: { regional_variants_groups: unknown[] } }
    >;
    expect(settings.upload?.max_urls_per_request).toBe(20);
    expect(settings.metadata?.store?.regional_variants_groups.length).toBe(1);
    const reader = await keyWith('CONFIG_LIST');
    expect((await h.call('GET', '/settings', { key: reader })).status).toBe(200);

    const pub = await h.call('GET', '/public/settings', { key: null });
    expect(pub.status).toBe(200);
    expect(pub.body.settings).toHaveProperty('metadata');
    expect(pub.body.settings).not.toHaveProperty('upload');
  });

  it('lists model fields and the options of a select field; 404 for an unknown field', async () => {
    const r = await h.call('GET', '/meta/model/fields', { version: 'v4' });
    const fields = r.body.fields as Array<Field & { applies_to: string; group: { name: string } }>;
    const category = fields.find((f) => f.key === 'category')!;
    expect(category).toMatchObject({ type: 'select-one', applies_to: 'FILES', group: { name: 'General' } });
    const options = await h.call('GET', `/meta/model/fields/${category.uuid}/options`, { version: 'v4' });
    expect((options.body.options as Array<{ api_value: string }>).map((o) => o.api_value)).toEqual([
      'marketing',
      'product',
      'editorial',
    ]);
    const title = fields.find((f) => f.key === 'title')!;
    expect(
      (await h.call('GET', `/meta/model/fields/${title.uuid}/options`, { version: 'v4' })).body.options,
    ).toEqual([]);
    const unknown = await h.call('GET', '/meta/model/fields/6f1c1b1e-0000-4000-8000-0000000000ee/options', {
      version: 'v4',
    });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'FIELD_NOT_FOUND']);
    const dirs = await h.call('GET', '/meta/model/fields?applies_to=directories', { version: 'v4' });
    expect(dirs.body.fields).toEqual([]);
    expect((await h.call('GET', '/meta/model/fields?applies_to=things', { version: 'v4' })).status).toBe(400);
  });

  it('redefines the model (extension), keeping field and option identities, and validates it', async () => {
    const before = (
      (await h.call('GET', '/meta/model/fields', { version: 'v4' })).body.fields as Field[]
    ).find((f) => f.key === 'category')!;
    const put = await h.call('PUT', '/settings/metadata/model', {
      body: {
        model: [
          {
            applies_to: 'FILES',
            groups: [
              {
                name: 'Catalogue',
                fields: [
                  {
                    key: 'category',
                    title: 'Category',
                    type: 'select',
                    possible_values: ['product', { api_value: 'lifestyle', label: 'Lifestyle' }],
                  },
                  { key: 'season', type: 'multi_select', possible_values: ['summer', 'winter'] },
                  { key: 'title', type: 'text', regional_variants_group: 'Language' },
                  { key: 'weight', type: 'number' },
                ],
              },
            ],
          },
        ],
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const fields = (await h.call('GET', '/meta/model/fields', { version: 'v4' })).body.fields as Field[];
    expect(fields.map((f) => [f.key, f.type])).toEqual([
      ['category', 'select-one'],
      ['season', 'multi-select'],
      ['title', 'text'],
      ['weight', 'numeric'],
    ]);
    const after = fields.find((f) => f.key === 'category')!;
    expect(after.uuid).toBe(before.uuid);
    const kept = before.possible_values.find((v) => v.api_value === 'product')!;
    expect(after.possible_values.find((v) => v.api_value === 'product')!.internal_unique_value).toBe(
      kept.internal_unique_value,
    );

    const put400 = async (body: unknown): Promise<{ status: number; body: Record<string, unknown> }> =>
      h.call('PUT', '/settings/metadata/model', { body });
    const badType = await put400({
      model: [{ applies_to: 'FILES', groups: [{ name: 'G', fields: [{ key: 'x', type: 'colour' }] }] }],
    });
    expect([badType.status, badType.body.code]).toEqual([400, 'INVALID_METADATA_MODEL']);
    expect(badType.body.msg).toContain('model[0].groups[0].fields[0].type');
    expect(badType.body.hint).toContain('multi-select');
    const noValues = await put400({
      model: [{ groups: [{ name: 'G', fields: [{ key: 'x', type: 'select-one' }] }] }],
    });
    expect(noValues.body.msg).toContain('possible_values must list at least one value');
    const textValues = await put400({
      model: [{ groups: [{ name: 'G', fields: [{ key: 'x', type: 'text', possible_values: ['a'] }] }] }],
    });
    expect(textValues.body.msg).toContain('only applies to select-one and multi-select');
    const dupKey = await put400({
      model: [
        {
          groups: [
            {
              name: 'G',
              fields: [
                { key: 'x', type: 'text' },
                { key: 'x', type: 'date' },
              ],
            },
          ],
        },
      ],
    });
    expect(dupKey.body.msg).toContain('appears twice');
    const badKey = await put400({
      model: [{ groups: [{ name: 'G', fields: [{ key: '1st field', type: 'text' }] }] }],
    });
    expect(badKey.body.msg).toContain('not a valid field key');
    const rvg = await put400({
      model: [
        {
          groups: [
            { name: 'G', fields: [{ key: 'x', type: 'text', regional_variants_group: 'Currencies' }] },
          ],
        },
      ],
    });
    expect(rvg.body.msg).toContain('"Currencies"');
    expect((await put400({})).body.msg).toBe('"model" is required.');
    // Nothing of the refused bodies was stored.
    expect(
      ((await h.call('GET', '/meta/model/fields', { version: 'v4' })).body.fields as Field[]).length,
    ).toBe(4);
  });

  it('stores and serves field and option translations per language', async () => {
    const fields = (await h.call('GET', '/meta/model/fields', { version: 'v4' })).body.fields as Field[];
    const lifestyle = fields
      .find((f) => f.key === 'category')!
      .possible_values.find((v) => v.api_value === 'lifestyle')!;
    const put = await h.call('PUT', '/meta/model/fields/i18n', {
      body: {
        lang: 'fr',
        fields: { title: { name: 'Titre', placeholder: 'Titre…' }, season: 'Saison' },
        options: { [lifestyle.internal_unique_value]: 'Art de vivre' },
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const got = await h.call('GET', '/meta/model/fields/i18n?lang=fr&format=object');
    expect(got.body.fields).toEqual({
      title: { name: 'Titre', placeholder: 'Titre…' },
      season: { name: 'Saison' },
    });
    const list = await h.call('GET', '/meta/model/fields/i18n?lang=fr&format=list');
    expect((list.body.fields as Array<{ key: string; name: string }>).map((f) => [f.key, f.name])).toEqual([
      ['season', 'Saison'],
      ['title', 'Titre'],
    ]);
    const options = await h.call('GET', '/meta/model/fields/options/i18n?lang=fr');
    expect(options.body.options).toEqual({ [lifestyle.internal_unique_value]: 'Art de vivre' });
    expect((await h.call('GET', '/meta/model/fields/i18n?lang=de')).body.fields).toEqual({});
    const noLang = await h.call('GET', '/meta/model/fields/i18n');
    expect([noLang.status, noLang.body.msg]).toEqual([
      400,
      '"lang" is required: the language of the translations.',
    ]);
    const unknown = await h.call('PUT', '/meta/model/fields/i18n', {
      body: { lang: 'fr', fields: { nope: 'x' } },
    });
    expect([unknown.status, unknown.body.code]).toEqual([400, 'UNKNOWN_FIELD']);
    const removed = await h.call('PUT', '/meta/model/fields/i18n', {
      body: { lang: 'fr', fields: { season: null } },
    });
    expect(removed.body.fields).toEqual({ title: { name: 'Titre', placeholder: 'Titre…' } });
  });

  it('lists the metadata keys in use with counts', async () => {
    const a = await upload('/keys', 'a.png');
    await h.call('PUT', `/file/${a.uuid}/meta`, { body: { meta: { weight: 12, rare_key_xyz: 'x' } } });
    const r = await h.call('GET', '/attributes/keys');
    const keys = r.body.keys as Array<{
      key: string;
      count: number;
      field_uuid: string | null;
      type: string | null;
    }>;
    expect(keys.find((k) => k.key === 'rare_key_xyz')).toEqual({
      key: 'rare_key_xyz',
      count: 1,
      field_uuid: null,
      type: null,
    });
    expect(keys.find((k) => k.key === 'weight')).toMatchObject({ type: 'numeric' });
  });
});

describe('autocomplete, filters and folder previews', () => {
  it('suggests tag labels and metadata values, resolving the _<ckey> form', async () => {
    const a = await upload('/suggest', 'a.png');
    const b = await upload('/suggest', 'b.png');
    await h.call('PUT', `/file/${a.uuid}/tags`, { body: { lang: 'en', new_tags: ['Greenhouse', 'Grey'] } });
    await h.call('PUT', `/file/${b.uuid}/tags`, { body: { lang: 'en', new_tags: ['Grey'] } });
    await h.call('PUT', `/file/${a.uuid}/meta`, {
      body: { meta: { season: ['summer'], copyright: 'Acme Corp' } },
    });
    await h.call('PUT', `/file/${b.uuid}/meta`, { body: { meta: { copyright: 'Acme Labs' } } });
    const tags = await h.call('GET', '/metadata/autocomplete?q=gre&limit=5');
    expect((tags.body.data as { tags: Array<{ tag: string; count: number }> }).tags).toEqual([
      { tag: 'Grey', count: 2 },
      { tag: 'Greenhouse', count: 1 },
    ]);
    const meta = await h.call('GET', '/metadata/autocomplete?q=acme&meta_key=copyright');
    expect((meta.body.data as { tags: Array<{ tag: string }> }).tags.map((t) => t.tag).sort()).toEqual([
      'Acme Corp',
      'Acme Labs',
    ]);
    const ckey = await h.call('GET', '/metadata/autocomplete?q=sum&meta_key=_season');
    expect(ckey.body.data).toEqual({ meta_key: 'season', tags: [{ tag: 'summer', count: 1 }] });
    expect((await h.call('GET', '/metadata/autocomplete?limit=0')).status).toBe(400);
  });

  it('gives file-type facets in the asset picker shape and other facets as key/values', async () => {
    await upload('/facets', 'doc.txt', false);
    const types = await h.call('GET', '/filters?filter_by=filetype&format=list&limit=200');
    const fileTypes = (
      types.body.filters as { file_types: Array<{ name: string; value: string; count: number }> }
    ).file_types;
    const png = fileTypes.find((t) => t.value === 'image_png')!;
    expect(png.name).toBe('image › png');
    expect(png.count).toBeGreaterThan(10);
    expect(fileTypes.find((t) => t.value === 'text_plain')?.count).toBeGreaterThanOrEqual(1);
    const tags = await h.call('GET', '/filters?filter_by=tags,copyright&format=list');
    const filters = tags.body.filters as Array<{ key: string; values: string[]; counts: number[] }>;
    expect(filters.map((f) => f.key)).toEqual(['tags', 'copyright']);
    expect(filters[0]!.values).toContain('grey');
    expect(filters[1]!.values.sort()).toEqual(['Acme Corp', 'Acme Labs']);
    const missing = await h.call('GET', '/filters?format=list');
    expect([missing.status, missing.body.msg]).toEqual([400, '"filter_by" is required.']);
    expect((await h.call('GET', '/filters?filter_by=filetype&format=tree')).status).toBe(400);
  });

  it('previews the newest images of each folder subtree and reports unknown folders', async () => {
    await upload('/previews/sub', 'deep.png');
    await upload('/previews', 'top.txt', false);
    const direct = await upload('/previews', 'top.png');
    const folders = await h.call('GET', '/folders?folder=/&q=previews');
    const folder = (folders.body.folders as Array<{ uuid: string; path: string }>).find(
      (f) => f.path === '/previews',
    )!;
    const ghost = '6f1c1b1e-0000-4000-8000-0000000000ff';
    const r = await h.call('POST', '/folders/previews', { body: { folders: [folder.uuid, ghost] } });
    expect(r.status).toBe(200);
    const previews = (
      r.body.folders as Record<
        string,
        Array<{ file_uuid: string; file_uri_cdn: string; file_type: string; preview_origin: string }>
      >
    )[folder.uuid]!;
    expect(previews.map((p) => [p.file_type, p.preview_origin])).toEqual([
      ['image/png', 'folder'],
      ['image/png', 'subfolder'],
    ]);
    expect(previews[0]!.file_uuid).toBe(direct.uuid);
    expect((await fetch(previews[0]!.file_uri_cdn)).status).toBe(200);
    expect(r.body.not_found_uuids).toEqual([ghost]);
    const one = await h.call('POST', '/folders/previews', { body: { folders: [folder.uuid], limit: 1 } });
    expect((one.body.folders as Record<string, unknown[]>)[folder.uuid]!.length).toBe(1);
    const bad = await h.call('POST', '/folders/previews', { body: { folders: ['nope'] } });
    expect([bad.status, bad.body.code]).toEqual([400, 'INVALID_UUID']);
    expect((await h.call('POST', '/folders/previews', { body: { folders: [] } })).status).toBe(400);
  });
});
