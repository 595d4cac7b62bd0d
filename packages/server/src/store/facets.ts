import type { Database } from 'better-sqlite3';
import { escapeLike } from './metadata-store.js';
import type { FileWithFolder, FolderRow } from './rows.js';

const FILE_SELECT = `SELECT f.*, d.uuid AS folder_uuid, d.path AS folder_path FROM files f JOIN folders d ON d.id = f.folder_id`;

export interface ValueCount {
  value: string;
  count: number;
}

/** `$."key"` for json_tree; JSON.stringify quotes any key the way SQLite's path syntax expects. */
const metaPath = (key: string): string => `$.${JSON.stringify(key)}`;

/**
 * Read-only aggregates over files: facet values with counts, metadata keys in use, value
 * suggestions and folder previews. All are computed from the rows, so they are never stale.
 */
export class FacetStore {
  constructor(private readonly db: Database) {}

  fileTypes(limit: number): ValueCount[] {
    return this.db
      .prepare(
        'SELECT type AS value, count(*) AS count FROM files GROUP BY type ORDER BY count DESC, type LIMIT ?',
      )
      .all(limit) as ValueCount[];
  }

  extensions(limit: number): ValueCount[] {
    return this.db
      .prepare(
        `SELECT extension AS value, count(*) AS count FROM files WHERE extension <> '' GROUP BY extension ORDER BY count DESC, extension LIMIT ?`,
      )
      .all(limit) as ValueCount[];
  }

  /** Tag labels (lower-cased, as indexed for search) by how many files carry them. */
  tagLabels(limit: number, prefix?: string): ValueCount[] {
    const where = prefix ? `WHERE label LIKE ? ESCAPE '\\'` : '';
    const params = prefix ? [`${escapeLike(prefix.toLowerCase())}%`] : [];
    return this.db
      .prepare(
        `SELECT label AS value, count(*) AS count FROM file_tags ${where} GROUP BY label ORDER BY count DESC, label LIMIT ?`,
      )
      .all(...params, limit) as ValueCount[];
  }

  tagCount(label: string): number {
    return (
      this.db.prepare('SELECT count(*) AS n FROM file_tags WHERE label = ?').get(label.toLowerCase()) as {
        n: number;
      }
    ).n;
  }

  labels(limit: number): ValueCount[] {
    return this.db
      .prepare(
        `SELECT l.value AS value, count(*) AS count FROM files f, json_each(f.labels) l WHERE f.labels <> '[]'
         GROUP BY l.value ORDER BY count DESC, l.value LIMIT ?`,
      )
      .all(limit) as ValueCount[];
  }

  productRefs(limit: number): ValueCount[] {
    return this.db
      .prepare(
        `SELECT product_ref AS value, count(*) AS count FROM files WHERE product_ref IS NOT NULL
         GROUP BY product_ref ORDER BY count DESC, product_ref LIMIT ?`,
      )
      .all(limit) as ValueCount[];
  }

  /**
   * Scalar values stored under a metadata key, each leaf of an array or localized object counted
   * once per file; `prefix` keeps values starting with it (case-insensitive).
   */
  metaValues(key: string, limit: number, prefix?: string): ValueCount[] {
    const filter = prefix ? `AND CAST(j.value AS TEXT) LIKE ? ESCAPE '\\'` : '';
    const params = prefix ? [`${escapeLike(prefix)}%`] : [];
    return this.db
      .prepare(
        `SELECT CAST(j.value AS TEXT) AS value, count(DISTINCT f.id) AS count
         FROM files f, json_tree(f.meta, ?) j
         WHERE j.type NOT IN ('object', 'array', 'null') AND CAST(j.value AS TEXT) <> '' ${filter}
         GROUP BY CAST(j.value AS TEXT) ORDER BY count DESC, value LIMIT ?`,
      )
      .all(metaPath(key), ...params, limit) as ValueCount[];
  }

  /** Top-level metadata keys present on at least one file. */
  metaKeys(): ValueCount[] {
    return this.db
      .prepare(
        `SELECT j.key AS value, count(*) AS count FROM files f, json_each(f.meta) j WHERE f.meta <> '{}' GROUP BY j.key ORDER BY j.key`,
      )
      .all() as ValueCount[];
  }

  /** The newest images in a folder's subtree. */
  previews(folder: FolderRow, limit: number): FileWithFolder[] {
    const inTree =
      folder.path === '/'
        ? ''
        : 'f.folder_id IN (SELECT id FROM folders WHERE path = ? OR (path >= ? AND path < ?)) AND';
    const params = folder.path === '/' ? [] : [folder.path, folder.path + '/', folder.path + '0'];
    return this.db
      .prepare(
        `${FILE_SELECT} WHERE ${inTree} f.type LIKE 'image/%' ORDER BY f.created_at DESC, f.id DESC LIMIT ?`,
      )
      .all(...params, limit) as FileWithFolder[];
  }
}
