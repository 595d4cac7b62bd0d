import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, PermissionDeniedError, BadRequestError, type Filerobot, type FileObject } from '../src/index.js';
import { startFixture, type Fixture } from './server-fixture.js';

let fx: Fixture;
let client: Filerobot;
let files: FileObject[];

beforeAll(async () => {
  fx = await startFixture();
  client = fx.client();
  const report = await client.files.uploadMany(
    ['red', 'blue', 'green', 'black'].map((colour, i) => ({ source: Buffer.from(`shoe ${colour}`), name: `shoe-${colour}.txt`, meta: { colour, idx: i } })),
    { folder: '/catalog/shoes', concurrency: 2 },
  );
  files = report.results.flatMap((r) => (r.ok ? [r.file] : []));
  expect(files).toHaveLength(4);
});

afterAll(async () => {
  await fx.close();
});

describe('products', () => {
  it('attaches, positions, lists, renames, attaches many and detaches', async () => {
    const [a, b, c] = files;
    const attached = await client.products.attach(a!.uuid, { ref: 'SKU-1', position: 1 });
    expect(attached.product).toEqual({ ref: 'SKU-1', position: 1 });
    await client.products.attach(b!.uuid, { ref: 'SKU-1', position: 2 });
    expect((await client.products.setPosition(b!.uuid, 5))?.product).toEqual({ ref: 'SKU-1', position: 5 });
    await client.products.attachMany('SKU-2', [c!.uuid]);
    expect((await client.products.list()).map((p) => [p.ref, p.stats?.count_assets])).toEqual(expect.arrayContaining([['SKU-1', 2], ['SKU-2', 1]]));
    expect((await client.products.assets('SKU-1')).map((f) => f.uuid)).toEqual([a!.uuid, b!.uuid]);
    const renamed = await client.products.rename('SKU-1', 'SKU-1B');
    expect(renamed.new_product_ref).toBe('SKU-1B');
    await expect(client.products.assets('SKU-1')).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.products.rename('SKU-1B', 'SKU-2')).rejects.toBeInstanceOf(ConflictError);
    expect((await client.products.detach(c!.uuid)).product).toEqual({ ref: null, position: null });
  });

  it('refuses a bad reference before sending anything', async () => {
    await expect(client.products.attach(files[0]!.uuid, { ref: 'has space' })).rejects.toThrow(/not a product reference/);
    await expect(client.products.setPosition(files[0]!.uuid, 1.5)).rejects.toThrow(/whole number/);
  });

  it('lists variants (none on the local server)', async () => {
    expect(await client.files.variants(files[0]!.uuid)).toEqual([]);
  });
});

