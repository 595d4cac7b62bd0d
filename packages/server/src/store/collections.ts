import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { notFound } from '../errors.js';
import { now } from './metadata-store.js';

/** A virtual folder of a collection: a name, the search it adds, and sub-folders. */
export interface CollectionFolder {
  name: string;
  query: string;
  children: CollectionFolder[];
}

export interface Collection {
  uuid: string;
  title: string;
  type: string;
  visibility: string;
  /** Search expression (the `q` grammar) deciding membership. */
  query: string;
  folders: CollectionFolder[];
  created_at: string;
  updated_at: string;
}

interface CollectionRow extends Omit<Collection, 'folders'> {
  folders: string;
}

const toCollection = (row: CollectionRow): Collection => ({
  ...row,
  folders: JSON.parse(row.folders) as CollectionFolder[],
});

/** Saved searches ("dynamic collections"): membership is computed at read time from `query`. */
export class CollectionStore {
  constructor(private readonly db: Database) {}

  create(input: Omit<Collection, 'uuid' | 'created_at' | 'updated_at'>): Collection {
    const uuid = randomUUID();
    const at = now();
    this.db
      .prepare(
        `INSERT INTO collections (uuid, title, type, visibility, query, folders, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        uuid,
        input.title,
        input.type,
        input.visibility,
        input.query,
        JSON.stringify(input.folders),
        at,
        at,
      );
    return this.require(uuid);
  }

  list(): Collection[] {
    return (
      this.db
        .prepare(
          'SELECT uuid, title, type, visibility, query, folders, created_at, updated_at FROM collections ORDER BY title, id',
        )
        .all() as CollectionRow[]
    ).map(toCollection);
  }

  require(uuid: string): Collection {
    const row = this.db
      .prepare(
        'SELECT uuid, title, type, visibility, query, folders, created_at, updated_at FROM collections WHERE uuid = ?',
      )
      .get(uuid) as CollectionRow | undefined;
    if (!row)
      throw notFound(
        'COLLECTION_NOT_FOUND',
        `No collection has the uuid ${uuid}.`,
        'List collections with GET /v5/collections.',
      );
    return toCollection(row);
  }

  /** Changes the fields given; the others keep their values. */
  update(uuid: string, changes: Partial<Omit<Collection, 'uuid' | 'created_at' | 'updated_at'>>): Collection {
    const current = this.require(uuid);
    const next = { ...current, ...changes };
    this.db
      .prepare('UPDATE collections SET title = ?, type = ?, visibility = ?, query = ?, folders = ?, updated_at = ? WHERE uuid = ?')
      .run(next.title, next.type, next.visibility, next.query, JSON.stringify(next.folders), now(), uuid);
    return this.require(uuid);
  }

  delete(uuid: string): Collection {
    const collection = this.require(uuid);
    this.db.prepare('DELETE FROM collections WHERE uuid = ?').run(uuid);
    return collection;
  }
}
