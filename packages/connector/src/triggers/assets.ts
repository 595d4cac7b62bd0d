import { createHash } from 'node:crypto';
import type { FileObject, Filerobot } from '@sfx/client';
import { z } from 'zod';
import { fileObject, folderPath } from '../schemas.js';
import { definePollingTrigger, type PollSource } from './polling.js';
import { TriggerOutputError } from './trigger.js';

const group = 'assets';

const from = z
  .string({ error: 'must be a string: an ISO 8601 date or time, e.g. "2026-01-31" or "2026-01-31T08:00:00Z".' })
  .refine((value) => /^\d{4}-\d\d-\d\d/.test(value) && Number.isFinite(Date.parse(value)), {
    error: 'must be an ISO 8601 date or time, e.g. "2026-01-31" or "2026-01-31T08:00:00Z".',
  });

const scope = {
  folder: folderPath('folder to watch').default('/'),
  recursive: z.boolean({ error: 'must be true or false.' }).default(true).describe('Include sub-folders (default true).'),
  q: z
    .string({ error: 'must be a string: a search expression, e.g. "#summer" or "type:image".' })
    .min(1, { error: 'must not be empty: give a search expression, or leave q out.' })
    .optional()
    .describe('Only assets matching this search: "full text", #tag, key:value, size>1000 ...'),
  mime: z.string().min(1).optional().describe('Only this MIME type, e.g. image/jpeg (or image/*).'),
};

/** An asset as the polling triggers emit it: the API object, with both timestamps. */
const asset = fileObject
  .extend({
    created_at: z.string().describe('When the asset was uploaded (ISO 8601, to the second).'),
    modified_at: z.string().describe('When the asset last changed (ISO 8601, to the second).'),
  })
  .describe('An asset, as the API returns it.');

type Field = 'created_at' | 'modified_at';

/**
 * What identifies one version of an asset for "updated": its uuid and a digest of what a change
 * can touch. Timestamps are whole seconds, so two changes within one second share a
 * `modified_at`; the digest still tells them apart, and an asset read again unchanged matches.
 * (Only stable fields: URLs may carry signatures that differ between reads.)
 */
export function assetVersion(file: FileObject): string {
  const changeable = [
    file.modified_at,
    file.name,
    file.folder?.uuid,
    file.size,
    file.hash?.sha1,
    file.meta,
    file.tags,
    file.labels,
    file.product,
    file.visibility,
    file.info,
  ];
  return `${file.uuid}@${createHash('sha1').update(stableJson(changeable)).digest('hex').slice(0, 16)}`;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

interface Scope {
  folder: string;
  recursive: boolean;
  q?: string;
  mime?: string;
}

function assetSource(
  client: Filerobot,
  config: Scope,
  field: Field,
  triggerId: string,
  signal: AbortSignal | undefined,
  accept?: (file: FileObject) => boolean,
): PollSource<FileObject> {
  const filters = { folder: config.folder, recursive: config.recursive, q: config.q, mime: config.mime };
  const afterParam = field === 'created_at' ? 'created_after' : 'updated_after';
  const timestamp = (file: FileObject): number => {
    const ms = Date.parse(String(file[field] ?? ''));
    if (!Number.isFinite(ms))
      throw new TriggerOutputError(triggerId, [{ path: field, message: `asset ${file.uuid} has no valid ${field}; the trigger orders assets by it.` }]);
    return ms;
  };
  return {
    async page(after, offset, limit) {
      const page = await client.files.list({
        ...filters,
        // One second early: if the API's filter were exclusive, or rounded, the watermark's own
        // second would still be read; the walk drops what lies before the watermark.
        [afterParam]: after === null ? undefined : new Date(Date.parse(after) - 1000).toISOString(),
        sort: `${field}:asc`,
        offset,
        limit,
        signal,
      });
      return page.files ?? [];
    },
    timestamp,
    // A new asset is emitted once; an updated one once per version.
    id: field === 'created_at' ? (file) => file.uuid : assetVersion,
    accept,
    async newest() {
      const page = await client.files.list({ ...filters, sort: `${field}:desc`, limit: 1, signal });
      return page.files?.[0];
    },
    async recent(count) {
      const page = await client.files.list({ ...filters, sort: `${field}:desc`, limit: accept ? Math.max(50, count) : count, signal });
      return (page.files ?? []).filter((file) => accept?.(file) ?? true).slice(0, count);
    },
  };
}

export const newAssets = definePollingTrigger({
  id: 'assets.new',
  title: 'New asset',
  description:
    'Assets uploaded to a folder (and its sub-folders), oldest first, each once: follows every page, so a burst of any size is emitted in full. Starts from now unless `from` is given. Assets moved in from elsewhere are not new; watch them with assets.updated or dam.events.',
  group,
  permissions: ['OBJECTS_LIST'],
  endpoint: 'documented',
  input: z.strictObject({
    ...scope,
    from: from.optional().describe('On the first poll, emit the assets uploaded since this time instead of starting from now.'),
  }),
  output: asset,
  example: (seed) => ({ folder: seed.folder.path, recursive: true }),
  source: ({ client, signal }, config) => assetSource(client, config, 'created_at', 'assets.new', signal),
  startFrom: (config) => config.from,
});

export const updatedAssets = definePollingTrigger({
  id: 'assets.updated',
  title: 'Updated asset',
  description:
    'Assets of a folder (and its sub-folders) whose metadata, tags, name, folder, product or content changed, oldest change first; an asset changed several times between polls is emitted once, as it is now. New uploads count too unless `ignoreNew` is set. Starts from now unless `from` is given.',
  group,
  permissions: ['OBJECTS_LIST'],
  endpoint: 'documented',
  input: z.strictObject({
    ...scope,
    ignoreNew: z
      .boolean({ error: 'must be true or false.' })
      .default(false)
      .describe('Skip assets not changed since their upload (modified_at = created_at, to the second).'),
    from: from.optional().describe('On the first poll, emit the assets changed since this time instead of starting from now.'),
  }),
  output: asset,
  example: (seed) => ({ folder: seed.folder.path, recursive: true, ignoreNew: true }),
  source: ({ client, signal }, config) =>
    assetSource(
      client,
      config,
      'modified_at',
      'assets.updated',
      signal,
      config.ignoreNew ? (file) => file.modified_at !== file.created_at : undefined,
    ),
  startFrom: (config) => config.from,
});