describe('labels and bulk changes', () => {
  it('creates and lists labels, and bulk-applies tags, meta and labels atomically', async () => {
    const label = await client.labels.create({ name: 'Approved', color: '#2E7D32' });
    expect(label.sid).toMatch(/^#lb/);
    await expect(client.labels.create({ name: 'Approved' })).rejects.toBeInstanceOf(ConflictError);
    const targets = [files[0]!.uuid, files[1]!.uuid];
    const bulkUuid = await client.bulk.prepare(targets, [
      { type: 'tags.add', value: 'Summer' },
      { type: 'meta.replace', key: 'season', value: 'SS26' },
      { type: 'labels.add', value: label.sid },
    ]);
    expect((await client.bulk.get(bulkUuid)).bulk).toMatchObject({ status: expect.any(String) });
    await client.bulk.commit(bulkUuid);
    for (const uuid of targets) {
      const file = await client.files.get(uuid);
      expect(file.meta).toMatchObject({ season: 'SS26' });
      expect(file.labels).toEqual([label.sid]);
      expect(Object.values(file.tags ?? {}).flat().map((t) => t.label)).toContain('Summer');
    }
    expect((await client.labels.list()).find((l) => l.sid === label.sid)?.assets_count).toBe(2);
    await expect(client.bulk.commit(bulkUuid)).rejects.toBeInstanceOf(ConflictError);
    // apply() = prepare + commit.
    await client.bulk.apply([files[0]!.uuid], [{ type: 'labels.del', value: label.sid }]);
    expect((await client.files.get(files[0]!.uuid)).labels).toEqual([]);
  });

  it('suggests tag labels and meta values', async () => {
    expect((await client.meta.autocomplete({ q: 'Sum' })).map((s) => s.value)).toContain('Summer');
  });
});

describe('collections', () => {
  it('creates a collection whose virtual folders list matching files', async () => {
    const collection = await client.collections.create({ title: 'Dark shoes', query: 'colour:black,blue', folders: [{ name: 'Black', filters: 'colour:black' }] });
    expect((await client.collections.list()).map((c) => c.uuid)).toContain(collection.uuid);
    const [black] = await client.collections.folders(collection.uuid);
    expect(black).toMatchObject({ name: 'Black' });
    const all = await client.files.list({ collection_uuid: collection.uuid }).toArray(10);
    expect(all.map((f) => f.meta?.colour).sort()).toEqual(['black', 'blue']);
    const leaf = await client.files.list({ collection_uuid: collection.uuid, f64: black!.filters }).toArray(10);
    expect(leaf.map((f) => f.meta?.colour)).toEqual(['black']);
    await client.collections.delete(collection.uuid);
    await expect(client.collections.folders(collection.uuid)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('shares', () => {
  it('creates a password-protected share, never echoes the password, and serves the listing', async () => {
    const folder = await client.folders.ensure('/catalog/shoes');
    const share = await client.shares.create({
      title: 'Press kit',
      items: [{ type: 'folder_uuid', identifiers: [folder.uuid], options: { recursive: true } }],
      expires_at: new Date(Date.now() + 86_400_000),
      auth: [{ pass: 'open-sesame' }],
    });
    expect(JSON.stringify(share)).not.toContain('open-sesame');
    expect(share.share_uri).toMatch(/\/v5\/s\//);
    expect((await client.shares.list()).map((s) => s.uuid)).toContain(share.uuid);
    expect((await client.shares.get(share.uuid)).title).toBe('Press kit');
    expect((await fetch(share.share_uri!)).status).toBe(401);
    const listing = await fetch(share.share_uri!, { headers: { authorization: `Basic ${Buffer.from(':open-sesame').toString('base64')}` } });
    expect(((await listing.json()) as { files: unknown[] }).files).toHaveLength(4);
    await client.shares.delete(share.uuid);
    await expect(client.shares.get(share.uuid)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('names the bad field of a share', async () => {
    const error = await client.shares.create({ title: 'x', items: [{ type: 'nope' as 'file_uuid', identifiers: [] }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toMatch(/items/);
  });
});

describe('settings, model and facets', () => {
  it('reads settings, fields, options, keys and translations; changes the model', async () => {
    const settings = await client.settings.get();
    expect(settings.metadata?.model?.length).toBeGreaterThan(0);
    expect((await client.settings.getPublic()).metadata).toBeDefined();
    const metadata = await client.settings.setMetadataModel([
      { applies_to: 'FILES', groups: [{ name: 'Catalogue', fields: [{ key: 'colour', type: 'select-one', possible_values: [{ api_value: 'red' }, { api_value: 'black' }] }] }] },
    ]);
    expect(JSON.stringify(metadata)).toContain('colour');
    const fields = await client.settings.fields();
    const colour = fields.find((f) => f.key === 'colour');
    expect(colour).toBeDefined();
    expect(JSON.stringify(await client.settings.fieldOptions(colour!.uuid!))).toContain('black');
    expect(await client.settings.attributeKeys()).toEqual(expect.arrayContaining(['colour', 'idx']));
    await client.settings.setFieldTranslations({ lang: 'fr', fields: { [colour!.ckey ?? 'colour']: { name: 'Couleur' } } });
    expect(JSON.stringify((await client.settings.fieldTranslations('fr')).fields)).toContain('Couleur');
    expect((await client.settings.optionTranslations('fr')).lang).toBe('fr');
    const types = (await client.settings.filters('filetype')) as { file_types: Array<{ value: string; count: number }> };
    expect(types.file_types.find((t) => t.value === 'text_plain')?.count).toBe(4);
  });

  it('gives folder previews', async () => {
    const folder = await client.folders.ensure('/catalog');
    const previews = await client.folders.previews([folder.uuid]);
    expect(previews).toHaveProperty(folder.uuid);
  });

  it('a key without CONFIG_CHANGE cannot change the model', async () => {
    const key = await client.access.keys.create({ permissions: ['CONFIG_LIST'] });
    const reader = fx.client({ apiKey: key.secret! });
    await expect(reader.settings.fields()).resolves.toBeDefined();
    await expect(reader.settings.setMetadataModel([])).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});
