import { ApiError, badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import type { BulkChange, BulkFileResult, BulkJob } from '../store/bulk.js';
import { parseObject } from '../store/metadata-store.js';
import type { FileTags, FileWithFolder, TagEntry } from '../store/rows.js';
import { checkLang } from '../store/settings.js';
import { MAX_META_BYTES } from './file-routes.js';
import { bodyObject, objectField, uuidList, uuidParam } from './params.js';
import { apiTime } from './serialize.js';

const CHANGE_TYPES = ['tags.add', 'tags.del', 'meta.replace', 'labels.add', 'labels.del'] as const;
const MAX_FILES = 10_000;
const MAX_CHANGES = 100;

function bulkObject(job: BulkJob): Record<string, unknown> {
  const failed = job.results?.filter((r) => r.status === 'error').length ?? 0;
  return {
    uuid: job.uuid,
    status: job.state,
    target: { files_uuids: job.files_uuids },
    changes: job.changes,
    created_at: apiTime(job.created_at),
    committed_at: job.committed_at ? apiTime(job.committed_at) : null,
    results: job.results,
    summary: job.results
      ? { files: job.results.length, succeeded: job.results.length - failed, failed }
      : null,
  };
}

function stringValues(value: unknown, at: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((v) => typeof v !== 'string' || v.trim() === '' || v.length > 255)) {
    throw badRequest(
      'INVALID_BULK_CHANGE',
      `"${at}" must be a non-empty string or an array of them (each at most 255 characters).`,
    );
  }
  return [...new Set((list as string[]).map((v) => v.trim()))];
}

/** Label changes touch FILE_LABEL_CHANGE territory, which the route's FILE_META_CHANGE does not cover. */
function requireLabelPermission(call: Call, changes: BulkChange[]): void {
  if (
    changes.some((c) => c.type.startsWith('labels.')) &&
    !call.principal?.permissions.has('FILE_LABEL_CHANGE')
  ) {
    throw new ApiError(
      403,
      'PERMISSION_DENIED',
      'labels.add and labels.del changes need the FILE_LABEL_CHANGE permission.',
      'Use a key that has FILE_LABEL_CHANGE as well as FILE_META_CHANGE, or drop the label changes.',
    );
  }
}

function parseChange(call: Call, raw: unknown, i: number): BulkChange {
  const at = `bulk.changes[${i}]`;
  const change = objectField(raw, at);
  const type = change.type;
  if (typeof type !== 'string' || !(CHANGE_TYPES as readonly string[]).includes(type)) {
    throw badRequest(
      'INVALID_BULK_CHANGE',
      `"${at}.type" is ${JSON.stringify(type)}; it must be one of ${CHANGE_TYPES.join(', ')}.`,
      'Example: {"type": "tags.add", "value": "#tgbff61"} or {"type": "meta.replace", "key": "warranty", "value": {"en": "2 years"}}',
    );
  }
  const { store, catalog } = call.ctx;
  switch (type) {
    case 'tags.add':
    case 'tags.del': {
      const lang = change.lang === undefined ? undefined : checkLang(String(change.lang));
      const values = stringValues(change.value, `${at}.value`);
      for (const v of values) {
        // '#…' names an existing tag; a plain label is created in the dictionary on commit (tags.add).
        if (v.startsWith('#') && !store.resolveTag(v, lang ?? 'en', false)) {
          throw badRequest(
            'UNKNOWN_TAG',
            `"${at}.value" names the tag ${JSON.stringify(v)}, which is not in the tag dictionary.`,
            'Use a sid from GET /v5/tags, or a plain label without "#" to create the tag.',
          );
        }
      }
      return type === 'tags.add'
        ? { type, value: values, lang: lang ?? 'en' }
        : { type, value: values, ...(lang ? { lang } : {}) };
    }
    case 'meta.replace': {
      const key = change.key;
      if (typeof key !== 'string' || key.length === 0 || key.length > 256 || /[\u0000-\u001f]/.test(key)) {
        throw badRequest(
          'INVALID_BULK_CHANGE',
          `"${at}.key" must name the metadata key to replace (1-256 characters).`,
          'Example: {"type": "meta.replace", "key": "warranty", "value": {"en": "2 years"}}',
        );
      }
      if (!('value' in change))
        throw badRequest('INVALID_BULK_CHANGE', `"${at}.value" is required; send null to remove the key.`);
      if (Buffer.byteLength(JSON.stringify(change.value)) > MAX_META_BYTES) {
        throw badRequest('META_TOO_LARGE', `"${at}.value" is larger than ${MAX_META_BYTES} bytes of JSON.`);
      }
      return { type, key, value: change.value };
    }
    default: {
      const sids = stringValues(change.value, `${at}.value`).map((v) => (v.startsWith('#') ? v : `#${v}`));
      for (const sid of sids) {
        if (!catalog.labels.bySid(sid)) {
          throw badRequest(
            'UNKNOWN_LABEL',
            `"${at}.value" names the label ${JSON.stringify(sid)}, which does not exist.`,
            'Use a sid from GET /v5/labels, or create the label with POST /v5/labels first.',
          );
        }
      }
      return { type: type as 'labels.add' | 'labels.del', value: sids };
    }
  }
}

