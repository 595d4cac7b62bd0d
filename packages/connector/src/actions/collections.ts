import { z } from 'zod';
import { defineAction } from '../action.js';
import { collectionObject, deletion, uuid } from '../schemas.js';
import { deleteIdempotently } from '../util.js';

const group = 'collections';

type FolderInput = { name: string; filters?: string; children?: FolderInput[] };
const virtualFolder: z.ZodType<FolderInput> = z.lazy(() =>
  z.strictObject({
    name: z.string().min(1, { error: 'must not be empty: name the virtual folder.' }),
    filters: z.string().min(1).optional().describe('A search in the q grammar.'),
    children: z.array(virtualFolder).optional(),
  }),
);

export const listCollections = defineAction({
  id: 'collections.list',
  title: 'List collections',
  description: 'Saved searches shown as virtual folders (v5).',
  group,
  permissions: ['COLLECTIONS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({}),
  output: z.strictObject({ collections: z.array(collectionObject) }),
  example: () => ({}),
  run: async ({ client, signal }) => ({ collections: await client.collections.list({ signal }) }),
});

export const collectionFolders = defineAction({
  id: 'collections.folders',
  title: "List a collection's folders",
  description: "A collection's virtual folders; list a folder's files with files.list and its collection_uuid and filters (f64).",
  group,
  permissions: ['COLLECTIONS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuid: uuid('collection uuid') }),
  output: z.strictObject({ folders: z.array(z.looseObject({ name: z.string() })) }),
  example: (seed) => ({ uuid: seed.collection.uuid }),
  run: async ({ client, signal }, input) => ({ folders: await client.collections.folders(input.uuid, { signal }) }),
});

export const createCollection = defineAction({
  id: 'collections.create',
  title: 'Create a collection',
  description: 'Creates a collection from a search and/or virtual folders (searches are checked on creation).',
  group,
  permissions: ['COLLECTIONS_MANAGE'],
  kind: 'write',
  idempotent: false,
  endpoint: 'inferred',
  input: z.strictObject({
    title: z.string().min(1, { error: 'must not be empty: give the collection a title.' }),
    query: z.string().min(1).optional().describe('The collection-wide search, in the q grammar.'),
    type: z.string().min(1).optional(),
    visibility: z.string().min(1).optional(),
    folders: z.array(virtualFolder).optional(),
  }),
  output: z.strictObject({ collection: collectionObject }),
  example: () => ({ title: 'Summer campaign', query: '#summer', folders: [{ name: 'Images', filters: 'type:image' }] }),
  run: async ({ client, signal }, input) => ({ collection: await client.collections.create(input, { signal }) }),
});

export const updateCollection = defineAction({
  id: 'collections.update',
  title: 'Update a collection',
  description:
    "Changes a collection's title, type, visibility, search or folders; fields not given keep their values, query null drops the collection-wide search, folders replaces the whole tree.",
  group,
  permissions: ['COLLECTIONS_MANAGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'inferred',
  input: z
    .strictObject({
      uuid: uuid('collection uuid'),
      title: z.string().min(1, { error: 'must not be empty: give the collection a title.' }).max(255, { error: 'must be at most 255 characters long.' }).optional(),
      query: z.string().nullable().optional().describe('The collection-wide search, in the q grammar; null (or "") removes it.'),
      type: z.string().min(1).optional(),
      visibility: z.string().min(1).optional(),
      folders: z.array(virtualFolder).optional().describe('Replaces the whole tree of virtual folders.'),
    })
    .refine((input) => Object.keys(input).some((key) => key !== 'uuid'), {
      error: 'give at least one field to change besides "uuid": title, query, type, visibility or folders.',
    }),
  output: z.strictObject({ collection: collectionObject }),
  example: (seed) => ({ uuid: seed.collection.uuid, title: 'Summer campaign 2026', query: '#hero' }),
  run: async ({ client, signal }, { uuid: id, ...changes }) => ({
    collection: await client.collections.update(id, changes, { signal }),
  }),
});

export const deleteCollection = defineAction({
  id: 'collections.delete',
  title: 'Delete a collection',
  description: 'Deletes a collection (its assets stay). One already gone is reported, not an error.',
  group,
  permissions: ['COLLECTIONS_MANAGE'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'inferred',
  input: z.strictObject({ uuid: uuid('collection uuid') }),
  output: deletion('uuid'),
  example: (seed) => ({ uuid: seed.collection.deleteUuid }),
  run: async ({ client, signal }, input) =>
    deleteIdempotently('uuid', input.uuid, () => client.collections.delete(input.uuid, { signal })),
});

export const collectionActions = [listCollections, collectionFolders, createCollection, updateCollection, deleteCollection];
