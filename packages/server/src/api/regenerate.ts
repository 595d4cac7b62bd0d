import { randomUUID } from 'node:crypto';
import { ApiError, badRequest } from '../errors.js';
import type { Call } from '../http/route.js';
import { now } from '../store/metadata-store.js';
import { analyse } from './autotag.js';
import { bodyObject, uuidList } from './params.js';
import { apiTime } from './serialize.js';

/*
 * Regeneration jobs (permission FILE_PROCESS_AUTOTAGGING). The reference (§1 row 48, §3.18) shows
 * `POST {ask-filerobot-server}/regenerate/{job}` with `{uuids:[...]}` replying 201, for jobs such
 * as remove-background, brand-detection, dominant-color, face-analysis and face-count, on a host it
 * does not know. This server answers at `/{token}/ask/regenerate/{job}` the jobs it can compute
 * honestly from the pixels, with sharp and no AI; the others are a 400 naming the ones served.
 * The job runs before the reply: its object (inferred design) carries each file's result.
 */

/** The jobs served, and what each stores in the file's `info`. */
export const REGENERATE_JOBS = ['dominant-color'] as const;
type Job = (typeof REGENERATE_JOBS)[number];

/** Jobs the reference names that need a trained model, which this server does not have. */
const MODEL_JOBS = ['remove-background', 'brand-detection', 'face-analysis', 'face-count'];

/** Most files one job takes: each is decoded (downscaled to 128×128) before the reply. */
export const MAX_REGENERATE_FILES = 100;

const HINT = 'Example: POST /{token}/ask/regenerate/dominant-color {"uuids": ["<file uuid>"]}';

type FileResult =
  | { file_uuid: string; status: 'done'; info: Record<string, unknown> }
  | { file_uuid: string; status: 'error'; code: string; msg: string };

function jobName(raw: string | undefined): Job {
  const job = (raw ?? '').toLowerCase();
  if ((REGENERATE_JOBS as readonly string[]).includes(job)) return job as Job;
  const why = MODEL_JOBS.includes(job)
    ? `"${job}" needs a trained model, which this local server does not have`
    : `"${raw ?? ''}" is not a regeneration job this server knows`;
  throw new ApiError(
    400,
    'JOB_NOT_SUPPORTED',
    `${why}; it computes ${REGENERATE_JOBS.join(', ')} from the pixels.`,
    HINT,
    { supported_jobs: [...REGENERATE_JOBS] },
  );
}

/** dominant-color: the most common named colour's mean and the colours covering at least 1% of the image. */
async function dominantColor(call: Call, uuid: string): Promise<FileResult> {
  const { store } = call.ctx;
  const file = store.fileByUuid(uuid);
  if (!file) return { file_uuid: uuid, status: 'error', code: 'FILE_NOT_FOUND', msg: `No file has the uuid ${uuid}.` };
  let analysis: Record<string, unknown>;
  try {
    analysis = (await analyse(call, file, 'dominant-color')).analysis;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { file_uuid: uuid, status: 'error', code: error.code, msg: error.message };
  }
  const info = { dominant_color: analysis.dominant_color ?? null, main_colors: analysis.main_colors ?? [] };
  // The bytes may have been replaced (or the file deleted) while they were read: store nothing then.
  const stored = store.transaction(() => {
    const current = store.fileByUuid(uuid);
    if (!current) return 'FILE_NOT_FOUND';
    if (current.sha1 !== file.sha1) return 'FILE_CHANGED';
    store.updateFileInfo(uuid, info);
    return 'done';
  });
  if (stored === 'FILE_NOT_FOUND')
    return { file_uuid: uuid, status: 'error', code: stored, msg: `The file ${uuid} was deleted while it was analysed.` };
  if (stored === 'FILE_CHANGED')
    return { file_uuid: uuid, status: 'error', code: stored, msg: `The content of ${uuid} changed while it was analysed; run the job again.` };
  return { file_uuid: uuid, status: 'done', info };
}

/** `POST /{token}/ask/regenerate/{job}` `{uuids:[...]}` → 201 `{action, job}`. */
export async function regenerate(call: Call): Promise<Record<string, unknown>> {
  const job = jobName(call.params.job);
  const body = bodyObject(call.body);
  if (body.uuids === undefined) throw badRequest('INVALID_PARAMETER', '"uuids" is required: the files to process.', HINT);
  const uuids = uuidList(body.uuids, 'uuids', MAX_REGENERATE_FILES);
  const createdAt = now();
  const results: FileResult[] = [];
  // One file at a time: decoding is CPU-bound, and the reply waits for all of them anyway.
  for (const uuid of uuids) results.push(await dominantColor(call, uuid));
  const done = results.filter((r) => r.status === 'done').length;
  call.reply.code(201);
  return {
    action: 'regeneration_completed',
    job: {
      uuid: randomUUID(),
      type: job,
      status: done === results.length ? 'done' : done === 0 ? 'failed' : 'partial',
      files_uuids: uuids,
      results,
      info: { files_count: results.length, done_count: done, failed_count: results.length - done },
      created_at: apiTime(createdAt),
      finished_at: apiTime(now()),
    },
  };
}
