import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileListPage } from '@sfx/client';
import { z } from 'zod';
import { defineAction, type Loose } from '../action.js';
import {
  deletion,
  fileFilters,
  fileObject,
  folderPath,
  limit,
  meta,
  name,
  offset,
  productLink,
  sort,
  tagLabels,
  uuid,
  uuidList,
} from '../schemas.js';
import { deleteIdempotently } from '../util.js';

const group = 'files';

const page = z.strictObject({
  files: z.array(fileObject),
  total: z.number().optional().describe('Matches in all, when the API says.'),
  offset: z.number(),
  limit: z.number(),
});

function pageOutput(reply: FileListPage, at: { offset: number; limit: number }): Loose<z.input<typeof page>> {
  return {
    files: reply.files,
    total: reply.info?.total_files_count ?? reply.stats?.approx_files_count,
    offset: at.offset,
    limit: at.limit,
  };
}

const uploaded = z.strictObject({
  file: fileObject,
  duplicate: z.boolean().describe('True when the folder already held this content: nothing was uploaded, `file` is the existing asset.'),
});

const uploadOptions = {
  folder: folderPath('target folder (created when missing)').default('/'),
  meta: meta.optional(),
  tags: tagLabels.optional(),
  overwrite: z
    .boolean()
    .optional()
    .describe('Replace the asset of the same name in the folder, keeping its uuid.'),
};

export const listFiles = defineAction({
  id: 'files.list',
  title: 'List files',
  description: 'One page of the files in a folder (optionally with sub-folders and filters).',
  group,
  permissions: ['OBJECTS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ ...fileFilters, sort: sort.optional(), limit: limit(100), offset }),
  output: page,
  example: (seed) => ({ folder: seed.folder.path, limit: 10 }),
  run: async ({ client, signal }, input) =>
    pageOutput(await client.files.list({ ...input, signal }), input),
});

export const searchFiles = defineAction({
  id: 'files.search',
  title: 'Search files',
  description: 'One page of the files matching a search expression, from a folder down (the whole library by default).',
  group,
  permissions: ['OBJECTS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    ...fileFilters,
    q: z
      .string({ error: 'must be a string: the search expression, e.g. "#summer" or "category:marketing".' })
      .min(1, { error: 'must not be empty: give a search expression, e.g. "#summer".' })
      .describe('Search expression: "full text", #tag, key:value, size>1000 ...'),
    recursive: z.boolean().default(true).describe('Include sub-folders (default true).'),
    sort: sort.optional(),
    limit: limit(100),
    offset,
  }),
  output: page,
  example: (seed) => ({ q: `"${seed.file.name.replace(/\.[^.]+$/, '')}"`, limit: 10 }),
  run: async ({ client, signal }, input) =>
    pageOutput(await client.files.list({ ...input, signal }), input),
});

export const fileStats = defineAction({
  id: 'files.stats',
  title: 'Count files',
  description: 'How many files a listing or search matches, and their total size (v5).',
  group,
  permissions: ['OBJECTS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject(fileFilters),
  output: z.looseObject({
    approx_files_count: z.number(),
    approx_files_size: z.number(),
    total_files_count: z.number().optional(),
    total_files_size: z.number().optional(),
  }),
  example: (seed) => ({ folder: seed.folder.path, recursive: true }),
  run: async ({ client, signal }, input) => client.files.stats({ ...input, signal }),
});

export const getFile = defineAction({
  id: 'files.get',
  title: 'Get a file',
  description: "An asset's details: name, folder, size, hash, URLs, metadata, tags.",
  group,
  permissions: ['OBJECTS_FETCH'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuid: uuid(), lang: z.string().optional().describe('Language of localised fields.') }),
  output: z.strictObject({ file: fileObject }),
  example: (seed) => ({ uuid: seed.file.uuid }),
  run: async ({ client, signal }, { uuid: id, lang }) => ({ file: await client.files.get(id, { lang, signal }) }),
});

