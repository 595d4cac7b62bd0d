import { AuthenticationError, NotFoundError, PermissionDeniedError } from '@sfx/client';

/**
 * A 404 that means "this object does not exist", as opposed to a wrong path or project (which
 * must not pass for an already-deleted object).
 */
export function isGone(error: unknown): boolean {
  return error instanceof NotFoundError && error.code !== 'ROUTE_NOT_FOUND' && error.code !== 'PROJECT_NOT_FOUND';
}

/** Runs a delete; an object already gone counts as deleted by someone else, not as a failure. */
export async function deleteIdempotently<K extends string>(
  key: K,
  value: string,
  remove: () => Promise<unknown>,
): Promise<Record<K, string> & { deleted: boolean; reason?: 'not_found' }> {
  const named = { [key]: value } as Record<K, string>;
  try {
    await remove();
    return { ...named, deleted: true };
  } catch (error) {
    if (isGone(error)) return { ...named, deleted: false, reason: 'not_found' };
    throw error;
  }
}

/**
 * An error about the call as a whole (the key lacks a permission, or is refused), which every
 * other item of a bulk action would hit too: the action stops and throws it instead of
 * reporting the same failure once per item.
 */
export function isWholeCallError(error: unknown): boolean {
  return error instanceof PermissionDeniedError || error instanceof AuthenticationError;
}

/**
 * Runs `work` over items with at most `concurrency` at once; results keep the input order. The
 * first error `work` throws stops new items from starting and is thrown once the running ones end.
 */
export async function mapLimited<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        results[index] = await work(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  // Every worker ends before this returns or throws: nothing is still changing the DAM when the
  // caller reports the failure.
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/** An error as one line for per-item reports (client errors are already free of secrets). */
export function errorLine(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
