import { ApiError, badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import { checkName, normalizeFolderPath } from '../store/names.js';
import { checkMeta, MAX_LIMIT } from './file-routes.js';
import { bodyObject, boolParam, intParam, single, sortParam, stringParam, uuidList, uuidParam } from './params.js';
import { folderObject } from './serialize.js';

// `filename` is the files' sort field, which clients send for folders too (the PHP library's default
// is `order=filename,desc`): a folder's filename is its name.
const FOLDER_SORT: Record<string, string> = {
  name: 'name',
  filename: 'name',
  path: 'path',
  created_at: 'created_at',
  created: 'created_at',
  modified_at: 'updated_at',
  updated_at: 'updated_at',
  updated: 'updated_at',
};

function withCounts(call: Call, uuid: string): Record<string, unknown> {
  const folder = call.ctx.store.requireFolder(uuid);
  return folderObject(call.url, folder, call.ctx.store.folderCounts(folder));
}

function listFolders(call: Call): Record<string, unknown> {
  const { query, ctx, url } = call;
  const folder = normalizeFolderPath(single(query.folder) ?? '/', 'folder');
  const limit = intParam(query.limit, 'limit', { min: 1, max: MAX_LIMIT, fallback: 1000 });
  const offset = intParam(query.offset, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
  const result = ctx.store.listFolders({
    folder,
    recursive: boolParam(query.recursive, 'recursive'),
    nameLike: stringParam(query.q, 'q', 255),
    orderBy: sortParam(query, FOLDER_SORT, 'name ASC'),
    limit,
    offset,
  });
  const base = ctx.store.folderByPath(folder);
  const counts = ctx.store.folderCountsMany(result.folders);
  return {
    type: 'LIST',
    base: base ? folderObject(url, base, ctx.store.folderCounts(base)) : null,
    folders: result.folders.map((f) => folderObject(url, f, counts.get(f.id))),
    warnings: base ? [] : [`The folder ${folder} does not exist.`],
    total: result.total,
    limit,
    offset,
    info: { total_folders_count: result.total },
  };
}

function createFolder(call: Call): Record<string, unknown> {
  const body = bodyObject(call.body);
  if (typeof body.name !== 'string') throw badRequest('INVALID_PARAMETER', '"name" must be the full path of the new folder.', 'Example: {"name": "/photos/2024"}');
  const path = normalizeFolderPath(body.name, 'name');
  if (path === '/') throw badRequest('INVALID_FOLDER', '"name" must name a folder below the root, such as /photos.');
  // The PyPI client maps a 403 on create to "folder already exists" (docs/api-fidelity.md); the code
  // stays the API's name-clash code, so clients that match on it still see a conflict.
  if (call.ctx.store.folderByPath(path)) {
    throw new ApiError(403, 'E801_ALREADY_EXIST', `The folder ${path} already exists.`, 'Use the existing folder (GET /folders?folder=<parent>), or pick another name.');
  }
  const folder = call.ctx.store.createFolder(path);
  return { action: 'folder_created', folder_uuid: folder.uuid, folder: withCounts(call, folder.uuid) };
}

function renameFolder(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const body = bodyObject(call.body);
  const folder = call.ctx.store.renameFolder(uuid, checkName(body.name));
  return { action: 'folder_renamed', folder_uuid: folder.uuid, folder: withCounts(call, uuid) };
}

function moveFolders(call: Call, uuids: string[], destUuid?: string, destPath?: string): Record<string, unknown> {
  const { store } = call.ctx;
  const dest = destUuid ? store.requireFolder(destUuid) : store.ensureFolder(destPath!);
  const folders = store.moveFolders(uuids, dest);
  return {
    action: 'folders_moved',
    folders_uuids: uuids,
    new_folder_uuid: dest.uuid,
    folders: folders.map((f) => withCounts(call, f.uuid)),
  };
}

function deleteFolder(call: Call): Promise<Record<string, unknown>> | Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const result = call.ctx.store.deleteFolder(uuid);
  return call.ctx.reclaimBlobs().then(() => ({
    action: 'folder_deleted',
    folder_uuid: uuid,
    deleted: { files: result.files, folders: result.folders },
  }));
}

function folderMeta(call: Call, mode: 'replace' | 'merge'): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const body = bodyObject(call.body);
  if (body.meta === undefined) throw badRequest('INVALID_PARAMETER', '"meta" is required.', 'Example: {"meta": {"owner": "marketing"}}');
  const folder = call.ctx.store.setFolderMeta(uuid, checkMeta(body.meta), mode);
  return { action: 'folder_meta_updated', folder_uuid: uuid, meta: JSON.parse(folder.meta) as unknown };
}

