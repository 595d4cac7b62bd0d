/**
 * The journals the engine's semantics are checked on: in-process SQLite, and PostgreSQL on a
 * private cluster started once per test file. Each `open()` is a fresh, empty journal.
 */
import { afterAll } from 'vitest';
import { PostgresRunStore, SqliteRunStore, type PostgresRunStoreOptions, type RunStore } from '../../src/index.js';
import { startPostgres, type PostgresCluster } from './postgres.js';

export interface Backend {
  name: 'sqlite' | 'postgres';
  open(): Promise<RunStore>;
}

let cluster: Promise<PostgresCluster> | undefined;
let schemas = 0;
const opened: RunStore[] = [];

/** The cluster of this test file, started on first use. */
export function postgresCluster(): Promise<PostgresCluster> {
  cluster ??= startPostgres();
  return cluster;
}

/** A fresh journal in its own schema of the cluster's database. */
export async function openPostgresStore(options: PostgresRunStoreOptions = {}): Promise<PostgresRunStore> {
  const { url } = await postgresCluster();
  const store = await PostgresRunStore.open(url, { schema: `journal_${++schemas}`, ...options });
  opened.push(store);
  return store;
}

export const backends: Backend[] = [
  {
    name: 'sqlite',
    open: async () => new SqliteRunStore(':memory:'),
  },
  {
    name: 'postgres',
    open: () => openPostgresStore(),
  },
];

/** Closes what was opened and stops the cluster after the file's tests. Call once at the top of a test file. */
export function useBackends(): void {
  afterAll(async () => {
    await Promise.allSettled(opened.splice(0).map((s) => s.close()));
    if (cluster) await (await cluster).stop();
    cluster = undefined;
  }, 60_000);
}
