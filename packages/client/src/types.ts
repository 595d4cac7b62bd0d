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

// ---- Inferred operations (docs/server.md "Inferred": no endpoint in the reference; the local server's design) ----

/** A visibility to set; the v4 constants (`VISIBILITY_PUBLIC`, ...) are accepted too. */
export type VisibilityInput =
  | 'inherited'
  | 'public'
  | 'organisation'
  | 'private'
  | 'VISIBILITY_INHERIT'
  | 'VISIBILITY_PUBLIC'
  | 'VISIBILITY_ORGANISATION'
  | 'VISIBILITY_PRIVATE';

/** Image editor operations, applied in this order: crop, rotate, flip/flop, resize, format. */
export interface ImageEditOperations {
  /** Pixels of the image as displayed (EXIF orientation applied), from its top-left corner. */
  crop?: { x: number; y: number; width: number; height: number };
  /** Clockwise degrees; multiples of 90 are lossless, other angles widen the canvas (transparent, or white for JPEG). */
  rotate?: number;
  /** Mirror top-bottom. */
  flip?: boolean;
  /** Mirror left-right. */
  flop?: boolean;
  /** Sides up to 10000; `fit` defaults to `inside` (keeps the aspect ratio within the box). */
  resize?: { width?: number; height?: number; fit?: 'cover' | 'contain' | 'fill' | 'inside' | 'outside' };
  /** Output format; default: the source's (PNG for formats that cannot be written). */
  format?: 'jpeg' | 'jpg' | 'png' | 'webp' | 'avif';
  /** 1-100 for JPEG, WebP and AVIF; default 90. */
  quality?: number;
}

export interface ImageEditInput {
  operations: ImageEditOperations;
  /** `copy` (default): a new asset; `overwrite`: new content under the same uuid. */
  save_as?: 'copy' | 'overwrite';
  /** The copy's name; default `<name>-edited.<ext>`. A taken name gets a random suffix, as uploads do. */
  name?: string;
  /** The copy's folder path (created when missing); default the source's folder. */
  folder?: string;
}

export interface ImageEditResult {
  action: string;
  save_as: 'copy' | 'overwrite';
  source_file_uuid: string;
  file_uuid: string;
  file: FileObject;
  [field: string]: unknown;
}

export interface AutotagOptions {
  /** Languages of the tag words (en, fr, de, es, it); others fall back to English. Default `["en"]`. */
  languages?: string[];
  /** Most tags per language, 1-100. Default 10. */
  limit?: number;
  /** Smallest confidence kept, 0-100. Default 10. */
  confidence?: number;
  /** Add the tags to the file's tags (per language). Default false. */
  save?: boolean;
}

export interface AutotagTag {
  /** The tag's English word, the same in every language. */
  key: string;
  label: string;
  /** 0-100: the share of the image the tag describes. */
  confidence: number;
  kind: 'color' | 'orientation' | 'transparency' | 'size' | (string & {});
}

export interface AutotagResult {
  action: string;
  file_uuid: string;
  languages: string[];
  unsupported_languages: string[];
  tags: Record<string, AutotagTag[]>;
  analysis: {
    width: number;
    height: number;
    orientation: string;
    megapixels: number;
    size_class: string;
    has_alpha: boolean;
    transparent_share: number;
    dominant_color: string | null;
    main_colors: Array<{ name: string; hex: string; share: number }>;
    [field: string]: unknown;
  };
  saved: boolean;
  /** The file with its tags, when `save` was set. */
  file?: FileObject;
  [field: string]: unknown;
}
