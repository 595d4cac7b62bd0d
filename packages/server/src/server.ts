import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiKeyStore } from './auth/api-keys.js';
import { Network, type CountryResolver } from './auth/network.js';
import { SassLimiters } from './auth/sass-rules.js';
import { SecurityTemplateStore } from './auth/sass.js';
import { ROUTES } from './api/routes.js';
import {
  DEFAULT_MAX_CONCURRENT_TRANSFORMS,
  DEFAULT_MAX_QUEUED_TRANSFORMS,
  DEFAULT_MAX_TRANSFORM_PIXELS,
  DEFAULT_TRANSFORM_MEGAPIXELS_PER_MINUTE_PER_IP,
  TransformCache,
} from './cdn/transform.js';
import type { DuplicatePolicy, Limits, ServerContext } from './context.js';
import { buildApp } from './http/app.js';
import { AddressGuard, type HostResolver } from './net/guarded-agent.js';
import { BlobStore } from './store/blobs.js';
import { openCatalog } from './store/catalog.js';
import { openDatabase, type Durability } from './store/database.js';
import { MetadataStore } from './store/metadata-store.js';
import { ResumableStore } from './store/resumable.js';
import { WebhookStore } from './store/webhooks.js';
import { folderVisibilityResolver } from './store/visibility.js';
import { WebhookDispatcher, type DispatcherOptions } from './webhooks/dispatcher.js';

export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

export interface ServerOptions {
  /** TCP port; 0 picks a free one. Default 7010. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /**
   * Data folder (database, blobs, caches). Default `.sfx/server`. `:memory:` keeps the database in
   * memory and the blobs in a temporary folder removed by close(): nothing outlives the server.
   */
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
  /** Lets webhooks target loopback and private addresses. Default: the value of `allowPrivateUrlImports`. */
  allowPrivateWebhooks?: boolean;
  /** Webhook delivery: attempts, backoff, receiver timeout (tests shorten them). */
  webhooks?: DispatcherOptions;
  /** Bytes the transformed-image cache may use. Default 256 MiB. */
  transformCacheBytes?: number;
  /** Awaited before each CDN transform render, inside its render slot (tests hold renders with it). */
  beforeTransformRender?: () => Promise<void>;
  /** How often unreferenced blobs are collected while running, in ms; 0 turns it off. Default 15 minutes. */
  gcIntervalMs?: number;
  /**
   * Age below which an unreferenced blob is kept, in ms: it may belong to an upload whose row is
   * about to commit. Default 1 hour.
   */
  gcGraceMs?: number;
  logLevel?: LogLevel;
  /** Milliseconds since the epoch, for SASS key expiry, template quotas and CDN render budgets. Default `Date.now` (tests inject one). */
  clock?: () => number;
  /**
   * CIDR ranges of reverse proxies whose `X-Forwarded-For` names the client. Without them the
   * socket's peer is the client, whatever the headers say.
   */
  trustedProxies?: string[];
  /** A header carrying the client's country (ISO alpha-2), believed only from `trustedProxies`. */
  countryHeader?: string;
  /** Maps a client address to its country; replaces the bundled GeoIP database. */
  countryResolver?: CountryResolver;
  /**
   * Resolves host names for URL imports and webhook deliveries (every address they answer must be
   * public, unless private ones are allowed). Default: the system resolver (tests inject one).
   */
  resolveHost?: HostResolver;
}

