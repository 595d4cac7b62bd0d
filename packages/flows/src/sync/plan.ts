/**
 * The plan of a sync: what to upload, update, skip and delete, computed from ONE recursive listing
 * of the destination and one pass over the source. Both sides are streamed into a temporary
 * SQLite database on disk (deleted when closed, and by the OS if the process is killed), so
 * memory stays flat whatever the number of files: the remote side is a table keyed by path, the
 * source is looked up in it entry by entry. Re-planning from the destination is what makes a
 * re-run the resume of an interrupted sync.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { sizeInBytes, type FileObject, type Filerobot } from '@sfx/client';
import { SyncError } from './errors.js';
import type { Sha1Cache } from './sha1-cache.js';
import { detectSource, readSource, type SourceEntry, type SourceKind } from './sources.js';

export type PlanAction = 'upload' | 'update' | 'skip' | 'delete' | 'fail';
/** How an action is carried out: new bytes, replaced bytes (same uuid), metadata only, a URL import. */
export type PlanOp = 'upload' | 'replace' | 'import' | 'refetch' | 'meta' | 'delete' | 'none';

export interface PlanRow {
  seq: number;
  action: PlanAction;
  op: PlanOp;
  /** The asset's path in the DAM: `/folder/sub/name.jpg`. */
  path: string;
  reason: string;
  /** Bytes to send, when known (local files). */
  bytes: number;
  entry?: SourceEntry;
  /** The existing asset (update, delete). */
  uuid?: string;
}

export interface PlanOptions {
  /** A local folder, a file of URLs, or a CSV manifest. */
  source: string;
  /** Forces the source kind instead of detecting it. */
  from?: SourceKind;
  /** The destination folder in the DAM. */
  folder: string;
  /** Plan deleting assets below the folder that are not in the source. */
  delete?: boolean;
  /** For URL sources: fetch each URL whose asset exists and compare sha1s (else the name decides). */
  checksum?: boolean;
  /** Files hashed (or URLs fetched) at once while planning. Default 4. */
  concurrency?: number;
  cache: Sha1Cache;
  signal?: AbortSignal;
  /** Called now and then while planning: assets listed, source entries looked at. */
  onProgress?: (progress: { listed: number; scanned: number }) => void;
}

export interface PlanCounts {
  upload: number;
  update: number;
  skip: number;
  delete: number;
  fail: number;
  /** Bytes the uploads and updates will send (local files; URL imports are fetched by the server). */
  bytes: number;
  /** Assets below the folder that are not in the source, kept because --delete was not given. */
  extra: number;
  /** Assets the destination listing held. */
  remote: number;
}

interface RemoteRow {
  rel: string;
  uuid: string;
  size: number;
  sha1: string | null;
  meta: string | null;
  tags: string | null;
}

export function normalizeFolder(path: string): string {
  return `/${path.trim().replace(/^\/+/, '').replace(/\/+$/, '')}`.replace(/\/{2,}/g, '/');
}

export function joinPath(folder: string, rel: string): string {
  return `${folder === '/' ? '' : folder}/${rel}`;
}

export class SyncPlan {
  readonly counts: PlanCounts = { upload: 0, update: 0, skip: 0, delete: 0, fail: 0, bytes: 0, extra: 0, remote: 0 };

  constructor(
    readonly db: Database.Database,
    readonly source: string,
    readonly from: SourceKind,
    readonly folder: string,
  ) {}

  /** The rows in source order (deletes last), read a page at a time. */
  *rows(options: { skips?: boolean } = {}): Generator<PlanRow> {
    const page = this.db.prepare<[number], StoredRow>(
      `SELECT seq, action, op, rel, reason, bytes, entry, uuid FROM plan WHERE seq > ? ${options.skips ? '' : "AND action != 'skip'"} ORDER BY seq LIMIT 500`,
    );
    let after = 0;
    for (;;) {
      const rows = page.all(after);
      if (rows.length === 0) return;
      for (const row of rows) {
        after = row.seq;
        yield {
          seq: row.seq,
          action: row.action,
          op: row.op,
          path: joinPath(this.folder, row.rel),
          reason: row.reason,
          bytes: row.bytes,
          ...(row.entry ? { entry: JSON.parse(row.entry) as SourceEntry } : {}),
          ...(row.uuid ? { uuid: row.uuid } : {}),
        };
      }
    }
  }