function prepare(call: Call): Record<string, unknown> {
  const body = bodyObject(call.body);
  if (body.bulk === undefined) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"bulk" is required.',
      'Example: {"bulk": {"target": {"files_uuids": ["<uuid>"]}, "changes": [{"type": "tags.add", "value": "#tgbff61"}]}}',
    );
  }
  const bulk = objectField(body.bulk, 'bulk');
  const target = objectField(bulk.target, 'bulk.target');
  // The docs spell it both ways (reference §3.12).
  const uuids = uuidList(target.files_uuids ?? target.file_uuids, 'bulk.target.files_uuids', MAX_FILES);
  if (!Array.isArray(bulk.changes) || bulk.changes.length === 0) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"bulk.changes" must be a non-empty array of changes.',
      'Example: [{"type": "tags.add", "value": "#tgbff61"}]',
    );
  }
  if (bulk.changes.length > MAX_CHANGES)
    throw badRequest(
      'INVALID_PARAMETER',
      `"bulk.changes" holds ${bulk.changes.length} changes; at most ${MAX_CHANGES} are accepted.`,
    );
  const changes = bulk.changes.map((raw, i) => parseChange(call, raw, i));
  requireLabelPermission(call, changes);
  const missing = uuids.filter((uuid) => !call.ctx.store.fileByUuid(uuid));
  if (missing.length > 0) {
    throw new ApiError(
      404,
      'FILE_NOT_FOUND',
      `${missing.length} of the target files do not exist.`,
      'Remove the uuids listed in "not_found_uuids" and prepare again.',
      { not_found_uuids: missing },
    );
  }
  const job = call.ctx.catalog.bulk.prepare(uuids, changes);
  return { bulk_uuid: job.uuid, bulk: bulkObject(job) };
}

