import type { Database, Statement } from 'better-sqlite3';
import { badRequest } from '../errors.js';
import { splitPath } from './names.js';
import { now } from './metadata-store.js';

/**
 * What this server stores for a file or folder (inferred: the reference found no endpoint, only
 * the v4 `VISIBILITY_*` and v5 `in_dam` / `in_cdn` shapes). `inherited` takes the nearest folder's
 * setting; the root's is `public`.
 */
export const VISIBILITIES = ['inherited', 'public', 'organisation', 'private'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/** Spellings accepted on input besides our own: the v4 constants and the v5 names that map one to one. */
const ALIASES: Record<string, Visibility> = {
  inherit: 'inherited',
  visibility_inherit: 'inherited',
  visibility_inherited: 'inherited',
  visibility_public: 'public',
  visibility_organisation: 'organisation',
  visibility_organization: 'organisation',
  organization: 'organisation',
  visibility_private: 'private',
};

export function parseVisibility(value: unknown): Visibility {
  const raw = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  const known =
    raw === undefined
      ? undefined
      : (VISIBILITIES as readonly string[]).includes(raw)
        ? (raw as Visibility)
        : ALIASES[raw];
  if (!known) {
    throw badRequest(
      'INVALID_VISIBILITY',
      `"visibility" must be one of ${VISIBILITIES.map((v) => `"${v}"`).join(', ')}; got ${JSON.stringify(value)}.`,
      'v4 constants such as "VISIBILITY_PUBLIC" are accepted too. Example: {"visibility": "private"}',
    );
  }
  return known;
}

/** The root's effective visibility, which `inherited` resolves to when no folder above sets one. */
export const ROOT_VISIBILITY: Exclude<Visibility, 'inherited'> = 'public';

/**
 * Resolves the effective visibility of folders by path: the folder's own setting, else the
 * nearest ancestor's. Memoised, so build one per request (settings may change between requests).
 */
export function folderVisibilityResolver(
  db: Database,
): (folderPath: string) => Exclude<Visibility, 'inherited'> {
  const memo = new Map<string, Exclude<Visibility, 'inherited'>>();
  let nearest: Statement | undefined;
  let anySet: boolean | undefined;
  return (folderPath) => {
    const cached = memo.get(folderPath);
    if (cached) return cached;
    // Most projects never set one: a single look answers every folder of the request.
    anySet ??=
      db.prepare(`SELECT 1 FROM folders WHERE visibility <> 'inherited' LIMIT 1`).get() !== undefined;
    let result: Exclude<Visibility, 'inherited'> = ROOT_VISIBILITY;
    if (anySet) {
      const segments = splitPath(folderPath);
      const chain = ['/', ...segments.map((_, i) => '/' + segments.slice(0, i + 1).join('/'))];
      nearest ??= db.prepare(
        `SELECT visibility FROM folders WHERE path IN (SELECT value FROM json_each(?)) AND visibility <> 'inherited'
         ORDER BY length(path) DESC LIMIT 1`,
      );
      const row = nearest.get(JSON.stringify(chain)) as { visibility: Visibility } | undefined;
      if (row && row.visibility !== 'inherited') result = row.visibility;
    }
    memo.set(folderPath, result);
    return result;
  };
}

export function setFileVisibility(db: Database, fileId: number, visibility: Visibility): void {
  db.prepare('UPDATE files SET visibility = ?, modified_at = ? WHERE id = ?').run(visibility, now(), fileId);
}

export function setFolderVisibility(db: Database, folderId: number, visibility: Visibility): void {
  db.prepare('UPDATE folders SET visibility = ?, updated_at = ? WHERE id = ?').run(
    visibility,
    now(),
    folderId,
  );
}
