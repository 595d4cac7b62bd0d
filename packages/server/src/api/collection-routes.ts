import { badRequest } from '../errors.js';
import type { ServerContext } from '../context.js';
import type { Call, RouteSpec } from '../http/route.js';
import { compileSearch, type CompiledSearch } from '../search/query.js';
import type { Collection, CollectionFolder } from '../store/collections.js';
import { bodyObject, objectField, single, stringParam, uuidParam } from './params.js';
import { apiTime } from './serialize.js';

const IDENT = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const MAX_FOLDERS = 200;
const MAX_DEPTH = 5;

function collectionObject(c: Collection): Record<string, unknown> {
  return {
    uuid: c.uuid,
    title: c.title,
    type: c.type,
    visibility: c.visibility,
    query: c.query,
    created_at: apiTime(c.created_at),
    updated_at: apiTime(c.updated_at),
  };
}

/** `f64` as the asset picker passes it back: the folder's search, base64url-encoded. */
const encodeFilters = (query: string): string => Buffer.from(query, 'utf8').toString('base64url');

function decodeFilters(f64: string): string {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(f64)) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"f64" must be the base64 "filters" string of a collection folder.',
      'Take it from GET /v5/collections/{uuid}/folders.',
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(f64, 'base64'));
  } catch {
    throw badRequest(
      'INVALID_PARAMETER',
      '"f64" does not decode to text.',
      'Take it from GET /v5/collections/{uuid}/folders.',
    );
  }
}

/** A search the collection's saved query (and an optional folder's `f64` filters) adds to a file listing. */
export function collectionSearch(ctx: ServerContext, collectionUuid: unknown, f64: unknown): CompiledSearch {
  const collection = ctx.catalog.collections.require(uuidParam(single(collectionUuid), 'collection_uuid'));
  const parts = [collection.query];
  const filters = stringParam(f64, 'f64', 8000);
  if (filters) parts.push(decodeFilters(filters));
  const compiled = parts.filter((p) => p.trim() !== '').map((p) => compileSearch(p));
  if (compiled.length === 0) return { where: '1', params: [] };
  return {
    where: compiled.map((c) => `(${c.where})`).join(' AND '),
    params: compiled.flatMap((c) => c.params),
  };
}

function checkQuery(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string')
    throw badRequest(
      'INVALID_PARAMETER',
      `"${field}" must be a search expression (the q grammar of GET /v5/files).`,
    );
  try {
    compileSearch(value);
  } catch (error) {
    const e = error as { message?: string; hint?: string };
    throw badRequest(
      'INVALID_QUERY',
      `"${field}" is not a valid search: ${e.message ?? String(error)}`,
      e.hint,
    );
  }
  return value;
}

function parseFolders(value: unknown, at: string, depth: number, count: { n: number }): CollectionFolder[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw badRequest('INVALID_PARAMETER', `"${at}" must be an array of {name, filters, children?}.`);
  if (depth > MAX_DEPTH)
    throw badRequest('INVALID_PARAMETER', `"${at}" nests folders deeper than ${MAX_DEPTH} levels.`);
  const names = new Set<string>();
  return value.map((raw, i) => {
    const fat = `${at}[${i}]`;
    const folder = objectField(raw, fat);
    if (
      typeof folder.name !== 'string' ||
      folder.name.trim() === '' ||
      folder.name.length > 255 ||
      folder.name.includes('/')
    ) {
      throw badRequest('INVALID_PARAMETER', `"${fat}.name" must be a name of 1-255 characters without "/".`);
    }
    if (names.has(folder.name))
      throw badRequest(
        'INVALID_PARAMETER',
        `"${fat}.name" ${JSON.stringify(folder.name)} appears twice at this level.`,
      );
    names.add(folder.name);
    if (++count.n > MAX_FOLDERS)
      throw badRequest('INVALID_PARAMETER', `A collection holds at most ${MAX_FOLDERS} folders.`);
    const query = checkQuery(folder.filters ?? folder.query, `${fat}.filters`);
    const children = parseFolders(folder.children, `${fat}.children`, depth + 1, count);
    if (query === '' && children.length === 0) {
      throw badRequest(
        'INVALID_PARAMETER',
        `"${fat}" has neither "filters" nor "children"; it would show nothing.`,
        'Example: {"name": "Shoes", "filters": "category:shoes"}',
      );
    }
    return { name: folder.name, query, children };
  });
}

function folderTree(folders: CollectionFolder[], parent: string): Array<Record<string, unknown>> {
  return folders.map((f) => {
    const path = `${parent}/${f.name}`;
    return {
      name: f.name,
      path,
      filters: f.query ? encodeFilters(f.query) : '',
      children: f.children.length > 0 ? folderTree(f.children, path) : null,
    };
  });
}

