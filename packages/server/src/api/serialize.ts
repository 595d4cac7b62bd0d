import type { FileWithFolder, FolderRow } from '../store/rows.js';
import { parseObject, type FolderCounts } from '../store/metadata-store.js';
import { joinPath } from '../store/names.js';

export type ApiVersion = 'v4' | 'v5';

/** Where this server is reached and for which project: every URL in a reply derives from it. */
export interface UrlContext {
  base: string;
  token: string;
  version: ApiVersion;
}

/** "37.46 KB": the API's 1024-based size with two decimals. */
export function prettySize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(2)} ${units[unit]}`;
}

/** The API prints UTC seconds with a `Z`; we keep milliseconds internally for ordering. */
export function apiTime(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, 'Z');
}

export function encodePath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

export function filePath(file: FileWithFolder): string {
  return joinPath(file.folder_path, file.name);
}

export function cdnUrl(ctx: UrlContext, file: FileWithFolder): string {
  return `${ctx.base}/${ctx.token}/cdn${encodePath(filePath(file))}?vh=${file.sha1.slice(0, 6)}`;
}

function visibility(version: ApiVersion, set: string): unknown {
  const inherited = set === 'inherited';
  if (version === 'v4') {
    const value = inherited ? 'VISIBILITY_INHERIT' : `VISIBILITY_${set.toUpperCase()}`;
    return { value, inherited, set: value, actual: inherited ? 'VISIBILITY_PUBLIC' : value };
  }
  return {
    in_dam: { set, actual: inherited ? 'all_organisation' : set },
    in_cdn: { set, actual: inherited ? 'public' : set },
  };
}

export interface FileObjectOptions {
  /** Upload replies say `blur_hash` and carry `overwrite`; detail replies say `blurhash`. */
  upload?: { overwrite: boolean };
}

export function fileObject(ctx: UrlContext, file: FileWithFolder, options: FileObjectOptions = {}): Record<string, unknown> {
  const path = filePath(file);
  const object: Record<string, unknown> = {
    uuid: file.uuid,
    name: file.name,
    extension: file.extension,
    type: file.type,
    size: { bytes: file.size, pretty: prettySize(file.size) },
    flags: null,
    info: parseObject(file.info),
    meta: parseObject(file.meta),
    tags: parseObject(file.tags),
    labels: safeArray(file.labels),
    relevance: null,
    visibility: visibility(ctx.version, file.visibility),
    is_favorite: null,
    url: {
      public: `${ctx.base}/${ctx.token}/store${encodePath(path)}`,
      permalink: `${ctx.base}/${ctx.token}/${ctx.version}/get/${file.uuid}`,
      cdn: cdnUrl(ctx, file),
      path,
      download: `${ctx.base}/${ctx.token}/${ctx.version}/get/${file.uuid}/download`,
    },
    hash: options.upload ? { sha1: file.sha1, blur_hash: null } : { sha1: file.sha1, blurhash: null },
    created_at: apiTime(file.created_at),
    modified_at: apiTime(file.modified_at),
    folder: { uuid: file.folder_uuid, name: file.folder_path },
    product: { ref: file.product_ref, position: file.product_position },
  };
  if (ctx.version === 'v5') object.owner = null;
  if (options.upload) object.overwrite = options.upload.overwrite;
  return object;
}

export function folderObject(ctx: UrlContext, folder: FolderRow, counts?: FolderCounts): Record<string, unknown> {
  const object: Record<string, unknown> = {
    uuid: folder.uuid,
    name: folder.name,
    path: folder.path,
    meta: parseObject(folder.meta),
    visibility: visibility(ctx.version, folder.visibility),
    created_at: apiTime(folder.created_at),
    updated_at: apiTime(folder.updated_at),
  };
  if (counts) {
    object.count = { files_recursive: counts.filesRecursive, files_direct: counts.filesDirect };
    object.size = { total_recursive_bytes: counts.bytesRecursive, total_recursive_pretty: prettySize(counts.bytesRecursive) };
  }
  return object;
}

function safeArray(text: string): unknown[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}
