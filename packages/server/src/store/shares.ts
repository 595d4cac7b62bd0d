import { randomBytes, randomUUID, scrypt, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { notFound } from '../errors.js';
import { now, slugify } from './metadata-store.js';
import { newPublicId } from './public-id.js';
import type { FileWithFolder } from './rows.js';

export interface ShareItem {
  type: 'file_uuid' | 'folder_uuid';
  identifiers: string[];
  options?: { recursive?: boolean; visibility?: string };
}

export interface NewShare {
  title: string;
  description: string;
  items: ShareItem[];
  starts_at: string | null;
  expires_at: string | null;
  starts_tz: string | null;
  expires_tz: string | null;
  /** Plain passwords as received; only their scrypt hashes are stored. */
  auth: Array<{ user: string; pass: string }>;
}

export interface Share extends Omit<NewShare, 'auth'> {
  uuid: string;
  puid: string;
  slug: string;
  /** Users that may open the share; passwords never leave the store. */
  auth: Array<{ user: string }>;
  created_at: string;
  updated_at: string;
}

interface ShareRow {
  uuid: string;
  puid: string;
  slug: string;
  title: string;
  description: string;
  items: string;
  starts_at: string | null;
  expires_at: string | null;
  starts_tz: string | null;
  expires_tz: string | null;
  auth: string;
  created_at: string;
  updated_at: string;
}

interface StoredAuth {
  user: string;
  hash: string;
}

const SCRYPT = { N: 16384, r: 8, p: 1 } as const;

const scryptAsync = (pass: BinaryLike, salt: BinaryLike, length: number, options: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) =>
    scrypt(pass, salt, length, options, (error, key) => (error ? reject(error) : resolve(key))),
  );

