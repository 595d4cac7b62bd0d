/**
 * `<connection>.sync` in a flow: the same sync as `sfx sync`, as one step. Idempotent: a re-run
 * (or a resumed run) plans again from the destination and does only what is left.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { defineStepAction } from '../step-action.js';
import { sync } from './index.js';
import { defaultSha1CachePath } from './sha1-cache.js';

export const syncAction = defineStepAction({
  id: 'sync',
  title: 'Sync a local folder, URL list or CSV manifest into a DAM folder',
  description:
    'Makes `folder` hold what `source` holds: a local folder, a file of URLs (one a line) or a CSV manifest (columns path or url, name, tags split on |, ' +
    'every other column metadata). Unchanged files (same size and sha1, with a local sha1 cache) are skipped, changed ones replaced in place (same uuid), ' +
    'new ones uploaded; `delete: true` removes assets that left the source. The output is the report (counts, failures); the step fails when an entry failed, ' +
    'unless `allowFailures: true`.',
  input: z.strictObject({
    source: z.string().min(1, { error: 'source: give a local folder, a URL list or a CSV manifest (relative to the flow file).' }),
    folder: z.string().startsWith('/', { error: 'folder must be a DAM folder path starting with /.' }),
    from: z.enum(['folder', 'urls', 'csv'], { error: 'from must be folder, urls or csv (or leave it out to detect it).' }).optional(),
    delete: z.boolean().default(false),
    checksum: z.boolean().default(false).describe('URL sources: fetch each URL whose asset exists and compare sha1s.'),
    concurrency: z.number().int().min(1).max(64).default(4),
    cache: z.union([z.string().min(1), z.literal(false)]).optional().describe('sha1 cache file (default: sync-cache.sqlite in the sfx config folder); false for none.'),
    allowFailures: z.boolean().default(false),
  }),
  kind: 'destructive',
  idempotent: true,
  async run(ctx, input) {
    if (!ctx.client) throw new Error('sync needs a connection: use it as <connection>.sync.');
    const report = await sync(ctx.client, {
      source: resolve(ctx.baseDir, input.source),
      folder: input.folder,
      ...(input.from && { from: input.from }),
      delete: input.delete,
      checksum: input.checksum,
      concurrency: input.concurrency,
      ...(input.cache !== false && { cachePath: input.cache ? resolve(ctx.baseDir, input.cache) : defaultSha1CachePath() }),
      signal: ctx.signal,
    });
    ctx.log('info', 'sync done', { uploaded: report.uploaded, updated: report.updated, skipped: report.skipped, deleted: report.deleted, failed: report.failed });
    if (report.failed > 0 && !input.allowFailures) {
      const first = report.failures.slice(0, 5).map((f) => `${f.path}: ${f.reason}`).join('; ');
      throw Object.assign(new Error(`sync: ${report.failed} of the entries failed (${first}${report.failed > 5 ? '; ...' : ''}). Run it again to retry them, or set allowFailures: true.`), { report });
    }
    return report;
  },
});
