/**
 * What every everyday command needs: the stored connection's client, and paths resolved the way a
 * user writes them (`/folder/name.jpg` or a uuid). An unknown folder or file is an error with the
 * closest names there are, never an empty result.
 */
import { nameSearchTerm, NotFoundError, type FileObject, type Filerobot, type FolderObject } from '@sfx/client';
import { nearest } from '@sfx/flows';
import { CliError } from '../errors.js';
import { openStored } from '../run.js';

export interface ConnectionFlags {
  connection?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(ref: string): boolean {
  return UUID.test(ref);
}

/** `/a/b/` -> `/a/b`; `a/b` -> `/a/b`; `/` stays. */
export function normalizeFolder(path: string): string {
  const trimmed = `/${path.trim().replace(/^\/+/, '').replace(/\/+$/, '')}`;
  return trimmed.replace(/\/{2,}/g, '/');
}

export function splitPath(path: string): { folder: string; name: string } {
  const normal = normalizeFolder(path);
  const at = normal.lastIndexOf('/');
  return { folder: at <= 0 ? '/' : normal.slice(0, at), name: normal.slice(at + 1) };
}

export class Dam {
  constructor(
    readonly client: Filerobot,
    readonly connectionName: string,
  ) {}

  /** The folder at `path`, or an error naming the closest folders of its parent. */
  async folder(path: string, signal?: AbortSignal): Promise<FolderObject> {
    const folder = normalizeFolder(path);
    if (folder === '/') return { uuid: '', name: '', path: '/' };
    const page = await this.client.files.list({ folder, limit: 1, signal });
    const base = page.base as FolderObject | undefined;
    if (base && typeof base.path === 'string' && base.uuid) return base;
    throw await this.noFolder(folder, signal);
  }

  private async noFolder(folder: string, signal?: AbortSignal): Promise<CliError> {
    const { folder: parent, name } = splitPath(folder);
    let siblings: string[] = [];
    try {
      const page = await this.client.folders.list({ folder: parent, limit: 1000, signal });
      siblings = (page.folders ?? []).map((f) => f.name);
    } catch {
      siblings = [];
    }
    const near = nearest(name, siblings);
    const hint = near.length ? ` Did you mean ${near.map((n) => `${parent === '/' ? '' : parent}/${n}`).join(', ')}?` : '';
    return new CliError(`no folder ${folder} in ${this.connectionName}.${hint} (sfx ls ${parent} lists what is there.)`);
  }

  /** The asset a user means: a uuid, or `/folder/name.ext`. */
  async file(ref: string, signal?: AbortSignal): Promise<FileObject> {
    if (isUuid(ref)) {
      try {
        return await this.client.files.get(ref, { signal });
      } catch (error) {
        if (error instanceof NotFoundError) throw new CliError(`no asset has the uuid ${ref} in ${this.connectionName}.`);
        throw error;
      }
    }
    const { folder, name } = splitPath(ref);
    if (!name) throw new CliError(`${ref} names a folder, not an asset: give /folder/name.ext or a uuid.`);
    const q = nameSearchTerm(name);
    const page = await this.client.files.list({ folder, ...(q ? { q } : {}), limit: 100, signal });
    const base = page.base as FolderObject | undefined;
    if (folder !== '/' && !(base && base.uuid)) throw await this.noFolder(folder, signal);
    const exact = page.files.find((f) => f.name === name);
    if (exact) return exact;
    const all = await this.client.files.list({ folder, limit: 1000, signal });
    const near = nearest(name, all.files.map((f) => f.name));
    const hint = near.length ? ` Did you mean ${near.map((n) => `${folder === '/' ? '' : folder}/${n}`).join(', ')}?` : '';
    throw new CliError(`no asset ${normalizeFolder(ref)} in ${this.connectionName}.${hint} (sfx ls ${folder} lists the folder.)`);
  }
}

export async function openDam(flags: ConnectionFlags, clientOptions?: Parameters<typeof openStored>[1]): Promise<Dam> {
  const { conn, client } = await openStored(flags.connection, clientOptions);
  return new Dam(client, conn.name);
}
