import { ConflictError, PermissionDeniedError } from '../core/errors.js';
import { PagePromise, type PagingOptions } from '../core/pagination.js';
import type { FolderListPage, FolderObject, Meta, VisibilityInput } from '../types.js';
import { Resource, seg, type CallOptions } from './resource.js';

export interface FolderListParams extends PagingOptions, CallOptions {
  /** Parent folder path (default `/`). */
  folder?: string;
  recursive?: boolean;
  q?: string;
  /** `name`, `created_at`, `modified_at`, `assets_count`, `size` with `:asc` / `:desc`. */
  sort?: string;
}

export interface FolderPreview {
  file_uuid: string;
  file_uri_cdn: string;
  file_type: string;
  preview_origin?: string;
}

/** Folders: list, details, create by path, rename, move, delete, metadata, previews, walks. */
export class Folders extends Resource {
  /** Lists the folders under a path. Await for one page; iterate for all. */
  list(params: FolderListParams = {}): PagePromise<FolderListPage, FolderObject> {
    const { signal, timeoutMs, offset, limit, pageSize, maxItems, folder, recursive, q, sort } = params;
    return new PagePromise(
      (page) =>
        this.core.json<FolderListPage>({
          method: 'GET',
          path: '/folders',
          query: { folder, recursive, q, sort, limit: page.limit, offset: page.offset },
          signal,
          timeoutMs,
        }),
      (page) => page.folders ?? [],
      (page) => page.total,
      { offset, limit, pageSize, maxItems, defaultLimit: 1000 },
    );
  }

  /**
   * Every folder below `path`, depth first, parents before children. Uses one recursive listing,
   * so a tree of any size costs a handful of requests.
   */
  async *walk(path = '/', options: CallOptions = {}): AsyncGenerator<FolderObject> {
    const all: FolderObject[] = [];
    for await (const folder of this.list({ folder: path, recursive: true, ...options })) all.push(folder);
    all.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    yield* all;
  }

  async get(uuid: string, options: CallOptions = {}): Promise<FolderObject> {
    return (
      await this.core.json<{ folder: FolderObject }>({
        method: 'GET',
        path: `/folders/${seg(uuid, 'uuid')}`,
        ...options,
      })
    ).folder;
  }

  /**
   * Creates a folder by full path (`/a/b`); parents are created as needed. An existing path is a
   * ConflictError (`E801_ALREADY_EXIST`, sent with HTTP 403 as the real API does); see `ensure`.
   */
  async create(path: string, options: CallOptions = {}): Promise<FolderObject> {
    return (
      await this.core.json<{ folder: FolderObject }>({
        method: 'POST',
        path: '/folders',
        json: { name: path },
        ...options,
      })
    ).folder;
  }

  /**
   * Returns the folder at `path`, creating it when missing. Safe to call concurrently and to retry:
   * an "already exists" reply (a 403 on the real API, reported by its PyPI client, and on the local
   * server with code `E801_ALREADY_EXIST`; a 409 elsewhere) is answered by looking the folder up.
   */
  async ensure(path: string, options: CallOptions = {}): Promise<FolderObject> {
    const normalised = `/${path.split('/').filter(Boolean).join('/')}`;
    try {
      return await this.core
        .json<{ folder: FolderObject }>({
          method: 'POST',
          path: '/folders',
          json: { name: normalised },
          idempotent: true,
          ...options,
        })
        .then((r) => r.folder);
    } catch (error) {
      if (!(error instanceof ConflictError || error instanceof PermissionDeniedError)) throw error;
      const found = await this.findByPath(normalised, options);
      if (!found) throw error;
      return found;
    }
  }

  /** The folder at exactly this path, or undefined. */
  async findByPath(path: string, options: CallOptions = {}): Promise<FolderObject | undefined> {
    const parts = path.split('/').filter(Boolean);
    const name = parts.pop();
    if (!name) return undefined;
    const parent = `/${parts.join('/')}`;
    // Plain listing rather than `q`: the API's folder search is fuzzy, and this must be exact.
    for await (const folder of this.list({ folder: parent, ...options })) {
      if (folder.path.replace(/\/$/, '') === `${parent === '/' ? '' : parent}/${name}`) return folder;
    }
    return undefined;
  }