function fileLabels(file: FileWithFolder): string[] {
  try {
    const value: unknown = JSON.parse(file.labels);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/** Applies every change to every target file; runs inside the bulk store's commit transaction. */
function applyJob(call: Call, job: BulkJob): BulkFileResult[] {
  const { store, catalog } = call.ctx;
  // Tags named by label are resolved (and created) once for the whole job, not once per file.
  const resolved = new Map<BulkChange, TagEntry[]>();
  for (const change of job.changes) {
    if (change.type === 'tags.add') {
      resolved.set(
        change,
        change.value.flatMap((v) => store.resolveTag(v, change.lang, true) ?? []),
      );
    } else if (change.type === 'tags.del') {
      resolved.set(
        change,
        change.value.flatMap((v) => store.resolveTag(v, change.lang ?? 'en', false) ?? []),
      );
    }
  }
  const results: BulkFileResult[] = [];
  for (const uuid of job.files_uuids) {
    let file = store.fileByUuid(uuid);
    if (!file) {
      results.push({
        file_uuid: uuid,
        status: 'error',
        code: 'FILE_NOT_FOUND',
        msg: `The file ${uuid} was deleted after the bulk change was prepared.`,
      });
      continue;
    }
    for (const change of job.changes) {
      switch (change.type) {
        case 'tags.add': {
          const tags = parseObject(file.tags) as FileTags;
          const list = tags[change.lang] ?? [];
          for (const entry of resolved.get(change) ?? [])
            if (!list.some((t) => t.sid === entry.sid)) list.push(entry);
          if (list.length > 0) tags[change.lang] = list;
          file = store.setFileTags(uuid, tags);
          break;
        }
        case 'tags.del': {
          const entries = resolved.get(change) ?? [];
          const sids = new Set(entries.map((e) => e.sid));
          const labels = new Set(change.value.map((v) => v.replace(/^#/, '').toLowerCase()));
          const tags = parseObject(file.tags) as FileTags;
          for (const lang of Object.keys(tags)) {
            if (change.lang && lang !== change.lang) continue;
            const kept = (tags[lang] ?? []).filter(
              (t) => !sids.has(t.sid) && !labels.has(t.label.toLowerCase()),
            );
            if (kept.length > 0) tags[lang] = kept;
            else delete tags[lang];
          }
          file = store.setFileTags(uuid, tags);
          break;
        }
        case 'meta.replace': {
          file = store.updateFileMeta(uuid, { [change.key]: change.value }, 'merge');
          if (Buffer.byteLength(file.meta) > MAX_META_BYTES) {
            throw badRequest(
              'META_TOO_LARGE',
              `Replacing "${change.key}" would make the metadata of file ${uuid} larger than ${MAX_META_BYTES} bytes; nothing was changed.`,
            );
          }
          break;
        }
        case 'labels.add':
        case 'labels.del': {
          const current = fileLabels(file);
          const next =
            change.type === 'labels.add'
              ? [...current, ...change.value.filter((sid) => !current.includes(sid))]
              : current.filter((sid) => !change.value.includes(sid));
          catalog.labels.setFileLabels(file.id, next);
          file = store.requireFile(uuid);
          break;
        }
      }
    }
    results.push({ file_uuid: uuid, status: 'success' });
  }
  return results;
}

function commit(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.bulk_uuid, 'bulk_uuid');
  const { bulk } = call.ctx.catalog;
  requireLabelPermission(call, bulk.require(uuid).changes);
  const job = bulk.commit(uuid, (staged) => applyJob(call, staged));
  return { action: 'bulk_committed', bulk_uuid: uuid, bulk: bulkObject(job) };
}

export const bulkRoutes: RouteSpec[] = [
  {
    method: 'PUT',
    path: '/bulk/prepare',
    versions: ['v5'],
    permissions: ['FILE_META_CHANGE'],
    summary: 'Stage tag, metadata and label changes for many files',
    handler: prepare,
  },
  // Our extensions: the reference shows only the prepare step.
  {
    method: 'POST',
    path: '/bulk/:bulk_uuid/commit',
    versions: ['v5'],
    permissions: ['FILE_META_CHANGE'],
    summary: 'Apply a staged bulk change in one transaction (extension)',
    handler: commit,
  },
  {
    method: 'GET',
    path: '/bulk/:bulk_uuid',
    versions: ['v5'],
    permissions: ['FILE_META_CHANGE'],
    summary: 'State and per-file results of a bulk change (extension)',
    handler: (call) => ({
      bulk: bulkObject(call.ctx.catalog.bulk.require(uuidParam(call.params.bulk_uuid, 'bulk_uuid'))),
    }),
  },
];
