import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { nameSearchTerm, type FileObject, type Filerobot, type Meta, type UploadResult } from '@sfx/client';
import { z } from 'zod';
import { defineAction } from '../action.js';
import { fileObject, folderPath, meta, name, productLink, tagLabels } from '../schemas.js';
import { errorLine, isGone, isWholeCallError, mapLimited } from '../util.js';

/*
 * Task-level actions: one step of a flow that would otherwise take several calls and some care
 * (finding by name or content, acting on every match of a search with a report per asset).
 */

const group = 'tasks';

const base64 = z
  .string({ error: 'must be a string: the content in base64.' })
  .min(1, { error: 'must not be empty.' })
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, { error: 'must be base64 (A-Z, a-z, 0-9, +, / and = padding), without a data: prefix.' });

const pathSource = z.strictObject({
  path: z.string().min(1, { error: 'must not be empty: give the path of a local file.' }).describe('A local file.'),
});
const urlSource = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL the API can fetch.' }).describe('A URL the API fetches.'),
});
const base64Source = z.strictObject({ base64: base64.describe('The content, base64-encoded (small files).') });

const SOURCE_ERROR = 'must be {"path": "..."}, {"url": "https://..."} or {"base64": "..."}.';

export const uploadAsset = defineAction({
  id: 'upload-asset',
  title: 'Upload an asset with metadata',
  description:
    'Uploads from a local path, a URL or base64 content, with metadata, tags and a product link, in one step. Reports whether the folder already held the content.',
  group,
  permissions: ['FILE_UPLOAD'],
  alsoNeeds: [
    { permission: 'FILE_PRODUCT_CHANGE', when: 'a product is given with a URL or base64 source (linked after the upload)' },
    { permission: 'OBJECTS_FETCH', when: 'the folder already holds the same content' },
    { permission: 'FILE_META_CREATE', when: 'meta or tags are given (sent with the upload; FILE_META_CHANGE also does)' },
  ],
  kind: 'write',
  idempotent: false,
  endpoint: 'documented',
  input: z
    .strictObject({
      source: z.union([pathSource, urlSource, base64Source], { error: SOURCE_ERROR }),
      folder: folderPath('target folder (created when missing)').default('/'),
      name: name('asset name (default: the source file name)').optional(),
      meta: meta.optional(),
      tags: tagLabels.optional(),
      product: productLink.optional(),
      overwrite: z.boolean().optional().describe('Replace the asset of the same name in the folder, keeping its uuid (path and base64 sources).'),
    })
    .superRefine((input, ctx) => {
      if ('base64' in input.source && !input.name)
        ctx.addIssue({ code: 'custom', path: ['name'], message: 'is required with a base64 source: give the asset name with its extension.' });
      if ('url' in input.source && input.overwrite)
        ctx.addIssue({ code: 'custom', path: ['overwrite'], message: 'does not apply to URL imports: remove it, or upload from a path or base64.' });
    }),
  output: z.strictObject({
    file: fileObject,
    duplicate: z.boolean().describe('The folder already held this content: nothing was uploaded, `file` is the existing asset.'),
    via: z.enum(['path', 'url', 'base64']),
    changed: z.array(z.string()).describe('What the upload set on the asset.'),
  }),
  example: (seed) => ({
    source: { path: seed.localFile },
    folder: `${seed.folder.path}/assets`,
    meta: { title: { en: 'Hero image' }, category: 'marketing' },
    tags: ['homepage', 'summer'],
    product: { ref: seed.product.ref, position: 1 },
  }),
  run: async ({ client, signal }, input) => {
    const { source, folder, name: assetName, meta: assetMeta, tags, product, overwrite } = input;
    let result: UploadResult;
    let linkAfter = false;
    if ('path' in source) {
      result = await client.files.upload(source.path, { folder, name: assetName, meta: assetMeta as Meta, tags, product, overwrite, signal });
    } else if ('base64' in source) {
      result = await client.files.uploadBase64(Buffer.from(source.base64, 'base64'), {
        name: assetName!,
        folder,
        meta: assetMeta as Meta,
        tags,
        overwrite,
        signal,
      });
      linkAfter = true;
    } else {
      result = await importOne(client, source.url, { folder, name: assetName, meta: assetMeta as Meta, tags }, signal);
      linkAfter = true;
    }
    if (product && linkAfter && !result.duplicate)
      result = { ...result, file: await client.products.attach(result.file.uuid, product, { signal }) };
    const changed = result.duplicate
      ? []
      : ['content', ...(assetMeta ? ['meta'] : []), ...(tags?.length ? ['tags'] : []), ...(product ? ['product'] : [])];
    const via = 'path' in source ? ('path' as const) : 'base64' in source ? ('base64' as const) : ('url' as const);
    return { file: result.file, duplicate: result.duplicate, via, changed };
  },
});

