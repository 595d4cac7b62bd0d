import { ApiError, badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import { parseVisibility, setFileVisibility, setFolderVisibility } from '../store/visibility.js';
import { autotagAsk, autotagFile } from './autotag.js';
import { editImage } from './image-edit.js';
import { bodyObject, uuidParam } from './params.js';
import { regenerate } from './regenerate.js';
import { fileObject, folderObject } from './serialize.js';

/*
 * Operations the reference could not find an endpoint for (reference §1, rows "not found"):
 * designed in the API's style (path shapes of the neighbouring routes, `action` + object in the
 * reply) and marked as inferred in docs/server.md. A client written against these may need changes
 * against the real API.
 */

function fileVisibility(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const body = bodyObject(call.body);
  const { store } = call.ctx;
  store.requireFile(uuid);
  const visibility = parseVisibility(body.visibility);
  const file = store.transaction(() => {
    setFileVisibility(store.db, store.requireFile(uuid).id, visibility);
    return store.requireFile(uuid);
  });
  return { action: 'file_visibility_updated', file_uuid: uuid, file: fileObject(call.url, file) };
}

function folderVisibility(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const body = bodyObject(call.body);
  const { store } = call.ctx;
  const folder = store.requireFolder(uuid);
  if (folder.parent_id === null) {
    throw badRequest(
      'ROOT_FOLDER',
      "The root folder's visibility is the project default and cannot be changed.",
      'Set it on the folders below the root.',
    );
  }
  const visibility = parseVisibility(body.visibility);
  const updated = store.transaction(() => {
    setFolderVisibility(store.db, store.requireFolder(uuid).id, visibility);
    return store.requireFolder(uuid);
  });
  return {
    action: 'folder_visibility_updated',
    folder_uuid: uuid,
    folder: folderObject(call.url, updated, store.folderCounts(updated)),
  };
}

/** Replaces the labels of one file with the sids given; all must exist in the label dictionary. */
function fileLabels(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const body = bodyObject(call.body);
  const { store, catalog } = call.ctx;
  store.requireFile(uuid);
  const value = body.labels;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"labels" must be an array of label sids (an empty array removes them all).',
      'Example: {"labels": ["#lbjh69fya"]}',
    );
  }
  const sids = [...new Set((value as string[]).map((v) => v.trim()))];
  if (sids.length > 1000)
    throw badRequest('INVALID_PARAMETER', `"labels" holds ${sids.length} sids; at most 1000 are accepted.`);
  const unknown = sids.filter((sid) => !catalog.labels.bySid(sid));
  if (unknown.length > 0) {
    throw new ApiError(
      400,
      'LABEL_NOT_FOUND',
      `Unknown label${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`,
      'Use sids from GET /v5/labels, or create the label with POST /v5/labels first.',
      { unknown_labels: unknown },
    );
  }
  const file = store.transaction(() => {
    catalog.labels.setFileLabels(store.requireFile(uuid).id, sids);
    return store.requireFile(uuid);
  });
  return { action: 'labels_updated', file_uuid: uuid, labels: sids, file: fileObject(call.url, file) };
}

export const inferredRoutes: RouteSpec[] = [
  {
    method: 'PUT',
    path: '/files/:uuid/visibility',
    versions: ['v4', 'v5'],
    permissions: ['FILE_SET_VISIBILITY'],
    summary: 'Set the visibility of a file (inferred)',
    handler: fileVisibility,
  },
  {
    method: 'PUT',
    path: '/folders/:uuid/visibility',
    versions: ['v4', 'v5'],
    permissions: ['DIR_SET_VISIBILITY'],
    summary: 'Set the visibility of a folder; files and folders below that inherit follow it (inferred)',
    handler: folderVisibility,
  },
  {
    method: 'PUT',
    path: '/file/:uuid/labels',
    versions: ['v5'],
    permissions: ['FILE_LABEL_CHANGE'],
    summary: 'Replace the labels on a file (inferred)',
    handler: fileLabels,
  },
  {
    method: 'POST',
    path: '/files/:uuid/edit',
    versions: ['v4', 'v5'],
    permissions: ['FILE_IMAGE_EDITOR'],
    summary: 'Crop, rotate, flip, resize or convert an image, saved as a copy or over the original (inferred)',
    handler: editImage,
  },
  {
    method: 'POST',
    path: '/files/:uuid/autotag',
    versions: ['v4', 'v5'],
    permissions: ['FILE_PROCESS_AUTOTAGGING'],
    summary: 'Tag an image from measurements of its pixels: colours, orientation, transparency, size (inferred)',
    handler: autotagFile,
  },
  {
    // The reference's `POST {ask-filerobot-server}/images/autotag`, whose host is unknown, with its body.
    method: 'POST',
    path: '/ask/images/autotag',
    versions: [],
    permissions: ['FILE_PROCESS_AUTOTAGGING'],
    summary: 'Auto-tagging with the reference body {file:{uuid}, meta:{languages, limit, confidence}} (inferred)',
    handler: autotagAsk,
  },
  {
    // The reference's `POST {ask-filerobot-server}/regenerate/{job}` {uuids}, 201; only jobs computable from pixels.
    method: 'POST',
    path: '/ask/regenerate/:job',
    versions: [],
    permissions: ['FILE_PROCESS_AUTOTAGGING'],
    summary: 'Run a regeneration job (dominant-color) on files, storing the result in their info (inferred)',
    handler: regenerate,
  },
];