export interface RunningServer {
  /** API base URL, e.g. http://127.0.0.1:7010 ; the project's API is at `${url}/${token}/v5`. */
  url: string;
  /**
   * The mirror of the real "connector host" (resumable tus uploads): `${url}/connector`, with the
   * tus endpoint at `/files` and finished files at `/json/{id}`.
   */
  connectorUrl: string;
  port: number;
  token: string;
  rootKey: string;
  /** The data folder in use; for `:memory:`, the temporary blob folder that close() removes. */
  data: string;
  /** What start-up recovery removed: stray temp files, unreferenced blobs, expired resumable uploads. */
  recovered: { temps: number; orphans: number; expiredUploads: number };
  /**
   * Runs the periodic collection now: queued blob deletions, unreferenced blobs past the grace
   * period, and resumable uploads past their expiry.
   */
  collectGarbage(): Promise<{ orphans: number; expiredUploads: number }>;
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: Limits = {
  maxUploadBytes: 5 * 1024 ** 3,
  maxJsonUploadBytes: 64 * 1024 ** 2,
  maxJsonBytes: 1024 ** 2,
  maxFilesPerRequest: 100,
  maxFieldsPerRequest: 200,
  maxFieldBytes: 64 * 1024,
  maxFieldBytesPerRequest: 1024 ** 2,
  idleSocketTimeoutMs: 120_000,
  headersTimeoutMs: 60_000,
  maxUrlsPerRequest: 20,
  urlFetchTimeoutMs: 60_000,
  requestsPerMinutePerKey: 0,
  resumableExpiryMs: 24 * 60 * 60_000,
  maxPendingResumablePerKey: 100,
  maxPendingResumable: 1000,
  maxConcurrentTransforms: DEFAULT_MAX_CONCURRENT_TRANSFORMS,
  maxQueuedTransforms: DEFAULT_MAX_QUEUED_TRANSFORMS,
  maxTransformPixels: DEFAULT_MAX_TRANSFORM_PIXELS,
  transformMegapixelsPerMinutePerIp: DEFAULT_TRANSFORM_MEGAPIXELS_PER_MINUTE_PER_IP,
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
  const clock = options.clock ?? Date.now;
  // Built first so a malformed trusted-proxy range fails before anything is opened.
  const network = new Network({
    trustedProxies: options.trustedProxies,
    countryHeader: options.countryHeader,
    countryResolver: options.countryResolver,
    log: (lvl, message, fields) => log(lvl, message, fields),
  });
  const inMemory = options.data === ':memory:';
  const data = inMemory ? await mkdtemp(join(tmpdir(), 'sfx-memory-')) : resolve(options.data ?? '.sfx/server');
  await mkdir(data, { recursive: true });
  const level = LEVELS.indexOf(options.logLevel ?? 'info');
  const log: ServerContext['log'] = (lvl, message, fields) => {
    if (LEVELS.indexOf(lvl) > level || level === 0) return;
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg: message, ...fields }) + '\n');
  };

  // Syncing blobs that vanish with the process buys nothing.
  const durability = options.durability ?? (inMemory ? 'relaxed' : 'full');
  const db = openDatabase(inMemory ? ':memory:' : join(data, 'metadata.sqlite'), durability);
  const store = new MetadataStore(db);
  const blobs = new BlobStore({ root: data, sync: durability === 'full' });
  await blobs.init();
  const resumable = new ResumableStore(join(data, 'resumable'), durability === 'full');
  await resumable.init();
  const keys = new ApiKeyStore(db);
  const rootKey = await resolveRootKey(data, options.rootKey ?? process.env.SFX_ROOT_KEY);
  keys.setRoot(rootKey);

  // Only the rows decide what exists: queued deletions first, then everything nobody references.
  // Reclaims and collections run one at a time; one that fails must not stop the ones after it.
  let reclaiming: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const run = reclaiming.catch(() => undefined).then(work);
    reclaiming = run;
    return run;
  };
  const reclaimBlobs = (): Promise<void> =>
    serially(async () => {
      for (const blobId of store.pendingBlobDeletes()) {
        if (!store.isBlobReferenced(blobId)) await blobs.remove(blobId);
        store.clearPendingBlobDelete(blobId);
      }
    });
  await reclaimBlobs();
  // A resumable upload whose commit a crash cut short may have its blob in blobs/ without a row yet:
  // its next request finishes the commit, so it is no orphan.
  const isClaimed = (blobId: string): boolean => store.isBlobReferenced(blobId) || resumable.isCommittingBlob(blobId);
  const swept = await blobs.sweep(isClaimed);
  // Incomplete resumable uploads live on until they expire; only the expired ones go now.
  const recovered = { ...swept, expiredUploads: await resumable.expire(clock(), 0) };
  if (recovered.temps + recovered.orphans + recovered.expiredUploads > 0) log('info', 'start-up recovery', recovered);

  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const ctx: ServerContext = {
    token,
    store,
    catalog: openCatalog(db, store),
    blobs,
    resumable,
    keys,
    templates: new SecurityTemplateStore(db, clock),
    sassLimits: new SassLimiters(clock),
    network,
    clock,
    transforms: new TransformCache({
      dir: join(data, 'cache', 'transforms'),
      maxBytes: options.transformCacheBytes ?? 256 * 1024 ** 2,
      maxConcurrent: limits.maxConcurrentTransforms,
      maxQueued: limits.maxQueuedTransforms,
      maxOutputPixels: limits.maxTransformPixels,
      megapixelsPerMinutePerClient: limits.transformMegapixelsPerMinutePerIp,
      clock,
      beforeRender: options.beforeTransformRender,
    }),
    limits,
    duplicatePolicy: options.duplicatePolicy ?? 'skip',
    allowPrivateUrlImports: options.allowPrivateUrlImports ?? false,
    allowPrivateWebhooks: options.allowPrivateWebhooks ?? options.allowPrivateUrlImports ?? false,
    urlImportGuard: new AddressGuard('imports', options.allowPrivateUrlImports ?? false, options.resolveHost),
    webhookGuard: new AddressGuard(
      'webhooks',
      options.allowPrivateWebhooks ?? options.allowPrivateUrlImports ?? false,
      options.resolveHost,
    ),
    webhooks: new WebhookStore(db),
    wakeWebhooks: () => dispatcher.wake(),
    reclaimBlobs,
    log,
  };
  // Event payloads carry the server's URL, known once it listens; the dispatcher starts then.
  let publicUrl = '';
  const dispatcher = new WebhookDispatcher(
    ctx,
    ctx.webhooks,
    () => ({ base: publicUrl, token, version: 'v5', folderVisibility: folderVisibilityResolver(db) }),
    options.webhooks,
  );
  const app = buildApp(ctx, [...ROUTES]);
  try {
    await app.listen({ port: options.port ?? 7010, host: options.host ?? '127.0.0.1' });
  } catch (error) {
    db.close();
    if (inMemory) await rm(data, { recursive: true, force: true });
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  log('info', 'listening', { url, token });
  publicUrl = url;
  dispatcher.start();

  const graceMs = options.gcGraceMs ?? 60 * 60_000;
  const passes = new Set<Promise<unknown>>();
  const collectGarbage = (): Promise<{ orphans: number; expiredUploads: number }> => {
    const pass = (async () => {
      await reclaimBlobs();
      // Not in the reclaim queue: a pass over a large store takes seconds, and the deletes awaiting
      // their reclaim must not wait for it. Both only remove unreferenced blobs, so they may overlap.
      const orphans = await blobs.collect(isClaimed, graceMs);
      if (orphans > 0) log('info', 'orphan blobs collected', { orphans });
      const expiredUploads = await resumable.expire(clock(), graceMs);
      if (expiredUploads > 0) log('info', 'expired resumable uploads removed', { expiredUploads });
      return { orphans, expiredUploads };
    })();
    passes.add(pass);
    void pass.finally(() => passes.delete(pass)).catch(() => undefined);
    return pass;
  };
  const intervalMs = options.gcIntervalMs ?? 15 * 60_000;
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          // A pass over a very large store may outlast the interval; never stack them up.
          if (passes.size > 0) return;
          collectGarbage().catch((error: unknown) => log('error', 'orphan collection failed', { error: (error as Error).message }));
        }, intervalMs)
      : undefined;
  // The collector alone must not keep the process alive.
  timer?.unref();

  let closed = false;
  return {
    url,
    connectorUrl: `${url}/connector`,
    port: address.port,
    token,
    rootKey,
    data,
    recovered,
    collectGarbage,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      // fastify closes the connections idle when close() starts; one whose last reply is still
      // finishing goes idle a moment later and would hold close() for the keep-alive timeout.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 25);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
      await Promise.allSettled(passes);
      await reclaiming.catch(() => undefined);
      await dispatcher.close();
      // Nothing is in flight any more (requests and deliveries are done); drop idle keep-alive sockets.
      await Promise.allSettled([ctx.urlImportGuard.agent.destroy(), ctx.webhookGuard.agent.destroy()]);
      db.close();
      if (inMemory) await rm(data, { recursive: true, force: true });
    },
  };
}
