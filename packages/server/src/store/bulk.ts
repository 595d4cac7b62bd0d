import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { conflict, notFound } from '../errors.js';
import { now } from './metadata-store.js';

export type BulkChange =
  | { type: 'tags.add'; value: string[]; lang: string }
  | { type: 'tags.del'; value: string[]; lang?: string }
  | { type: 'meta.replace'; key: string; value: unknown }
  | { type: 'labels.add' | 'labels.del'; value: string[] };

export interface BulkFileResult {
  file_uuid: string;
  status: 'success' | 'error';
  code?: string;
  msg?: string;
}

export interface BulkJob {
  uuid: string;
  state: 'prepared' | 'committed';
  files_uuids: string[];
  changes: BulkChange[];
  results: BulkFileResult[] | null;
  created_at: string;
  committed_at: string | null;
}

interface BulkRow {
  uuid: string;
  state: 'prepared' | 'committed';
  files_uuids: string;
  changes: string;
  results: string | null;
  created_at: string;
  committed_at: string | null;
}

const toJob = (row: BulkRow): BulkJob => ({
  uuid: row.uuid,
  state: row.state,
  files_uuids: JSON.parse(row.files_uuids) as string[],
  changes: JSON.parse(row.changes) as BulkChange[],
  results: row.results === null ? null : (JSON.parse(row.results) as BulkFileResult[]),
  created_at: row.created_at,
  committed_at: row.committed_at,
});

/** Staged bulk changes (`PUT /v5/bulk/prepare`) and, once committed, their per-file outcome. */
export class BulkStore {
  constructor(private readonly db: Database) {}

  prepare(filesUuids: string[], changes: BulkChange[]): BulkJob {
    const uuid = randomUUID();
    this.db
      .prepare(
        `INSERT INTO bulk_jobs (uuid, state, files_uuids, changes, created_at) VALUES (?, 'prepared', ?, ?, ?)`,
      )
      .run(uuid, JSON.stringify(filesUuids), JSON.stringify(changes), now());
    return this.require(uuid);
  }

  require(uuid: string): BulkJob {
    const row = this.db.prepare('SELECT * FROM bulk_jobs WHERE uuid = ?').get(uuid) as BulkRow | undefined;
    if (!row)
      throw notFound(
        'BULK_NOT_FOUND',
        `No bulk change has the uuid ${uuid}.`,
        'Stage one with PUT /v5/bulk/prepare; it replies with its bulk_uuid.',
      );
    return toJob(row);
  }

  /**
   * Runs `apply` and records its results in one transaction with the state check, so a bulk is
   * applied at most once, and a failure inside `apply` leaves no change and the bulk still prepared.
   */
  commit(uuid: string, apply: (job: BulkJob) => BulkFileResult[]): BulkJob {
    return this.db
      .transaction(() => {
        const job = this.require(uuid);
        if (job.state === 'committed') {
          throw conflict(
            'BULK_ALREADY_COMMITTED',
            `The bulk change ${uuid} was already committed at ${job.committed_at}.`,
            'Read its results with GET /v5/bulk/{bulk_uuid}; stage a new one to apply changes again.',
          );
        }
        const results = apply(job);
        this.db
          .prepare(`UPDATE bulk_jobs SET state = 'committed', results = ?, committed_at = ? WHERE uuid = ?`)
          .run(JSON.stringify(results), now(), uuid);
        return this.require(uuid);
      })
      .immediate();
  }
}
