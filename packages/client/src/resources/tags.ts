import type { FileObject, Tag } from '../types.js';
import { Resource, seg, type CallOptions } from './resource.js';

export interface SetTagsInput {
  /** Sids (`#tg...`) to keep; any other tag is removed. Empty: replace all tags. */
  existing?: string[];
  /** Labels to add; unknown ones are added to the dictionary. */
  add?: string[];
  lang?: string;
}

/** The tag dictionary and the tags of one asset (v5). */
export class Tags extends Resource {
  async list(params: CallOptions & { q?: string; limit?: number; offset?: number } = {}): Promise<Tag[]> {
    const { signal, timeoutMs, ...query } = params;
    return (
      await this.core.json<{ tags: Tag[] }>({
        method: 'GET',
        path: '/tags',
        version: 'v5',
        query,
        signal,
        timeoutMs,
      })
    ).tags;
  }

  /** Adds a tag to the dictionary: `{ names: { en: 'Summer' } }`. */
  async create(
    tag: { names: Record<string, string>; slug?: string; primary?: string },
    options: CallOptions = {},
  ): Promise<Tag> {
    return (
      await this.core.json<{ tag: Tag }>({
        method: 'POST',
        path: '/tags',
        // The docs print this path without a version segment.
        version: 'none',
        json: { tag },
        ...options,
      })
    ).tag;
  }

  /** Sets an asset's tags: keeps `existing` sids, adds `add` labels, removes the rest. */
  async set(fileUuid: string, input: SetTagsInput, options: CallOptions = {}): Promise<FileObject> {
    const reply = await this.core.json<{ file: FileObject }>({
      method: 'PUT',
      path: `/file/${seg(fileUuid, 'fileUuid')}/tags`,
      version: 'v5',
      json: { lang: input.lang ?? 'en', existing_tags: input.existing ?? [], new_tags: input.add ?? [] },
      ...options,
    });
    return reply.file;
  }

  /** Adds labels to an asset's tags, keeping the ones it has. */
  async add(
    file: FileObject,
    labels: string[],
    options: CallOptions & { lang?: string } = {},
  ): Promise<FileObject> {
    const tags = (file.tags ?? {}) as Record<string, Array<{ sid: string }>>;
    const existing = [...new Set(Object.values(tags).flatMap((list) => list.map((t) => t.sid)))];
    return this.set(file.uuid, { existing, add: labels, lang: options.lang }, options);
  }
}
