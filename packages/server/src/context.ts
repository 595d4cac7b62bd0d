import type { ApiKeyStore } from './auth/api-keys.js';
import type { TransformCache } from './cdn/transform.js';
import type { BlobStore } from './store/blobs.js';
import type { MetadataStore } from './store/metadata-store.js';

export interface Limits {
  /** Largest multipart or streamed upload, in bytes. */
  maxUploadBytes: number;
  /** Largest JSON body for uploads (base64 and URL lists), in bytes. */
  maxJsonUploadBytes: number;
  /** Largest JSON body anywhere else. */
  maxJsonBytes: number;
  /** Most files in one multipart request. */
  maxFilesPerRequest: number;
  /** Most URLs in one `files_urls` import, as the real API documents. */
  maxUrlsPerRequest: number;
  /** Time allowed for fetching one remote URL during an import, in ms. */
  urlFetchTimeoutMs: number;
}

export type DuplicatePolicy = 'skip' | 'allow';

/** Everything a handler can reach: one project, its stores and settings. */
export interface ServerContext {
  token: string;
  store: MetadataStore;
  blobs: BlobStore;
  keys: ApiKeyStore;
  transforms: TransformCache;
  limits: Limits;
  /** What an upload of content already present in the target folder does (project "duplicate policy"). */
  duplicatePolicy: DuplicatePolicy;
  /** Lets URL imports reach loopback and private addresses (tests, local demos); off by default to block SSRF. */
  allowPrivateUrlImports: boolean;
  /** Removes queued blobs from disk (after the rows that referenced them are gone). */
  reclaimBlobs(): Promise<void>;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}