  /** Work to do: every row but the skips. */
  get pending(): number {
    return this.counts.upload + this.counts.update + this.counts.delete + this.counts.fail;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

interface StoredRow {
  seq: number;
  action: PlanAction;
  op: PlanOp;
  rel: string;
  reason: string;
  bytes: number;
  entry: string | null;
  uuid: string | null;
}

interface Decision {
  action: PlanAction;
  op: PlanOp;
  reason: string;
  bytes: number;
  uuid?: string;
}

/** Reads the destination and the source and decides, entry by entry, what the sync will do. */
export async function planSync(client: Filerobot, options: PlanOptions): Promise<SyncPlan> {
  const from = options.from ?? (await detectSource(options.source));
  const folder = normalizeFolder(options.folder);
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new SyncError('BAD_CONCURRENCY', `concurrency must be a whole number >= 1, got ${concurrency}.`);
  // '' is SQLite's private temporary database: on disk, never in memory, gone when closed.
  const db = new Database('');
  const plan = new SyncPlan(db, options.source, from, folder);
  try {
    db.exec(`
      CREATE TABLE remote (rel TEXT PRIMARY KEY, uuid TEXT NOT NULL, size INTEGER NOT NULL, sha1 TEXT, meta TEXT, tags TEXT, seen INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
      CREATE TABLE plan (seq INTEGER PRIMARY KEY, action TEXT NOT NULL, op TEXT NOT NULL, rel TEXT NOT NULL, reason TEXT NOT NULL, bytes INTEGER NOT NULL, entry TEXT, uuid TEXT);
      CREATE TABLE claimed (rel TEXT PRIMARY KEY) WITHOUT ROWID;
    `);
    const progress = { listed: 0, scanned: 0 };
    await listRemote(client, plan, from === 'csv', options, progress);
    await scanSource(plan, from, concurrency, options, progress);
    planDeletes(plan, options.delete === true);
    options.onProgress?.(progress);
    return plan;
  } catch (error) {
    plan.close();
    throw error;
  }
}

/** The path of an asset relative to the destination folder, or undefined when it is not below it. */
function relativeTo(folder: string, file: FileObject): string | undefined {
  const full = file.url?.path ?? (file.folder?.name !== undefined ? joinPath(normalizeFolder(file.folder.name), file.name) : undefined);
  if (!full) return undefined;
  const prefix = folder === '/' ? '/' : `${folder}/`;
  return full.startsWith(prefix) ? full.slice(prefix.length) : undefined;
}

async function listRemote(client: Filerobot, plan: SyncPlan, keepMeta: boolean, options: PlanOptions, progress: { listed: number; scanned: number }): Promise<void> {
  const insert = plan.db.prepare('INSERT OR REPLACE INTO remote (rel, uuid, size, sha1, meta, tags) VALUES (?, ?, ?, ?, ?, ?)');
  const flush = plan.db.transaction((batch: FileObject[]) => {
    for (const file of batch) {
      const rel = relativeTo(plan.folder, file);
      if (rel === undefined) continue;
      const labels = Object.values((file.tags ?? {}) as Record<string, Array<{ label: string }>>).flatMap((list) => list.map((t) => t.label));
      insert.run(rel, file.uuid, sizeInBytes(file.size) ?? -1, file.hash?.sha1?.toLowerCase() ?? null, keepMeta ? JSON.stringify(file.meta ?? {}) : null, keepMeta ? JSON.stringify(labels) : null);
    }
  });
  let batch: FileObject[] = [];
  // Oldest first: an asset added while the listing pages along lands at the end, shifting nothing.
  for await (const file of client.files.list({ folder: plan.folder, recursive: true, sort: 'created_at:asc', pageSize: 1000, signal: options.signal })) {
    batch.push(file);
    if (batch.length >= 1000) {
      flush(batch);
      progress.listed += batch.length;
      options.onProgress?.(progress);
      batch = [];
    }
  }
  flush(batch);
  progress.listed += batch.length;
  plan.counts.remote = progress.listed;
}

async function scanSource(
  plan: SyncPlan,
  from: SourceKind,
  concurrency: number,
  options: PlanOptions,
  progress: { listed: number; scanned: number },
): Promise<void> {
  const lookup = plan.db.prepare<[string], RemoteRow>('SELECT rel, uuid, size, sha1, meta, tags FROM remote WHERE rel = ?');
  const claim = plan.db.prepare('INSERT OR IGNORE INTO claimed (rel) VALUES (?)');
  const markSeen = plan.db.prepare('UPDATE remote SET seen = 1 WHERE rel = ?');
  const add = plan.db.prepare('INSERT INTO plan (action, op, rel, reason, bytes, entry, uuid) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const record = plan.db.transaction((decided: Array<{ entry: SourceEntry; decision: Decision }>) => {
    for (const { entry, decision } of decided) {
      let d = decision;
      if (claim.run(entry.path).changes === 0) d = { action: 'fail', op: 'none', reason: 'the source names this path twice; only the first is synced', bytes: 0 };
      else markSeen.run(entry.path);
      plan.counts[d.action]++;
      plan.counts.bytes += d.bytes;
      add.run(d.action, d.op, entry.path, d.reason, d.bytes, entry.kind === 'invalid' ? null : JSON.stringify(entry), d.uuid ?? null);
    }
  });
  // A batch of entries is decided at once (hashing and fetching in parallel), then recorded.
  const batchSize = Math.max(16, concurrency * 4);
  let batch: SourceEntry[] = [];
  const decideBatch = async (): Promise<void> => {
    const decided: Array<{ entry: SourceEntry; decision: Decision }> = [];
    let next = 0;
    const work = batch;
    const worker = async (): Promise<void> => {
      while (next < work.length) {
        const entry = work[next++]!;
        decided.push({ entry, decision: await decide(entry, entry.kind === 'invalid' ? undefined : lookup.get(entry.path), options) });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, work.length) }, worker));
    // Recorded in source order, so the plan reads like the source.
    const order = new Map(work.map((e, i) => [e, i]));
    decided.sort((a, b) => order.get(a.entry)! - order.get(b.entry)!);
    record(decided);
    progress.scanned += work.length;
    options.onProgress?.(progress);
  };
  for await (const entry of readSource(from, options.source, options.signal)) {
    batch.push(entry);
    if (batch.length >= batchSize) {
      await decideBatch();
      batch = [];
    }
  }
  if (batch.length > 0) await decideBatch();
}