async function importOne(
  client: Filerobot,
  url: string,
  item: { folder: string; name?: string; meta?: Meta; tags?: string[] },
  signal?: AbortSignal,
): Promise<UploadResult> {
  const { folder, ...rest } = item;
  const reply = await client.files.importUrls([{ url, ...rest }], { folder, signal });
  const file = reply.files[0];
  if (!file) {
    const error = reply.errors[0];
    throw new Error(`The API could not import ${url}: ${[error?.code, error?.msg].filter(Boolean).join(': ') || 'no reason given'}.`);
  }
  return { file, duplicate: reply.duplicates.includes(file.uuid) };
}

export const upsertAsset = defineAction({
  id: 'upsert-asset',
  title: 'Upsert an asset by folder and name',
  description:
    'Makes the asset named `name` in `folder` hold this content: uploads it when missing (created), replaces the content keeping the uuid when the sha1 differs (updated), and uploads nothing when it is the same (unchanged; metadata given is still applied when it differs, and tags given are added when missing).',
  group,
  permissions: ['OBJECTS_LIST', 'FILE_UPLOAD'],
  alsoNeeds: [
    { permission: 'FILE_META_CHANGE', when: 'the content is unchanged but the metadata given differs or a tag given is missing' },
    { permission: 'OBJECTS_FETCH', when: 'the folder holds the same content under another name' },
    { permission: 'FILE_META_CREATE', when: 'meta or tags are given and the asset is uploaded (FILE_META_CHANGE also does)' },
  ],
  // It may replace an asset's content in place, which is what `destructive` means here.
  kind: 'destructive',
  idempotent: true,
  // Replacing content in place relies on overwrite=1, which the reference does not document.
  endpoint: 'inferred',
  input: z.strictObject({
    source: z.union([pathSource, base64Source], { error: 'must be {"path": "..."} or {"base64": "..."}.' }),
    folder: folderPath('folder of the asset (created when missing)'),
    name: name('asset name, with its extension'),
    meta: meta.optional(),
    tags: tagLabels.optional(),
  }),
  output: z.strictObject({
    status: z.enum(['created', 'updated', 'unchanged', 'duplicate']).describe('duplicate: the folder holds this content under another name; the API skipped the upload.'),
    file: fileObject,
    sha1: z.string(),
    changed: z.array(z.string()),
  }),
  example: (seed) => ({ source: { path: seed.localFile }, folder: `${seed.folder.path}/upserted`, name: 'hero.jpg', meta: { copyright: 'Acme' } }),
  run: async ({ client, signal }, input) => {
    const { source, folder, name: assetName, tags } = input;
    const assetMeta = input.meta as Meta | undefined;
    const bytes = 'base64' in source ? Buffer.from(source.base64, 'base64') : undefined;
    const sha1 = bytes ? createHash('sha1').update(bytes).digest('hex') : await sha1OfFile('path' in source ? source.path : '');
    const existing = await findByName(client, folder, assetName, signal);
    if (existing && existing.hash?.sha1 === sha1) {
      const metaChanges = assetMeta ? differingKeys(existing.meta ?? {}, assetMeta) : [];
      const held = new Set(Object.values((existing.tags ?? {}) as Record<string, Array<{ label: string }>>).flat().map((t) => t.label));
      const missingTags = (tags ?? []).filter((label) => !held.has(label));
      if (metaChanges.length === 0 && missingTags.length === 0) return { status: 'unchanged' as const, file: existing, sha1, changed: [] };
      let file = existing;
      if (metaChanges.length > 0) {
        const picked = Object.fromEntries(metaChanges.map((k) => [k, assetMeta![k]!])) as Meta;
        file = { ...file, meta: await client.meta.update(existing.uuid, picked, { signal }) };
      }
      // Tags given are added to the ones the asset has (as an upload with tags does), never removed.
      if (missingTags.length > 0) file = { ...(await client.tags.add(file, missingTags, { signal })), meta: file.meta };
      const changed = [...metaChanges.map((k) => `meta.${k}`), ...(missingTags.length > 0 ? ['tags'] : [])];
      return { status: 'updated' as const, file, sha1, changed };
    }
    const options = { folder, name: assetName, meta: assetMeta, tags, overwrite: existing !== undefined, signal };
    const result = bytes
      ? await client.files.uploadBase64(bytes, options)
      : await client.files.upload('path' in source ? source.path : '', options);
    if (result.duplicate) return { status: 'duplicate' as const, file: result.file, sha1, changed: [] };
    return { status: existing ? ('updated' as const) : ('created' as const), file: result.file, sha1, changed: ['content'] };
  },
});

