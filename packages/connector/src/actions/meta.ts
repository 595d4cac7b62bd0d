import { z } from 'zod';
import { defineAction } from '../action.js';
import { meta, uuid } from '../schemas.js';

const group = 'meta';

export const updateMeta = defineAction({
  id: 'meta.update',
  title: "Update a file's metadata",
  description:
    "Changes only the keys given (null removes a key) without renaming or touching the file; reports which keys were set and removed.",
  group,
  permissions: ['FILE_META_CHANGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    uuid: uuid(),
    meta,
    method: z
      .enum(['patch', 'put', 'v4'], { error: 'must be "patch", "put" or "v4".' })
      .default('patch')
      .describe('"patch" (v5, default), "put" (the v5 PUT form), or "v4" (PUT /v4/file/{uuid}/meta).'),
  }),
  output: z.strictObject({
    uuid: z.string(),
    meta: z.record(z.string(), z.unknown()).describe('The metadata after the change.'),
    set: z.array(z.string()),
    removed: z.array(z.string()),
  }),
  example: (seed) => ({ uuid: seed.file.uuid, meta: { title: { en: 'Red shoe' }, copyright: 'Acme 2026' } }),
  run: async ({ client, signal }, input) => {
    const after = await client.meta.update(input.uuid, input.meta, { method: input.method, signal });
    const keys = Object.keys(input.meta);
    return {
      uuid: input.uuid,
      meta: after,
      set: keys.filter((k) => input.meta[k] !== null),
      removed: keys.filter((k) => input.meta[k] === null),
    };
  },
});

export const autocompleteMeta = defineAction({
  id: 'meta.autocomplete',
  title: 'Suggest metadata values',
  description: 'Values in use for a metadata key (or tag labels without one) that start like the text given (v5).',
  group,
  permissions: ['OBJECTS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    q: z.string({ error: 'must be a string: the start of the value.' }).describe('The start of the value.'),
    metaKey: z.string().min(1).optional().describe('The metadata key; the API names it "_<ckey>". Without it: tag labels.'),
    limit: z.number().int().min(1).max(100).optional(),
  }),
  output: z.strictObject({ suggestions: z.array(z.strictObject({ value: z.string(), count: z.number().optional() })) }),
  example: () => ({ q: 'home' }),
  run: async ({ client, signal }, input) => ({ suggestions: await client.meta.autocomplete({ ...input, signal }) }),
});

export const metaActions = [updateMeta, autocompleteMeta];
