import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { JsonFileResumeStore, type FileListPage } from '@sfx/client';
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
  visibility,
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
  alsoNeeds: [
    { permission: 'OBJECTS_FETCH', when: 'the folder already holds the same content (the existing asset is fetched)' },
    { permission: 'FILE_META_CREATE', when: 'meta or tags are given (sent with the upload; FILE_META_CHANGE also does)' },
  ],
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

export const uploadResumable = defineAction({
  id: 'files.upload-resumable',
  title: 'Upload a file (resumable)',
  description:
    'Uploads a local file with the tus resumable protocol at the connector host, in chunks; with `resumeFile` an interrupted upload continues where the server stopped. Meta and tags are applied afterwards with the metadata and tags calls.',
  group,
  permissions: ['FILE_UPLOAD'],
  alsoNeeds: [
    { permission: 'FILE_META_CHANGE', when: 'meta or tags are given (applied after the upload)' },
    { permission: 'OBJECTS_FETCH', when: 'meta or tags are given (the asset is read back after they are applied)' },
  ],
  kind: 'write',
  idempotent: false,
  // Seen in one official client (the uploader's tus-upload), not in the public docs: the endpoint
  // exists; the reply of the JSON lookup after completion is read as that client reads it.
  endpoint: 'documented',
  input: z.strictObject({
    path: z.string().min(1, { error: 'must not be empty: give the path of a local file.' }).describe('Path of the local file.'),
    name: name('asset name (default: the file name)').optional(),
    folder: folderPath('target folder (created when missing)').default('/'),
    meta: meta.optional(),
    tags: tagLabels.optional(),
    product: productLink.optional(),
    chunkSize: z
      .number({ error: 'must be a number of bytes.' })
      .int({ error: 'must be a whole number of bytes.' })
      .min(64 * 1024, { error: 'must be at least 65536 bytes (64 KiB); the default is 5 MB.' })
      .optional()
      .describe('Bytes per request; default 5 MB.'),
    connectorUrl: z
      .url({ error: 'must be a URL, e.g. https://eu-on-24001.connector.filerobot.com.' })
      .optional()
      .describe("The tus connector host of the project's region (needed with api.filerobot.com; the local server's is derived)."),
    resumeFile: z
      .string()
      .min(1, { error: 'must not be empty: give the path of a JSON file to keep upload URLs in.' })
      .optional()
      .describe('A JSON file remembering unfinished uploads (keyed by path, size and mtime), so a rerun resumes them.'),
  }),
  output: uploaded.extend({
    uploadUrl: z.string().describe('The tus upload URL.'),
    resumedFrom: z.number().describe('Offset this run started from: 0 for a new upload.'),
    bytesSent: z.number().describe('Bytes this run sent (retries included).'),
  }),
  example: (seed) => ({
    path: seed.localFile,
    folder: `${seed.folder.path}/resumable`,
    meta: { title: { en: 'Hero (resumable)' } },
    tags: ['homepage'],
    resumeFile: `${seed.workDir}/resumable-uploads.json`,
  }),
  run: async ({ client, signal }, { path, resumeFile, ...options }) =>
    client.files.uploadResumable(path, {
      ...options,
      resume: resumeFile ? new JsonFileResumeStore(resumeFile) : undefined,
      signal,
    }),
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
  alsoNeeds: [
    { permission: 'OBJECTS_FETCH', when: 'a URL holds content the folder already has' },
    { permission: 'FILE_META_CREATE', when: 'meta or tags are given (sent with the upload; FILE_META_CHANGE also does)' },
  ],
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

// ---- Inferred operations: the reference found no endpoint for these (docs/server.md "Inferred") ----

export const setFileVisibility = defineAction({
  id: 'files.set-visibility',
  title: 'Set the visibility of a file',
  description:
    'Sets who may see an asset: public, organisation (in the DAM, not public on the CDN), private, or inherited from its folder.',
  group,
  permissions: ['FILE_SET_VISIBILITY'],
  kind: 'write',
  idempotent: true,
  endpoint: 'inferred',
  input: z.strictObject({ uuid: uuid(), visibility }),
  output: z.strictObject({ file: fileObject }),
  example: (seed) => ({ uuid: seed.file.uuid, visibility: 'organisation' as const }),
  run: async ({ client, signal }, input) => ({
    file: await client.files.setVisibility(input.uuid, input.visibility, { signal }),
  }),
});

export const setFileLabels = defineAction({
  id: 'files.set-labels',
  title: 'Set the labels of a file',
  description:
    "Replaces an asset's labels with the label sids given ([] removes them all). Unknown sids are refused and change nothing.",
  group,
  permissions: ['FILE_LABEL_CHANGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'inferred',
  input: z.strictObject({
    uuid: uuid(),
    labels: z
      .array(z.string().regex(/^#\S+$/, { error: 'must be a label sid such as "#lbjh69fya" (see labels.list).' }), {
        error: 'must be a list of label sids, e.g. ["#lbjh69fya"]; [] removes every label.',
      })
      .max(1000, { error: 'takes at most 1000 label sids.' })
      .describe('Label sids (from labels.list); [] removes every label.'),
  }),
  output: z.strictObject({ file: fileObject }),
  example: (seed) => ({ uuid: seed.file.uuid, labels: [seed.label.sid] }),
  run: async ({ client, signal }, input) => ({
    file: await client.files.setLabels(input.uuid, input.labels, { signal }),
  }),
});

const whole = (what: string, min: number, max: number) =>
  z
    .number({ error: `must be a number: the ${what}.` })
    .int({ error: `must be a whole number: the ${what}.` })
    .min(min, { error: `must be at least ${min}: the ${what}.` })
    .max(max, { error: `must be at most ${max}: the ${what}.` });

const editOperations = z
  .strictObject(
    {
      crop: z
        .strictObject({
          x: whole('left edge in pixels', 0, 1_000_000),
          y: whole('top edge in pixels', 0, 1_000_000),
          width: whole('crop width in pixels', 1, 1_000_000),
          height: whole('crop height in pixels', 1, 1_000_000),
        })
        .optional()
        .describe('The region to keep, in pixels of the image as displayed (EXIF orientation applied), from its top-left corner.'),
      rotate: z
        .number({ error: 'must be an angle in degrees, clockwise (90, 180, 270 or any other).' })
        .refine(Number.isFinite, { error: 'must be a finite angle in degrees.' })
        .optional()
        .describe('Clockwise degrees; other angles than multiples of 90 widen the canvas (transparent, or white for JPEG).'),
      flip: z.boolean({ error: 'must be true or false.' }).optional().describe('Mirror top-bottom.'),
      flop: z.boolean({ error: 'must be true or false.' }).optional().describe('Mirror left-right.'),
      resize: z
        .strictObject({
          width: whole('target width', 1, 10_000).optional(),
          height: whole('target height', 1, 10_000).optional(),
          fit: z
            .enum(['cover', 'contain', 'fill', 'inside', 'outside'], {
              error: 'must be one of cover, contain, fill, inside, outside.',
            })
            .optional()
            .describe('How the image meets a width and height: inside (default) keeps it whole within the box.'),
        })
        .refine((r) => r.width !== undefined || r.height !== undefined, { error: 'needs "width", "height" or both.' })
        .optional(),
      format: z
        .enum(['jpeg', 'jpg', 'png', 'webp', 'avif'], { error: 'must be one of jpeg, png, webp, avif.' })
        .optional()
        .describe("Output format; default: the source's."),
      quality: whole('quality', 1, 100).optional().describe('1-100 for jpeg, webp and avif; default 90.'),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `${issue.keys.map((k) => `"${k}"`).join(', ')} is not an operation; use crop, rotate, flip, flop, resize, format or quality.`
          : 'must be an object of operations: crop, rotate, flip, flop, resize, format, quality.',
    },
  )
  .refine((ops) => Object.values(ops).some((v) => v !== undefined && v !== false), {
    error: 'asks for nothing: give at least one of crop, rotate, flip, flop, resize, format, quality.',
    // Only when the operations are otherwise valid: an unknown one is reported on its own.
    when: (payload) => payload.issues.length === 0,
  })
  .describe('Applied in this order: crop, rotate, flip/flop, resize, format.');

export const editImage = defineAction({
  id: 'files.edit-image',
  title: 'Edit an image',
  description:
    'Crops, rotates, flips, resizes or converts an image, and saves the result as a new asset (copy: meta, tags and labels copied) or over the original, keeping its uuid (overwrite).',
  group,
  permissions: ['FILE_IMAGE_EDITOR'],
  // "overwrite" replaces the asset's content; "copy" adds an asset. Neither is safe to repeat.
  kind: 'destructive',
  idempotent: false,
  endpoint: 'inferred',
  input: z
    .strictObject({
      uuid: uuid('image uuid'),
      operations: editOperations,
      save_as: z
        .enum(['copy', 'overwrite'], { error: 'must be "copy" (a new asset) or "overwrite" (new content, same uuid).' })
        .default('copy')
        .describe('copy (default): a new asset; overwrite: replace the content, keeping the uuid.'),
      name: name("copy's name (default: the source's name plus -edited, e.g. hero-edited.jpg)").optional(),
      folder: folderPath("copy's folder (default: the source's; created when missing)").optional(),
    })
    .superRefine((input, ctx) => {
      if (input.save_as !== 'overwrite') return;
      for (const field of ['name', 'folder'] as const) {
        if (input[field] !== undefined)
          ctx.addIssue({ code: 'custom', path: [field], message: 'applies to copies only: remove it, or use save_as "copy".' });
      }
    }),
  output: z.strictObject({
    file: fileObject,
    save_as: z.enum(['copy', 'overwrite']),
    source_uuid: z.string().describe('The edited image (the same uuid as `file` for an overwrite).'),
  }),
  example: (seed) => ({
    uuid: seed.image.uuid,
    operations: { crop: { x: 0, y: 0, width: 320, height: 240 }, resize: { width: 160 }, format: 'webp' as const },
    save_as: 'copy' as const,
    folder: `${seed.folder.path}/edited`,
  }),
  run: async ({ client, signal }, { uuid: id, ...input }) => {
    const result = await client.files.edit(id, input, { signal });
    return { file: result.file, save_as: result.save_as, source_uuid: id };
  },
});

const autotagTag = z.looseObject({ key: z.string(), label: z.string(), confidence: z.number(), kind: z.string() });

export const autotagFile = defineAction({
  id: 'files.autotag',
  title: 'Auto-tag an image',
  description:
    'Tags an image from measurements of its pixels (colour names, orientation, transparency, size), each with a 0-100 confidence, in en, fr, de, es or it; save adds them to its tags.',
  group,
  permissions: ['FILE_PROCESS_AUTOTAGGING'],
  kind: 'write',
  // The same image gives the same tags, and saving merges them into the tags it has.
  idempotent: true,
  endpoint: 'inferred',
  input: z.strictObject({
    uuid: uuid('image uuid'),
    languages: z
      .array(
        z.string().regex(/^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$/i, { error: 'must be a language code such as "en" or "fr-FR".' }),
        { error: 'must be a list of language codes, e.g. ["en", "fr"].' },
      )
      .min(1, { error: 'needs at least one language, e.g. ["en"].' })
      .max(20, { error: 'takes at most 20 languages.' })
      .optional()
      .describe('Languages of the tag words (en, fr, de, es, it; others fall back to en). Default ["en"].'),
    limit: whole('most tags per language', 1, 100).optional().describe('Most tags per language (1-100). Default 10.'),
    confidence: z
      .number({ error: 'must be a number from 0 to 100.' })
      .min(0, { error: 'must be at least 0.' })
      .max(100, { error: 'must be at most 100.' })
      .optional()
      .describe('Smallest confidence kept (0-100). Default 10.'),
    save: z.boolean({ error: 'must be true or false.' }).optional().describe('Add the tags to the file (per language). Default false.'),
  }),
  output: z.strictObject({
    tags: z.record(z.string(), z.array(autotagTag)).describe('Per language: {key, label, confidence, kind}, most confident first.'),
    languages: z.array(z.string()),
    unsupported_languages: z.array(z.string()).describe('Languages asked for that fell back to English.'),
    analysis: z.looseObject({ width: z.number(), height: z.number(), orientation: z.string() }),
    saved: z.boolean(),
    file: fileObject.optional().describe('The file with its tags, when saved.'),
  }),
  example: (seed) => ({ uuid: seed.image.uuid, languages: ['en', 'fr'], limit: 5, confidence: 20 }),
  run: async ({ client, signal }, { uuid: id, ...options }) => {
    const result = await client.files.autotag(id, options, { signal });
    return {
      tags: result.tags,
      languages: result.languages,
      unsupported_languages: result.unsupported_languages,
      analysis: result.analysis,
      saved: result.saved,
      file: result.file,
    };
  },
});

export const fileActions = [
  listFiles,
  searchFiles,
  fileStats,
  getFile,
  uploadFile,
  uploadBase64,
  uploadResumable,
  importUrls,
  renameFile,
  moveFile,
  moveFiles,
  deleteFile,
  deleteFiles,
  fileVariants,
  downloadFile,
  permalink,
  setFileVisibility,
  setFileLabels,
  editImage,
  autotagFile,
];
