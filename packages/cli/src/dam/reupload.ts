/**
 * Content the folder already holds is not uploaded again (the server answers with the existing
 * asset). What the user asked for with it still counts: metadata that differs is merged into the
 * asset and missing tags are added, and the file is reported `updated`; when that is refused, the
 * reason (e.g. the key lacks FILE_META_CHANGE) is reported and the file counts as failed.
 */
import type { FileObject, Filerobot, Meta } from '@sfx/client';
import { reasonOf, tagLabels } from './args.js';

export type Outcome = 'uploaded' | 'duplicate' | 'updated' | 'failed';

export interface Wanted {
  /** The name the upload would have had: only an asset of that name is changed. */
  name: string;
  meta: Meta;
  tags: string[];
  signal?: AbortSignal;
}

export async function applyToDuplicate(client: Filerobot, existing: FileObject, wanted: Wanted): Promise<{ result: Outcome; uuid: string; reason: string }> {
  const uuid = existing.uuid;
  const metaChanges: Meta = {};
  for (const [key, value] of Object.entries(wanted.meta)) {
    if (JSON.stringify(existing.meta?.[key]) !== JSON.stringify(value)) metaChanges[key] = value;
  }
  const has = new Set(tagLabels(existing).map((t) => t.toLowerCase()));
  const newTags = wanted.tags.filter((t) => !has.has(t.toLowerCase()));
  const changing = Object.keys(metaChanges).length > 0 || newTags.length > 0;
  if (existing.name !== wanted.name) {
    const note = `the folder already holds this content as ${existing.name}`;
    return { result: 'duplicate', uuid, reason: changing ? `${note}; its metadata and tags were left as they are` : note };
  }
  if (!changing) return { result: 'duplicate', uuid, reason: 'already there with this content, metadata and tags' };
  const done: string[] = [];
  try {
    if (Object.keys(metaChanges).length > 0) {
      await client.meta.update(uuid, metaChanges, { signal: wanted.signal });
      done.push(`metadata ${Object.keys(metaChanges).join(', ')}`);
    }
    if (newTags.length > 0) {
      await client.tags.add(existing, newTags, { signal: wanted.signal });
      done.push(`tags ${newTags.join(', ')}`);
    }
  } catch (error) {
    if (wanted.signal?.aborted) throw error;
    const applied = done.length ? ` (${done.join('; ')} applied)` : '';
    return { result: 'failed', uuid, reason: `already there with this content, but the new metadata/tags could not be applied${applied}: ${reasonOf(error)}` };
  }
  return { result: 'updated', uuid, reason: `already there with this content; set ${done.join('; ')}` };
}
