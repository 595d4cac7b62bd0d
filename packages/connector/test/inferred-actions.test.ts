import { join } from 'node:path';
import { Filerobot, PermissionDeniedError } from '@sfx/client';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAction } from '../src/actions/index.js';
import { ActionInputError } from '../src/errors.js';
import { PERMISSIONS } from '../src/permissions.js';
import type { ExampleSeed } from '../src/seed.js';
import { startLocalProject, type LocalProject } from './local-project.js';
import { seedProject } from './seed-project.js';

/*
 * The actions over inferred endpoints (visibility, file labels, collection writes, image editor,
 * auto-tagging): their examples run on a seeded local server and do what they say, and bad input
 * is refused before any request, naming the field.
 */

let project: LocalProject;
let root: Filerobot;
let seed: ExampleSeed;
const clientFor = (apiKey: string): Filerobot => project.clientFor(apiKey);

beforeAll(async () => {
  project = await startLocalProject('inferred-actions', { allowPrivateUrlImports: true });
  root = project.root;
  seed = await seedProject(root, join(project.dir, 'work'));
});

afterAll(async () => project?.close());

const run = (id: string, input: unknown): Promise<Record<string, unknown>> =>
  getAction(id).run({ client: root }, input) as Promise<Record<string, unknown>>;

async function inputError(id: string, input: unknown): Promise<ActionInputError> {
  const error = await getAction(id)
    .run({ client: root }, input)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(error, id).toBeInstanceOf(ActionInputError);
  return error as ActionInputError;
}

describe('inferred actions', () => {
  it('are marked inferred, with the permission of their endpoint', () => {
    const expected: Record<string, [string, string, boolean]> = {
      'files.set-visibility': ['FILE_SET_VISIBILITY', 'write', true],
      'folders.set-visibility': ['DIR_SET_VISIBILITY', 'write', true],
      'files.set-labels': ['FILE_LABEL_CHANGE', 'write', true],
      'collections.create': ['COLLECTIONS_MANAGE', 'write', false],
      'collections.update': ['COLLECTIONS_MANAGE', 'write', true],
      'collections.delete': ['COLLECTIONS_MANAGE', 'destructive', true],
      'files.edit-image': ['FILE_IMAGE_EDITOR', 'destructive', false],
      'files.autotag': ['FILE_PROCESS_AUTOTAGGING', 'write', true],
    };
    for (const [id, [permission, kind, idempotent]] of Object.entries(expected)) {
      const action = getAction(id);
      expect([action.endpoint, action.permissions, action.kind, action.idempotent], id).toEqual([
        'inferred',
        [permission],
        kind,
        idempotent,
      ]);
    }
  });

  it('set visibility and labels with their examples', async () => {
    const file = (await run('files.set-visibility', getAction('files.set-visibility').example(seed))).file as {
      uuid: string;
      visibility: { in_dam: { set: string } };
    };
    expect(file.uuid).toBe(seed.file.uuid);
    expect(file.visibility.in_dam.set).toBe('all_organisation');
    const folder = (await run('folders.set-visibility', getAction('folders.set-visibility').example(seed))).folder as {
      uuid: string;
      visibility: { in_dam: { set: string } };
    };
    expect([folder.uuid, folder.visibility.in_dam.set]).toEqual([seed.folders.visibility, 'private']);
    await run('files.set-labels', getAction('files.set-labels').example(seed));
    expect((await root.files.get(seed.file.uuid)).labels).toEqual([seed.label.sid]);

    expect((await inputError('files.set-visibility', { uuid: seed.file.uuid, visibility: 'everyone' })).problems[0]!.path).toBe('visibility');
    expect((await inputError('files.set-labels', { uuid: seed.file.uuid, labels: ['lbnohash'] })).problems[0]!.path).toBe('labels[0]');
  });

  it('updates a collection with its example; an update naming nothing is refused', async () => {
    const out = await run('collections.update', getAction('collections.update').example(seed));
    expect(out.collection).toMatchObject({ uuid: seed.collection.uuid, title: 'Summer campaign 2026' });
    expect((await root.collections.list()).find((c) => c.uuid === seed.collection.uuid)?.title).toBe('Summer campaign 2026');
    const error = await inputError('collections.update', { uuid: seed.collection.uuid });
    expect(error.message).toMatch(/at least one field/);
  });

  it('edits the seeded image into a copy, as its example says', async () => {
    const out = (await run('files.edit-image', getAction('files.edit-image').example(seed))) as {
      file: { uuid: string; name: string; type: string; folder: { name: string }; info: { img_w: number; img_h: number }; url: { cdn: string } };
      save_as: string;
      source_uuid: string;
    };
    expect(out.save_as).toBe('copy');
    expect(out.source_uuid).toBe(seed.image.uuid);
    expect(out.file.uuid).not.toBe(seed.image.uuid);
    expect(out.file).toMatchObject({ name: 'photo-edited.webp', type: 'image/webp', folder: { name: `${seed.folder.path}/edited` } });
    expect(out.file.info).toMatchObject({ img_w: 160, img_h: 120 });
    const bytes = Buffer.from(await (await fetch(out.file.url.cdn)).arrayBuffer());
    expect(await sharp(bytes).metadata()).toMatchObject({ format: 'webp', width: 160, height: 120 });

    const withoutEditor = clientFor(
      (await root.access.keys.create({ permissions: PERMISSIONS.filter((p) => p !== 'FILE_IMAGE_EDITOR') })).secret!,
    );
    const denied = await getAction('files.edit-image')
      .run({ client: withoutEditor }, getAction('files.edit-image').example(seed))
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
  });

  it('refuses edit inputs that cannot work before sending anything', async () => {
    const base = { uuid: seed.image.uuid };
    const paths = async (input: unknown): Promise<string[]> =>
      (await inputError('files.edit-image', input)).problems.map((p) => p.path);
    expect(await paths({ ...base, operations: {} })).toEqual(['operations']);
    expect(await paths({ ...base, operations: { rotate: 90 }, save_as: 'overwrite', name: 'x.jpg' })).toEqual(['name']);
    expect(await paths({ ...base, operations: { crop: { x: 0, y: 0, width: 0, height: 5 } } })).toEqual(['operations.crop.width']);
    expect(await paths({ ...base, operations: { resize: {} } })).toEqual(['operations.resize']);
    expect(await paths({ ...base, operations: { format: 'bmp' } })).toEqual(['operations.format']);
    const unknown = await inputError('files.edit-image', { ...base, operations: { blur: 2 } });
    expect(unknown.problems).toEqual([{ path: 'operations', message: expect.stringMatching(/"blur" is not an operation/) }]);
  });

  it('auto-tags the seeded image with its example: orange, landscape, medium, in English and French', async () => {
    const out = (await run('files.autotag', getAction('files.autotag').example(seed))) as {
      tags: Record<string, Array<{ key: string; label: string; confidence: number }>>;
      saved: boolean;
    };
    expect(out.saved).toBe(false);
    expect(out.tags.en!.map((t) => t.key)).toEqual(expect.arrayContaining(['orange', 'landscape', 'medium']));
    expect(out.tags.fr!.find((t) => t.key === 'landscape')?.label).toBe('paysage');
    expect(out.tags.en!.find((t) => t.key === 'orange')!.confidence).toBeGreaterThanOrEqual(90);
    expect((await inputError('files.autotag', { uuid: seed.image.uuid, confidence: 200 })).problems[0]!.path).toBe('confidence');
  });
});
