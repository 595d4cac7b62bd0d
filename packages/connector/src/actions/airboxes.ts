import { z } from 'zod';
import { defineAction } from '../action.js';
import { deletion, folderPath, limit, meta, offset, uuid } from '../schemas.js';
import { deleteIdempotently } from '../util.js';

/*
 * Airbox management is INFERRED: the reference names the permission OBJECTS_AIRBOX_MANAGE and the
 * Hub's read of an airbox config (GET /v3/a/{puid}/{title}?format=json) but no management
 * endpoint, so the sfx server designs them in the API's style (docs/server.md, "Inferred endpoints").
 */

const group = 'airboxes';
const INFERRED = 'Inferred endpoint: designed in the API\'s style, the real service may differ.';

const title = z
  .string({ error: 'must be a string: the airbox title.' })
  .trim()
  .min(1, { error: 'must not be empty: give the airbox a title.' })
  .max(255, { error: 'must be at most 255 characters long.' })
  .describe('Shown to uploaders; its slug ends the link.');

const description = z
  .string({ error: 'must be a string.' })
  .max(2000, { error: 'must be at most 2000 characters long.' })
  .describe('Shown to uploaders on the public page.');

const expiresAt = z
  .string({ error: 'must be a string: an ISO date-time such as "2026-07-01T00:00:00Z".' })
  .refine((value) => /^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value)), {
    error: 'must be an ISO date-time such as "2026-07-01T00:00:00Z".',
  })
  .describe('When the link stops working (must be in the future).');

const maxFileSize = z
  .number({ error: 'must be a number of bytes.' })
  .int({ error: 'must be a whole number of bytes.' })
  .min(1, { error: 'must be at least 1 byte.' })
  .describe("Largest file accepted, in bytes (at most the project's upload limit).");

export const airboxObject = z.looseObject({
  uuid: z.string(),
  puid: z.string(),
  title: z.string(),
  description: z.string(),
  folder: z.string(),
  folder_uuid: z.string().nullable(),
  active: z.boolean(),
  expires_at: z.string().nullable(),
  max_file_size: z.number().nullable(),
  airbox_uri: z.string(),
});

const airboxUuid = () => uuid('airbox uuid');

export const listAirboxes = defineAction({
  id: 'airboxes.list',
  title: 'List airboxes',
  description: `Public upload links into folders, newest first. ${INFERRED}`,
  group,
  permissions: ['OBJECTS_AIRBOX_MANAGE'],
  kind: 'read',
  idempotent: true,
  endpoint: 'inferred',
  input: z.strictObject({ limit: limit(100), offset }),
  output: z.strictObject({ airboxes: z.array(airboxObject), total: z.number().int() }),
  example: () => ({ limit: 20 }),
  run: async ({ client, signal }, input) => {
    const page = await client.airboxes.list({ ...input, signal });
    return { airboxes: page.airboxes, total: page.info.total };
  },
});

export const createAirbox = defineAction({
  id: 'airboxes.create',
  title: 'Create an airbox',
  description: `Creates a public upload link whose uploads land in one folder (created when missing), optionally limited in time and file size. Its public config is at airbox_uri?format=json. ${INFERRED}`,
  group,
  permissions: ['OBJECTS_AIRBOX_MANAGE'],
  kind: 'write',
  idempotent: false,
  endpoint: 'inferred',
  input: z.strictObject({
    title,
    folder: folderPath('folder uploads land in'),
    description: description.optional(),
    active: z.boolean({ error: 'must be true or false.' }).optional().describe('Open at once (default true).'),
    expires_at: expiresAt.optional(),
    max_file_size: maxFileSize.optional(),
  }),
  output: z.strictObject({ airbox: airboxObject }),
  example: (seed) => ({
    title: 'Agency uploads',
    folder: `${seed.folder.path}/incoming`,
    description: 'Drop the campaign visuals here',
    expires_at: '2099-12-31T00:00:00Z',
    max_file_size: 50_000_000,
  }),
  run: async ({ client, signal }, input) => ({ airbox: await client.airboxes.create(input, { signal }) }),
});

export const getAirbox = defineAction({
  id: 'airboxes.get',
  title: 'Get an airbox',
  description: `An airbox's settings and link. ${INFERRED}`,
  group,
  permissions: ['OBJECTS_AIRBOX_MANAGE'],
  kind: 'read',
  idempotent: true,
  endpoint: 'inferred',
  input: z.strictObject({ uuid: airboxUuid() }),
  output: z.strictObject({ airbox: airboxObject }),
  example: (seed) => ({ uuid: seed.airbox.uuid }),
  run: async ({ client, signal }, input) => ({ airbox: await client.airboxes.get(input.uuid, { signal }) }),
});

