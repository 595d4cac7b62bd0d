import type { FileWithFolder, FolderRow } from '../store/rows.js';
import { parseObject, type FolderCounts } from '../store/metadata-store.js';
import { joinPath, parentPath } from '../store/names.js';

export type ApiVersion = 'v4' | 'v5';

/** Where this server is reached and for which project: every URL in a reply derives from it. */
export interface UrlContext {
  base: string;
  token: string;
  version: ApiVersion;
  /** Effective visibility of a folder by path, for `actual`; without it `inherited` means the root's `public`. */
  folderVisibility?: (folderPath: string) => string;
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

const V4_NAMES: Record<string, string> = {
  inherited: 'VISIBILITY_INHERIT',
  public: 'VISIBILITY_PUBLIC',
  organisation: 'VISIBILITY_ORGANISATION',
  private: 'VISIBILITY_PRIVATE',
};
/** v5 splits visibility in two: who sees it in the DAM, and whether the CDN serves it. */
const IN_DAM: Record<string, string> = { inherited: 'inherited', public: 'all_organisation', organisation: 'all_organisation', private: 'private' };
const IN_CDN: Record<string, string> = { inherited: 'inherited', public: 'public', organisation: 'not_public', private: 'not_public' };

/** `set` is what the object itself holds; `actual` what applies once `inherited` is resolved up the folders. */
function visibility(version: ApiVersion, set: string, actual: string): unknown {
  if (version === 'v4') {
    const value = V4_NAMES[set] ?? `VISIBILITY_${set.toUpperCase()}`;
    return { value, inherited: set === 'inherited', set: value, actual: V4_NAMES[actual] ?? `VISIBILITY_${actual.toUpperCase()}` };
  }
  return {
    in_dam: { set: IN_DAM[set] ?? set, actual: IN_DAM[actual] ?? actual },
    in_cdn: { set: IN_CDN[set] ?? set, actual: IN_CDN[actual] ?? actual },
  };
}

function actualVisibility(ctx: UrlContext, set: string, folderPath: string | undefined): string {
  if (set !== 'inherited') return set;
  return folderPath === undefined ? 'public' : (ctx.folderVisibility?.(folderPath) ?? 'public');
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
    visibility: visibility(ctx.version, file.visibility, actualVisibility(ctx, file.visibility, file.folder_path)),
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
    visibility: visibility(ctx.version, folder.visibility, actualVisibility(ctx, folder.visibility, parentOf(folder.path))),
    created_at: apiTime(folder.created_at),
    updated_at: apiTime(folder.updated_at),
  };
  if (counts) {
    object.count = { files_recursive: counts.filesRecursive, files_direct: counts.filesDirect };
    object.size = { total_recursive_bytes: counts.bytesRecursive, total_recursive_pretty: prettySize(counts.bytesRecursive) };
  }
  return object;
}

/** A folder inherits from its parent; the root has none and falls back to `public`. */
function parentOf(path: string): string | undefined {
  return path === '/' ? undefined : parentPath(path);
}

function safeArray(text: string): unknown[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}