async function decide(entry: SourceEntry, remote: RemoteRow | undefined, options: PlanOptions): Promise<Decision> {
  if (entry.kind === 'invalid') return { action: 'fail', op: 'none', reason: entry.reason, bytes: 0 };
  if (entry.kind === 'file') {
    if (!remote) return { action: 'upload', op: 'upload', reason: 'new', bytes: entry.size };
    if (remote.size !== entry.size)
      return { action: 'update', op: 'replace', reason: `size changed (${remote.size} -> ${entry.size} bytes)`, bytes: entry.size, uuid: remote.uuid };
    let sha1: string;
    try {
      sha1 = await options.cache.sha1(entry.file, entry.size, entry.mtimeNs, options.signal);
    } catch (error) {
      options.signal?.throwIfAborted();
      return { action: 'fail', op: 'none', reason: `cannot read ${entry.file}: ${(error as Error).message}`, bytes: 0 };
    }
    if (sha1 !== remote.sha1) return { action: 'update', op: 'replace', reason: 'content changed (same size, other sha1)', bytes: entry.size, uuid: remote.uuid };
    return metaDecision(entry, remote) ?? { action: 'skip', op: 'none', reason: 'same size and sha1', bytes: 0 };
  }
  if (!remote) return { action: 'upload', op: 'import', reason: 'new (the DAM fetches the URL)', bytes: 0 };
  if (options.checksum) {
    let sha1: string;
    try {
      sha1 = await sha1OfUrl(entry.url, options.signal);
    } catch (error) {
      options.signal?.throwIfAborted();
      return { action: 'fail', op: 'none', reason: `cannot fetch ${entry.url} to compare it: ${(error as Error).message}`, bytes: 0 };
    }
    if (sha1 !== remote.sha1) return { action: 'update', op: 'refetch', reason: 'content changed (the URL\'s sha1 differs)', bytes: 0, uuid: remote.uuid };
    return metaDecision(entry, remote) ?? { action: 'skip', op: 'none', reason: 'same sha1 (URL fetched)', bytes: 0 };
  }
  return metaDecision(entry, remote) ?? { action: 'skip', op: 'none', reason: 'an asset of that name exists (URL not fetched; --checksum compares content)', bytes: 0 };
}

