import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { ApiKeyStore } from './auth/api-keys.js';
import { ROUTES } from './api/routes.js';
import { TransformCache } from './cdn/transform.js';
import type { DuplicatePolicy, Limits, ServerContext } from './context.js';
import { buildApp } from './http/app.js';
import { BlobStore } from './store/blobs.js';
import { openDatabase, type Durability } from './store/database.js';
import { MetadataStore } from './store/metadata-store.js';

export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

export interface ServerOptions {
  /** TCP port; 0 picks a free one. Default 7010. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Data folder (database, blobs, caches). Default `.sfx/server`. */
  data?: string;
  /** Project token served. Default `demo`. */
  token?: string;
  /** Root API key (all permissions); otherwise SFX_ROOT_KEY, otherwise generated once and kept in the data folder. */
  rootKey?: string;
  /** `full` (default) survives power loss; `relaxed` survives process crashes only. */
  durability?: Durability;
  limits?: Partial<Limits>;
  duplicatePolicy?: DuplicatePolicy;
  allowPrivateUrlImports?: boolean;
  /** Bytes the transformed-image cache may use. Default 256 MiB. */
  transformCacheBytes?: number;
  logLevel?: LogLevel;
}

export interface RunningServer {
  /** API base URL, e.g. http://127.0.0.1:7010 ; the project's API is at `${url}/${token}/v5`. */
  url: string;
  port: number;
  token: string;
  rootKey: string;
  /** What start-up recovery removed: stray temp files and unreferenced blobs. */
  recovered: { temps: number; orphans: number };
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: Limits = {
  maxUploadBytes: 5 * 1024 ** 3,
  maxJsonUploadBytes: 64 * 1024 ** 2,
  maxJsonBytes: 1024 ** 2,
  maxFilesPerRequest: 100,
  maxUrlsPerRequest: 20,
  urlFetchTimeoutMs: 60_000,
};

const LEVELS: LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug'];
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

async function resolveRootKey(data: string, given: string | undefined): Promise<string> {
  if (given) return given;
  const file = join(data, 'root-key');
  try {
    const stored = (await readFile(file, 'utf8')).trim();
    if (stored) return stored;
  } catch {
    // First start: generate below.
  }
  const secret = ApiKeyStore.newSecret();
  await writeFile(file, secret + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return secret;
}

/** Starts the Filerobot-compatible server; resolves once it listens. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const token = options.token ?? 'demo';
  if (!TOKEN.test(token)) throw new Error(`The project token ${JSON.stringify(token)} must be 1-64 letters, digits, "_" or "-".`);
  const data = resolve(options.data ?? '.sfx/server');
  await mkdir(data, { recursive: true });
  const level = LEVELS.indexOf(options.logLevel ?? 'info');
  const log: ServerContext['log'] = (lvl, message, fields) => {
    if (LEVELS.indexOf(lvl) > level || level === 0) return;
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg: message, ...fields }) + '\n');
  };

  const durability = options.durability ?? 'full';
  const db = openDatabase(join(data, 'metadata.sqlite'), durability);
  const store = new MetadataStore(db);
  const blobs = new BlobStore({ root: data, sync: durability === 'full' });
  await blobs.init();
  const keys = new ApiKeyStore(db);
  const rootKey = await resolveRootKey(data, options.rootKey ?? process.env.SFX_ROOT_KEY);
  keys.setRoot(rootKey);

  // Only the rows decide what exists: queued deletions first, then everything nobody references.
  let reclaiming: Promise<void> = Promise.resolve();
  const reclaimBlobs = (): Promise<void> => {
    reclaiming = reclaiming.then(async () => {
      for (const blobId of store.pendingBlobDeletes()) {
        if (!store.isBlobReferenced(blobId)) await blobs.remove(blobId);
        store.clearPendingBlobDelete(blobId);
      }
    });
    return reclaiming;
  };
  await reclaimBlobs();
  const recovered = await blobs.sweep((blobId) => store.isBlobReferenced(blobId));
  if (recovered.temps + recovered.orphans > 0) log('info', 'start-up recovery', recovered);

  const ctx: ServerContext = {
    token,
    store,
    blobs,
    keys,
    transforms: new TransformCache({ dir: join(data, 'cache', 'transforms'), maxBytes: options.transformCacheBytes ?? 256 * 1024 ** 2 }),
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    duplicatePolicy: options.duplicatePolicy ?? 'skip',
    allowPrivateUrlImports: options.allowPrivateUrlImports ?? false,
    reclaimBlobs,
    log,
  };
  const app = buildApp(ctx, [...ROUTES]);
  try {
    await app.listen({ port: options.port ?? 7010, host: options.host ?? '127.0.0.1' });
  } catch (error) {
    db.close();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  log('info', 'listening', { url, token });

  let closed = false;
  return {
    url,
    port: address.port,
    token,
    rootKey,
    recovered,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await reclaiming;
      db.close();
    },
  };
}
