import type { BulkChange } from '@sfx/client';
import { z } from 'zod';
import { defineAction } from '../action.js';
import { id, metaValue, uuidList } from '../schemas.js';

const group = 'bulk';

const change = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.enum(['tags.add', 'tags.del']),
      value: z.string().min(1, { error: 'must not be empty: give a tag label or sid (#tg...).' }),
    }),
    z.strictObject({
      type: z.enum(['labels.add', 'labels.del']),
      value: z.string().regex(/^#/, { error: 'must be a label sid such as "#lb0a1b2c" (see labels.list).' }),
    }),
    z.strictObject({
      type: z.literal('meta.replace'),
      key: z.string().min(1, { error: 'must not be empty: give the metadata key.' }),
      value: metaValue.describe('The new value; null removes the key.'),
    }),
  ],
  { error: 'must have a type of "tags.add", "tags.del", "labels.add", "labels.del" or "meta.replace".' },
);

const changes = z
  .array(change, { error: 'must be a list of changes.' })
  .min(1, { error: 'needs at least one change.' })
  .max(100, { error: 'takes at most 100 changes.' });

const labelsNeed = [{ permission: 'FILE_LABEL_CHANGE' as const, when: 'a change is labels.add or labels.del' }];

const bulkResult = z.looseObject({
  uuid: z.string(),
  status: z.string(),
  results: z.array(z.looseObject({ file_uuid: z.string(), status: z.string() })).nullable().optional(),
  summary: z.looseObject({ files: z.number(), succeeded: z.number(), failed: z.number() }).nullable().optional(),
});

export const prepareBulk = defineAction({
  id: 'bulk.prepare',
  title: 'Prepare a bulk change',
  description: 'Stages tag, label and metadata changes over many assets; nothing changes until it is committed.',
  group,
  permissions: ['FILE_META_CHANGE'],
  alsoNeeds: labelsNeed,
  kind: 'write',
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({ uuids: uuidList('asset uuid', 10_000), changes }),
  output: z.strictObject({ bulk_uuid: z.string() }),
  example: (seed) => ({ uuids: [seed.file.uuid], changes: [{ type: 'tags.add' as const, value: 'bulk-ready' }] }),
  run: async ({ client, signal }, input) => ({
    bulk_uuid: await client.bulk.prepare(input.uuids, input.changes as BulkChange[], { signal }),
  }),
});

export const commitBulk = defineAction({
  id: 'bulk.commit',
  title: 'Commit a bulk change',
  description: 'Applies a prepared change set in one transaction and reports per asset; an asset deleted since is reported, not fatal.',
  group,
  permissions: ['FILE_META_CHANGE'],
  alsoNeeds: labelsNeed,
  kind: 'write',
  idempotent: false,
  endpoint: 'extension',
  input: z.strictObject({ bulkUuid: id('bulk change uuid, from bulk.prepare') }),
  output: z.strictObject({ bulk: bulkResult }),
  example: (seed) => ({ bulkUuid: seed.bulk.uuid }),
  run: async ({ client, signal }, input) => ({
    bulk: (await client.bulk.commit(input.bulkUuid, { signal })).bulk as z.input<typeof bulkResult>,
  }),
});

export const getBulk = defineAction({
  id: 'bulk.get',
  title: 'Get a bulk change',
  description: 'The state of a prepared or committed change set, with per-asset results once committed.',
  group,
  permissions: ['FILE_META_CHANGE'],
  kind: 'read',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({ bulkUuid: id('bulk change uuid') }),
  output: z.strictObject({ bulk: bulkResult }),
  example: (seed) => ({ bulkUuid: seed.bulk.uuid }),
  run: async ({ client, signal }, input) => ({
    bulk: (await client.bulk.get(input.bulkUuid, { signal })).bulk as z.input<typeof bulkResult>,
  }),
});

export const applyBulk = defineAction({
  id: 'bulk.apply',
  title: 'Apply a bulk change',
  description: 'Prepares and commits tag, label and metadata changes over many assets, all or nothing.',
  group,
  permissions: ['FILE_META_CHANGE'],
  alsoNeeds: labelsNeed,
  kind: 'write',
  idempotent: true,
  // The prepare step is documented; the commit step is not, and only the sfx server serves it.
  endpoint: 'extension',
  input: z.strictObject({ uuids: uuidList('asset uuid', 10_000), changes }),
  output: z.strictObject({ bulk: bulkResult }),
  example: (seed) => ({
    uuids: [seed.file.uuid],
    changes: [
      { type: 'meta.replace' as const, key: 'copyright', value: 'Acme 2026' },
      { type: 'labels.add' as const, value: seed.label.sid },
    ],
  }),
  run: async ({ client, signal }, input) => ({
    bulk: (await client.bulk.apply(input.uuids, input.changes as BulkChange[], { signal })).bulk as z.input<typeof bulkResult>,
  }),
});

export const bulkActions = [prepareBulk, commitBulk, getBulk, applyBulk];