async function sha1OfFile(path: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The asset with exactly this name directly in the folder, found through a narrow search. */
async function findByName(client: Filerobot, folder: string, assetName: string, signal?: AbortSignal): Promise<FileObject | undefined> {
  for await (const file of client.files.list({ folder, q: nameSearchTerm(basename(assetName)), pageSize: 1000, signal })) {
    if (file.name === assetName) return file;
  }
  return undefined;
}

function differingKeys(current: Record<string, unknown>, wanted: Record<string, unknown>): string[] {
  return Object.keys(wanted).filter((key) => JSON.stringify(current[key] ?? null) !== JSON.stringify(wanted[key] ?? null));
}

export const findBySha1 = defineAction({
  id: 'find-by-sha1',
  title: 'Find assets by content (sha1)',
  description: 'Walks a folder (recursively by default) and returns every asset whose sha1 matches: "do we already have this file?".',
  group,
  permissions: ['OBJECTS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    sha1: z
      .string({ error: 'must be a string: 40 hexadecimal characters.' })
      .regex(/^[0-9a-fA-F]{40}$/, { error: 'must be a sha1: 40 hexadecimal characters.' }),
    folder: folderPath('folder to search').default('/'),
    recursive: z.boolean().default(true),
    first: z.boolean().default(false).describe('Stop at the first match.'),
  }),
  output: z.strictObject({ matches: z.array(fileObject), scanned: z.number() }),
  example: (seed) => ({ sha1: seed.file.sha1, folder: seed.folder.path }),
  run: async ({ client, signal }, input) => {
    const wanted = input.sha1.toLowerCase();
    const matches: FileObject[] = [];
    let scanned = 0;
    const seen = new Set<string>();
    for await (const file of client.files.list({ folder: input.folder, recursive: input.recursive, sort: 'created_at:asc', signal })) {
      // Offset paging shows an asset twice when the listing shifts under it: count it once.
      if (seen.has(file.uuid)) continue;
      seen.add(file.uuid);
      scanned++;
      if (file.hash?.sha1?.toLowerCase() !== wanted) continue;
      matches.push(file);
      if (input.first) break;
    }
    return { matches, scanned };
  },
});

// ---- acting on every match of a search ----