export const updateAirbox = defineAction({
  id: 'airboxes.update',
  title: 'Update an airbox',
  description: `Changes an airbox: active false closes its link, true reopens it; null removes the expiry, the size limit or the description. ${INFERRED}`,
  group,
  permissions: ['OBJECTS_AIRBOX_MANAGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'inferred',
  input: z
    .strictObject({
      uuid: airboxUuid(),
      title: title.optional(),
      folder: folderPath('folder uploads land in').optional(),
      description: description.nullable().optional(),
      active: z.boolean({ error: 'must be true or false.' }).optional(),
      expires_at: expiresAt.nullable().optional(),
      max_file_size: maxFileSize.nullable().optional(),
    })
    .refine((input) => Object.keys(input).some((key) => key !== 'uuid'), {
      error: 'give at least one field to change besides "uuid".',
    }),
  output: z.strictObject({ airbox: airboxObject }),
  example: (seed) => ({ uuid: seed.airbox.uuid, active: true, description: 'Open for the summer campaign' }),
  run: async ({ client, signal }, input) => {
    const { uuid: airbox, ...change } = input;
    return { airbox: await client.airboxes.update(airbox, change, { signal }) };
  },
});

export const deleteAirbox = defineAction({
  id: 'airboxes.delete',
  title: 'Delete an airbox',
  description: `Deletes an airbox: its link stops working, files uploaded through it stay. One already gone is reported, not an error. ${INFERRED}`,
  group,
  permissions: ['OBJECTS_AIRBOX_MANAGE'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'inferred',
  input: z.strictObject({ uuid: airboxUuid() }),
  output: deletion('uuid'),
  example: (seed) => ({ uuid: seed.airbox.deleteUuid }),
  run: async ({ client, signal }, input) =>
    deleteIdempotently('uuid', input.uuid, () => client.airboxes.delete(input.uuid, { signal })),
});

export const uploadToAirbox = defineAction({
  id: 'airboxes.upload',
  title: 'Upload a file into an airbox',
  description:
    "Uploads a local file through an airbox's public link, with no API key: the puid is the credential (sent as X-Filerobot-Airbox-Puid, as the uploader does). " +
    "The file lands in the airbox's folder; a file over its max_file_size is refused (413), a closed, expired or unknown airbox is a not-found error, " +
    'and each address may send a limited number of files a minute. The reply names only what was sent: an airbox uploader can read nothing. ' +
    INFERRED,
  group,
  permissions: [],
  kind: 'write',
  idempotent: false,
  endpoint: 'inferred',
  input: z.strictObject({
    puid: z
      .string({ error: "must be a string: the airbox's public id." })
      .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be an airbox puid (letters and digits), as in its link.' })
      .describe("The airbox's public id (the segment after /v3/a/ in its link)."),
    title: z
      .string({ error: 'must be a string.' })
      .min(1, { error: 'must not be empty.' })
      .default('airbox')
      .describe('The last segment of the link (its slug); not checked by the server.'),
    path: z.string().min(1, { error: 'must not be empty: give the path of a local file.' }).describe('Path of the local file.'),
    name: z
      .string({ error: 'must be a string: the file name.' })
      .min(1, { error: 'must not be empty.' })
      .refine((value) => !value.includes('/'), { error: 'must not contain "/": give a name, not a path.' })
      .optional()
      .describe('The file name (default: the local file name).'),
    meta: meta.optional(),
  }),
  output: z.strictObject({
    airbox: z.looseObject({ puid: z.string(), title: z.string() }),
    files: z.array(z.looseObject({ name: z.string(), type: z.string(), size: z.looseObject({ bytes: z.number() }), sha1: z.string() })),
    uploaded: z.number().int().describe('Files stored.'),
  }),
  example: (seed) => ({ puid: seed.airbox.puid, title: seed.airbox.title, path: seed.localFile, name: 'from-the-agency.jpg', meta: { title: { en: 'Sent through the airbox' } } }),
  run: async ({ client, signal }, input) => {
    const result = await client.airboxes.upload(input.puid, input.title, input.path, { name: input.name, meta: input.meta, signal });
    return { airbox: result.airbox, files: result.files, uploaded: result.info.uploaded_files };
  },
});

export const airboxActions = [listAirboxes, createAirbox, getAirbox, updateAirbox, deleteAirbox, uploadToAirbox];
