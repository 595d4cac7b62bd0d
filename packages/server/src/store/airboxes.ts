import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { notFound } from '../errors.js';
import { now, slugify } from './metadata-store.js';
import { newPublicId } from './public-id.js';

export interface Airbox {
  id: number;
  uuid: string;
  puid: string;
  title: string;
  slug: string;
  description: string;
  /** The folder uploads land in; null once that folder was deleted. */
  folder_uuid: string | null;
  /** The folder's path now, or where it was when deleted. */
  folder_path: string;
  active: boolean;
  expires_at: string | null;
  max_file_size: number | null;
  created_at: string;
  updated_at: string;
}

export interface AirboxInput {
  title: string;
  description: string;
  /** Row id of the (existing) target folder. */
  folderId: number;
  active: boolean;
  expiresAt: string | null;
  maxFileSize: number | null;
}

interface AirboxRow {
  id: number;
  uuid: string;
  puid: string;
  title: string;
  slug: string;
  description: string;
  folder_id: number | null;
  folder_path: string;
  active: number;
  expires_at: string | null;
  max_file_size: number | null;
  created_at: string;
  updated_at: string;
  /** Joined: the folder's current uuid and path. */
  current_folder_uuid: string | null;
  current_folder_path: string | null;
}

/** Most airboxes a project may hold. */
export const MAX_AIRBOXES = 1000;

const SELECT = `SELECT a.*, d.uuid AS current_folder_uuid, d.path AS current_folder_path
  FROM airboxes a LEFT JOIN folders d ON d.id = a.folder_id`;

/** A public id in the style of share links (lower-case letters and digits), 134 bits: it is the upload credential. */
const newPuid = (): string => newPublicId();

const toAirbox = (row: AirboxRow): Airbox => ({
  id: row.id,
  uuid: row.uuid,
  puid: row.puid,
  title: row.title,
  slug: row.slug,
  description: row.description,
  folder_uuid: row.current_folder_uuid,
  folder_path: row.current_folder_path ?? row.folder_path,
  active: row.active === 1,
  expires_at: row.expires_at,
  max_file_size: row.max_file_size,
  created_at: row.created_at,
  updated_at: row.updated_at,
});

/**
 * Airboxes: public upload links into one folder (inferred endpoints: reference §1 "not found").
 * The folder is kept by id, so a renamed or moved folder keeps receiving uploads.
 */
export class AirboxStore {
  constructor(private readonly db: Database) {}

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM airboxes').get() as { n: number }).n;
  }

  create(input: AirboxInput): Airbox {
    return this.db
      .transaction(() => {
        const uuid = randomUUID();
        let puid = newPuid();
        while (this.db.prepare('SELECT 1 FROM airboxes WHERE puid = ?').get(puid)) puid = newPuid();
        const at = now();
        this.db
          .prepare(
            `INSERT INTO airboxes (uuid, puid, title, slug, description, folder_id, folder_path, active, expires_at,
               max_file_size, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, (SELECT path FROM folders WHERE id = ?), ?, ?, ?, ?, ?)`,
          )
          .run(
            uuid,
            puid,
            input.title,
            slugify(input.title) || 'airbox',
            input.description,
            input.folderId,
            input.folderId,
            input.active ? 1 : 0,
            input.expiresAt,
            input.maxFileSize,
            at,
            at,
          );
        return this.require(uuid);
      })
      .immediate();
  }

  update(uuid: string, change: Partial<AirboxInput>): Airbox {
    return this.db
      .transaction(() => {
        const current = this.require(uuid);
        const sets: string[] = [];
        const params: unknown[] = [];
        if (change.title !== undefined) {
          sets.push('title = ?', 'slug = ?');
          params.push(change.title, slugify(change.title) || 'airbox');
        }
        if (change.description !== undefined) {
          sets.push('description = ?');
          params.push(change.description);
        }
        if (change.folderId !== undefined) {
          sets.push('folder_id = ?', 'folder_path = (SELECT path FROM folders WHERE id = ?)');
          params.push(change.folderId, change.folderId);
        }
        if (change.active !== undefined) {
          sets.push('active = ?');
          params.push(change.active ? 1 : 0);
        }
        if (change.expiresAt !== undefined) {
          sets.push('expires_at = ?');
          params.push(change.expiresAt);
        }
        if (change.maxFileSize !== undefined) {
          sets.push('max_file_size = ?');
          params.push(change.maxFileSize);
        }
        sets.push('updated_at = ?');
        params.push(now());
        this.db.prepare(`UPDATE airboxes SET ${sets.join(', ')} WHERE id = ?`).run(...params, current.id);
        return this.require(uuid);
      })
      .immediate();
  }

  list(limit: number, offset: number): { airboxes: Airbox[]; total: number } {
    const rows = this.db.prepare(`${SELECT} ORDER BY a.id DESC LIMIT ? OFFSET ?`).all(limit, offset) as AirboxRow[];
    return { airboxes: rows.map(toAirbox), total: this.count() };
  }

  require(uuid: string): Airbox {
    const row = this.db.prepare(`${SELECT} WHERE a.uuid = ?`).get(uuid) as AirboxRow | undefined;
    if (!row) {
      throw notFound('AIRBOX_NOT_FOUND', `No airbox has the uuid ${uuid}.`, 'List airboxes with GET /v5/airboxes.');
    }
    return toAirbox(row);
  }

  byPuid(puid: string): Airbox | undefined {
    const row = this.db.prepare(`${SELECT} WHERE a.puid = ?`).get(puid) as AirboxRow | undefined;
    return row ? toAirbox(row) : undefined;
  }

  delete(uuid: string): Airbox {
    const airbox = this.require(uuid);
    this.db.prepare('DELETE FROM airboxes WHERE id = ?').run(airbox.id);
    return airbox;
  }
}