export const uploadFile = defineAction({
  id: 'files.upload',
  title: 'Upload a file',
  description:
    'Uploads a local file, streamed (multipart up to 500 MB, the streamed PUT above), with metadata, tags and a product link. A retry never makes a second copy.',
  group,
  permissions: ['FILE_UPLOAD'],
  alsoNeeds: [{ permission: 'OBJECTS_FETCH', when: 'the folder already holds the same content (the existing asset is fetched)' }],
  kind: 'write',
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({
    path: z.string().min(1, { error: 'must not be empty: give the path of a local file.' }).describe('Path of the local file.'),
    name: name('asset name (default: the file name)').optional(),
    ...uploadOptions,
    product: productLink.optional(),
  }),
  output: uploaded,
  example: (seed) => ({ path: seed.localFile, folder: `${seed.folder.path}/uploaded`, meta: { title: { en: 'Hero' } }, tags: ['homepage'] }),
  run: async ({ client, signal }, { path, ...options }) => client.files.upload(path, { ...options, signal }),
});

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const uploadBase64 = defineAction({
  id: 'files.upload-base64',
  title: 'Upload base64 content',
  description: "Uploads content given as base64 (the API's JSON upload form); for small files.",
  group,
  permissions: ['FILE_UPLOAD'],
  alsoNeeds: [{ permission: 'OBJECTS_FETCH', when: 'the folder already holds the same content' }],
  kind: 'write',
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({
    name: name('asset name, with its extension'),
    data: z
      .string({ error: 'must be a string: the content in base64.' })
      .min(1, { error: 'must not be empty: give the content in base64.' })
      .regex(BASE64, { error: 'must be base64 (A-Z, a-z, 0-9, +, / and = padding), without a data: prefix.' })
      .describe('The content, base64-encoded.'),
    ...uploadOptions,
  }),
  output: uploaded,
  example: (seed) => ({ name: 'note.txt', data: Buffer.from('hello from base64').toString('base64'), folder: `${seed.folder.path}/base64` }),
  run: async ({ client, signal }, { data, ...options }) =>
    client.files.uploadBase64(Buffer.from(data, 'base64'), { ...options, signal }),
});

export const importUrls = defineAction({
  id: 'files.import-urls',
  title: 'Import files from URLs',
  description: 'The API fetches each URL into the folder (sent 20 per request, its limit). Failed URLs are reported, not thrown.',
  group,
  permissions: ['FILE_UPLOAD'],
  alsoNeeds: [{ permission: 'OBJECTS_FETCH', when: 'a URL holds content the folder already has' }],
  kind: 'write',
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({
    items: z
      .array(
        z.union([
          z.url({ protocol: /^https?$/, error: 'must be an http(s) URL.' }),
          z.strictObject({
            url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL.' }),
            name: z.string().min(1).optional().describe('New name, or a full path.'),
            meta: meta.optional(),
            tags: tagLabels.optional(),
          }),
        ]),
        { error: 'must be a list of URLs or {url, name?, meta?, tags?} objects.' },
      )
      .min(1, { error: 'needs at least one URL.' })
      .max(1000, { error: 'takes at most 1000 URLs per call; split the list.' }),
    folder: folderPath('target folder (created when missing)').default('/'),
  }),
  output: z.strictObject({
    files: z.array(fileObject),
    errors: z.array(z.looseObject({ source: z.string(), code: z.string().optional(), msg: z.string().optional() })),
    duplicates: z
      .array(z.string())
      .describe('UUIDs of existing assets that already held a URL\'s content (also listed in files).'),
  }),
  example: (seed) => ({ items: [{ url: seed.importUrl, name: 'imported.jpg' }], folder: `${seed.folder.path}/imported` }),
  run: async ({ client, signal }, { items, folder }) => client.files.importUrls(items, { folder, signal }),
});

export const renameFile = defineAction({
  id: 'files.rename',
  title: 'Rename a file',
  description: 'Gives an asset a new name in its folder; a name already taken there is a ConflictError.',
  group,
  permissions: ['FILE_RENAME'],
  kind: 'write',
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({ uuid: uuid(), name: name('new name') }),
  output: z.strictObject({ file: fileObject, changed: z.array(z.literal('name')) }),
  example: (seed) => ({ uuid: seed.files.rename, name: 'renamed.txt' }),
  run: async ({ client, signal }, input) => ({
    file: await client.files.rename(input.uuid, input.name, { signal }),
    changed: ['name' as const],
  }),
});