const searchInput = {
  q: z
    .string({ error: 'must be a string: the search expression.' })
    .min(1, { error: 'must not be empty: an empty search would match every asset.' })
    .describe('Search expression selecting the assets.'),
  folder: folderPath('folder to search from').default('/'),
  recursive: z.boolean().default(true),
  maxItems: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(1000)
    .describe('Refuse to act (changing nothing) when the search matches more assets than this.'),
  dryRun: z.boolean().default(false).describe('Report what would be done, change nothing.'),
  concurrency: z.number().int().min(1).max(16).default(4),
};

const itemReport = z.strictObject({
  uuid: z.string(),
  name: z.string(),
  ok: z.boolean(),
  reason: z.string().optional(),
  error: z.string().optional(),
});

const bulkReport = z.strictObject({
  matched: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  dryRun: z.boolean(),
  items: z.array(itemReport),
});

type SearchInput = { q: string; folder: string; recursive: boolean; maxItems: number };
type ItemReport = z.infer<typeof itemReport>;

/** Every match, collected before anything changes (changing while paging would shift the pages). */
async function matchesOf(client: Filerobot, input: SearchInput, signal?: AbortSignal): Promise<FileObject[]> {
  const found = new Map<string, FileObject>();
  // Oldest first, so uploads made meanwhile land after the pages still to read, not inside them;
  // offset paging can still show an asset twice when the listing shifts: keep one.
  const pages = client.files.list({ q: input.q, folder: input.folder, recursive: input.recursive, sort: 'created_at:asc', signal });
  for await (const file of pages) {
    found.set(file.uuid, file);
    if (found.size > input.maxItems) break;
  }
  if (found.size > input.maxItems) {
    throw new RangeError(
      `The search matches more than ${input.maxItems} assets; nothing was changed. Narrow the search, or raise maxItems.`,
    );
  }
  return [...found.values()];
}

function report(items: ItemReport[], matched: number, dryRun: boolean): z.infer<typeof bulkReport> {
  const succeeded = items.filter((i) => i.ok).length;
  return { matched, succeeded, failed: items.length - succeeded, dryRun, items };
}

/**
 * One asset's step of a bulk action, as a report line: a whole-call error (the key lacks a
 * permission) stops the action; `gone` says whether an asset already gone counts as done.
 */
async function step(f: FileObject, work: () => Promise<unknown>, gone: 'done' | 'failed' = 'failed'): Promise<ItemReport> {
  try {
    await work();
    return { uuid: f.uuid, name: f.name, ok: true };
  } catch (error) {
    if (gone === 'done' && isGone(error)) return { uuid: f.uuid, name: f.name, ok: true, reason: 'not_found' };
    if (isWholeCallError(error)) throw error;
    return { uuid: f.uuid, name: f.name, ok: false, error: errorLine(error) };
  }
}

const MOVE_CHUNK = 100;