  async rename(uuid: string, name: string, options: CallOptions = {}): Promise<FolderObject> {
    return (
      await this.core.json<{ folder: FolderObject }>({
        method: 'PATCH',
        path: `/folders/${seg(uuid, 'uuid')}`,
        json: { name },
        // A replay of a rename that landed would be refused (the name is taken by the folder itself).
        idempotent: false,
        recover: async () => {
          const folder = await this.get(uuid, options);
          return folder.name === name ? { landed: true, value: { folder } } : { landed: false };
        },
        ...options,
      })
    ).folder;
  }

  /**
   * Sets a folder's visibility; files and folders below it that inherit follow it. Inferred:
   * `PUT /{v}/folders/{uuid}/visibility`, DIR_SET_VISIBILITY. The root cannot be changed.
   */
  async setVisibility(uuid: string, visibility: VisibilityInput, options: CallOptions = {}): Promise<FolderObject> {
    return (
      await this.core.json<{ folder: FolderObject }>({
        method: 'PUT',
        path: `/folders/${seg(uuid, 'uuid')}/visibility`,
        json: { visibility },
        ...options,
      })
    ).folder;
  }

  /** Moves a folder (and all it holds) into the folder `destinationUuid`. */
  async move(uuid: string, destinationUuid: string, options: CallOptions = {}): Promise<FolderObject[]> {
    const reply = await this.core.json<{ folders: FolderObject[] }>({
      method: 'PUT',
      path: `/folders/${seg(uuid, 'uuid')}/folders/${seg(destinationUuid, 'destinationUuid')}`,
      ...options,
    });
    return reply.folders;
  }

  /** Moves folders into a destination path (created when missing). */
  async moveMany(
    uuids: readonly string[],
    destinationPath: string,
    options: CallOptions = {},
  ): Promise<FolderObject[]> {
    const reply = await this.core.json<{ folders: FolderObject[] }>({
      method: 'POST',
      path: '/folders/move',
      json: { folders_uuids: uuids, new_folder_name: destinationPath },
      idempotent: true,
      ...options,
    });
    return reply.folders;
  }

  /**
   * Deletes a folder with everything under it. Resolves what was removed when the API says
   * (the local server does; `{}` otherwise).
   */
  async delete(uuid: string, options: CallOptions = {}): Promise<{ files?: number; folders?: number }> {
    const reply = await this.core.json<{ deleted?: { files?: number; folders?: number } }>({
      method: 'DELETE',
      path: `/folders/${seg(uuid, 'uuid')}`,
      ...options,
    });
    return reply.deleted ?? {};
  }

  /** Replaces all of a folder's metadata (v4 `PUT /folder/{uuid}/meta`). */
  async replaceMeta(uuid: string, meta: Meta, options: CallOptions = {}): Promise<Meta> {
    return (
      await this.core.json<{ meta: Meta }>({
        method: 'PUT',
        path: `/folder/${seg(uuid, 'uuid')}/meta`,
        version: 'v4',
        json: { meta },
        ...options,
      })
    ).meta;
  }

  /** Sets one folder metadata value. */
  async setMetaValue(uuid: string, key: string, value: string, options: CallOptions = {}): Promise<Meta> {
    const path = `/folder/${seg(uuid, 'uuid')}/meta/${seg(key, 'key')}/${seg(value, 'value')}`;
    return (await this.core.json<{ meta: Meta }>({ method: 'PUT', path, version: 'v4', ...options })).meta;
  }

  /** Removes all of a folder's metadata. */
  async deleteMeta(uuid: string, options: CallOptions = {}): Promise<void> {
    await this.core.json({
      method: 'DELETE',
      path: `/folder/${seg(uuid, 'uuid')}/meta`,
      version: 'v4',
      ...options,
    });
  }

  /** A few preview images per folder (v5). */
  async previews(
    uuids: readonly string[],
    options: CallOptions = {},
  ): Promise<Record<string, FolderPreview[]>> {
    const reply = await this.core.json<{ folders: Record<string, FolderPreview[]> }>({
      method: 'POST',
      path: '/folders/previews',
      version: 'v5',
      json: { folders: uuids },
      idempotent: true,
      ...options,
    });
    return reply.folders;
  }
}
