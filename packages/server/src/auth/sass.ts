import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { ApiError, notFound } from '../errors.js';
import { secretDigest, unauthorized } from './api-keys.js';
import { parseScope, type FolderScope } from './folder-scope.js';
import { isPermission, type Permission } from './permissions.js';
import { dataMemo } from '../store/data-memo.js';
import { cachedStatement } from '../store/statements.js';

export const DEFAULT_VALIDITY_SECONDS = 1200;
/** The only SASS key format this server issues and accepts. */
export const SASS_PREFIX = 'SASS__v1.05__';

export interface SecurityTemplate {
  id: string;
  name: string;
  permissions: Permission[];
  validity_seconds: number;
  ip_ranges: string[];
  countries: string[];
  limit_per_min: number | null;
  limit_per_ip_source: number | null;
  dir_scope: string | null;
  list_scope: string | null;
  active: boolean;
  created_at: string;
  updated_at: string;
}

export type TemplateFields = Omit<SecurityTemplate, 'id' | 'created_at' | 'updated_at'>;

/** A template with its scopes parsed, as the request pipeline uses it. */
export interface TemplateRules extends SecurityTemplate {
  dirScope: FolderScope | null;
  listScope: FolderScope | null;
}

export interface SassKeyRecord {
  /** Row id: names the key in limits and logs without revealing the secret. */
  id: number;
  template: TemplateRules;
  expiresAt: number;
}

interface TemplateRow {
  id: number;
  template_id: string;
  name: string;
  permissions: string;
  validity_seconds: number;
  ip_ranges: string;
  countries: string;
  limit_per_min: number | null;
  limit_per_ip_source: number | null;
  dir_scope: string | null;
  list_scope: string | null;
  active: number;
  created_at: string;
  updated_at: string;
}

interface SassRow {
  id: number;
  secret_hash: string;
  template_row: number;
  expires_at: number;
  revoked_at: number | null;
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
const lookupId = (hash: Buffer): string => hash.subarray(0, 8).toString('hex');

/** Expired keys are kept this long so they answer KEY_EXPIRED (which clients renew on) rather than UNAUTHORIZED. */
const EXPIRED_KEPT_MS = 24 * 3_600_000;

/**
 * Security templates and the SASS keys exchanged from them. A template id is itself a credential
 * (the exchange needs nothing else), so it is looked up by its hash; SASS secrets are stored as
 * SHA-256 only and compared in constant time, like API keys. Every SASS key row points at its
 * template, and requests read the template on each call: permission, scope and network changes
 * apply at once, and deactivating a template revokes its keys for good.
 */
export class SecurityTemplateStore {
  constructor(
    private readonly db: Database,
    private readonly clock: () => number,
  ) {}

  private iso(): string {
    return new Date(this.clock()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  create(fields: TemplateFields): SecurityTemplate {
    const templateId = `SECU_${randomBytes(16).toString('hex').toUpperCase()}`;
    const at = this.iso();
    this.db
      .prepare(
        `INSERT INTO security_templates (template_id, lookup, name, permissions, validity_seconds, ip_ranges, countries,
           limit_per_min, limit_per_ip_source, dir_scope, list_scope, active, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(templateId, sha256(templateId).toString('hex'), ...columns(fields), at, at);
    return this.require(templateId);
  }

  list(): SecurityTemplate[] {
    return (this.db.prepare('SELECT * FROM security_templates ORDER BY id').all() as TemplateRow[]).map(
      toTemplate,
    );
  }

  private row(templateId: string): TemplateRow | undefined {
    return this.db
      .prepare('SELECT * FROM security_templates WHERE lookup = ?')
      .get(sha256(templateId).toString('hex')) as TemplateRow | undefined;
  }

  require(templateId: string): SecurityTemplate {
    const row = this.row(templateId);
    if (!row)
      throw notFound(
        'TEMPLATE_NOT_FOUND',
        `No security template has the id ${templateId}.`,
        'List templates with GET /v5/access/templates.',
      );
    return toTemplate(row);
  }

  update(templateId: string, change: Partial<TemplateFields>): SecurityTemplate {
    const current = this.require(templateId);
    const next: TemplateFields = { ...current, ...change };
    this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE security_templates SET name = ?, permissions = ?, validity_seconds = ?, ip_ranges = ?, countries = ?,
             limit_per_min = ?, limit_per_ip_source = ?, dir_scope = ?, list_scope = ?, active = ?, updated_at = ?
           WHERE template_id = ?`,
        )
        .run(...columns(next), this.iso(), current.id);
      // Revocation is final: reactivating the template later must not bring these keys back.
      if (current.active && !next.active) {
        this.db
          .prepare(
            'UPDATE sass_keys SET revoked_at = ? WHERE template_row = (SELECT id FROM security_templates WHERE template_id = ?) AND revoked_at IS NULL',
          )
          .run(this.clock(), current.id);
      }
    })();
    return this.require(templateId);
  }