/** A manifest's metadata or tags that the asset does not hold yet: updated without sending bytes. */
function metaDecision(entry: Exclude<SourceEntry, { kind: 'invalid' }>, remote: RemoteRow): Decision | undefined {
  const problems: string[] = [];
  if (entry.meta) {
    const current = JSON.parse(remote.meta ?? '{}') as Record<string, unknown>;
    const differing = Object.entries(entry.meta).filter(([key, value]) => !sameMetaValue(current[key], value)).map(([key]) => key);
    if (differing.length > 0) problems.push(`metadata differs (${differing.join(', ')})`);
  }
  if (entry.tags) {
    const current = new Set(JSON.parse(remote.tags ?? '[]') as string[]);
    const missing = entry.tags.filter((t) => !current.has(t));
    if (missing.length > 0) problems.push(`tags missing (${missing.join(', ')})`);
  }
  if (problems.length === 0) return undefined;
  return { action: 'update', op: 'meta', reason: problems.join('; '), bytes: 0, uuid: remote.uuid };
}

/** A manifest's value is text; the asset's may be a number, a list, or localised (`{en: ...}`). */
function sameMetaValue(current: unknown, wanted: string): boolean {
  if (current === undefined || current === null) return false;
  if (typeof current === 'string' || typeof current === 'number' || typeof current === 'boolean') return String(current) === wanted;
  if (Array.isArray(current)) return current.map(String).join('|') === wanted;
  return Object.values(current as Record<string, unknown>).some((v) => String(v) === wanted);
}

async function sha1OfUrl(url: string, signal?: AbortSignal): Promise<string> {
  const response = await fetch(url, { signal: signal ?? null, redirect: 'follow' });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
  const hash = createHash('sha1');
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

function planDeletes(plan: SyncPlan, remove: boolean): void {
  const page = plan.db.prepare<[string], { rel: string; uuid: string }>('SELECT rel, uuid FROM remote WHERE seen = 0 AND rel > ? ORDER BY rel LIMIT 1000');
  const add = plan.db.prepare("INSERT INTO plan (action, op, rel, reason, bytes, entry, uuid) VALUES ('delete', 'delete', ?, 'not in the source', 0, NULL, ?)");
  let after = '';
  for (;;) {
    const rows = page.all(after);
    if (rows.length === 0) return;
    after = rows.at(-1)!.rel;
    if (!remove) {
      plan.counts.extra += rows.length;
      continue;
    }
    plan.db.transaction(() => {
      for (const row of rows) add.run(row.rel, row.uuid);
    })();
    plan.counts.delete += rows.length;
  }
}
