import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Filerobot, MetadataModelEntry } from '@sfx/client';
import sharp from 'sharp';
import { getAction } from '../src/actions/index.js';
import { DOC_SEED, type ExampleSeed } from '../src/seed.js';

/** A small real JPEG, different for each colour, so sha1s and image info are genuine. */
export async function jpeg(r: number, g: number, b: number, width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

/**
 * Creates, on an empty project, every object the action examples refer to (ExampleSeed), and
 * returns their real ids. Each destructive example gets an object of its own, so examples can
 * run in any order. `workDir` receives the local file to upload and the downloads.
 */
export async function seedProject(client: Filerobot, workDir: string): Promise<ExampleSeed> {
  await mkdir(workDir, { recursive: true });
  const localFile = join(workDir, 'hero-local.jpg');
  await writeFile(localFile, await jpeg(200, 40, 40, 120, 80));

  // The metadata model first: bulk and search examples set `category`, `approved`, `copyright`.
  const model = (getAction('settings.set-metadata-model').example(DOC_SEED) as { model: MetadataModelEntry[] }).model;
  await client.settings.setMetadataModel(model);
  const field = (await client.settings.fields()).find((f) => f.key === 'category');
  if (!field?.uuid) throw new Error('seed: the metadata model has no "category" field with a uuid');

  const folder = await client.folders.ensure(DOC_SEED.folder.path);
  const targetFolder = await client.folders.ensure(DOC_SEED.targetFolder.path);

  let shade = 0;
  const upload = async (name: string, options: { folder?: string; tags?: string[]; meta?: Record<string, unknown> } = {}) => {
    shade += 1;
    const { file } = await client.files.upload(
      { data: await jpeg(shade * 7, 255 - shade * 5, (shade * 31) % 256), name },
      { folder: options.folder ?? folder.path, tags: options.tags, meta: options.meta as never },
    );
    return file;
  };

  const hero = await upload(DOC_SEED.file.name, { tags: ['hero'], meta: { title: { en: 'Hero' }, category: 'product' } });
  const one = async (name: string) => (await upload(name)).uuid;
  const files = {
    rename: await one('to-rename.jpg'),
    move: await one('to-move.jpg'),
    moveMany: [await one('to-move-1.jpg'), await one('to-move-2.jpg')],
    delete: await one('to-delete.jpg'),
    deleteMany: [await one('to-delete-1.jpg'), await one('to-delete-2.jpg')],
    detach: await one('to-detach.jpg'),
    position: await one('to-position.jpg'),
    // files.update-legacy renames it (and sets its metadata).
    legacyUpdate: await one('to-update-legacy.jpg'),
  };

  // Products: the hero belongs to the example product; detach and position need linked assets.
  await client.products.attach(hero.uuid, { ref: DOC_SEED.product.ref, position: 1 });
  await client.products.attach(files.detach, { ref: DOC_SEED.product.ref, position: 3 });
  await client.products.attach(files.position, { ref: DOC_SEED.product.ref, position: 4 });
  const renamable = await upload('renamable-product.jpg');
  await client.products.attach(renamable.uuid, { ref: DOC_SEED.product.renameRef, position: 1 });

  // Assets each bulk-by-search example matches, in a folder of their own.
  await upload('archive-me.jpg', { folder: `${folder.path}/bulk`, tags: [DOC_SEED.search.move.slice(1)] });
  await upload('expired.jpg', { folder: `${folder.path}/bulk`, tags: [DOC_SEED.search.delete.slice(1)] });
  await upload('campaign.jpg', { folder: `${folder.path}/bulk`, meta: { category: 'marketing' } });

  const sub = async (name: string) => (await client.folders.ensure(`${folder.path}/folders/${name}`)).uuid;
  const folders = {
    rename: await sub('to-rename'),
    move: await sub('to-move'),
    moveMany: [await sub('to-move-1'), await sub('to-move-2')],
    delete: await sub('to-delete'),
    meta: await sub('with-meta'),
  };
  await upload('inside-deleted-folder.jpg', { folder: `${folder.path}/folders/to-delete` });

  const tag = await client.tags.create({ names: { en: 'Seeded tag' } });
  const label = await client.labels.create({ name: 'Seeded label', color: '#1565C0' });

  const collection = async (title: string) =>
    (await client.collections.create({ title, query: '#hero', folders: [{ name: 'All', filters: 'type:image' }] })).uuid;
  const collections = { uuid: await collection('Seeded collection'), deleteUuid: await collection('Collection to delete') };

  const share = async (title: string) =>
    (
      await client.shares.create({
        title,
        items: [{ type: 'file_uuid', identifiers: [hero.uuid] }],
        expires_at: '2099-12-31T00:00:00Z',
      })
    ).uuid;
  const shares = { uuid: await share('Seeded share'), deleteUuid: await share('Share to delete') };

  const key = async (description: string) =>
    (await client.access.keys.create({ description, permissions: ['OBJECTS_LIST'] })).uuid;
  const keys = { uuid: await key('seeded key'), updateUuid: await key('key to update'), deleteUuid: await key('key to delete') };

  const template = async (name: string) =>
    (await client.access.templates.create({ name, permissions: ['OBJECTS_LIST', 'FILE_UPLOAD'], validity_seconds: 600 })).id;
  const templates = {
    id: await template('seeded template'),
    updateId: await template('template to update'),
    deleteId: await template('template to delete'),
    exchangeId: await template('template to exchange'),
  };

  const bulkUuid = await client.bulk.prepare([hero.uuid], [{ type: 'tags.add', value: 'seeded-bulk' }]);

  // ---- approvals and airboxes (inferred endpoints; owned by the approvals/airboxes actions) ----
  // Three pending approvals on the hero, each listing the seed's approver: one to read, one to
  // vote on (approvals.vote), one to cancel (approvals.cancel). Two airboxes: one to read,
  // update and upload into (airboxes.upload, by its puid), one to delete.
  const approver = DOC_SEED.approval.approver;
  const approval = async (message: string) =>
    (await client.approvals.create({ files_uuids: [hero.uuid], approvers: [approver], message })).uuid;
  const approvals = {
    uuid: await approval('seeded approval'),
    voteUuid: await approval('approval to vote on'),
    cancelUuid: await approval('approval to cancel'),
    approver,
  };
  const airbox = async (title: string) =>
    client.airboxes.create({ title, folder: `${folder.path}/airbox`, expires_at: '2099-12-31T00:00:00Z' });
  const seededAirbox = await airbox('Seeded airbox');
  const airboxes = {
    uuid: seededAirbox.uuid,
    deleteUuid: (await airbox('Airbox to delete')).uuid,
    puid: seededAirbox.puid,
    title: DOC_SEED.airbox.title,
  };
  // ---- end of approvals and airboxes ----

  // ---- webhooks (owned by the webhooks actions and the dam.events trigger) ----
  // Two webhooks to a loopback receiver nobody listens on (port 9: nothing outside this machine is
  // contacted; needs a server started with allowPrivateWebhooks or allowPrivateUrlImports). The
  // first (subscribed to folder.created) gets one event, so its log has a delivery to list and to
  // retry; the second, paused, is the one webhooks.delete removes.
  const receiverUrl = 'http://127.0.0.1:9/sfx-seed-hook';
  const hook = await client.webhooks.create({
    url: receiverUrl,
    events: ['folder.created'],
    secret: 'seeded-webhook-secret',
    description: 'seeded webhook',
  });
  const hookToDelete = await client.webhooks.create({ url: receiverUrl, events: ['*'], description: 'webhook to delete', active: false });
  await client.folders.ensure(`${folder.path}/webhook-event`);
  const [delivery] = (await client.webhooks.deliveries(hook.uuid, { limit: 1 })).deliveries;
  if (!delivery) throw new Error('seed: the seeded webhook recorded no delivery');
  const webhook = { uuid: hook.uuid, deleteUuid: hookToDelete.uuid, delivery: delivery.uuid, receiverUrl };
  // ---- end of webhooks ----

  // ---- image editor, auto-tagging and visibility (inferred endpoints; owned by files.edit-image,
  // files.autotag and folders.set-visibility) ----
  // A 640×480 JPEG (the edit example crops 320×240 of it and saves a copy; autotag reads it), and
  // a folder of its own whose visibility folders.set-visibility changes.
  const image = (
    await client.files.upload({ data: await jpeg(230, 120, 30, 640, 480), name: 'photo.jpg' }, { folder: `${folder.path}/images` })
  ).file;
  const visibilityFolder = await sub('visibility');
  // ---- end of image editor, auto-tagging and visibility ----

  return {
    folder: { uuid: folder.uuid, path: folder.path },
    targetFolder: { uuid: targetFolder.uuid, path: targetFolder.path },
    file: { uuid: hero.uuid, name: hero.name, sha1: hero.hash?.sha1 ?? '' },
    files,
    folders: { ...folders, visibility: visibilityFolder },
    image: { uuid: image.uuid },
    localFile,
    workDir: join(workDir, 'downloads'),
    // The server fetches its own CDN URL of the hero: a real fetch with no outside network.
    importUrl: hero.url?.cdn ?? '',
    product: { ...DOC_SEED.product },
    tag: { sid: tag.sid },
    label: { sid: label.sid },
    collection: collections,
    share: shares,
    key: keys,
    template: templates,
    field: { uuid: field.uuid },
    bulk: { uuid: bulkUuid },
    webhook,
    approval: approvals,
    airbox: airboxes,
    search: { ...DOC_SEED.search },
  };
}