  /** Deletes the template; its SASS keys go with it (foreign key cascade). */
  delete(templateId: string): SecurityTemplate {
    const template = this.require(templateId);
    this.db.prepare('DELETE FROM security_templates WHERE template_id = ?').run(template.id);
    return template;
  }

  /**
   * Mints a SASS key from an active template. An unknown id and an inactive template fail alike,
   * so the exchange never tells which template ids exist.
   */
  exchange(templateId: string, clientIp: string): { key: string; expiresAt: number } {
    const row = this.row(templateId);
    if (!row || row.active !== 1) {
      throw notFound(
        'TEMPLATE_NOT_FOUND',
        'No active security template has this id.',
        'Check the template id (SECU_...) and that the template is active.',
      );
    }
    const now = this.clock();
    const secret = SASS_PREFIX + randomBytes(32).toString('base64url');
    const hash = sha256(secret);
    const expiresAt = now + row.validity_seconds * 1000;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM sass_keys WHERE expires_at < ?').run(now - EXPIRED_KEPT_MS);
      this.db
        .prepare(
          'INSERT INTO sass_keys (key_id, secret_hash, template_row, issued_ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(lookupId(hash), hash.toString('hex'), row.id, clientIp, now, expiresAt);
    })();
    return { key: secret, expiresAt };
  }

  /**
   * Resolves a presented SASS key: unknown -> UNAUTHORIZED, revoked or template inactive ->
   * KEY_DEACTIVATED, past its validity -> KEY_EXPIRED (a key is valid for exactly
   * `validity_seconds`: at `created + validity` it has expired). Network, scope and rate rules
   * are the caller's, as they need the request.
   */
  authenticate(secret: string): SassKeyRecord {
    if (!secret.startsWith(SASS_PREFIX)) {
      throw unauthorized('This SASS key is not in a format this server issues (SASS__v1.05__...).');
    }
    const digest = secretDigest(secret);
    // Remembered by hash until the database changes (a template edited or deactivated is seen by
    // the very next request); expiry is checked on every use, so it is not part of what is kept.
    const memo = dataMemo(this.db);
    const memoKey = memo && `sass-key:${digest}`;
    const found = (memoKey && (memo.get(memoKey) as SassLookup | undefined)) || this.lookup(Buffer.from(digest, 'base64'));
    if (!found) throw unauthorized('The SASS key is not valid for this project.');
    if (memoKey) memo.set(memoKey, found);
    if (found.revoked) {
      throw unauthorized(
        'This SASS key was revoked: its security template has been deactivated.',
        'KEY_DEACTIVATED',
      );
    }
    if (this.clock() >= found.record.expiresAt) {
      throw new ApiError(
        401,
        'KEY_EXPIRED',
        'This SASS key has expired.',
        'Exchange the security template for a new key (GET /{token}/key/{template_id}).',
      );
    }
    return found.record;
  }

  private lookup(hash: Buffer): SassLookup | undefined {
    const candidates = cachedStatement(this.db, 'SELECT * FROM sass_keys WHERE key_id = ?').all(lookupId(hash)) as SassRow[];
    const match = candidates.find((row) => timingSafeEqual(Buffer.from(row.secret_hash, 'hex'), hash));
    if (!match) return undefined;
    const row = cachedStatement(this.db, 'SELECT * FROM security_templates WHERE id = ?').get(match.template_row) as TemplateRow;
    const template = toTemplate(row);
    const record: SassKeyRecord = {
      id: match.id,
      expiresAt: match.expires_at,
      template: {
        ...template,
        dirScope: parseScope(template.dir_scope, 'dir_scope'),
        listScope: parseScope(template.list_scope, 'list_scope'),
      },
    };
    return { revoked: match.revoked_at !== null || row.active !== 1, record };
  }
}

/** A SASS key as its rows say: whether it is revoked, and what a request using it gets. */
interface SassLookup {
  revoked: boolean;
  record: SassKeyRecord;
}

function columns(f: TemplateFields): unknown[] {
  return [
    f.name,
    JSON.stringify(f.permissions),
    f.validity_seconds,
    JSON.stringify(f.ip_ranges),
    JSON.stringify(f.countries),
    f.limit_per_min,
    f.limit_per_ip_source,
    f.dir_scope,
    f.list_scope,
    f.active ? 1 : 0,
  ];
}

function toTemplate(row: TemplateRow): SecurityTemplate {
  return {
    id: row.template_id,
    name: row.name,
    permissions: (JSON.parse(row.permissions) as unknown[]).filter(isPermission),
    validity_seconds: row.validity_seconds,
    ip_ranges: JSON.parse(row.ip_ranges) as string[],
    countries: JSON.parse(row.countries) as string[],
    limit_per_min: row.limit_per_min,
    limit_per_ip_source: row.limit_per_ip_source,
    dir_scope: row.dir_scope,
    list_scope: row.list_scope,
    active: row.active === 1,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
