import { z } from 'zod';
import { PERMISSIONS } from './permissions.js';

/*
 * Building blocks for action inputs and outputs. Inputs are strict (an unknown field is a typo
 * worth reporting); API objects in outputs keep unknown fields, since projects add their own and
 * the API grows.
 */

export const id = (what: string) =>
  z
    .string({ error: `must be a string: the ${what}.` })
    .min(1, { error: `must not be empty: give the ${what}.` })
    .describe(`The ${what}.`);

export const uuid = (what = 'asset uuid') => id(what);

export const uuidList = (what: string, max = 1000) =>
  z
    .array(uuid(what), { error: `must be a list of ${what}s.` })
    .min(1, { error: `needs at least one ${what}.` })
    .max(max, { error: `takes at most ${max} ${what}s per call; split the list.` });

export const folderPath = (what = 'folder path') =>
  z
    .string({ error: `must be a string: the ${what}, starting with "/".` })
    .regex(/^\//, { error: `must start with "/", e.g. "/photos/2026".` })
    .describe(`The ${what}, e.g. "/photos/2026".`);

export const name = (what = 'file name') =>
  z
    .string({ error: `must be a string: the ${what}.` })
    .min(1, { error: `must not be empty: give the ${what}.` })
    .max(255, { error: 'must be at most 255 characters long.' })
    .refine((value) => !value.includes('/'), { error: 'must not contain "/": give a name, not a path.' })
    .describe(`The ${what}.`);

export const metaValue = z.union(
  [z.string(), z.number(), z.boolean(), z.null(), z.array(z.string()), z.record(z.string(), z.unknown())],
  { error: 'must be a string, number, boolean, null, a list of strings, or a localised object such as {"en": "..."}.' },
);

export const meta = z
  .record(z.string(), metaValue, { error: 'must be an object of metadata keys and values, e.g. {"title": {"en": "Red shoe"}}.' })
  .describe('Metadata: keys of the project\'s model with their values; localised fields take {"en": "..."}; null removes a key.');

export const tagLabels = z
  .array(z.string().min(1, { error: 'a tag label must not be empty.' }), { error: 'must be a list of tag labels.' })
  .describe('Tag labels; new ones join the tag dictionary.');

export const productRef = z
  .string({ error: 'must be a string: the product reference (SKU).' })
  .regex(/^[^\s!#$%^&*()=+{}[\];"<>\\,/?~`]+$/, {
    error: 'must be a product reference: no spaces or any of !#$%^&*()=+{}[];"<>\\,/?~` (e.g. "SKU-42").',
  })
  .describe('A product reference (SKU).');

export const productLink = z.strictObject({
  ref: productRef,
  position: z.number().int({ error: 'must be a whole number.' }).min(0).optional().describe('Place in the product gallery; last when absent.'),
});

/** Who may see an asset or folder (inferred endpoints); `inherited` follows the nearest folder that sets one. */
export const visibility = z
  .enum(['inherited', 'public', 'organisation', 'private'], {
    error: 'must be one of "inherited", "public", "organisation" or "private".',
  })
  .describe('inherited (follow the folder), public, organisation (in the DAM, not public on the CDN) or private.');

export const permissionName = z.enum(PERMISSIONS, {
  error: `must be a permission name: ${PERMISSIONS.join(', ')}.`,
});

export const limit = (fallback: number) =>
  z
    .number({ error: 'must be a number.' })
    .int({ error: 'must be a whole number.' })
    .min(1, { error: 'must be at least 1.' })
    .max(4000, { error: 'must be at most 4000 (the API\'s largest page).' })
    .default(fallback)
    .describe('Page size (1-4000).');

export const offset = z
  .number({ error: 'must be a number.' })
  .int({ error: 'must be a whole number.' })
  .min(0, { error: 'must be 0 or more.' })
  .default(0)
  .describe('How many items to skip.');

export const dateFilter = z
  .string({ error: 'must be a string: an ISO date ("2026-01-31") or a phrase such as "3 days ago".' })
  .min(1);

/** The filters every file listing and search takes. */
export const fileFilters = {
  folder: folderPath('folder to start from').optional(),
  recursive: z.boolean({ error: 'must be true or false.' }).optional().describe('Include sub-folders.'),
  q: z.string().optional().describe('Search expression: "full text", #tag, key:value, size>1000 ...'),
  mime: z.string().optional().describe('Only this MIME type, e.g. image/jpeg.'),
  created_after: dateFilter.optional(),
  created_before: dateFilter.optional(),
  updated_after: dateFilter.optional(),
  updated_before: dateFilter.optional(),
};

export const sort = z
  .string({ error: 'must be a string such as "created_at:desc".' })
  .regex(/^[a-z_]+([:,](asc|desc))?$/i, { error: 'must look like "name:asc" or "created_at:desc".' })
  .describe('Sort order: field:asc|desc, e.g. "created_at:desc".');

// ---- API objects (outputs) ----

const size = z.union([z.looseObject({ bytes: z.number(), pretty: z.string().optional() }), z.number()]);

export const fileObject = z
  .looseObject({
    uuid: z.string(),
    name: z.string(),
    extension: z.string().optional(),
    type: z.string().optional(),
    size: size.optional(),
    hash: z.looseObject({ sha1: z.string().optional() }).optional(),
    url: z
      .looseObject({
        public: z.string().optional(),
        permalink: z.string().optional(),
        cdn: z.string().optional(),
        path: z.string().optional(),
      })
      .optional(),
    folder: z.looseObject({ uuid: z.string(), name: z.string() }).optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
    tags: z.record(z.string(), z.array(z.looseObject({ sid: z.string(), label: z.string() }))).optional(),
    created_at: z.string().optional(),
    modified_at: z.string().optional(),
  })
  .describe('An asset, as the API returns it.');

export const folderObject = z
  .looseObject({
    uuid: z.string(),
    name: z.string(),
    path: z.string(),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .describe('A folder, as the API returns it.');

export const tagObject = z.looseObject({
  uuid: z.string(),
  sid: z.string(),
  names: z.record(z.string(), z.string()).optional(),
});

export const labelObject = z.looseObject({ uuid: z.string(), sid: z.string(), name: z.string() });

export const productObject = z.looseObject({
  ref: z.string(),
  stats: z.looseObject({ count_assets: z.number().optional(), count_images: z.number().optional() }).optional(),
});

export const collectionObject = z.looseObject({ uuid: z.string(), title: z.string() });

export const shareObject = z.looseObject({ uuid: z.string(), title: z.string(), share_uri: z.string().optional() });

export const apiKeyObject = z.looseObject({
  uuid: z.string(),
  description: z.string(),
  permissions: z.array(z.string()),
  active: z.boolean(),
  secret: z.string().optional().describe('Only in the reply that created the key.'),
});

export const templateObject = z.looseObject({
  id: z.string(),
  name: z.string(),
  permissions: z.array(z.string()),
});

/** What a delete reports: whether something was deleted, and why not. */
export const deletion = <K extends string>(key: K) =>
  z.strictObject({
    ...({ [key]: z.string() } as Record<K, z.ZodString>),
    deleted: z.boolean().describe('False when it was already gone: deleting is idempotent.'),
    reason: z.enum(['not_found']).optional().describe('Why nothing was deleted.'),
  });