export const folderRoutes: RouteSpec[] = [
  { method: 'GET', path: '/folders', versions: ['v4', 'v5'], permissions: ['OBJECTS_FETCH'], summary: 'List and search folders', handler: listFolders },
  {
    method: 'GET', path: '/folders/:uuid', versions: ['v4', 'v5'], permissions: ['OBJECTS_FETCH'], summary: 'Folder details',
    handler: (call) => ({ folder: withCounts(call, uuidParam(call.params.uuid, 'uuid')) }),
  },
  { method: 'POST', path: '/folders', versions: ['v4', 'v5'], permissions: ['DIR_CREATE'], summary: 'Create a folder by path', handler: createFolder },
  { method: 'PATCH', path: '/folders/:uuid', versions: ['v4', 'v5'], permissions: ['DIR_RENAME'], summary: 'Rename a folder', handler: renameFolder },
  {
    method: 'PUT', path: '/folders/:uuid/folders/:dest_uuid', versions: ['v4', 'v5'], permissions: ['DIR_MOVE'], summary: 'Move one folder',
    handler: (call) => moveFolders(call, [uuidParam(call.params.uuid, 'uuid')], uuidParam(call.params.dest_uuid, 'dest_uuid')),
  },
  {
    method: 'POST', path: '/folders/move', versions: ['v4', 'v5'], permissions: ['DIR_MOVE'], summary: 'Move many folders',
    handler: (call) => {
      const body = bodyObject(call.body);
      const uuids = uuidList(body.folders_uuids, 'folders_uuids');
      if (typeof body.new_folder_uuid === 'string') return moveFolders(call, uuids, uuidParam(body.new_folder_uuid, 'new_folder_uuid'));
      return moveFolders(call, uuids, undefined, normalizeFolderPath(body.new_folder_name, 'new_folder_name'));
    },
  },
  { method: 'DELETE', path: '/folders/:uuid', versions: ['v4', 'v5'], permissions: ['DIR_DELETE'], summary: 'Delete a folder and all it holds', handler: deleteFolder },
  { method: 'PUT', path: '/folder/:uuid/meta', versions: ['v4', 'v5'], permissions: ['DIR_META_CHANGE'], summary: 'Replace folder metadata', handler: (c) => folderMeta(c, 'replace') },
  { method: 'PATCH', path: '/folder/:uuid/meta', versions: ['v4', 'v5'], permissions: ['DIR_META_CHANGE'], summary: 'Merge into folder metadata', handler: (c) => folderMeta(c, 'merge') },
  {
    method: 'DELETE', path: '/folder/:uuid/meta', versions: ['v4', 'v5'], permissions: ['DIR_META_CHANGE'], summary: 'Remove all folder metadata',
    handler: (call) => {
      const uuid = uuidParam(call.params.uuid, 'uuid');
      call.ctx.store.setFolderMeta(uuid, {}, 'replace');
      return { action: 'folder_meta_deleted', folder_uuid: uuid, meta: {} };
    },
  },
  {
    method: 'PUT', path: '/folder/:uuid/meta/:key/:value', versions: ['v4', 'v5'], permissions: ['DIR_META_CHANGE'], summary: 'Set one folder metadata value',
    handler: (call) => {
      const uuid = uuidParam(call.params.uuid, 'uuid');
      const meta = checkMeta({ [call.params.key ?? '']: call.params.value ?? '' });
      const folder = call.ctx.store.setFolderMeta(uuid, meta, 'merge');
      return { action: 'folder_meta_updated', folder_uuid: uuid, meta: JSON.parse(folder.meta) as unknown };
    },
  },
];