/** `scrypt$<salt hex>$<hash hex>`, hashed on the libuv thread pool so the event loop keeps serving. */
async function hashPassword(pass: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('hex')}$${(await scryptAsync(pass, salt, 32, SCRYPT)).toString('hex')}`;
}

/**
 * Hashes a share's passwords one at a time: a single thread-pool thread is busy, never all of
 * them (file I/O shares that pool), however many passwords a share has.
 */
async function hashAuth(auth: NewShare['auth']): Promise<StoredAuth[]> {
  const stored: StoredAuth[] = [];
  for (const a of auth) stored.push({ user: a.user, hash: await hashPassword(a.pass) });
  return stored;
}

/** Hashes on the libuv thread pool: a password check never blocks the event loop. */
async function passwordMatches(pass: string, stored: string): Promise<boolean> {
  const [, saltHex, hashHex] = stored.split('$');
  const expected = Buffer.from(hashHex ?? '', 'hex');
  const actual = await scryptAsync(pass, Buffer.from(saltHex ?? '', 'hex'), expected.length || 32, SCRYPT);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Stands in for the hash when no entry takes the user name, so that answer costs a hash too. */
const DECOY = `scrypt$${'00'.repeat(16)}$${'00'.repeat(32)}`;

/** A public id in the spirit of the real share links (lower-case letters and digits), 134 bits. */
const newPuid = (): string => newPublicId();

const toShare = (row: ShareRow): Share => ({
  uuid: row.uuid,
  puid: row.puid,
  slug: row.slug,
  title: row.title,
  description: row.description,
  items: JSON.parse(row.items) as ShareItem[],
  starts_at: row.starts_at,
  expires_at: row.expires_at,
  starts_tz: row.starts_tz,
  expires_tz: row.expires_tz,
  auth: (JSON.parse(row.auth) as StoredAuth[]).map((a) => ({ user: a.user })),
  created_at: row.created_at,
  updated_at: row.updated_at,
});

/** Shareboxes: a public link to chosen files and folders, optionally time-boxed and password-protected. */
export class ShareStore {
  constructor(private readonly db: Database) {}

  /**
   * Hashes the passwords first (asynchronously, off the event loop), then writes the row in one
   * synchronous step: nothing is awaited once the database is touched, so this may be followed by,
   * but never run inside, a transaction.
   */
  async create(share: NewShare): Promise<Share> {
    const auth = await hashAuth(share.auth);
    return this.insert(share, auth);
  }

  private insert(share: NewShare, auth: StoredAuth[]): Share {
    const uuid = randomUUID();
    let puid = newPuid();
    while (this.db.prepare('SELECT 1 FROM shares WHERE puid = ?').get(puid)) puid = newPuid();
    const at = now();
    this.db
      .prepare(
        `INSERT INTO shares (uuid, puid, slug, title, description, items, starts_at, expires_at, starts_tz, expires_tz, auth, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        uuid,
        puid,
        slugify(share.title) || 'share',
        share.title,
        share.description,
        JSON.stringify(share.items),
        share.starts_at,
        share.expires_at,
        share.starts_tz,
        share.expires_tz,
        JSON.stringify(auth),
        at,
        at,
      );
    return this.require(uuid);
  }

  list(limit: number, offset: number): { shares: Share[]; total: number } {
    const total = (this.db.prepare('SELECT count(*) AS n FROM shares').get() as { n: number }).n;
    const rows = this.db
      .prepare('SELECT * FROM shares ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?')
      .all(limit, offset) as ShareRow[];
    return { shares: rows.map(toShare), total };
  }

  require(uuid: string): Share {
    const row = this.db.prepare('SELECT * FROM shares WHERE uuid = ?').get(uuid) as ShareRow | undefined;
    if (!row)
      throw notFound('SHARE_NOT_FOUND', `No share has the uuid ${uuid}.`, 'List shares with GET /v5/shares.');
    return toShare(row);
  }

  byPuid(puid: string): Share | undefined {
    const row = this.db.prepare('SELECT * FROM shares WHERE puid = ?').get(puid) as ShareRow | undefined;
    return row ? toShare(row) : undefined;
  }

  delete(uuid: string): Share {
    const share = this.require(uuid);
    this.db.prepare('DELETE FROM shares WHERE uuid = ?').run(uuid);
    return share;
  }

  /** The files a share shows: its files plus those of its folders (sub-folders too when `recursive`). */
  sharedFiles(share: Share, limit: number, offset: number): { files: FileWithFolder[]; total: number } {
    const ors: string[] = [];
    const params: unknown[] = [];
    for (const item of share.items) {
      if (item.identifiers.length === 0) continue;
      const marks = item.identifiers.map(() => '?').join(', ');
      if (item.type === 'file_uuid') {
        ors.push(`f.uuid IN (${marks})`);
        params.push(...item.identifiers);
      } else if (item.options?.recursive) {
        for (const uuid of item.identifiers) {
          ors.push(`f.folder_id IN (SELECT c.id FROM folders p JOIN folders c ON c.path = p.path OR p.path = '/'
            OR (c.path >= (p.path || '/') AND c.path < (p.path || '0')) WHERE p.uuid = ?)`);
          params.push(uuid);
        }
      } else {
        ors.push(`f.folder_id IN (SELECT id FROM folders WHERE uuid IN (${marks}))`);
        params.push(...item.identifiers);
      }
    }
    if (ors.length === 0) return { files: [], total: 0 };
    const from = `FROM files f JOIN folders d ON d.id = f.folder_id WHERE ${ors.map((o) => `(${o})`).join(' OR ')}`;
    const total = (this.db.prepare(`SELECT count(*) AS n ${from}`).get(...params) as { n: number }).n;
    const files = this.db
      .prepare(
        `SELECT f.*, d.uuid AS folder_uuid, d.path AS folder_path ${from} ORDER BY d.path, f.name, f.id LIMIT ? OFFSET ?`,
      )
      .all(...params, limit, offset) as FileWithFolder[];
    return { files, total };
  }

  /**
   * Whether `user`/`pass` open the share; an entry with an empty user accepts any user name. Only
   * the entries that take `user` are hashed (one at a time, off the event loop); every candidate
   * is, so the answer takes as long whichever of them matches, and a user name no entry takes
   * still costs one hash.
   */
  async checkPassword(puid: string, user: string, pass: string): Promise<boolean> {
    const row = this.db.prepare('SELECT auth FROM shares WHERE puid = ?').get(puid) as
      { auth: string } | undefined;
    const entries = row ? (JSON.parse(row.auth) as StoredAuth[]) : [];
    const candidates = entries.filter((entry) => entry.user === '' || entry.user === user);
    if (candidates.length === 0) {
      await passwordMatches(pass, DECOY);
      return false;
    }
    let ok = false;
    for (const entry of candidates) {
      if (await passwordMatches(pass, entry.hash)) ok = true;
    }
    return ok;
  }

  isProtected(puid: string): boolean {
    const row = this.db.prepare('SELECT auth FROM shares WHERE puid = ?').get(puid) as
      { auth: string } | undefined;
    return row !== undefined && (JSON.parse(row.auth) as StoredAuth[]).length > 0;
  }
}
