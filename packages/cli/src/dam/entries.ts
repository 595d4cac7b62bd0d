/**
 * What a user's reference names when it may be an asset or a folder: a uuid (of either), a path
 * ending in `/` (a folder), or a path that is a folder if one exists there and else an asset (with
 * the asset's did-you-mean when it is neither).
 */
import { NotFoundError, type FileObject, type FolderObject } from '@sfx/client';
import { CliError } from '../errors.js';
import { isUuid, normalizeFolder, type Dam } from './session.js';

export type Entry = { kind: 'file'; file: FileObject; path: string } | { kind: 'folder'; folder: FolderObject; path: string };

export async function resolveEntry(dam: Dam, ref: string, signal?: AbortSignal): Promise<Entry> {
  if (isUuid(ref)) {
    try {
      const file = await dam.client.files.get(ref, { signal });
      return { kind: 'file', file, path: filePath(file) };
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    try {
      const folder = await dam.client.folders.get(ref, { signal });
      return { kind: 'folder', folder, path: folderPath(folder) };
    } catch (error) {
      if (error instanceof NotFoundError) throw new CliError(`no asset or folder has the uuid ${ref} in ${dam.connectionName}.`);
      throw error;
    }
  }
  const path = normalizeFolder(ref);
  if (ref.trim().endsWith('/') || path === '/') {
    const folder = await dam.folder(path, signal);
    return { kind: 'folder', folder, path };
  }
  const folder = await dam.client.folders.findByPath(path, { signal });
  if (folder) return { kind: 'folder', folder, path };
  const file = await dam.file(ref, signal);
  return { kind: 'file', file, path: filePath(file) };
}

export function filePath(file: FileObject): string {
  return file.url?.path ?? `/${file.name}`;
}

export function folderPath(folder: FolderObject): string {
  return normalizeFolder(folder.path);
}