function ident(value: unknown, field: string, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || !IDENT.test(value)) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"${field}" must be a short name (letters, digits, "_" or "-", at most 32), e.g. "${fallback}".`,
    );
  }
  return value;
}

function checkTitle(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 255) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"title" must be a title of 1-255 characters.',
      'Example: {"title": "Summer campaign", "query": "#summer"}',
    );
  }
  return value.trim();
}

function createCollection(call: Call): Record<string, unknown> {
  const body = bodyObject(call.body);
  const title = checkTitle(body.title);
  const query = checkQuery(body.query ?? body.q, 'query');
  const folders = parseFolders(body.folders, 'folders', 1, { n: 0 });
  const collection = call.ctx.catalog.collections.create({
    title,
    type: ident(body.type, 'type', 'dynamic'),
    visibility: ident(body.visibility, 'visibility', 'private'),
    query,
    folders,
  });
  return { action: 'collection_created', collection: collectionObject(collection) };
}

const UPDATABLE = ['title', 'type', 'visibility', 'query', 'q', 'folders'];

/**
 * Inferred (the reference found no collection writes): changes the fields given, each checked as
 * on creation; `query: null` (or "") drops the collection-wide search, `folders` replaces the tree.
 */
function updateCollection(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const body = bodyObject(call.body);
  const { collections } = call.ctx.catalog;
  const current = collections.require(uuid);
  const unknown = Object.keys(body).filter((k) => !UPDATABLE.includes(k));
  if (unknown.length > 0) {
    throw badRequest(
      'INVALID_PARAMETER',
      `Unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; a collection update takes ${UPDATABLE.filter((k) => k !== 'q').join(', ')}.`,
      'Example: {"title": "Summer 2026", "query": "#summer"}',
    );
  }
  if (body.query !== undefined && body.q !== undefined)
    throw badRequest('INVALID_PARAMETER', 'Send "query" or "q", not both.');
  const changes: Parameters<typeof collections.update>[1] = {};
  if (body.title !== undefined) changes.title = checkTitle(body.title);
  if (body.type !== undefined) changes.type = ident(body.type, 'type', current.type);
  if (body.visibility !== undefined) changes.visibility = ident(body.visibility, 'visibility', current.visibility);
  if (body.query !== undefined || body.q !== undefined) changes.query = checkQuery(body.query ?? body.q, 'query');
  if (body.folders !== undefined) changes.folders = parseFolders(body.folders, 'folders', 1, { n: 0 });
  if (Object.keys(changes).length === 0) {
    throw badRequest(
      'INVALID_PARAMETER',
      `Nothing to change: send at least one of ${UPDATABLE.filter((k) => k !== 'q').join(', ')}.`,
      'Example: {"title": "Summer 2026"}',
    );
  }
  const collection = collections.update(uuid, changes);
  return { action: 'collection_updated', collection_uuid: uuid, collection: collectionObject(collection) };
}

export const collectionRoutes: RouteSpec[] = [
  {
    method: 'GET',
    path: '/collections',
    versions: ['v5'],
    permissions: ['COLLECTIONS_LIST'],
    summary: 'List collections',
    handler: (call) => {
      const collections = call.ctx.catalog.collections.list();
      return { collections: collections.map(collectionObject), total: collections.length };
    },
  },
  {
    method: 'GET',
    path: '/collections/:uuid/folders',
    versions: ['v5'],
    permissions: ['COLLECTIONS_LIST'],
    summary: 'Virtual folders of a collection',
    handler: (call) => {
      const collection = call.ctx.catalog.collections.require(uuidParam(call.params.uuid, 'uuid'));
      return { collection_uuid: collection.uuid, folders: folderTree(collection.folders, '') };
    },
  },
  // Inferred: the reference found no collection writes (§1 "not found", §3.15).
  {
    method: 'POST',
    path: '/collections',
    versions: ['v5'],
    permissions: ['COLLECTIONS_MANAGE'],
    summary: 'Create a dynamic collection (inferred)',
    handler: createCollection,
  },
  {
    method: 'PATCH',
    path: '/collections/:uuid',
    versions: ['v5'],
    permissions: ['COLLECTIONS_MANAGE'],
    summary: 'Change the title, visibility, search or folders of a collection (inferred)',
    handler: updateCollection,
  },
  {
    method: 'DELETE',
    path: '/collections/:uuid',
    versions: ['v5'],
    permissions: ['COLLECTIONS_MANAGE'],
    summary: 'Delete a collection (inferred)',
    handler: (call) => {
      const collection = call.ctx.catalog.collections.delete(uuidParam(call.params.uuid, 'uuid'));
      return { action: 'collection_deleted', collection_uuid: collection.uuid };
    },
  },
];
