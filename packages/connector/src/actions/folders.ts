import { ConflictError, PermissionDeniedError } from '@sfx/client';
import { z } from 'zod';
import { defineAction } from '../action.js';
import { folderObject, folderPath, limit, meta, name, offset, uuid, uuidList, visibility } from '../schemas.js';
import { deleteIdempotently } from '../util.js';

const group = 'folders';
const folderUuid = (what = 'folder uuid') => uuid(what);

export const listFolders = defineAction({
  id: 'folders.list',
  title: 'List folders',
  description: 'One page of the folders under a path (optionally the whole subtree, or those whose name matches).',
  group,
  permissions: ['OBJECTS_FETCH'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    folder: folderPath('parent folder').default('/'),
    recursive: z.boolean().optional().describe('The whole subtree, not only direct children.'),
    q: z.string().min(1).optional().describe('Only folders whose name matches.'),
    sort: z.string().regex(/^[a-z_]+(:(asc|desc))?$/, { error: 'must look like "name:asc".' }).optional(),
    limit: limit(100),
    offset,
  }),
  output: z.strictObject({ folders: z.array(folderObject), total: z.number().optional() }),
  example: (seed) => ({ folder: seed.folder.path }),
  run: async ({ client, signal }, input) => {
    const page = await client.folders.list({ ...input, signal });
    return { folders: page.folders, total: page.total };
  },
});

export const getFolder = defineAction({
  id: 'folders.get',
  title: 'Get a folder',
  description: "A folder's details, with its file counts and size.",
  group,
  permissions: ['OBJECTS_FETCH'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuid: folderUuid() }),
  output: z.strictObject({ folder: folderObject }),
  example: (seed) => ({ uuid: seed.folder.uuid }),
  run: async ({ client, signal }, input) => ({ folder: await client.folders.get(input.uuid, { signal }) }),
});

export const createFolder = defineAction({
  id: 'folders.create',
  title: 'Create a folder',
  description: 'Creates a folder by full path; missing parents are created. An existing path is a ConflictError (see folders.ensure).',
  group,
  permissions: ['DIR_CREATE'],
  kind: 'write',
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({ path: folderPath('full path of the new folder') }),
  output: z.strictObject({ folder: folderObject }),
  example: (seed) => ({ path: `${seed.folder.path}/created` }),
  run: async ({ client, signal }, input) => ({ folder: await client.folders.create(input.path, { signal }) }),
});

export const ensureFolder = defineAction({
  id: 'folders.ensure',
  title: 'Ensure a folder exists',
  description: 'Returns the folder at a path, creating it (and its parents) when missing; reports whether it was created. Safe to retry.',
  group,
  permissions: ['OBJECTS_FETCH', 'DIR_CREATE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ path: folderPath('full path of the folder') }),
  output: z.strictObject({ folder: folderObject, created: z.boolean() }),
  example: (seed) => ({ path: `${seed.folder.path}/ensured/deep` }),
  run: async ({ client, signal }, input) => {
    const existing = await client.folders.findByPath(input.path, { signal });
    if (existing) return { folder: existing, created: false };
    try {
      return { folder: await client.folders.create(input.path, { signal }), created: true };
    } catch (error) {
      // Someone else created it between the lookup and the create. The real API answers an existing
      // folder with a 403, whose code may not say it is a clash: look before taking it as a denial.
      const mayExist = error instanceof ConflictError || error instanceof PermissionDeniedError;
      const raced = mayExist ? await client.folders.findByPath(input.path, { signal }) : undefined;
      if (!raced) throw error;
      return { folder: raced, created: false };
    }
  },
});

export const renameFolder = defineAction({
  id: 'folders.rename',
  title: 'Rename a folder',
  description: 'Gives a folder a new name in its parent (its contents follow).',
  group,
  permissions: ['DIR_RENAME'],
  kind: 'write',
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({ uuid: folderUuid(), name: name('new folder name') }),
  output: z.strictObject({ folder: folderObject, changed: z.array(z.literal('name')) }),
  example: (seed) => ({ uuid: seed.folders.rename, name: 'renamed-folder' }),
  run: async ({ client, signal }, input) => ({
    folder: await client.folders.rename(input.uuid, input.name, { signal }),
    changed: ['name' as const],
  }),
});

export const moveFolder = defineAction({
  id: 'folders.move',
  title: 'Move a folder',
  description: 'Moves a folder, with all it holds, into another folder (by uuid).',
  group,
  permissions: ['DIR_MOVE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuid: folderUuid(), destinationUuid: folderUuid('destination folder uuid') }),
  output: z.strictObject({ folders: z.array(folderObject) }),
  example: (seed) => ({ uuid: seed.folders.move, destinationUuid: seed.targetFolder.uuid }),
  run: async ({ client, signal }, input) => ({
    folders: await client.folders.move(input.uuid, input.destinationUuid, { signal }),
  }),
});

export const moveFolders = defineAction({
  id: 'folders.move-many',
  title: 'Move folders',
  description: 'Moves folders into a destination path (created when missing).',
  group,
  permissions: ['DIR_MOVE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuids: uuidList('folder uuid'), destination: folderPath('destination folder') }),
  output: z.strictObject({ folders: z.array(folderObject) }),
  example: (seed) => ({ uuids: seed.folders.moveMany, destination: seed.targetFolder.path }),
  run: async ({ client, signal }, input) => ({
    folders: await client.folders.moveMany(input.uuids, input.destination, { signal }),
  }),
});

export const deleteFolder = defineAction({
  id: 'folders.delete',
  title: 'Delete a folder',
  description: 'Deletes a folder with everything under it, and says how much went. One already gone is reported, not an error.',
  group,
  permissions: ['DIR_DELETE'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuid: folderUuid() }),
  output: z.strictObject({
    uuid: z.string(),
    deleted: z.boolean(),
    reason: z.enum(['not_found']).optional(),
    removed: z.strictObject({ files: z.number().optional(), folders: z.number().optional() }).optional(),
  }),
  example: (seed) => ({ uuid: seed.folders.delete }),
  run: async ({ client, signal }, input) => {
    let removed: { files?: number; folders?: number } | undefined;
    const outcome = await deleteIdempotently('uuid', input.uuid, async () => {
      removed = await client.folders.delete(input.uuid, { signal });
    });
    return { ...outcome, ...(removed ? { removed } : {}) };
  },
});

export const replaceFolderMeta = defineAction({
  id: 'folders.replace-meta',
  title: "Replace a folder's metadata",
  description: "Replaces all of a folder's metadata with the object given.",
  group,
  permissions: ['DIR_META_CHANGE'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuid: folderUuid(), meta }),
  output: z.strictObject({ uuid: z.string(), meta: z.record(z.string(), z.unknown()) }),
  example: (seed) => ({ uuid: seed.folders.meta, meta: { owner: 'marketing', season: 'SS26' } }),
  run: async ({ client, signal }, input) => ({
    uuid: input.uuid,
    meta: await client.folders.replaceMeta(input.uuid, input.meta, { signal }),
  }),
});

export const setFolderMetaValue = defineAction({
  id: 'folders.set-meta-value',
  title: 'Set a folder metadata value',
  description: "Sets one key of a folder's metadata, keeping the others.",
  group,
  permissions: ['DIR_META_CHANGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    uuid: folderUuid(),
    key: z.string().min(1, { error: 'must not be empty: give the metadata key.' }),
    value: z.string({ error: 'must be a string: the value (this endpoint takes text).' }).min(1, { error: 'must not be empty.' }),
  }),
  output: z.strictObject({ uuid: z.string(), meta: z.record(z.string(), z.unknown()) }),
  example: (seed) => ({ uuid: seed.folders.meta, key: 'status', value: 'live' }),
  run: async ({ client, signal }, input) => ({
    uuid: input.uuid,
    meta: await client.folders.setMetaValue(input.uuid, input.key, input.value, { signal }),
  }),
});

