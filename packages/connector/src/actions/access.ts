import { z } from 'zod';
import { defineAction } from '../action.js';
import { apiKeyObject, deletion, id, permissionName, templateObject, uuid } from '../schemas.js';
import { deleteIdempotently } from '../util.js';

const group = 'access';

const permissions = z.array(permissionName, { error: 'must be a list of permission names.' });
const keyUuid = () => uuid('API key uuid');
const templateId = () => id('security template id (SECU_...)');

const templateFields = {
  name: z.string().min(1, { error: 'must not be empty: name the template.' }),
  permissions,
  validity_seconds: z.number().int().min(1).optional().describe('How long each SASS key lasts (default 1200).'),
  ip_ranges: z.array(z.string().min(1)).optional().describe('CIDR ranges the keys may be used from.'),
  countries: z.array(z.string().regex(/^[A-Z]{2}$/, { error: 'must be an ISO 3166 alpha-2 code such as "FR".' })).optional(),
  limit_per_min: z.number().int().min(1).nullable().optional(),
  limit_per_ip_source: z.number().int().min(1).nullable().optional(),
  dir_scope: z.string().nullable().optional().describe('Where the keys may upload, e.g. "/incoming/*".'),
  list_scope: z.string().nullable().optional().describe('What the keys may list, e.g. "/public".'),
  active: z.boolean().optional(),
};

export const listKeys = defineAction({
  id: 'access.keys.list',
  title: 'List API keys',
  description: 'The API keys of the project (never their secrets).',
  group,
  permissions: ['ACCESS_READ'],
  kind: 'read',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({}),
  output: z.strictObject({ keys: z.array(apiKeyObject) }),
  example: () => ({}),
  run: async ({ client, signal }) => ({ keys: await client.access.keys.list({ signal }) }),
});

export const createKey = defineAction({
  id: 'access.keys.create',
  title: 'Create an API key',
  description: 'Creates an API key with the permissions given. Its secret is in this output only: store it, never log it.',
  group,
  permissions: ['ACCESS_MANAGE'],
  kind: 'write',
  idempotent: false,
  endpoint: 'extension',
  input: z.strictObject({ description: z.string().max(500).optional(), permissions }),
  output: z.strictObject({ key: apiKeyObject }),
  example: () => ({ description: 'PIM sync', permissions: ['OBJECTS_LIST' as const, 'FILE_UPLOAD' as const] }),
  run: async ({ client, signal }, input) => ({ key: await client.access.keys.create(input, { signal }) }),
});

export const getKey = defineAction({
  id: 'access.keys.get',
  title: 'Get an API key',
  description: "An API key's description, permissions and state (never its secret).",
  group,
  permissions: ['ACCESS_READ'],
  kind: 'read',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({ uuid: keyUuid() }),
  output: z.strictObject({ key: apiKeyObject }),
  example: (seed) => ({ uuid: seed.key.uuid }),
  run: async ({ client, signal }, input) => ({ key: await client.access.keys.get(input.uuid, { signal }) }),
});

export const updateKey = defineAction({
  id: 'access.keys.update',
  title: 'Change an API key',
  description: "Changes a key's description or permissions; active: false deactivates it, active: true reactivates it.",
  group,
  permissions: ['ACCESS_MANAGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({
    uuid: keyUuid(),
    description: z.string().max(500).optional(),
    permissions: permissions.optional(),
    active: z.boolean().optional(),
  }),
  output: z.strictObject({ key: apiKeyObject, changed: z.array(z.string()) }),
  example: (seed) => ({ uuid: seed.key.updateUuid, active: false }),
  run: async ({ client, signal }, { uuid: target, ...changes }) => ({
    key: await client.access.keys.update(target, changes, { signal }),
    changed: Object.keys(changes).filter((k) => changes[k as keyof typeof changes] !== undefined),
  }),
});

