/**
 * `sync`: makes a DAM folder hold what a source holds (a local folder, a URL list, a CSV
 * manifest). Used by `sfx sync` and by flows (`uses: <connection>.sync`).
 */
import type { Filerobot } from '@sfx/client';
import { executePlan, emptyReport, type ExecuteOptions, type SyncReport } from './execute.js';
import { planSync, type PlanOptions, type SyncPlan } from './plan.js';
import { Sha1Cache } from './sha1-cache.js';

export { planSync, SyncPlan, normalizeFolder as normalizeSyncFolder, type PlanOptions, type PlanRow, type PlanAction, type PlanCounts } from './plan.js';
export { executePlan, emptyReport, MAX_LISTED, type ExecuteOptions, type RowResult, type SyncReport } from './execute.js';
export { Sha1Cache, defaultSha1CachePath, sha1OfFile, type Sha1CacheStats } from './sha1-cache.js';
export { detectSource, readSource, type SourceKind, type SourceEntry } from './sources.js';
export { SyncError } from './errors.js';

export interface SyncOptions extends Omit<PlanOptions, 'cache'>, Omit<ExecuteOptions, 'cache'> {
  /** The sha1 cache file; undefined keeps none (every file whose remote twin has its size is read). */
  cachePath?: string;
  /** Plan only: change nothing. */
  dryRun?: boolean;
}

/** Plans and (unless `dryRun`) carries out a sync; the report counts every entry. */
export async function sync(client: Filerobot, options: SyncOptions): Promise<SyncReport> {
  const startedAt = Date.now();
  const cache = new Sha1Cache(options.cachePath);
  let plan: SyncPlan | undefined;
  try {
    plan = await planSync(client, { ...options, cache });
    if (options.dryRun) return emptyReport(plan, true, cache, startedAt);
    return await executePlan(client, plan, { ...options, cache }, startedAt);
  } finally {
    plan?.close();
    cache.close();
  }
}
