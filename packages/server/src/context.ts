import type { ApiKeyStore } from './auth/api-keys.js';
import type { Network } from './auth/network.js';
import type { SassLimiters } from './auth/sass-rules.js';
import type { SecurityTemplateStore } from './auth/sass.js';
import type { TransformCache } from './cdn/transform.js';
import type { BlobStore } from './store/blobs.js';
import type { AddressGuard } from './net/guarded-agent.js';
import type { CatalogStores } from './store/catalog.js';
import type { MetadataStore } from './store/metadata-store.js';
import type { ResumableStore } from './store/resumable.js';
import type { WebhookStore } from './store/webhooks.js';

export interface Limits {
  /** Largest multipart or streamed upload, in bytes. */
  maxUploadBytes: number;
  /** Largest JSON body for uploads (base64 and URL lists), in bytes. */
  maxJsonUploadBytes: number;
  /** Largest JSON body anywhere else. */
  maxJsonBytes: number;
  /** Most files in one multipart request. */
  maxFilesPerRequest: number;
  /** Most non-file parts (`meta[...]`, `info[...]`, ...) in one multipart request. */
  maxFieldsPerRequest: number;
  /** Largest value of one non-file multipart part, in bytes. */
  maxFieldBytes: number;
  /** Most bytes of all non-file parts of one multipart request together (names and values); they are held in memory. */
  maxFieldBytesPerRequest: number;
  /** A connection that sends and receives nothing for this long is closed, in ms; 0 never closes it. */
  idleSocketTimeoutMs: number;
  /** Time allowed to receive a request's headers, in ms. */
  headersTimeoutMs: number;
  /** Most URLs in one `files_urls` import, as the real API documents. */
  maxUrlsPerRequest: number;
  /** Time allowed for fetching one remote URL during an import, in ms. */
  urlFetchTimeoutMs: number;
  /** Requests each API key may make per minute (bursts up to that many); 0 means no limit. */
  requestsPerMinutePerKey: number;
  /** How long a resumable (tus) upload lives after its last request that stored bytes, in ms (Upload-Expires). */
  resumableExpiryMs: number;
  /** Most unfinished (not expired) resumable uploads one key may have; more is a 429. */
  maxPendingResumablePerKey: number;
  /** Most unfinished (not expired) resumable uploads on the server; more is a 429. */
  maxPendingResumable: number;
  /** CDN transform renders (cache misses) running at once; default one per CPU core, at least 2. */
  maxConcurrentTransforms: number;
  /** CDN transform renders waiting for a slot; past that a render is a 503 TRANSFORM_BUSY (Retry-After: 1). */
  maxQueuedTransforms: number;
  /**
   * Most pixels one CDN transform may write (all frames together); a request for more is a 413
   * IMAGE_TOO_LARGE naming this limit. Default 25 000 000 (5000×5000).
   */
  maxTransformPixels: number;
  /**
   * CDN render work one client address may cause per minute, in megapixels decoded plus written
   * (token bucket, bursts up to a minute's worth); past it a new render is a 429
   * RENDER_BUDGET_EXCEEDED with Retry-After. Cache hits and originals are never counted. 0 means no limit.
   */
  transformMegapixelsPerMinutePerIp: number;
}

export type DuplicatePolicy = 'skip' | 'allow';

/** Everything a handler can reach: one project, its stores and settings. */
export interface ServerContext {
  token: string;
  store: MetadataStore;
  /** Products, labels, bulk changes, settings, collections and shares. */
  catalog: CatalogStores;
  blobs: BlobStore;
  /** Resumable (tus) uploads in progress, and finished ones until they expire. */
  resumable: ResumableStore;
  keys: ApiKeyStore;
  /** Security templates and their SASS keys. */
  templates: SecurityTemplateStore;
  /** Quotas of the key exchange and of SASS key uploads. */
  sassLimits: SassLimiters;
  /** Client addresses (trusted proxies) and countries. */
  network: Network;
  /** Milliseconds since the epoch; SASS expiry and template quotas read it (tests move it). */
  clock: () => number;
  transforms: TransformCache;
  limits: Limits;
  /** What an upload of content already present in the target folder does (project "duplicate policy"). */
  duplicatePolicy: DuplicatePolicy;
  /** Lets URL imports reach loopback and private addresses (tests, local demos); off by default to block SSRF. */
  allowPrivateUrlImports: boolean;
  /** Lets webhooks target loopback and private addresses; defaults to `allowPrivateUrlImports`. */
  allowPrivateWebhooks: boolean;
  /** Connects URL imports: refuses non-public addresses at connect time unless `allowPrivateUrlImports`. */
  urlImportGuard: AddressGuard;
  /** Connects webhook deliveries: refuses non-public addresses at connect time unless `allowPrivateWebhooks`. */
  webhookGuard: AddressGuard;
  /** Webhook subscriptions and their delivery log. */
  webhooks: WebhookStore;
  /** Tells the webhook dispatcher a write may have recorded events, so it need not wait for its poll. */
  wakeWebhooks(): void;
  /** Removes queued blobs from disk (after the rows that referenced them are gone). */
  reclaimBlobs(): Promise<void>;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}
