import { badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import type { TagDictionaryRow } from '../store/metadata-store.js';
import { apiTime } from './serialize.js';
import { bodyObject, intParam, objectField, stringParam } from './params.js';

function tagObject(row: TagDictionaryRow): Record<string, unknown> {
  return {
    uuid: row.uuid,
    sid: row.sid,
    slug: row.slug,
    names: JSON.parse(row.names) as unknown,
    primary: row.primary_lang,
    created_at: apiTime(row.created_at),
    updated_at: apiTime(row.updated_at),
  };
}

function listTags(call: Call): Record<string, unknown> {
  const limit = intParam(call.query.limit, 'limit', { min: 1, max: 4000, fallback: 1000 });
  const offset = intParam(call.query.offset, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
  const { tags, total } = call.ctx.store.listTags(stringParam(call.query.q ?? call.query.search, 'q', 255), limit, offset);
  return { tags: tags.map(tagObject), total, limit, offset };
}

function createTag(call: Call): Record<string, unknown> {
  const body = bodyObject(call.body);
  const tag = objectField(body.tag, 'tag');
  const names = objectField(tag.names, 'tag.names') as Record<string, unknown>;
  if (Object.values(names).some((v) => typeof v !== 'string' || v.trim() === '')) {
    throw badRequest('INVALID_PARAMETER', '"tag.names" must map languages to labels.', 'Example: {"tag": {"names": {"en": "Summer"}}}');
  }
  const primary = typeof tag.primary === 'string' ? tag.primary : Object.keys(names)[0] ?? 'en';
  const slug = typeof tag.slug === 'string' && tag.slug ? tag.slug : String(names[primary] ?? '');
  if (!slug) throw badRequest('INVALID_PARAMETER', 'A tag needs "tag.slug" or at least one label in "tag.names".');
  return { tag: tagObject(call.ctx.store.createTag(slug, names as Record<string, string>, primary)) };
}

export const tagRoutes: RouteSpec[] = [
  { method: 'GET', path: '/tags', versions: ['v5'], permissions: ['OBJECTS_LIST'], summary: 'Tag dictionary', handler: listTags },
  // The docs print this one without a version segment; the versioned form is accepted too.
  { method: 'POST', path: '/tags', versions: [], permissions: ['FILE_META_CHANGE'], summary: 'Create a tag in the dictionary', handler: createTag },
  { method: 'POST', path: '/tags', versions: ['v5'], permissions: ['FILE_META_CHANGE'], summary: 'Create a tag in the dictionary', handler: createTag },
];
