/**
 * Shapes of the API's objects, as far as public material shows them (reference §4). Fields are
 * optional where replies differ between v4 and v5 or between list, detail and upload replies;
 * every object keeps unknown fields, since projects add their own.
 */

/** `{bytes, pretty}` in most replies, a plain number in older ones. Use `sizeInBytes()`. */
export type Size = { bytes: number; pretty?: string } | number;

export interface VisibilityV4 {
  value?: string;
  inherited?: boolean | string;
  set?: string;
  actual?: string;
}
export interface VisibilityV5 {
  in_dam?: { set?: string; actual?: string };
  in_cdn?: { set?: string; actual?: string };
}
export type Visibility = VisibilityV4 | VisibilityV5;

export interface TagRef {
  sid: string;
  label: string;
}

/** A metadata value: plain, localised (`{en: "..."}`), or a list for multi-selects and tags. */
export type MetaValue = string | number | boolean | null | string[] | Record<string, unknown>;
export type Meta = Record<string, MetaValue>;

export interface FileObject {
  uuid: string;
  name: string;
  extension?: string;
  type?: string;
  size?: Size;
  hash?: { sha1?: string; blurhash?: string | null; blur_hash?: string | null };
  url?: {
    public?: string;
    permalink?: string;
    cdn?: string;
    path?: string;
    cdn_permalink?: string;
    download?: string;
  };
  folder?: { uuid: string; name: string };
  meta?: Meta;
  tags?: Record<string, TagRef[]> | Record<string, never>;
  labels?: string[] | null | Record<string, never>;
  info?: Record<string, unknown>;
  product?: { ref: string | null; position: number | null };
  visibility?: Visibility;
  owner?: string | { uuid?: string; name?: string; email?: string };
  created_at?: string;
  modified_at?: string;
  overwrite?: boolean;
  [field: string]: unknown;
}

export interface FolderObject {
  uuid: string;
  name: string;
  path: string;
  meta?: Meta;
  visibility?: Visibility;
  count?: { files_recursive?: number; files_direct?: number };
  size?: { total_recursive_bytes?: number; total_recursive_pretty?: string };
  created_at?: string;
  updated_at?: string;
  [field: string]: unknown;
}

export interface Envelope {
  status: 'success';
  [field: string]: unknown;
}

export interface FileListPage extends Envelope {
  files: FileObject[];
  folders?: FolderObject[];
  base?: FolderObject | Record<string, unknown>;
  stats?: { approx_files_count?: number; approx_files_size?: number; approx_files_count_method?: string };
  info?: { total_files_count?: number; total_files_size?: number; [field: string]: unknown };
  limit?: number;
  offset?: number;
}

export interface FolderListPage extends Envelope {
  folders: FolderObject[];
  total?: number;
  info?: Record<string, unknown>;
}

export interface FileStats {
  approx_files_count: number;
  approx_files_size: number;
  total_files_count?: number;
  total_files_size?: number;
}

export interface Tag {
  uuid: string;
  sid: string;
  slug: string;
  names: Record<string, string>;
  primary?: string;
  created_at?: string;
  updated_at?: string;
}

export interface Label {
  uuid: string;
  sid: string;
  name: string;
  color?: string;
  shape?: string;
  is_pinned?: boolean;
  assets_count?: number;
  created_at?: string;
  updated_at?: string;
  [field: string]: unknown;
}

export interface Product {
  ref: string;
  stats?: { count_assets?: number; count_images?: number };
}

export interface Collection {
  uuid: string;
  title: string;
  type?: string;
  visibility?: string;
  created_at?: string;
  updated_at?: string;
  [field: string]: unknown;
}

export interface CollectionFolder {
  name: string;
  path?: string;
  filters?: string;
  children?: CollectionFolder[];
  [field: string]: unknown;
}

export interface ShareItem {
  type: 'file_uuid' | 'folder_uuid';
  identifiers: string[];
  options?: { recursive?: boolean; visibility?: string };
}

export interface Share {
  uuid: string;
  title: string;
  description?: string;
  items?: ShareItem[];
  starts_at?: string | null;
  expires_at?: string | null;
  starts_tz?: string | null;
  expires_tz?: string | null;
  share_uri?: string;
  puid?: string;
  [field: string]: unknown;
}

export interface ApiKey {
  uuid: string;
  description: string;
  permissions: string[];
  active: boolean;
  created_at: string;
  /** Present only in the reply that created the key. */
  secret?: string;
  [field: string]: unknown;
}

/** The settings of a security template, as sent to create or change one. */
export interface SecurityTemplateFields {
  name: string;
  permissions: string[];
  validity_seconds?: number;
  ip_ranges?: string[];
  countries?: string[];
  limit_per_min?: number | null;
  limit_per_ip_source?: number | null;
  dir_scope?: string | null;
  list_scope?: string | null;
  active?: boolean;
}

export interface SecurityTemplate extends SecurityTemplateFields {
  id: string;
  [field: string]: unknown;
}

/** Bytes of a `size` in either shape. */
export function sizeInBytes(size: Size | undefined): number | undefined {
  if (size === undefined) return undefined;
  return typeof size === 'number' ? size : size.bytes;
}

/** The blur hash, whichever spelling the reply used. */
export function blurHashOf(file: FileObject): string | null | undefined {
  return file.hash?.blurhash ?? file.hash?.blur_hash;
}
