import { randomBytes, randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { alreadyExists, now } from './metadata-store.js';

export interface LabelRow {
  id: number;
  uuid: string;
  sid: string;
  name: string;
  color: string;
  shape: string;
  is_pinned: number;
  permissions: string;
  created_at: string;
  updated_at: string;
}

export interface NewLabel {
  name: string;
  color: string;
  shape: string;
  isPinned: boolean;
  permissions: Record<string, unknown>;
}

/** Label sids look like the real API's `#lbjh69fya`: "#lb" and seven base-36 characters. */
function newSid(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  return '#lb' + [...randomBytes(7)].map((b) => alphabet[b % 36]).join('');
}

/** The label dictionary; which files carry a label lives in the files' `labels` column (sids). */
export class LabelStore {
  constructor(private readonly db: Database) {}

  create(label: NewLabel): LabelRow {
    return this.db
      .transaction(() => {
        const nameKey = label.name.trim().toLowerCase();
        if (this.db.prepare('SELECT 1 FROM labels WHERE name_key = ?').get(nameKey))
          throw alreadyExists(`A label named ${label.name.trim()}`);
        let sid = newSid();
        while (this.bySid(sid)) sid = newSid();
        const at = now();
        this.db
          .prepare(
            `INSERT INTO labels (uuid, sid, name, name_key, color, shape, is_pinned, permissions, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            randomUUID(),
            sid,
            label.name.trim(),
            nameKey,
            label.color,
            label.shape,
            label.isPinned ? 1 : 0,
            JSON.stringify(label.permissions),
            at,
            at,
          );
        return this.bySid(sid)!;
      })
      .immediate();
  }

  bySid(sid: string): LabelRow | undefined {
    return this.db.prepare('SELECT * FROM labels WHERE sid = ?').get(sid) as LabelRow | undefined;
  }

  /** All labels with how many files carry each; only files that carry some label are scanned. */
  list(): Array<LabelRow & { assets_count: number }> {
    const counts = new Map(
      (
        this.db
          .prepare(
            `SELECT l.value AS sid, count(*) AS n FROM files f, json_each(f.labels) l WHERE f.labels <> '[]' GROUP BY l.value`,
          )
          .all() as Array<{ sid: string; n: number }>
      ).map((r) => [r.sid, r.n]),
    );
    const rows = this.db
      .prepare('SELECT * FROM labels ORDER BY is_pinned DESC, name_key')
      .all() as LabelRow[];
    return rows.map((row) => ({ ...row, assets_count: counts.get(row.sid) ?? 0 }));
  }

  /** Writes a file's label sids; callers run it inside their own transaction. */
  setFileLabels(fileId: number, sids: string[]): void {
    this.db
      .prepare('UPDATE files SET labels = ?, modified_at = ? WHERE id = ?')
      .run(JSON.stringify(sids), now(), fileId);
  }
}
