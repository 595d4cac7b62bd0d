/** Rows as they are stored; JSON columns are kept as text and parsed at the edge. */

export interface FolderRow {
  id: number;
  uuid: string;
  parent_id: number | null;
  name: string;
  path: string;
  meta: string;
  visibility: string;
  created_at: string;
  updated_at: string;
}

export interface FileRow {
  id: number;
  uuid: string;
  folder_id: number;
  name: string;
  extension: string;
  type: string;
  size: number;
  sha1: string;
  blob_id: string;
  meta: string;
  tags: string;
  labels: string;
  info: string;
  product_ref: string | null;
  product_position: number | null;
  visibility: string;
  created_at: string;
  modified_at: string;
}

/** A file row joined with its folder's path, which every reply needs. */
export interface FileWithFolder extends FileRow {
  folder_uuid: string;
  folder_path: string;
}

export interface TagEntry {
  sid: string;
  label: string;
}

/** Tags on a file, per language: `{ en: [{sid, label}] }`. */
export type FileTags = Record<string, TagEntry[]>;

export type JsonObject = Record<string, unknown>;