export const moveFile = defineAction({
  id: 'files.move',
  title: 'Move a file',
  description: 'Moves one asset into the folder with the given uuid.',
  group,
  permissions: ['FILE_MOVE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuid: uuid(), folderUuid: uuid('target folder uuid') }),
  output: z.strictObject({ files: z.array(fileObject) }),
  example: (seed) => ({ uuid: seed.files.move, folderUuid: seed.targetFolder.uuid }),
  run: async ({ client, signal }, input) => ({ files: await client.files.move(input.uuid, input.folderUuid, { signal }) }),
});

export const moveFiles = defineAction({
  id: 'files.move-many',
  title: 'Move files',
  description: 'Moves assets into a folder given by path (created when missing).',
  group,
  permissions: ['FILE_MOVE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuids: uuidList('asset uuid'), folder: folderPath('target folder (created when missing)') }),
  output: z.strictObject({ files: z.array(fileObject) }),
  example: (seed) => ({ uuids: seed.files.moveMany, folder: seed.targetFolder.path }),
  run: async ({ client, signal }, input) => ({ files: await client.files.moveMany(input.uuids, input.folder, { signal }) }),
});

export const deleteFile = defineAction({
  id: 'files.delete',
  title: 'Delete a file',
  description: 'Deletes an asset. One that is already gone is reported as {deleted: false, reason: "not_found"}.',
  group,
  permissions: ['FILE_DELETE'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuid: uuid() }),
  output: deletion('uuid'),
  example: (seed) => ({ uuid: seed.files.delete }),
  run: async ({ client, signal }, input) =>
    deleteIdempotently('uuid', input.uuid, () => client.files.delete(input.uuid, { signal })),
});

export const deleteFiles = defineAction({
  id: 'files.delete-many',
  title: 'Delete files',
  description: 'Deletes assets in one call; uuids that are already gone are listed in not_found.',
  group,
  permissions: ['FILE_DELETE', 'OBJECTS_FETCH'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuids: uuidList('asset uuid') }),
  output: z.strictObject({ deleted: z.array(z.string()), not_found: z.array(z.string()) }),
  example: (seed) => ({ uuids: seed.files.deleteMany }),
  run: async ({ client, signal }, input) => {
    const reply = (await client.files.deleteMany(input.uuids, { signal })) as {
      files_uuids?: string[];
      not_found_uuids?: string[];
    };
    const missing = new Set(reply.not_found_uuids ?? []);
    return {
      deleted: (reply.files_uuids ?? input.uuids).filter((u) => !missing.has(u)),
      not_found: [...missing],
    };
  },
});

export const fileVariants = defineAction({
  id: 'files.variants',
  title: 'List image variants',
  description: "An asset's image variants (v4).",
  group,
  permissions: ['OBJECTS_FETCH'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuid: uuid() }),
  output: z.strictObject({ variants: z.array(z.unknown()) }),
  example: (seed) => ({ uuid: seed.file.uuid }),
  run: async ({ client, signal }, input) => ({ variants: await client.files.variants(input.uuid, { signal }) }),
});

export const downloadFile = defineAction({
  id: 'files.download',
  title: 'Download a file',
  description:
    "Streams an asset's original bytes to a local path (through <path>.part, renamed when complete), checking them against the asset's sha1.",
  group,
  permissions: ['OBJECTS_FETCH'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    uuid: uuid(),
    to: z.string().min(1, { error: 'must not be empty: give the local path to write.' }).describe('Local path to write; its folder is created.'),
  }),
  output: z.strictObject({ path: z.string(), bytes: z.number(), sha1: z.string() }),
  example: (seed) => ({ uuid: seed.file.uuid, to: `${seed.workDir}/${seed.file.name}` }),
  run: async ({ client, signal }, input) => {
    const file = await client.files.get(input.uuid, { signal });
    await mkdir(dirname(input.to), { recursive: true });
    return { path: input.to, ...(await client.files.download(file, input.to, { signal })) };
  },
});

export const permalink = defineAction({
  id: 'files.permalink',
  title: 'Permalink of a file',
  description: "The asset's stable link (/{v}/get/{uuid}), which redirects to its current CDN URL. Sends no request.",
  group,
  permissions: [],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuid: uuid() }),
  output: z.strictObject({ url: z.string() }),
  example: (seed) => ({ uuid: seed.file.uuid }),
  run: async ({ client }, input) => ({ url: client.files.permalink(input.uuid) }),
});

export const fileActions = [
  listFiles,
  searchFiles,
  fileStats,
  getFile,
  uploadFile,
  uploadBase64,
  importUrls,
  renameFile,
  moveFile,
  moveFiles,
  deleteFile,
  deleteFiles,
  fileVariants,
  downloadFile,
  permalink,
];
