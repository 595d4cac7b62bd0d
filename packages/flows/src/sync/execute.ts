/**
 * Carries out a plan with bounded concurrency. Every write is safe to repeat: uploads go with
 * `overwrite`, which replaces a same-named asset in place (same uuid, same CDN URL) instead of
 * adding a suffixed copy, so an upload that landed before a crash is, on the re-run, either
 * unchanged (skipped) or replaced, never duplicated.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { FileObject, Filerobot, Meta } from '@sfx/client';
import type { Sha1Cache } from './sha1-cache.js';
import type { PlanAction, PlanRow, SyncPlan } from './plan.js';
import type { SourceKind } from './sources.js';

export interface ExecuteOptions {
  /** Files in flight at once. Default 4. */
  concurrency?: number;
  cache: Sha1Cache;
  signal?: AbortSignal;
  /** Each row's outcome as it ends (progress). */
  onResult?: (result: RowResult) => void;
}

export interface RowResult {
  action: PlanAction;
  path: string;
  ok: boolean;
  bytes: number;
  /** Why it failed, or a note (the DAM skipped a duplicate). */
  reason?: string;
  /** The DAM skipped the upload: the folder already holds the same content under another name. */
  duplicateOf?: string;
  uuid?: string;
}

/** Most failures (and duplicates) a report lists; the counts are always complete. */
export const MAX_LISTED = 1000;

export interface SyncReport {
  source: string;
  from: SourceKind;
  folder: string;
  dryRun: boolean;
  planned: SyncPlan['counts'];
  uploaded: number;
  updated: number;
  skipped: number;
  deleted: number;
  failed: number;
  bytesSent: number;
  failures: Array<{ action: PlanAction; path: string; reason: string }>;
  /** Uploads the DAM skipped because the folder holds the same content under another name. */
  duplicates: Array<{ path: string; existing: string }>;
  cache: { hits: number; hashed: number };
  durationMs: number;
}

export function emptyReport(plan: SyncPlan, dryRun: boolean, cache: Sha1Cache, startedAt: number): SyncReport {
  return {
    source: plan.source,
    from: plan.from,
    folder: plan.folder,
    dryRun,
    planned: { ...plan.counts },
    uploaded: 0,
    updated: 0,
    skipped: plan.counts.skip,
    deleted: 0,
    failed: 0,
    bytesSent: 0,
    failures: [],
    duplicates: [],
    cache: { ...cache.stats },
    durationMs: Date.now() - startedAt,
  };
}

export async function executePlan(client: Filerobot, plan: SyncPlan, options: ExecuteOptions, startedAt = Date.now()): Promise<SyncReport> {
  const report = emptyReport(plan, false, options.cache, startedAt);
  const rows = plan.rows();
  const concurrency = options.concurrency ?? 4;
  const worker = async (): Promise<void> => {
    for (;;) {
      options.signal?.throwIfAborted();
      const next = rows.next();
      if (next.done) return;
      const result = await carryOut(client, next.value, options);
      tally(report, result);
      options.onResult?.(result);
    }
  };
  // Settled, not raced: after an abort no worker is still writing when the caller closes the plan.
  const outcomes = await Promise.allSettled(Array.from({ length: concurrency }, worker));
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failure) throw failure.reason;
  report.cache = { ...options.cache.stats };
  report.durationMs = Date.now() - startedAt;
  return report;
}

function tally(report: SyncReport, result: RowResult): void {
  if (!result.ok) {
    report.failed++;
    if (report.failures.length < MAX_LISTED) report.failures.push({ action: result.action, path: result.path, reason: result.reason ?? 'failed' });
    return;
  }
  report.bytesSent += result.bytes;
  if (result.duplicateOf !== undefined) {
    report.skipped++;
    if (report.duplicates.length < MAX_LISTED) report.duplicates.push({ path: result.path, existing: result.duplicateOf });
    return;
  }
  if (result.action === 'upload') report.uploaded++;
  else if (result.action === 'update') report.updated++;
  else if (result.action === 'delete') report.deleted++;
}

function split(path: string): { folder: string; name: string } {
  const at = path.lastIndexOf('/');
  return { folder: at <= 0 ? '/' : path.slice(0, at), name: path.slice(at + 1) };
}

async function carryOut(client: Filerobot, row: PlanRow, options: ExecuteOptions): Promise<RowResult> {
  const base = { action: row.action, path: row.path };
  if (row.action === 'fail') return { ...base, ok: false, bytes: 0, reason: row.reason };
  try {
    return { ...base, ...(await perform(client, row, options)) };
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return { ...base, ok: false, bytes: 0, reason: describe(error) };
  }
}

