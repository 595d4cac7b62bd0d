import { z } from 'zod';
import { defineAction } from '../action.js';
import { fileObject, tagLabels, tagObject, uuid } from '../schemas.js';

const group = 'tags';

export const listTags = defineAction({
  id: 'tags.list',
  title: 'List tags',
  description: 'The tag dictionary (v5).',
  group,
  permissions: ['OBJECTS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    q: z.string().optional().describe('Only tags that start like this.'),
    limit: z.number().int().min(1).max(1000).optional(),
    offset: z.number().int().min(0).optional(),
  }),
  output: z.strictObject({ tags: z.array(tagObject) }),
  example: () => ({ limit: 50 }),
  run: async ({ client, signal }, input) => ({ tags: await client.tags.list({ ...input, signal }) }),
});

export const createTag = defineAction({
  id: 'tags.create',
  title: 'Create a tag',
  description: 'Adds a tag to the dictionary, with its label in one or more languages.',
  group,
  permissions: ['FILE_META_CHANGE'],
  kind: 'write',
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({
    names: z
      .record(z.string().min(2), z.string().min(1), { error: 'must map languages to labels, e.g. {"en": "Summer"}.' })
      .refine((names) => Object.keys(names).length > 0, { error: 'needs a label in at least one language, e.g. {"en": "Summer"}.' }),
    slug: z.string().min(1).optional(),
    primary: z.string().min(2).optional().describe('The language whose label is the main one.'),
  }),
  output: z.strictObject({ tag: tagObject }),
  example: () => ({ names: { en: 'Autumn', fr: 'Automne' } }),
  run: async ({ client, signal }, input) => ({ tag: await client.tags.create(input, { signal }) }),
});

export const setTags = defineAction({
  id: 'tags.set',
  title: "Set a file's tags",
  description: 'Keeps the tags listed in keep (by sid), adds the labels in add, and removes every other tag of the asset.',
  group,
  permissions: ['FILE_META_CHANGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    uuid: uuid(),
    keep: z.array(z.string().min(1)).default([]).describe('Sids (#tg...) of tags to keep; empty replaces all tags.'),
    add: tagLabels.default([]),
    lang: z.string().min(2).default('en').describe('Language of the labels in add.'),
  }),
  output: z.strictObject({ file: fileObject, tags: z.array(z.string()).describe('The labels the asset has now.') }),
  example: (seed) => ({ uuid: seed.file.uuid, keep: [], add: ['summer', 'homepage'] }),
  run: async ({ client, signal }, input) => {
    const file = await client.tags.set(input.uuid, { existing: input.keep, add: input.add, lang: input.lang }, { signal });
    const tags = (file.tags ?? {}) as Record<string, Array<{ label: string }>>;
    return { file, tags: [...new Set(Object.values(tags).flatMap((list) => list.map((t) => t.label)))] };
  },
});

export const tagActions = [listTags, createTag, setTags];
