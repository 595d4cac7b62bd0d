import { z } from 'zod';
import { defineAction } from '../action.js';
import { deletion, shareObject, uuid } from '../schemas.js';
import { deleteIdempotently } from '../util.js';

const group = 'shares';

const when = z
  .string({ error: 'must be a string: an ISO date-time such as "2026-07-01T00:00:00Z".' })
  .refine((value) => !Number.isNaN(Date.parse(value)), { error: 'must be an ISO date-time such as "2026-07-01T00:00:00Z".' });

export const listShares = defineAction({
  id: 'shares.list',
  title: 'List shareboxes',
  description: 'Public links to sets of assets (v5).',
  group,
  permissions: ['OBJECTS_SHARE_MANAGE'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({}),
  output: z.strictObject({ shares: z.array(shareObject) }),
  example: () => ({}),
  run: async ({ client, signal }) => ({ shares: await client.shares.list({ signal }) }),
});

export const createShare = defineAction({
  id: 'shares.create',
  title: 'Create a sharebox',
  description: 'A public link to assets and folders, optionally password-protected and limited in time.',
  group,
  permissions: ['OBJECTS_SHARE_MANAGE'],
  kind: 'write',
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({
    title: z.string().min(1, { error: 'must not be empty: give the sharebox a title.' }),
    description: z.string().optional(),
    items: z
      .array(
        z.strictObject({
          type: z.enum(['file_uuid', 'folder_uuid'], { error: 'must be "file_uuid" or "folder_uuid".' }),
          identifiers: z.array(z.string().min(1)).min(1, { error: 'needs at least one uuid.' }),
          options: z.strictObject({ recursive: z.boolean().optional(), visibility: z.string().optional() }).optional(),
        }),
      )
      .min(1, { error: 'needs at least one item: the assets or folders to share.' }),
    starts_at: when.optional(),
    expires_at: when.optional(),
    starts_tz: z.string().optional(),
    expires_tz: z.string().optional(),
    auth: z
      .array(z.strictObject({ user: z.string().optional(), pass: z.string().min(1, { error: 'must not be empty.' }) }))
      .optional()
      .describe('Passwords for the link; stored hashed, never shown again.'),
  }),
  output: z.strictObject({ share: shareObject }),
  example: (seed) => ({
    title: 'Press kit',
    items: [{ type: 'folder_uuid' as const, identifiers: [seed.folder.uuid], options: { recursive: true } }],
    expires_at: '2099-12-31T00:00:00Z',
  }),
  run: async ({ client, signal }, input) => ({ share: await client.shares.create(input, { signal }) }),
});

export const getShare = defineAction({
  id: 'shares.get',
  title: 'Get a sharebox',
  description: "A sharebox's details and link.",
  group,
  permissions: ['OBJECTS_SHARE_MANAGE'],
  kind: 'read',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({ uuid: uuid('sharebox uuid') }),
  output: z.strictObject({ share: shareObject }),
  example: (seed) => ({ uuid: seed.share.uuid }),
  run: async ({ client, signal }, input) => ({ share: await client.shares.get(input.uuid, { signal }) }),
});

export const deleteShare = defineAction({
  id: 'shares.delete',
  title: 'Delete a sharebox',
  description: 'Deletes a sharebox: its link stops working. One already gone is reported, not an error.',
  group,
  permissions: ['OBJECTS_SHARE_MANAGE'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({ uuid: uuid('sharebox uuid') }),
  output: deletion('uuid'),
  example: (seed) => ({ uuid: seed.share.deleteUuid }),
  run: async ({ client, signal }, input) =>
    deleteIdempotently('uuid', input.uuid, () => client.shares.delete(input.uuid, { signal })),
});

export const shareActions = [listShares, createShare, getShare, deleteShare];