export const deleteFolderMeta = defineAction({
  id: 'folders.delete-meta',
  title: "Remove a folder's metadata",
  description: 'Removes all metadata of a folder.',
  group,
  permissions: ['DIR_META_CHANGE'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuid: folderUuid() }),
  output: z.strictObject({ uuid: z.string(), cleared: z.literal(true) }),
  example: (seed) => ({ uuid: seed.folders.meta }),
  run: async ({ client, signal }, input) => {
    await client.folders.deleteMeta(input.uuid, { signal });
    return { uuid: input.uuid, cleared: true as const };
  },
});

export const folderPreviews = defineAction({
  id: 'folders.previews',
  title: 'Folder previews',
  description: 'A few preview images for each folder (v5).',
  group,
  permissions: ['OBJECTS_FETCH'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuids: uuidList('folder uuid', 100) }),
  output: z.strictObject({
    previews: z.record(z.string(), z.array(z.looseObject({ file_uuid: z.string(), file_uri_cdn: z.string() }))),
  }),
  example: (seed) => ({ uuids: [seed.folder.uuid] }),
  run: async ({ client, signal }, input) => ({ previews: await client.folders.previews(input.uuids, { signal }) }),
});

export const walkFolders = defineAction({
  id: 'folders.walk',
  title: 'Walk a folder tree',
  description: 'Every folder below a path, parents before children, in a handful of requests.',
  group,
  permissions: ['OBJECTS_FETCH'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    path: folderPath('folder to start from').default('/'),
    maxFolders: z.number().int().min(1).max(1_000_000).default(100_000).describe('Stop after this many.'),
  }),
  output: z.strictObject({ folders: z.array(folderObject), truncated: z.boolean() }),
  example: (seed) => ({ path: seed.folder.path }),
  run: async ({ client, signal }, input) => {
    const folders = [];
    for await (const folder of client.folders.walk(input.path, { signal })) {
      if (folders.length === input.maxFolders) return { folders, truncated: true };
      folders.push(folder);
    }
    return { folders, truncated: false };
  },
});

export const setFolderVisibility = defineAction({
  id: 'folders.set-visibility',
  title: 'Set the visibility of a folder',
  description:
    'Sets who may see a folder; files and folders below it that inherit follow it. The root cannot be changed.',
  group,
  permissions: ['DIR_SET_VISIBILITY'],
  kind: 'write',
  idempotent: true,
  endpoint: 'inferred',
  input: z.strictObject({ uuid: folderUuid(), visibility }),
  output: z.strictObject({ folder: folderObject }),
  example: (seed) => ({ uuid: seed.folders.visibility, visibility: 'private' as const }),
  run: async ({ client, signal }, input) => ({
    folder: await client.folders.setVisibility(input.uuid, input.visibility, { signal }),
  }),
});

export const folderActions = [
  listFolders,
  getFolder,
  createFolder,
  ensureFolder,
  renameFolder,
  moveFolder,
  moveFolders,
  deleteFolder,
  replaceFolderMeta,
  setFolderMetaValue,
  deleteFolderMeta,
  folderPreviews,
  walkFolders,
  setFolderVisibility,
];
