import { resolve } from 'node:path';
import { isPostgresUrl, PostgresRunStore, redactUrl, type PostgresRunStoreOptions } from './postgres-run-store.js';
import type { RunStore } from './run-store.js';
import { SqliteRunStore } from './sqlite-run-store.js';

export interface OpenedRunStore {
  store: RunStore;
  /** Where it is, fit to print: a file path, or the URL without its password. */
  where: string;
}

/** A journal from `--store`/`--journal`: a `postgres://` URL, or a SQLite file path. */
export async function openRunStore(target: string, options: PostgresRunStoreOptions = {}): Promise<OpenedRunStore> {
  if (isPostgresUrl(target)) {
    const where = redactUrl(target);
    try {
      return { store: await PostgresRunStore.open(target, options), where };
    } catch (error) {
      // The driver's messages name the host and user at most; the URL given may hold a password.
      const password = passwordOf(target);
      const message = password ? (error as Error).message.split(password).join('***') : (error as Error).message;
      throw new Error(`cannot open the run journal at ${where}: ${message}`);
    }
  }
  const path = resolve(target);
  return { store: new SqliteRunStore(path), where: path };
}

function passwordOf(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password.length >= 3 ? password : undefined;
  } catch {
    return undefined;
  }
}
