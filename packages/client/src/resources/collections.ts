import type { Collection, CollectionFolder } from '../types.js';
import { Resource, seg, type CallOptions } from './resource.js';

/** A virtual folder of a new collection: a search (`filters`, in the `q` grammar) and/or children. */
export interface CollectionFolderInput {
  name: string;
  filters?: string;
  children?: CollectionFolderInput[];
}

/** What `collections.update` may change; at least one field. */
export interface CollectionUpdate {
  title?: string;
  type?: string;
  visibility?: string;
  /** The collection-wide search (q grammar); `null` or `""` removes it. */
  query?: string | null;
  folders?: CollectionFolderInput[];
}

/** Collections: saved searches shown as virtual folders (v5). */
export class Collections extends Resource {
  async list(options: CallOptions = {}): Promise<Collection[]> {
    return (
      await this.core.json<{ collections: Collection[] }>({
        method: 'GET',
        path: '/collections',
        version: 'v5',
        ...options,
      })
    ).collections;
  }

  /** A collection's virtual folders; list a leaf's files with `files.list({ collection_uuid, f64 })`. */
  async folders(uuid: string, options: CallOptions = {}): Promise<CollectionFolder[]> {
    return (
      await this.core.json<{ folders: CollectionFolder[] }>({
        method: 'GET',
        path: `/collections/${seg(uuid, 'uuid')}/folders`,
        version: 'v5',
        ...options,
      })
    ).folders;
  }

  /** Creates a collection (inferred: the reference found no collection writes). */
  async create(
    input: {
      title: string;
      query?: string;
      type?: string;
      visibility?: string;
      folders?: CollectionFolderInput[];
    },
    options: CallOptions = {},
  ): Promise<Collection> {
    return (
      await this.core.json<{ collection: Collection }>({
        method: 'POST',
        path: '/collections',
        version: 'v5',
        json: input,
        ...options,
      })
    ).collection;
  }

  /**
   * Changes a collection's title, type, visibility, search or folders (inferred:
   * `PATCH /v5/collections/{uuid}`); fields not given keep their values, `query: null` drops the
   * collection-wide search, `folders` replaces the whole tree.
   */
  async update(uuid: string, changes: CollectionUpdate, options: CallOptions = {}): Promise<Collection> {
    return (
      await this.core.json<{ collection: Collection }>({
        method: 'PATCH',
        path: `/collections/${seg(uuid, 'uuid')}`,
        version: 'v5',
        json: changes,
        ...options,
      })
    ).collection;
  }

  /** Deletes a collection (inferred). */
  async delete(uuid: string, options: CallOptions = {}): Promise<void> {
    await this.core.json({
      method: 'DELETE',
      path: `/collections/${seg(uuid, 'uuid')}`,
      version: 'v5',
      ...options,
    });
  }
}
