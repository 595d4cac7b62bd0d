import type { MetadataModelEntry } from '@sfx/client';
import { z } from 'zod';
import { defineAction } from '../action.js';
import { id } from '../schemas.js';

const group = 'settings';

const lang = z
  .string({ error: 'must be a string: a language code such as "en".' })
  .regex(/^[a-z]{2}([_-][A-Za-z]{2})?$/, { error: 'must be a language code such as "en" or "fr_FR".' });

const settingsObject = z.record(z.string(), z.unknown());
const fieldObject = z.looseObject({ key: z.string(), type: z.string() });

export const getSettings = defineAction({
  id: 'settings.get',
  title: 'Get project settings',
  description: 'Project settings, including the metadata model.',
  group,
  permissions: ['CONFIG_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({}),
  output: z.strictObject({ settings: settingsObject }),
  example: () => ({}),
  run: async ({ client, signal }) => ({ settings: await client.settings.get({ signal }) }),
});

export const getPublicSettings = defineAction({
  id: 'settings.get-public',
  title: 'Get public settings',
  description: 'The public part of the project settings (v5); needs no permission.',
  group,
  permissions: [],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({}),
  output: z.strictObject({ settings: settingsObject }),
  example: () => ({}),
  run: async ({ client, signal }) => ({ settings: await client.settings.getPublic({ signal }) }),
});

export const listFields = defineAction({
  id: 'settings.fields',
  title: 'List metadata fields',
  description: 'Every field of the metadata model (v4).',
  group,
  permissions: ['CONFIG_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({}),
  output: z.strictObject({ fields: z.array(fieldObject) }),
  example: () => ({}),
  run: async ({ client, signal }) => ({ fields: await client.settings.fields({ signal }) }),
});

export const fieldOptions = defineAction({
  id: 'settings.field-options',
  title: 'List options of a select field',
  description: 'The options of a select or multi-select metadata field (v4).',
  group,
  permissions: ['CONFIG_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ fieldUuid: id('field uuid (see settings.fields)') }),
  output: z.strictObject({ options: z.array(z.unknown()) }),
  example: (seed) => ({ fieldUuid: seed.field.uuid }),
  run: async ({ client, signal }, input) => ({ options: await client.settings.fieldOptions(input.fieldUuid, { signal }) }),
});

export const fieldTranslations = defineAction({
  id: 'settings.field-translations',
  title: 'Get field translations',
  description: 'Titles, placeholders and tooltips of the metadata fields in one language (v5).',
  group,
  permissions: ['CONFIG_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ lang }),
  output: z.strictObject({ lang: z.string(), fields: z.unknown() }),
  example: () => ({ lang: 'fr' }),
  run: async ({ client, signal }, input) => {
    const reply = await client.settings.fieldTranslations(input.lang, { signal });
    return { lang: reply.lang, fields: reply.fields };
  },
});

export const setFieldTranslations = defineAction({
  id: 'settings.set-field-translations',
  title: 'Set field translations',
  description: 'Sets field titles (and select option labels) in one language (v5).',
  group,
  permissions: ['CONFIG_CHANGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    lang,
    fields: z
      .record(z.string(), z.strictObject({ name: z.string().optional(), placeholder: z.string().optional(), tooltip: z.string().optional() }))
      .optional()
      .describe('Per field key: its name, placeholder and tooltip in this language.'),
    options: z.record(z.string(), z.string()).optional().describe('Per option internal value: its label in this language.'),
  }),
  output: z.strictObject({ lang: z.string(), reply: z.unknown() }),
  example: () => ({ lang: 'de', fields: { title: { name: 'Titel' } } }),
  run: async ({ client, signal }, input) => ({ lang: input.lang, reply: await client.settings.setFieldTranslations(input, { signal }) }),
});

export const optionTranslations = defineAction({
  id: 'settings.option-translations',
  title: 'Get option translations',
  description: 'Labels of select field options in one language (v5).',
  group,
  permissions: ['CONFIG_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ lang }),
  output: z.strictObject({ lang: z.string(), options: z.unknown() }),
  example: () => ({ lang: 'fr' }),
  run: async ({ client, signal }, input) => {
    const reply = await client.settings.optionTranslations(input.lang, { signal });
    return { lang: reply.lang, options: reply.options };
  },
});

export const attributeKeys = defineAction({
  id: 'settings.attribute-keys',
  title: 'List metadata keys in use',
  description: 'The metadata keys assets carry (v5).',
  group,
  permissions: ['CONFIG_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({}),
  output: z.strictObject({ keys: z.array(z.string()) }),
  example: () => ({}),
  run: async ({ client, signal }) => ({ keys: await client.settings.attributeKeys({ signal }) }),
});

export const filters = defineAction({
  id: 'settings.filters',
  title: 'List facet values',
  description: 'Values with counts for a facet: filetype, tags, labels, product_ref, extension or a metadata key (v5).',
  group,
  permissions: ['OBJECTS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    filterBy: z.string().min(1, { error: 'must not be empty: e.g. "filetype", "tags" or a metadata key.' }),
    limit: z.number().int().min(1).max(1000).optional(),
  }),
  output: z.strictObject({ filters: z.unknown() }),
  example: () => ({ filterBy: 'filetype' }),
  run: async ({ client, signal }, input) => ({ filters: await client.settings.filters(input.filterBy, { limit: input.limit, signal }) }),
});

const modelField = z.looseObject({
  key: z.string().min(1, { error: 'must not be empty: give the field key.' }),
  title: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
  type: z.string().min(1, { error: 'must not be empty: e.g. "text", "select-one", "boolean".' }),
  required: z.union([z.boolean(), z.number()]).optional(),
  possible_values: z.array(z.looseObject({ api_value: z.string(), label: z.union([z.string(), z.record(z.string(), z.string())]).optional() })).optional(),
  regional_variants_group: z.string().optional(),
});

export const setMetadataModel = defineAction({
  id: 'settings.set-metadata-model',
  title: 'Define the metadata model',
  description:
    'Replaces the metadata model. Fields, groups and options keep their uuids and internal values when redefined with the same key.',
  group,
  permissions: ['CONFIG_CHANGE'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({
    model: z
      .array(
        z.looseObject({
          applies_to: z.string().optional().describe('FILES, DIRECTORIES or PRODUCTS.'),
          groups: z.array(z.looseObject({ name: z.string().min(1), fields: z.array(modelField) })),
        }),
      )
      .min(1, { error: 'needs at least one entry, e.g. {"applies_to": "FILES", "groups": [...]}.' }),
  }),
  output: z.strictObject({ metadata: z.record(z.string(), z.unknown()).optional() }),
  example: () => ({
    model: [
      {
        applies_to: 'FILES',
        groups: [
          {
            name: 'Root fields',
            isRoot: true,
            fields: [
              { key: 'title', title: 'Title', type: 'text', regional_variants_group: 'Language' },
              { key: 'description', title: 'Description', type: 'textarea', regional_variants_group: 'Language' },
              { key: 'alt', title: 'Alt text', type: 'text', regional_variants_group: 'Language' },
            ],
          },
          {
            name: 'General',
            fields: [
              { key: 'copyright', title: 'Copyright', type: 'text' },
              {
                key: 'category',
                title: 'Category',
                type: 'select-one',
                possible_values: [
                  { api_value: 'marketing', label: 'Marketing' },
                  { api_value: 'product', label: 'Product' },
                  { api_value: 'editorial', label: 'Editorial' },
                ],
              },
              { key: 'approved', title: 'Approved', type: 'boolean' },
              { key: 'season', title: 'Season', type: 'text' },
            ],
          },
        ],
      },
    ],
  }),
  run: async ({ client, signal }, input) => ({
    metadata: await client.settings.setMetadataModel(input.model as MetadataModelEntry[], { signal }),
  }),
});

export const settingsActions = [
  getSettings,
  getPublicSettings,
  listFields,
  fieldOptions,
  fieldTranslations,
  setFieldTranslations,
  optionTranslations,
  attributeKeys,
  filters,
  setMetadataModel,
];