async function perform(client: Filerobot, row: PlanRow, options: ExecuteOptions): Promise<Omit<RowResult, 'action' | 'path'>> {
  const { folder, name } = split(row.path);
  const entry = row.entry;
  const signal = options.signal;
  const extras = entry && entry.kind !== 'invalid' ? { ...(entry.meta && { meta: entry.meta as Meta }), ...(entry.tags && { tags: entry.tags }) } : {};
  switch (row.op) {
    case 'delete':
      await client.files.delete(row.uuid!, { signal });
      return { ok: true, bytes: 0, uuid: row.uuid };
    case 'upload':
    case 'replace': {
      if (entry?.kind !== 'file') throw new Error('internal: an upload row without a local file');
      const { file, duplicate } = await client.files.upload(entry.file, { folder, name, overwrite: true, ...extras, signal });
      if (duplicate) return { ok: true, bytes: 0, duplicateOf: pathOf(file), uuid: file.uuid };
      // The DAM's sha1 of what it received, remembered under the stat the plan saw, unless the file
      // changed meanwhile: the next sync then reads nothing.
      const now = await stat(entry.file, { bigint: true }).catch(() => undefined);
      if (file.hash?.sha1 && now && Number(now.size) === entry.size && String(now.mtimeNs) === entry.mtimeNs)
        options.cache.remember(entry.file, entry.size, entry.mtimeNs, file.hash.sha1);
      return { ok: true, bytes: entry.size, uuid: file.uuid };
    }
    case 'import': {
      if (entry?.kind !== 'url') throw new Error('internal: an import row without a URL');
      const result = await client.files.importUrls([{ url: entry.url, name, ...extras }], { folder, signal });
      const failure = result.errors[0];
      if (failure) return { ok: false, bytes: 0, reason: `${failure.code ?? 'error'}: ${failure.msg ?? 'the DAM could not import the URL'}${failure.hint ? ` (${failure.hint})` : ''}` };
      const file = result.files[0];
      if (!file) return { ok: false, bytes: 0, reason: 'the DAM replied with no file' };
      if (result.duplicates.includes(file.uuid)) return { ok: true, bytes: 0, duplicateOf: pathOf(file), uuid: file.uuid };
      return { ok: true, bytes: 0, uuid: file.uuid };
    }
    case 'refetch': {
      // An import cannot replace an asset in place: fetch the bytes here and upload them over it.
      if (entry?.kind !== 'url') throw new Error('internal: a refetch row without a URL');
      const temp = join(tmpdir(), `sfx-sync-${randomUUID()}`);
      try {
        const response = await fetch(entry.url, { signal: signal ?? null });
        if (!response.ok || !response.body) return { ok: false, bytes: 0, reason: `cannot fetch ${entry.url}: HTTP ${response.status}` };
        await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(temp), { signal });
        const { file } = await client.files.upload(temp, { folder, name, overwrite: true, ...extras, signal });
        return { ok: true, bytes: sizeOf(file), uuid: file.uuid };
      } finally {
        await rm(temp, { force: true });
      }
    }
    case 'meta': {
      if (!entry || entry.kind === 'invalid') throw new Error('internal: a metadata row without an entry');
      if (entry.meta) await client.meta.update(row.uuid!, entry.meta as Meta, { signal });
      if (entry.tags) {
        const file = await client.files.get(row.uuid!, { signal });
        const labels = new Set(Object.values((file.tags ?? {}) as Record<string, Array<{ label: string }>>).flatMap((l) => l.map((t) => t.label)));
        const missing = entry.tags.filter((t) => !labels.has(t));
        if (missing.length > 0) await client.tags.add(file, missing, { signal });
      }
      return { ok: true, bytes: 0, uuid: row.uuid };
    }
    default:
      return { ok: true, bytes: 0 };
  }
}

function pathOf(file: FileObject): string {
  return file.url?.path ?? (file.folder?.name ? `${file.folder.name.replace(/\/$/, '')}/${file.name}` : file.name);
}

function sizeOf(file: FileObject): number {
  const size = file.size as { bytes?: number } | number | undefined;
  return typeof size === 'number' ? size : (size?.bytes ?? 0);
}

/** The API's code, message and hint when there are some; never the request's secrets. */
function describe(error: unknown): string {
  const e = error as { code?: unknown; msg?: unknown; hint?: unknown; message?: unknown };
  const message = typeof e?.msg === 'string' && e.msg ? e.msg : error instanceof Error ? error.message : String(error);
  const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
  const hint = typeof e?.hint === 'string' && e.hint && !message.includes(e.hint) ? ` (${e.hint})` : '';
  return `${code}${message}${hint}`;
}
