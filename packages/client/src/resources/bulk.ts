import { Resource, seg, type CallOptions } from './resource.js';

export type BulkChange =
  | { type: 'tags.add' | 'tags.del'; value: string }
  | { type: 'labels.add' | 'labels.del'; value: string }
  | { type: 'meta.replace'; key: string; value: unknown };

/** Bulk metadata, tag and label changes over many assets (v5). */
export class Bulk extends Resource {
  /** Stages a change set; returns the `bulk_uuid` to commit. */
  async prepare(
    filesUuids: readonly string[],
    changes: readonly BulkChange[],
    options: CallOptions = {},
  ): Promise<string> {
    const reply = await this.core.json<{ bulk_uuid: string }>({
      method: 'PUT',
      path: '/bulk/prepare',
      version: 'v5',
      json: { bulk: { target: { files_uuids: filesUuids }, changes } },
      ...options,
    });
    return reply.bulk_uuid;
  }

  /** Applies a prepared change set, all or nothing (an sfx server extension: the real commit step is undocumented). */
  async commit(bulkUuid: string, options: CallOptions = {}): Promise<Record<string, unknown>> {
    return this.core.json({
      method: 'POST',
      path: `/bulk/${seg(bulkUuid, 'bulkUuid')}/commit`,
      version: 'v5',
      idempotent: true,
      ...options,
    });
  }

  /** The state of a prepared or committed change set (an sfx server extension). */
  async get(bulkUuid: string, options: CallOptions = {}): Promise<Record<string, unknown>> {
    return this.core.json({
      method: 'GET',
      path: `/bulk/${seg(bulkUuid, 'bulkUuid')}`,
      version: 'v5',
      ...options,
    });
  }

  /** Prepares and commits in one call. */
  async apply(
    filesUuids: readonly string[],
    changes: readonly BulkChange[],
    options: CallOptions = {},
  ): Promise<Record<string, unknown>> {
    return this.commit(await this.prepare(filesUuids, changes, options), options);
  }
}
