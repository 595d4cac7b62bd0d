import { badRequest } from '../errors.js';
import { isWithin, normalizeFolderPath } from '../store/names.js';

/**
 * A security template's folder scope: `/incoming/*` is the folder and everything below it,
 * `/incoming` that folder alone. Paths compared here are always normalised folder paths
 * (`normalizeFolderPath`), which refuses "." and ".." segments, so a path cannot climb out of a
 * scope after it has been checked; and the comparison is by whole segments, so `/a` never
 * admits `/ab`.
 */
export interface FolderScope {
  /** The scope's folder, normalised. */
  base: string;
  /** True for `/base/*`: subfolders are in scope too. */
  subtree: boolean;
}

/** Parses a scope as a template stores it; `null`, `undefined` and `""` mean "no restriction". */
export function parseScope(raw: unknown, field: string): FolderScope | null {
  if (raw === undefined || raw === null || raw === '') return null;
  if (typeof raw !== 'string')
    throw badRequest('INVALID_PARAMETER', `"${field}" must be a folder path such as "/incoming/*", or null.`);
  const trimmed = raw.trim();
  const subtree = trimmed.endsWith('/*');
  const basePart = subtree ? trimmed.slice(0, -1) : trimmed;
  if (basePart.includes('*')) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"${field}" may hold "*" only as its last segment, as in "/incoming/*".`,
    );
  }
  if (!basePart.startsWith('/'))
    throw badRequest('INVALID_PARAMETER', `"${field}" must start with "/", as in "/incoming/*".`);
  const base = normalizeFolderPath(basePart, field);
  return { base, subtree };
}

export function formatScope(scope: FolderScope | null): string | null {
  if (!scope) return null;
  if (!scope.subtree) return scope.base;
  return scope.base === '/' ? '/*' : `${scope.base}/*`;
}

/** May content directly in `folder` be reached (listed, fetched, uploaded to)? */
export function scopeAllows(scope: FolderScope, folder: string): boolean {
  return scope.subtree ? isWithin(folder, scope.base) : folder === scope.base;
}

/** Is every folder below `folder` (and `folder` itself) in scope? Recursive listings need this. */
export function scopeAllowsSubtree(scope: FolderScope, folder: string): boolean {
  return scope.subtree && isWithin(folder, scope.base);
}
