/**
 * The sha1 of local files, keyed by absolute path, size and modification time (in nanoseconds):
 * a file whose size and mtime did not change is not read again. The same quick check rsync makes;
 * a file rewritten with the same size and its mtime set back is taken as unchanged.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

/** `$SFX_CONFIG_DIR/sync-cache.sqlite`, else under `${XDG_CONFIG_HOME:-~/.config}/sfx`, as the CLI's connections. */
export function defaultSha1CachePath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.SFX_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'sfx');
  return join(dir, 'sync-cache.sqlite');
}

export async function sha1OfFile(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path, { signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface Sha1CacheStats {
  /** Files whose sha1 came from the cache. */
  hits: number;
  /** Files read to hash them. */
  hashed: number;
}

export class Sha1Cache {
  readonly stats: Sha1CacheStats = { hits: 0, hashed: 0 };
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string, number, string], { sha1: string }>;
  private readonly putStmt: Database.Statement<[string, number, string, string]>;

  /** `path` undefined: a cache for this process only (nothing is kept). */
  constructor(path?: string) {
    if (path) mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path ?? ':memory:');
    // Two syncs may run at once (different folders): WAL lets them share the file.
    if (path) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 10000');
    }
    this.db.exec('CREATE TABLE IF NOT EXISTS sha1 (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns TEXT NOT NULL, sha1 TEXT NOT NULL) WITHOUT ROWID');
    this.getStmt = this.db.prepare('SELECT sha1 FROM sha1 WHERE path = ? AND size = ? AND mtime_ns = ?');
    this.putStmt = this.db.prepare('INSERT OR REPLACE INTO sha1 (path, size, mtime_ns, sha1) VALUES (?, ?, ?, ?)');
  }

  lookup(path: string, size: number, mtimeNs: string): string | undefined {
    return this.getStmt.get(path, size, mtimeNs)?.sha1;
  }

  remember(path: string, size: number, mtimeNs: string, sha1: string): void {
    this.putStmt.run(path, size, mtimeNs, sha1.toLowerCase());
  }

  /** From the cache when size and mtime match, else read (and remembered). */
  async sha1(path: string, size: number, mtimeNs: string, signal?: AbortSignal): Promise<string> {
    const known = this.lookup(path, size, mtimeNs);
    if (known) {
      this.stats.hits++;
      return known;
    }
    const sha1 = await sha1OfFile(path, signal);
    this.stats.hashed++;
    this.remember(path, size, mtimeNs, sha1);
    return sha1;
  }

  close(): void {
    this.db.close();
  }
}
