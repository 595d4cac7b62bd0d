import { z } from 'zod';
import { defineAction } from '../action.js';
import { fileObject, meta, name, uuid, uuidList } from '../schemas.js';

/*
 * Two more file operations of the reference: the legacy v4 update (§1 row 17, §3.9) and the
 * regeneration jobs of the ASK server (§1 row 48, §3.18). Kept apart from files.ts, which
 * holds the everyday file actions; both are in the `files` group.
 */

const group = 'files';

export const updateFileLegacy = defineAction({
  id: 'files.update-legacy',
  title: 'Rename a file and set its metadata (legacy v4)',
  description:
    'The legacy v4 form PATCH /v4/files/{uuid} {name, meta}: renames and merges metadata (null removes a key) in one call. ' +
    'The name is required and must differ from the current one: the API checks it for uniqueness even when unchanged ' +
    '(409 E801_ALREADY_EXIST, as caradvice found), so a metadata change this way always renames. ' +
    'Prefer files.rename plus meta.update: meta.update changes metadata without renaming or touching the file, and the current name is no obstacle.',
  group,
  permissions: ['FILE_RENAME'],
  alsoNeeds: [{ permission: 'FILE_META_CHANGE', when: '"meta" is given' }],
  kind: 'write',
  // A second run sends a name the file now has: a ConflictError.
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({
    uuid: uuid(),
    name: name('new name (must differ from the current one)'),
    meta: meta.optional(),
  }),
  output: z.strictObject({
    file: fileObject,
    meta: z.record(z.string(), z.unknown()).describe('The metadata after the change.'),
    changed: z.array(z.enum(['name', 'meta'])),
  }),
  example: (seed) => ({ uuid: seed.files.legacyUpdate, name: 'updated-legacy.jpg', meta: { title: { en: 'Updated the v4 way' } } }),
  run: async ({ client, signal }, input) => {
    const result = await client.files.update(input.uuid, { name: input.name, meta: input.meta }, { signal });
    return {
      file: result.file,
      meta: result.meta,
      changed: input.meta === undefined ? ['name' as const] : ['name' as const, 'meta' as const],
    };
  },
});

const regenerationResult = z.looseObject({
  file_uuid: z.string(),
  status: z.string().describe('"done", or "error" with code and msg.'),
  info: z.record(z.string(), z.unknown()).optional().describe('What the job stored in the file\'s info.'),
  code: z.string().optional(),
  msg: z.string().optional(),
});

export const regenerateFiles = defineAction({
  id: 'files.regenerate',
  title: 'Run a regeneration job on files',
  description:
    'Runs an ASK regeneration job (POST {ask}/regenerate/{job} {uuids}) and reports each file\'s outcome; files it could not process are listed, not thrown. ' +
    'The sfx server computes dominant-color from the pixels and stores info.dominant_color and info.main_colors; ' +
    'jobs that need a model (remove-background, brand-detection, face-analysis, face-count) are refused with JOB_NOT_SUPPORTED. ' +
    'Inferred endpoint: the reference shows the request and its 201 on an unknown host; the job object is designed by sfx.',
  group,
  permissions: ['FILE_PROCESS_AUTOTAGGING'],
  kind: 'write',
  // The same pixels give the same colours.
  idempotent: true,
  endpoint: 'inferred',
  input: z.strictObject({
    job: z
      .string({ error: 'must be a string: the job, e.g. "dominant-color".' })
      .regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'must be a job name such as "dominant-color".' })
      .describe('The job: "dominant-color" on the sfx server; the real service lists remove-background, brand-detection, face-analysis, face-count, ...'),
    uuids: uuidList('file uuid', 100).describe('The files to process (at most 100).'),
  }),
  output: z.strictObject({
    job: z.looseObject({
      uuid: z.string(),
      type: z.string(),
      status: z.string().describe('"done" (every file), "partial" or "failed".'),
      files_uuids: z.array(z.string()),
      results: z.array(regenerationResult),
    }),
  }),
  example: (seed) => ({ job: 'dominant-color', uuids: [seed.image.uuid] }),
  run: async ({ client, signal }, input) => ({ job: await client.files.regenerate(input.job, input.uuids, { signal }) }),
});

export const fileChangeActions = [updateFileLegacy, regenerateFiles];
