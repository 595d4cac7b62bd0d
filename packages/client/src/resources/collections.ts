import type { Collection, CollectionFolder } from '../types.js';
import { Resource, seg, type CallOptions } from './resource.js';

/** A virtual folder of a new collection: a search (`filters`, in the `q` grammar) and/or children. */
export interface CollectionFolderInput {
  name: string;
  filters?: string;
  children?: CollectionFolderInput[];
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

  /** Creates a collection (an sfx server extension; the real API's form is undocumented). */
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

  /** Deletes a collection (an sfx server extension). */
  async delete(uuid: string, options: CallOptions = {}): Promise<void> {
    await this.core.json({
      method: 'DELETE',
      path: `/collections/${seg(uuid, 'uuid')}`,
      version: 'v5',
      ...options,
    });
  }
}