export const bulkMoveBySearch = defineAction({
  id: 'bulk-move-by-search',
  title: 'Move every asset a search matches',
  description: 'Moves every match into a folder (created when missing), in batches; reports per asset.',
  group,
  permissions: ['OBJECTS_LIST', 'FILE_MOVE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ ...searchInput, destination: folderPath('destination folder') }),
  output: bulkReport,
  example: (seed) => ({ q: seed.search.move, destination: `${seed.targetFolder.path}/moved` }),
  run: async ({ client, signal }, input) => {
    const matches = await matchesOf(client, input, signal);
    if (input.dryRun) return report(matches.map((f) => ({ uuid: f.uuid, name: f.name, ok: true })), matches.length, true);
    const items: ItemReport[] = [];
    for (let start = 0; start < matches.length; start += MOVE_CHUNK) {
      const chunk = matches.slice(start, start + MOVE_CHUNK);
      try {
        await client.files.moveMany(chunk.map((f) => f.uuid), input.destination, { signal });
        items.push(...chunk.map((f) => ({ uuid: f.uuid, name: f.name, ok: true })));
      } catch (error) {
        if (isWholeCallError(error)) throw error;
        // One bad asset fails the whole batch: move them one by one to tell which.
        items.push(
          ...(await mapLimited(chunk, input.concurrency, (f) =>
            step(f, () => client.files.moveMany([f.uuid], input.destination, { signal })),
          )),
        );
      }
    }
    return report(items, matches.length, false);
  },
});

export const bulkDeleteBySearch = defineAction({
  id: 'bulk-delete-by-search',
  title: 'Delete every asset a search matches',
  description: 'Deletes every match, reporting per asset; assets already gone count as done. Use dryRun first.',
  group,
  permissions: ['OBJECTS_LIST', 'FILE_DELETE'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject(searchInput),
  output: bulkReport,
  example: (seed) => ({ q: seed.search.delete, folder: seed.folder.path }),
  run: async ({ client, signal }, input) => {
    const matches = await matchesOf(client, input, signal);
    if (input.dryRun) return report(matches.map((f) => ({ uuid: f.uuid, name: f.name, ok: true })), matches.length, true);
    const items = await mapLimited(matches, input.concurrency, (f) => step(f, () => client.files.delete(f.uuid, { signal }), 'done'));
    return report(items, matches.length, false);
  },
});

export const bulkSetMetaBySearch = defineAction({
  id: 'bulk-set-meta-by-search',
  title: 'Set metadata on every asset a search matches',
  description: 'Changes the metadata keys given (null removes one) on every match, reporting per asset.',
  group,
  permissions: ['OBJECTS_LIST', 'FILE_META_CHANGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ ...searchInput, meta }),
  output: bulkReport,
  example: (seed) => ({ q: seed.search.meta, folder: seed.folder.path, meta: { approved: true } }),
  run: async ({ client, signal }, input) => {
    const matches = await matchesOf(client, input, signal);
    if (input.dryRun) return report(matches.map((f) => ({ uuid: f.uuid, name: f.name, ok: true })), matches.length, true);
    const items = await mapLimited(matches, input.concurrency, (f) => step(f, () => client.meta.update(f.uuid, input.meta as Meta, { signal })));
    return report(items, matches.length, false);
  },
});

export const listAllAssets = defineAction({
  id: 'list-all-assets',
  title: 'List every asset',
  description: 'Every asset of a folder (recursively by default) or search, following every page; stops at maxItems and says so.',
  group,
  permissions: ['OBJECTS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    folder: folderPath('folder to list').default('/'),
    recursive: z.boolean().default(true),
    q: z.string().min(1).optional(),
    sort: z.string().regex(/^[a-z_]+(:(asc|desc))?$/, { error: 'must look like "created_at:asc".' }).default('created_at:asc'),
    maxItems: z.number().int().min(1).max(1_000_000).default(10_000),
    pageSize: z.number().int().min(1).max(4000).default(4000).describe('Items per request (the API gives at most 4000).'),
  }),
  output: z.strictObject({ files: z.array(fileObject), count: z.number(), truncated: z.boolean() }),
  example: (seed) => ({ folder: seed.folder.path }),
  run: async ({ client, signal }, input) => {
    const files: FileObject[] = [];
    const seen = new Set<string>();
    const { maxItems, pageSize, ...filters } = input;
    for await (const file of client.files.list({ ...filters, pageSize, signal })) {
      // Offset paging shows an asset twice when the listing shifts under it: keep one.
      if (seen.has(file.uuid)) continue;
      if (files.length === maxItems) return { files, count: files.length, truncated: true };
      seen.add(file.uuid);
      files.push(file);
    }
    return { files, count: files.length, truncated: false };
  },
});

export const taskActions = [
  uploadAsset,
  upsertAsset,
  findBySha1,
  bulkMoveBySearch,
  bulkDeleteBySearch,
  bulkSetMetaBySearch,
  listAllAssets,
];
