import { createHash, hash as digestOf, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { ApiError, notFound } from '../errors.js';
import { rootKeyImmutable } from './grants.js';
import { isPermission, PERMISSIONS, type Permission } from './permissions.js';
import { cachedStatement } from '../store/statements.js';
import { dataMemo } from '../store/data-memo.js';

export interface ApiKeyRecord {
  uuid: string;
  description: string;
  permissions: Permission[];
  active: boolean;
  root: boolean;
  created_at: string;
}

interface KeyRow {
  uuid: string;
  key_id: string;
  secret_hash: string;
  description: string;
  permissions: string;
  active: number;
  is_root: number;
  created_at: string;
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** A presented secret's SHA-256 in base64, in one call (a quarter of a Hash object's cost): the memo key. */
export const secretDigest = (secret: string): string => digestOf('sha256', secret, 'base64');

/** A non-secret lookup index: the first bytes of the secret's hash. Collisions are harmless. */
const lookupId = (hash: Buffer): string => hash.subarray(0, 8).toString('hex');

export const unauthorized = (msg: string, code = 'UNAUTHORIZED'): ApiError =>
  new ApiError(401, code, msg, 'Send a valid API key of this project in the X-Filerobot-Key header.');

/**
 * API keys of the project. Only a SHA-256 of each secret is stored; a presented key is looked up
 * by a prefix of its hash and then compared in constant time, and nothing here ever logs or
 * returns a secret except `create`, once.
 */
export class ApiKeyStore {
  constructor(private readonly db: Database) {}

  private sql(text: string): Statement {
    return cachedStatement(this.db, text);
  }

  /** Generates a secret in the shape of Filerobot's keys: 32 random bytes in hex. */
  static newSecret(): string {
    return randomBytes(32).toString('hex');
  }

  create(description: string, permissions: Permission[], secret = ApiKeyStore.newSecret()): { key: ApiKeyRecord; secret: string } {
    const hash = sha256(secret);
    const uuid = randomUUID();
    this.sql(
      `INSERT INTO api_keys (uuid, key_id, secret_hash, description, permissions, active, is_root, created_at)
       VALUES (?, ?, ?, ?, ?, 1, 0, ?)`,
    ).run(uuid, lookupId(hash), hash.toString('hex'), description, JSON.stringify(permissions), new Date().toISOString());
    return { key: this.require(uuid), secret };
  }

  /** Makes `secret` the root key (all permissions), replacing any earlier root key. */
  setRoot(secret: string): ApiKeyRecord {
    const hash = sha256(secret);
    return this.db.transaction(() => {
      const existing = this.sql('SELECT uuid FROM api_keys WHERE is_root = 1').get() as { uuid: string } | undefined;
      if (existing) {
        this.sql('UPDATE api_keys SET key_id = ?, secret_hash = ?, permissions = ?, active = 1 WHERE uuid = ?')
          .run(lookupId(hash), hash.toString('hex'), JSON.stringify(PERMISSIONS), existing.uuid);
        return this.require(existing.uuid);
      }
      const uuid = randomUUID();
      this.db
        .prepare(
          `INSERT INTO api_keys (uuid, key_id, secret_hash, description, permissions, active, is_root, created_at)
           VALUES (?, ?, ?, 'root key', ?, 1, 1, ?)`,
        )
        .run(uuid, lookupId(hash), hash.toString('hex'), JSON.stringify(PERMISSIONS), new Date().toISOString());
      return this.require(uuid);
    })();
  }

  /**
   * Resolves a presented secret to its key, or throws 401 saying whether it is unknown or
   * deactivated. Every request authenticates, so an accepted key is remembered (by its hash, never
   * the secret) until the database changes: any write, such as deactivating it, is seen at once.
   * Refusals are not remembered, so unknown keys cannot fill the memory.
   */
  authenticate(secret: string): ApiKeyRecord {
    const digest = secretDigest(secret);
    const memo = dataMemo(this.db);
    const memoKey = memo && `api-key:${digest}`;
    const known = memoKey && memo.get(memoKey);
    if (known) return known as ApiKeyRecord;
    const hash = Buffer.from(digest, 'base64');
    // key_id is unique: one candidate at most.
    const row = this.sql('SELECT * FROM api_keys WHERE key_id = ?').get(lookupId(hash)) as KeyRow | undefined;
    const match = row && timingSafeEqual(Buffer.from(row.secret_hash, 'hex'), hash) ? row : undefined;
    if (!match) throw unauthorized('The API key is not valid for this project.');
    if (!match.active) {
      throw unauthorized('This API key has been deactivated.', 'KEY_DEACTIVATED');
    }
    const record = toRecord(match);
    if (memoKey) {
      Object.freeze(record.permissions);
      memo.set(memoKey, Object.freeze(record));
    }
    return record;
  }

  list(): ApiKeyRecord[] {
    return (this.sql('SELECT * FROM api_keys ORDER BY created_at, id').all() as KeyRow[]).map(toRecord);
  }

  get(uuid: string): ApiKeyRecord | undefined {
    const row = this.sql('SELECT * FROM api_keys WHERE uuid = ?').get(uuid) as KeyRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  require(uuid: string): ApiKeyRecord {
    const key = this.get(uuid);
    if (!key) throw notFound('KEY_NOT_FOUND', `No API key has the uuid ${uuid}.`, 'List keys with GET /v5/access/keys.');
    return key;
  }

  update(uuid: string, change: { description?: string; permissions?: Permission[]; active?: boolean }): ApiKeyRecord {
    const key = this.require(uuid);
    // Fixed at start-up: renaming it would let a lesser key disguise the project's master key.
    if (key.root) throw rootKeyImmutable();
    this.sql('UPDATE api_keys SET description = ?, permissions = ?, active = ? WHERE uuid = ?')
      .run(
        change.description ?? key.description,
        JSON.stringify(change.permissions ?? key.permissions),
        (change.active ?? key.active) ? 1 : 0,
        uuid,
      );
    return this.require(uuid);
  }

  delete(uuid: string): ApiKeyRecord {
    const key = this.require(uuid);
    if (key.root) throw rootKeyImmutable();
    this.sql('DELETE FROM api_keys WHERE uuid = ?').run(uuid);
    return key;
  }
}

/**
 * Parsed grants by their stored text: every request authenticates, and a project has few distinct
 * grant lists, so each is parsed once. Shared and frozen; records get their own copy of the list.
 */
const parsedGrants = new Map<string, { list: readonly Permission[]; set: ReadonlySet<Permission> }>();
const MAX_PARSED_GRANTS = 1024;

function grantsOf(text: string): { list: readonly Permission[]; set: ReadonlySet<Permission> } {
  let grants = parsedGrants.get(text);
  if (!grants) {
    const list = Object.freeze((JSON.parse(text) as unknown[]).filter(isPermission));
    grants = { list, set: new Set(list) };
    if (parsedGrants.size >= MAX_PARSED_GRANTS) parsedGrants.clear();
    parsedGrants.set(text, grants);
  }
  return grants;
}

const permissionSets = new WeakMap<ApiKeyRecord, ReadonlySet<Permission>>();

/** The permissions of a key read from the store, as a set shared between requests. */
export function permissionSetOf(key: ApiKeyRecord): ReadonlySet<Permission> {
  return permissionSets.get(key) ?? new Set(key.permissions);
}

function toRecord(row: KeyRow): ApiKeyRecord {
  const grants = grantsOf(row.permissions);
  const record: ApiKeyRecord = {
    uuid: row.uuid,
    description: row.description,
    permissions: [...grants.list],
    active: row.active === 1,
    root: row.is_root === 1,
    created_at: row.created_at.replace(/\.\d{3}Z$/, 'Z'),
  };
  permissionSets.set(record, grants.set);
  return record;
}
