import type { Database } from 'better-sqlite3';
import { badRequest } from '../errors.js';
import { splitPath } from './names.js';
import { now } from './metadata-store.js';
import { cachedStatement } from './statements.js';

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

/** The nearest folder on a path's chain (itself, then its ancestors up to the root) that sets a visibility. */
const NEAREST_SET = `SELECT visibility FROM folders WHERE path IN (SELECT value FROM json_each(?)) AND visibility <> 'inherited'
  ORDER BY length(path) DESC LIMIT 1`;
/** Whether any folder sets one; a scan of the folders when none does, so asked only for a second path. */
const ANY_SET = `SELECT 1 FROM folders WHERE visibility <> 'inherited' LIMIT 1`;

/**
 * Resolves the effective visibility of folders by path: the folder's own setting, else the
 * nearest ancestor's. Memoised, so build one per request (settings may change between requests).
 * Building one costs nothing: the statement is compiled once per database and the memo is made
 * on the first lookup, so requests that never show a visibility pay nothing for it.
 */
export function folderVisibilityResolver(
  db: Database,
): (folderPath: string) => Exclude<Visibility, 'inherited'> {
  let memo: Map<string, Exclude<Visibility, 'inherited'>> | undefined;
  let anySet: boolean | undefined;
  return (folderPath) => {
    const cached = memo?.get(folderPath);
    if (cached) return cached;
    // A single path (a file's details) costs one indexed lookup per folder on its chain; a reply
    // naming many folders (a listing) first asks once whether any folder sets one at all.
    if (memo !== undefined) anySet ??= cachedStatement(db, ANY_SET).get() !== undefined;
    if (anySet === false) {
      memo?.set(folderPath, ROOT_VISIBILITY);
      return ROOT_VISIBILITY;
    }
    const segments = splitPath(folderPath);
    const chain = ['/'];
    let prefix = '';
    for (const segment of segments) {
      prefix += `/${segment}`;
      chain.push(prefix);
    }
    const row = cachedStatement(db, NEAREST_SET).get(JSON.stringify(chain)) as { visibility: Visibility } | undefined;
    const result: Exclude<Visibility, 'inherited'> = row && row.visibility !== 'inherited' ? row.visibility : ROOT_VISIBILITY;
    (memo ??= new Map()).set(folderPath, result);
    return result;
  };
}

export function setFileVisibility(db: Database, fileId: number, visibility: Visibility): void {
  cachedStatement(db, 'UPDATE files SET visibility = ?, modified_at = ? WHERE id = ?').run(visibility, now(), fileId);
}

export function setFolderVisibility(db: Database, folderId: number, visibility: Visibility): void {
  cachedStatement(db, 'UPDATE folders SET visibility = ?, updated_at = ? WHERE id = ?').run(
    visibility,
    now(),
    folderId,
  );
}