export const deleteKey = defineAction({
  id: 'access.keys.delete',
  title: 'Delete an API key',
  description: 'Deletes an API key; requests with it fail from then on. One already gone is reported, not an error.',
  group,
  permissions: ['ACCESS_MANAGE'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({ uuid: keyUuid() }),
  output: deletion('uuid'),
  example: (seed) => ({ uuid: seed.key.deleteUuid }),
  run: async ({ client, signal }, input) =>
    deleteIdempotently('uuid', input.uuid, () => client.access.keys.delete(input.uuid, { signal })),
});

export const listTemplates = defineAction({
  id: 'access.templates.list',
  title: 'List security templates',
  description: 'The security templates of the project.',
  group,
  permissions: ['ACCESS_READ'],
  kind: 'read',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({}),
  output: z.strictObject({ templates: z.array(templateObject) }),
  example: () => ({}),
  run: async ({ client, signal }) => ({ templates: await client.access.templates.list({ signal }) }),
});

export const createTemplate = defineAction({
  id: 'access.templates.create',
  title: 'Create a security template',
  description: 'Creates a security template: the id browsers and widgets exchange for short-lived SASS keys. Treat the id as a credential.',
  group,
  permissions: ['ACCESS_MANAGE'],
  kind: 'write',
  idempotent: false,
  endpoint: 'extension',
  input: z.strictObject(templateFields),
  output: z.strictObject({ template: templateObject }),
  example: () => ({ name: 'Upload widget', permissions: ['FILE_UPLOAD' as const], dir_scope: '/incoming/*', validity_seconds: 1200 }),
  run: async ({ client, signal }, input) => ({ template: await client.access.templates.create(input, { signal }) }),
});

export const getTemplate = defineAction({
  id: 'access.templates.get',
  title: 'Get a security template',
  description: "A security template's settings.",
  group,
  permissions: ['ACCESS_READ'],
  kind: 'read',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({ id: templateId() }),
  output: z.strictObject({ template: templateObject }),
  example: (seed) => ({ id: seed.template.id }),
  run: async ({ client, signal }, input) => ({ template: await client.access.templates.get(input.id, { signal }) }),
});

export const updateTemplate = defineAction({
  id: 'access.templates.update',
  title: 'Change a security template',
  description: 'Changes a template; its SASS keys get new permissions at once, and deactivating it revokes them.',
  group,
  permissions: ['ACCESS_MANAGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({ id: templateId(), ...z.strictObject(templateFields).partial().shape }),
  output: z.strictObject({ template: templateObject, changed: z.array(z.string()) }),
  example: (seed) => ({ id: seed.template.updateId, validity_seconds: 600 }),
  run: async ({ client, signal }, { id: target, ...changes }) => ({
    template: await client.access.templates.update(target, changes, { signal }),
    changed: Object.keys(changes).filter((k) => changes[k as keyof typeof changes] !== undefined),
  }),
});

export const deleteTemplate = defineAction({
  id: 'access.templates.delete',
  title: 'Delete a security template',
  description: 'Deletes a template and its SASS keys. One already gone is reported, not an error.',
  group,
  permissions: ['ACCESS_MANAGE'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({ id: templateId() }),
  output: deletion('id'),
  example: (seed) => ({ id: seed.template.deleteId }),
  run: async ({ client, signal }, input) =>
    deleteIdempotently('id', input.id, () => client.access.templates.delete(input.id, { signal })),
});

export const exchangeTemplate = defineAction({
  id: 'access.exchange',
  title: 'Exchange a template for a SASS key',
  description:
    'Swaps a security template id for a short-lived SASS key (at most 5 times a minute per address). The key is a secret: hand it to the browser, never log it.',
  group,
  permissions: [],
  kind: 'write',
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({ templateId: templateId() }),
  output: z.strictObject({ key: z.string().describe('The SASS key (secret).') }),
  example: (seed) => ({ templateId: seed.template.exchangeId }),
  run: async ({ client, signal }, input) => ({ key: await client.access.exchange(input.templateId, { signal }) }),
});

export const currentKey = defineAction({
  id: 'access.current-key',
  title: 'Describe the connection key',
  description: "The key the connection uses and its permissions; any valid key may ask. The real API has no such call (404).",
  group,
  permissions: [],
  kind: 'read',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({}),
  output: z.strictObject({
    key: z.looseObject({
      type: z.enum(['api_key', 'sass']),
      permissions: z.array(z.string()),
      active: z.boolean(),
      description: z.string().optional(),
      uuid: z.string().optional(),
      expires_at: z.string().optional(),
    }),
  }),
  example: () => ({}),
  run: async ({ client, signal }) => ({ key: await client.access.currentKey({ signal }) }),
});

export const accessActions = [
  listKeys,
  createKey,
  getKey,
  updateKey,
  deleteKey,
  listTemplates,
  createTemplate,
  getTemplate,
  updateTemplate,
  deleteTemplate,
  exchangeTemplate,
  currentKey,
];
