import type { FileObject, Meta } from '../types.js';
import { Resource, seg, type CallOptions } from './resource.js';

export interface MetaUpdateOptions extends CallOptions {
  /**
   * `patch` (default, v5): change only the keys given; `null` removes a key.
   * `put`: the v5 PUT form (the Hub's; merges the same way on the local server).
   * `v4`: `PUT /v4/file/{uuid}/meta`, for projects on v4 only.
   */
  method?: 'patch' | 'put' | 'v4';
}

/** File metadata and suggestions. Folder metadata is on `folders`. */
export class MetaResource extends Resource {
  /**
   * Updates a file's metadata without renaming or touching the file (the meta-only endpoint; the
   * old rename-with-meta form is avoided because it trips the name uniqueness check).
   */
  async update(uuid: string, meta: Meta, options: MetaUpdateOptions = {}): Promise<Meta> {
    const method = options.method ?? 'patch';
    const reply = await this.core.json<{ meta?: Meta; file?: FileObject }>({
      method: method === 'patch' ? 'PATCH' : 'PUT',
      path: `/file/${seg(uuid, 'uuid')}/meta`,
      version: method === 'v4' ? 'v4' : 'v5',
      json: { meta },
      signal: options.signal,
      timeoutMs: options.timeoutMs,
    });
    return reply.meta ?? reply.file?.meta ?? {};
  }

  /**
   * Values in use for a metadata key, or tag labels without `metaKey`, that start like `q` (v5).
   * The API names meta keys here as `_<ckey>`.
   */
  async autocomplete(
    params: { q: string; metaKey?: string; limit?: number } & CallOptions,
  ): Promise<Array<{ value: string; count?: number }>> {
    const reply = await this.core.json<{ data?: { tags?: Array<{ tag: string; count?: number }> } }>({
      method: 'GET',
      path: '/metadata/autocomplete',
      version: 'v5',
      query: { q: params.q, meta_key: params.metaKey, limit: params.limit },
      signal: params.signal,
      timeoutMs: params.timeoutMs,
    });
    return (reply.data?.tags ?? []).map((s) => ({ value: s.tag, count: s.count }));
  }
}
