import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import mime from 'mime-types';
import { BufferPool, type Lease } from '../core/buffer-pool.js';
import { APIError, ConfigurationError, FilerobotError } from '../core/errors.js';
import type { Recovery } from '../core/http.js';
import { PagePromise, type PagingOptions } from '../core/pagination.js';
import type {
  AutotagOptions,
  AutotagResult,
  FileListPage,
  FileObject,
  FileStats,
  ImageEditInput,
  ImageEditResult,
  Meta,
  VisibilityInput,
} from '../types.js';
import { multipartBody } from '../uploads/multipart.js';
import { resolveSource, type ResolvedSource, type UploadSource } from '../uploads/source.js';
import {
  DEFAULT_CHUNK_SIZE,
  resolveResumable,
  tusUpload,
  type ResumableSource,
  type ResumableUploadOptions,
} from '../uploads/resumable.js';
import type { ApiCore } from '../core/http.js';
import { dateParam, Resource, seg, type CallOptions } from './resource.js';
import { nameSearchTerm } from './name-search.js';

export interface FileFilters {
  /** Start folder path (default `/`). */
  folder?: string;
  recursive?: boolean;
  /** Search expression: `"full text"`, `#tag`, `key:value`, `size>1000` ... (reference §3.1.1). */
  q?: string;
  mime?: string;
  created_after?: string | Date;
  created_before?: string | Date;
  updated_after?: string | Date;
  updated_before?: string | Date;
  collection_uuid?: string;
  f64?: string;
}

export interface FileListParams extends FileFilters, PagingOptions, CallOptions {
  /** `field:dir`, e.g. `created_at:desc`, `name:asc`. */
  sort?: string;
  /** e.g. `select:human+tags:json_full`. */
  format?: string;
  lang?: string;
}

export interface UploadOptions extends CallOptions {
  /** Target folder path; created when missing. Default `/`. */
  folder?: string;
  /** The asset's name; defaults to the file's base name. Required for bytes and streams. */
  name?: string;
  meta?: Meta;
  /** Tag labels to attach. */
  tags?: string[];
  info?: Record<string, unknown>;
  product?: { ref: string; position?: number };
  /** Replace the asset of the same name in the folder (keeps its uuid). Makes the upload idempotent. */
  overwrite?: boolean;
  /** MIME type of the content; guessed from the name when absent. */
  contentType?: string;
  /**
   * `multipart` (POST, up to 500 MB on the real API), `stream` (PUT /v4/files, for larger files),
   * or `auto` (default): stream above `streamThreshold`.
   */
  via?: 'auto' | 'multipart' | 'stream';
  /** Bytes above which `auto` uses the streamed PUT. Default 500 MB. */
  streamThreshold?: number;
  /** Called as bytes are sent. */
  onProgress?: (progress: { loaded: number; total: number | undefined }) => void;
}

export interface UploadResult {
  file: FileObject;
  /**
   * True when the API skipped the upload because the folder already holds the same content
   * (`SAME_ASSET_EXISTS_SKIP_UPLOAD`); `file` is then the existing asset.
   */
  duplicate: boolean;
}

export interface UrlImport {
  url: string;
  /** New name, or a full path such as `/folder/a.jpg`. */
  name?: string;
  meta?: Meta;
  tags?: string[];
  info?: Record<string, unknown>;
}

export interface UrlImportResult {
  files: FileObject[];
  /** Items the API could not import (`source` is the URL). Duplicates are resolved into `files` instead. */
  errors: Array<{ source: string; code?: string; msg?: string; hint?: string }>;
  /** Uuids of the `files` that already existed: the folder held their content, nothing was imported. */
  duplicates: string[];
}

export type BulkItem =
  UploadSource | ({ source: UploadSource } & Omit<UploadOptions, 'signal' | 'onProgress'>);

export interface BulkProgress {
  total: number;
  done: number;
  failed: number;
  duplicates: number;
  bytesSent: number;
}

export type BulkItemResult =
  | { index: number; source: string; ok: true; file: FileObject; duplicate: boolean }
  | { index: number; source: string; ok: false; error: Error };

export interface BulkUploadOptions extends Omit<UploadOptions, 'name' | 'onProgress'> {
  /** Uploads in flight at once. Default 4. */
  concurrency?: number;
  onProgress?: (progress: BulkProgress) => void;
  onItem?: (result: BulkItemResult) => void;
  /**
   * Which items the report's `results` keeps: `'all'` (default) or `'failures'`. Each kept file
   * object costs a few KB, so for tens of thousands of files keep only failures and take the
   * uploaded files from `onItem`: memory then stays flat however many files there are.
   */
  results?: 'all' | 'failures';
}

export interface BulkUploadReport extends BulkProgress {
  results: BulkItemResult[];
}

/** `PATCH /v4/files/{uuid}`: a new name (required, and it must differ from the current one) and metadata to merge. */
export interface LegacyFileUpdate {
  name: string;
  /** Merged into the file's metadata; a key set to `null` is removed. */
  meta?: Meta;
}

export interface LegacyFileUpdateResult {
  file: FileObject;
  /** The file's metadata after the change. */
  meta: Meta;
}

/** One file's outcome in a regeneration job. */
export type RegenerationResult =
  | { file_uuid: string; status: 'done'; info: Record<string, unknown> }
  | { file_uuid: string; status: 'error'; code: string; msg: string };

/** A regeneration job (inferred shape: the reference shows only the request and the 201). */
export interface RegenerationJob {
  uuid: string;
  /** The job, e.g. `dominant-color`. */
  type: string;
  /** `done` (every file), `partial` or `failed` (none). */
  status: 'done' | 'partial' | 'failed' | (string & {});
  files_uuids: string[];
  results: RegenerationResult[];
  info: { files_count: number; done_count: number; failed_count: number };
  created_at: string;
  finished_at: string;
  [field: string]: unknown;
}

const URLS_PER_REQUEST = 20;
const DUPLICATE = 'SAME_ASSET_EXISTS_SKIP_UPLOAD';
type UploadReply = {
  file?: FileObject;
  files?: FileObject[];
  code?: string;
  existing_file_uuid?: string;
  status: string;
};

type ImportReply = UploadReply & { errors?: Array<Record<string, string>> };

/**
 * A batch in which no URL was imported is refused as a whole (`UPLOAD_FAILED`), with the reason of
 * each URL in `errors` (duplicates among them): those are per-item outcomes, not a failed call.
 */
function perItemFailures(error: unknown): ImportReply {
  const body = error instanceof APIError ? (error.body as { code?: unknown; errors?: unknown } | undefined) : undefined;
  if (body?.code === 'UPLOAD_FAILED' && Array.isArray(body.errors) && body.errors.length > 0)
    return { status: 'success', files: [], errors: body.errors as Array<Record<string, string>> };
  throw error;
}

/** Files (assets): list and search, details, uploads, rename, move, delete, download. */
export class Files extends Resource {
  /** Buffers for small files, reused from one upload to the next (see `BufferPool`). */
  private readonly pool = new BufferPool();

  /**
   * @param connectorUrl The tus connector host for `uploadResumable` (client option `connectorUrl`,
   *   derived from the endpoint for the local server).
   */
  constructor(
    core: ApiCore,
    readonly connectorUrl?: string,
  ) {
    super(core);
  }

  /**
   * Lists or searches files. Await for one page; iterate for every file.
   *
   *   for await (const file of client.files.list({ folder: '/shoes', recursive: true, q: '#summer' })) ...
   */
  list(params: FileListParams = {}): PagePromise<FileListPage, FileObject> {
    const { signal, timeoutMs, offset, limit, pageSize, maxItems, ...filters } = params;
    return new PagePromise(
      (page) =>
        this.core.json<FileListPage>({
          method: 'GET',
          path: '/files',
          query: {
            ...filterQuery(filters),
            sort: params.sort,
            format: params.format,
            lang: params.lang,
            limit: page.limit,
            offset: page.offset,
          },
          signal,
          timeoutMs,
        }),
      (page) => page.files ?? [],
      (page) => page.info?.total_files_count ?? page.stats?.approx_files_count,
      { offset, limit, pageSize, maxItems, defaultLimit: 1000 },
    );
  }

  /** Count and total size of what a search matches (v5). */
  async stats(params: FileFilters & CallOptions = {}): Promise<FileStats> {
    const { signal, timeoutMs, ...filters } = params;
    const reply = await this.core.json<{
      stats: FileStats;
      info?: { total_files_count?: number; total_files_size?: number };
    }>({
      method: 'GET',
      path: '/files/stats',
      version: 'v5',
      query: filterQuery(filters),
      signal,
      timeoutMs,
    });
    return { ...reply.stats, ...reply.info };
  }

  async get(
    uuid: string,
    options: CallOptions & { format?: string; lang?: string } = {},
  ): Promise<FileObject> {
    const reply = await this.core.json<{ file: FileObject }>({
      method: 'GET',
      path: `/files/${seg(uuid, 'uuid')}`,
      query: { format: options.format, lang: options.lang },
      signal: options.signal,
      timeoutMs: options.timeoutMs,
    });
    return reply.file;
  }

  /**
   * Uploads one file from a path, bytes or a stream, with its metadata, tags and product link.
   * Memory stays flat: the content is streamed from its source. Paths and bytes are retried after
   * transient failures; when a failure leaves it unknown whether the upload landed, the folder is
   * searched for the same content (by sha1) before anything is sent again, so a retry never makes a
   * second copy.
   */
  async upload(source: UploadSource, options: UploadOptions = {}): Promise<UploadResult> {
    const resolved = await resolveSource(source, options.name, this.pool);
    const folder = options.folder ?? '/';
    const threshold = options.streamThreshold ?? 500 * 1024 * 1024;
    const via =
      options.via === 'stream' || (options.via !== 'multipart' && (resolved.size ?? 0) > threshold)
        ? 'stream'
        : 'multipart';
    const contentType = options.contentType ?? (mime.lookup(resolved.name) || 'application/octet-stream');
    const sent = new SentContent(resolved, options.onProgress);
    const startedAt = Date.now();

    // Lent buffers go back once this call is done with them (and the transport with each write).
    const leases: Lease[] = resolved.lease ? [resolved.lease] : [];
    const reply = await this.core.json<UploadReply>({
      method: via === 'stream' ? 'PUT' : 'POST',
      path: '/files',
      version: via === 'stream' ? 'v4' : undefined,
      query: {
        folder,
        filename: via === 'stream' ? resolved.name : undefined,
        overwrite: options.overwrite ? 1 : undefined,
      },
      body: () => {
        if (via === 'multipart' && resolved.bytes) {
          const payload = multipartBody(
            uploadFields(options),
            {
              field: 'file',
              filename: resolved.name,
              contentType,
              size: resolved.size,
              content: resolved.bytes,
              lease: resolved.lease,
            },
            this.pool,
          );
          if (payload.lease) leases.push(payload.lease);
          sent.handedOver();
          return payload;
        }
        const content = sent.open();
        if (via === 'stream')
          return { body: content, contentType: 'application/octet-stream', contentLength: resolved.size };
        return multipartBody(uploadFields(options), {
          field: 'file',
          filename: resolved.name,
          contentType,
          size: resolved.size,
          content,
        });
      },
      replayable: resolved.replayable,
      idempotent: options.overwrite === true,
      recover: async () => this.recoverUpload(folder, resolved.name, await sent.sha1(), startedAt, options),
      acceptErrorCodes: [DUPLICATE],
      signal: options.signal,
      timeoutMs: options.timeoutMs,
    }).finally(() => {
      for (const lease of leases) lease.release();
    });
    const result = await this.uploadResult(reply, options);
    // The streamed PUT carries no metadata: apply it in a second call so both paths end the same.
    if (via === 'stream' && !result.duplicate)
      result.file = await this.applyAfterStream(result.file, options);
    return result;
  }

  /**
   * Resumable upload with the tus 1.0 protocol at the connector host (reference §3.6): creates the
   * upload (or, with `resume`, finds the remembered one and asks the server for its offset), sends
   * `chunkSize` chunks read from the file at their offsets, retries a chunk after 429/5xx/resets
   * and continues from the server's offset after a 409, then fetches the file object. Meta and
   * tags are not carried by tus: they are applied afterwards with the usual calls. Memory stays at
   * about 1 MiB whatever the file's size.
   *
   *   const store = new JsonFileResumeStore('.sfx/uploads.json');
   *   const { file } = await client.files.uploadResumable('./film.mov', { folder: '/video', resume: store });
   */
  async uploadResumable(
    source: ResumableSource,
    options: ResumableUploadOptions = {},
  ): Promise<UploadResult & { uploadUrl: string; resumedFrom: number; bytesSent: number }> {
    const connectorUrl = options.connectorUrl ?? this.connectorUrl;
    if (!connectorUrl) {
      throw new ConfigurationError(
        'resumable uploads go to the tus connector host, which the API endpoint does not tell: pass connectorUrl ' +
          '(e.g. "https://eu-on-24001.connector.filerobot.com") to new Filerobot({...}) or to uploadResumable().',
      );
    }
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1)
      throw new ConfigurationError('chunkSize must be a whole number of bytes >= 1.');
    const file = await resolveResumable(source, options.name);
    const outcome = await tusUpload(this.core, file, {
      connectorUrl,
      token: this.core.endpoint.token,
      folder: options.folder ?? '/',
      product: options.product,
      contentType: options.contentType,
      chunkSize,
      resume: options.resume,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      onProgress: options.onProgress,
    });
    const uploaded = outcome.reply.file as FileObject;
    const duplicate = outcome.reply.upload?.duplicate === true;
    const result = duplicate
      ? uploaded
      : await this.applyAfterStream(uploaded, { meta: options.meta as Meta | undefined, tags: options.tags, signal: options.signal });
    return { file: result, duplicate, uploadUrl: outcome.uploadUrl, resumedFrom: outcome.resumedFrom, bytesSent: outcome.bytesSent };
  }

  /** Uploads bytes as base64 JSON (the API's third upload form); for small files only. */
  async uploadBase64(data: Uint8Array, options: UploadOptions & { name: string }): Promise<UploadResult> {
    const reply = await this.core.json<UploadReply>({
      method: 'POST',
      path: '/files',
      query: { folder: options.folder ?? '/', overwrite: options.overwrite ? 1 : undefined },
      json: {
        name: options.name,
        data: Buffer.from(data).toString('base64'),
        postactions: 'decode_base64',
        meta: options.meta,
        tags: options.tags,
      },
      idempotent: options.overwrite === true,
      recover: () =>
        this.recoverUpload(
          options.folder ?? '/',
          options.name,
          createHash('sha1').update(data).digest('hex'),
          Date.now() - 1000,
          options,
        ),
      acceptErrorCodes: [DUPLICATE],
      signal: options.signal,
      timeoutMs: options.timeoutMs,
    });
    return this.uploadResult(reply, options);
  }

  /**
   * Imports files from remote URLs, in requests of at most 20 (the API's limit). Items the API
   * could not fetch come back in `errors`; duplicates resolve to the existing assets.
   */
  async importUrls(
    items: ReadonlyArray<string | UrlImport>,
    options: CallOptions & { folder?: string } = {},
  ): Promise<UrlImportResult> {
    const all = items.map((item) => (typeof item === 'string' ? { url: item } : item));
    for (const [index, item] of all.entries()) {
      if (!/^https?:\/\//i.test(item.url ?? ''))
        throw new ConfigurationError(
          `items[${index}].url must be an http(s) URL, got ${JSON.stringify(item.url)}.`,
        );
    }
    const result: UrlImportResult = { files: [], errors: [], duplicates: [] };
    for (let start = 0; start < all.length; start += URLS_PER_REQUEST) {
      const batch = all.slice(start, start + URLS_PER_REQUEST);
      const startedAt = Date.now();
      const reply = await this.core
        .json<ImportReply>({
          method: 'POST',
          path: '/files',
          query: { folder: options.folder ?? '/' },
          json: { files_urls: batch },
          recover: () => this.recoverImport(options.folder ?? '/', batch, startedAt, options),
          acceptErrorCodes: [DUPLICATE],
          signal: options.signal,
          timeoutMs: options.timeoutMs,
        })
        .catch((error: unknown) => perItemFailures(error));
      if (reply.status === 'error') {
        result.files.push(await this.get(String(reply.existing_file_uuid), options));
        result.duplicates.push(String(reply.existing_file_uuid));
        continue;
      }
      result.files.push(...(reply.files ?? (reply.file ? [reply.file] : [])));
      for (const error of reply.errors ?? []) {
        if (error.code === DUPLICATE && error.existing_file_uuid) {
          result.files.push(await this.get(error.existing_file_uuid, options));
          result.duplicates.push(error.existing_file_uuid);
        }
        else
          result.errors.push({
            source: String(error.source ?? ''),
            code: error.code,
            msg: error.msg,
            hint: error.hint,
          });
      }
    }
    return result;
  }

  /**
   * Uploads many files with bounded concurrency. Never throws for one item: each ends in
   * `results` (in input order; with `results: "failures"` only the failed ones) as created,
   * duplicate, or failed with its error.
   */
  async uploadMany(items: Iterable<BulkItem>, options: BulkUploadOptions = {}): Promise<BulkUploadReport> {
    const { concurrency = 4, onProgress, onItem, results: keep = 'all', ...shared } = options;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new ConfigurationError('concurrency must be a whole number >= 1.');
    if (keep !== 'all' && keep !== 'failures')
      throw new ConfigurationError(`results must be "all" or "failures", not ${JSON.stringify(keep)}.`);
    const list = [...items];
    const progress: BulkProgress = { total: list.length, done: 0, failed: 0, duplicates: 0, bytesSent: 0 };
    const results: BulkItemResult[] = keep === 'all' ? new Array(list.length) : [];
    const one = async (item: BulkItem, index: number): Promise<void> => {
      const entry: { source: UploadSource } & Omit<UploadOptions, 'signal' | 'onProgress'> = isBulkEntry(
        item,
      )
        ? item
        : { source: item };
      const { source, ...own } = entry;
      const label = typeof source === 'string' ? source : (own.name ?? `item ${index}`);
      let lastLoaded = 0;
      let result: BulkItemResult;
      try {
        const uploaded = await this.upload(source, {
          ...shared,
          ...own,
          onProgress: ({ loaded }) => {
            // A retry starts again from 0: count only growth so the total stays honest.
            if (loaded > lastLoaded) progress.bytesSent += loaded - lastLoaded;
            lastLoaded = loaded;
          },
        });
        result = { index, source: label, ok: true, file: uploaded.file, duplicate: uploaded.duplicate };
        if (uploaded.duplicate) progress.duplicates++;
      } catch (error) {
        if (error instanceof Error && error.name === 'AbortError') throw error;
        result = {
          index,
          source: label,
          ok: false,
          error: error instanceof Error ? error : new Error(String(error)),
        };
        progress.failed++;
      }
      progress.done++;
      if (keep === 'all') results[index] = result;
      else if (!result.ok) results.push(result);
      onItem?.(result);
      onProgress?.({ ...progress });
    };
    // A fixed pool of workers taking the next item: no promise or closure per queued item, and a
    // file is opened only when a slot is free, so memory does not grow with the number of items.
    let next = 0;
    let stopped = false;
    const worker = async (): Promise<void> => {
      while (!stopped && next < list.length) {
        const index = next++;
        try {
          await one(list[index]!, index);
        } catch (error) {
          stopped = true;
          throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
    // Failures kept alone finish in completion order; the report lists them in input order.
    if (keep === 'failures') results.sort((a, b) => a.index - b.index);
    return { ...progress, results };
  }

  /** `{name}` → `file_renamed`. A taken name is a ConflictError (409 `E801_ALREADY_EXIST`). */
  async rename(uuid: string, name: string, options: CallOptions = {}): Promise<FileObject> {
    const reply = await this.core.json<{ file: FileObject }>({
      method: 'PATCH',
      path: `/files/${seg(uuid, 'uuid')}`,
      json: { name },
      // Not idempotent: renaming onto the current name is a 409 on the real API, so a retry of a
      // rename that landed would fail. After an unclear failure, look at the file instead.
      idempotent: false,
      recover: async () => {
        const file = await this.get(uuid, options);
        return file.name === name ? { landed: true, value: { file } } : { landed: false };
      },
      ...options,
    });
    return reply.file;
  }

  /** Moves one file into the folder with this uuid. */
  async move(uuid: string, folderUuid: string, options: CallOptions = {}): Promise<FileObject[]> {
    const reply = await this.core.json<{ files: FileObject[] }>({
      method: 'PUT',
      path: `/files/${seg(uuid, 'uuid')}/folders/${seg(folderUuid, 'folderUuid')}`,
      ...options,
    });
    return reply.files;
  }

  /** Moves files into a folder given by path (created when missing). */
  async moveMany(
    uuids: readonly string[],
    folderPath: string,
    options: CallOptions = {},
  ): Promise<FileObject[]> {
    const reply = await this.core.json<{ files: FileObject[] }>({
      method: 'POST',
      path: '/files/move',
      json: { files_uuids: uuids, new_folder_name: folderPath },
      // Moving to the same place twice has the same effect: safe to retry.
      idempotent: true,
      ...options,
    });
    return reply.files;
  }

  async delete(uuid: string, options: CallOptions = {}): Promise<void> {
    await this.core.json({ method: 'DELETE', path: `/files/${seg(uuid, 'uuid')}`, ...options });
  }

  async deleteMany(uuids: readonly string[], options: CallOptions = {}): Promise<{ files_uuids: string[] }> {
    return this.core.json<{ files_uuids: string[] }>({
      method: 'DELETE',
      path: '/files',
      json: { files_uuids: uuids },
      ...options,
    });
  }

  /** Image variants of an asset (v4). */
  async variants(uuid: string, options: CallOptions = {}): Promise<unknown[]> {
    const reply = await this.core.json<{ variants?: unknown[] }>({
      method: 'GET',
      path: `/files/${seg(uuid, 'uuid')}/variants`,
      version: 'v4',
      ...options,
    });
    return reply.variants ?? [];
  }

  /**
   * Sets who may see an asset (inferred: `PUT /{v}/files/{uuid}/visibility`, FILE_SET_VISIBILITY).
   * `inherited` follows the nearest folder that sets one.
   */
  async setVisibility(uuid: string, visibility: VisibilityInput, options: CallOptions = {}): Promise<FileObject> {
    const reply = await this.core.json<{ file: FileObject }>({
      method: 'PUT',
      path: `/files/${seg(uuid, 'uuid')}/visibility`,
      json: { visibility },
      ...options,
    });
    return reply.file;
  }

  /**
   * Replaces the labels on an asset with these sids (`[]` removes them all); inferred:
   * `PUT /v5/file/{uuid}/labels`, FILE_LABEL_CHANGE. Unknown sids are a BadRequestError
   * (`LABEL_NOT_FOUND`) and change nothing.
   */
  async setLabels(uuid: string, sids: readonly string[], options: CallOptions = {}): Promise<FileObject> {
    const reply = await this.core.json<{ file: FileObject }>({
      method: 'PUT',
      path: `/file/${seg(uuid, 'uuid')}/labels`,
      version: 'v5',
      json: { labels: sids },
      ...options,
    });
    return reply.file;
  }

  /**
   * Crops, rotates, flips, resizes or converts an image and saves the result as a new asset
   * (`save_as: 'copy'`, the default) or over the original, keeping its uuid (`'overwrite'`).
   * Inferred: `POST /{v}/files/{uuid}/edit`, FILE_IMAGE_EDITOR. Not retried once sent: a second
   * run would make a second copy or edit the edited image.
   */
  async edit(uuid: string, input: ImageEditInput, options: CallOptions = {}): Promise<ImageEditResult> {
    return this.core.json<ImageEditResult>({
      method: 'POST',
      path: `/files/${seg(uuid, 'uuid')}/edit`,
      json: input,
      ...options,
    });
  }

  /**
   * Tags an image from measurements of its pixels (colours, orientation, transparency, size), in
   * the languages asked; `save: true` adds them to the file. Inferred: `POST /{v}/files/{uuid}/autotag`,
   * FILE_PROCESS_AUTOTAGGING (the reference's `{ask-filerobot-server}/images/autotag` has no known host).
   * Safe to retry: the same image gives the same tags, and saving merges.
   */
  async autotag(uuid: string, autotagOptions: AutotagOptions = {}, options: CallOptions = {}): Promise<AutotagResult> {
    return this.core.json<AutotagResult>({
      method: 'POST',
      path: `/files/${seg(uuid, 'uuid')}/autotag`,
      json: autotagOptions,
      idempotent: true,
      ...options,
    });
  }

  /**
   * The legacy v4 update (`PATCH /v4/files/{uuid}` `{name, meta?}`): renames and merges metadata in
   * one call. Needs FILE_RENAME, and FILE_META_CHANGE when `meta` is given. `name` is required and
   * always checked for uniqueness, so the current name is a ConflictError (409 `E801_ALREADY_EXIST`),
   * as caradvice found on the real API (reference §3.9): prefer `rename()` plus `meta.update()`.
   */
  async update(uuid: string, change: LegacyFileUpdate, options: CallOptions = {}): Promise<LegacyFileUpdateResult> {
    const reply = await this.core.json<{ file: FileObject; meta?: Meta }>({
      method: 'PATCH',
      path: `/files/${seg(uuid, 'uuid')}`,
      version: 'v4',
      json: change.meta === undefined ? { name: change.name } : { name: change.name, meta: change.meta },
      // As for rename: a replay of an update that landed is a 409 (the name is taken by itself).
      // The rename and the metadata commit together, so the name tells whether it landed.
      idempotent: false,
      recover: async () => {
        const file = await this.get(uuid, options);
        return file.name === change.name ? { landed: true, value: { file, meta: file.meta } } : { landed: false };
      },
      ...options,
    });
    return { file: reply.file, meta: reply.meta ?? reply.file.meta ?? {} };
  }

  /**
   * Runs a regeneration job on files (`POST {ask}/regenerate/{job}` `{uuids}`, 201; reference §3.18,
   * whose host is unknown: the client calls `{endpoint}/ask/regenerate/{job}`). The sfx server
   * computes `dominant-color` from the pixels and stores `info.dominant_color` / `info.main_colors`;
   * jobs that need a model are a BadRequestError (`JOB_NOT_SUPPORTED`). Needs FILE_PROCESS_AUTOTAGGING.
   * Files it could not process are reported in `results`, not thrown. Safe to retry.
   */
  async regenerate(job: string, uuids: readonly string[], options: CallOptions = {}): Promise<RegenerationJob> {
    const reply = await this.core.json<{ job: RegenerationJob }>({
      method: 'POST',
      path: `/ask/regenerate/${seg(job, 'job')}`,
      version: 'none',
      json: { uuids },
      idempotent: true,
      ...options,
    });
    return reply.job;
  }

  /** The stable permalink (`/{v}/get/{uuid}`), which redirects to the current CDN URL. */
  permalink(uuid: string): string {
    return this.core.url(`/get/${seg(uuid, 'uuid')}`);
  }

  /**
   * Downloads the original bytes, streamed, to a path (written to `<path>.part`, then renamed, so a
   * failed download never leaves a truncated file) or to a writable stream. When the expected
   * sha1 is known (pass the file object), the bytes are checked against it.
   */
  async download(
    file: string | FileObject,
    to: string | Writable,
    options: CallOptions = {},
  ): Promise<{ bytes: number; sha1: string }> {
    const uuid = typeof file === 'string' ? file : file.uuid;
    const expected = typeof file === 'string' ? undefined : file.hash?.sha1;
    const response = await this.core.raw({
      method: 'GET',
      path: `/get/${seg(uuid, 'uuid')}/download`,
      headers: { accept: '*/*' },
      ...options,
    });
    const hash = createHash('sha1');
    let bytes = 0;
    async function* counted(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
      for await (const chunk of source) {
        hash.update(chunk);
        bytes += chunk.byteLength;
        yield chunk;
      }
    }
    if (typeof to === 'string') {
      const partial = `${to}.part`;
      try {
        await pipeline(response.body, counted, createWriteStream(partial));
        checkSha1(expected, hash.copy().digest('hex'), uuid);
        await rename(partial, to);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
    } else {
      await pipeline(response.body, counted, to);
      checkSha1(expected, hash.copy().digest('hex'), uuid);
    }
    return { bytes, sha1: hash.digest('hex') };
  }

  private async uploadResult(reply: UploadReply, options: CallOptions): Promise<UploadResult> {
    if (reply.status === 'error' && reply.code === DUPLICATE) {
      return { file: await this.get(String(reply.existing_file_uuid), options), duplicate: true };
    }
    const file = reply.file ?? reply.files?.[0];
    if (!file) throw new FilerobotError('The upload reply held neither "file" nor "files".');
    return { file, duplicate: false };
  }

  private async applyAfterStream(file: FileObject, options: UploadOptions): Promise<FileObject> {
    let current = file;
    if (options.meta && Object.keys(options.meta).length > 0) {
      await this.core.json({
        method: 'PATCH',
        path: `/file/${seg(file.uuid, 'uuid')}/meta`,
        version: 'v5',
        json: { meta: options.meta },
        signal: options.signal,
      });
    }
    if (options.tags && options.tags.length > 0) {
      await this.core.json({
        method: 'PUT',
        path: `/file/${seg(file.uuid, 'uuid')}/tags`,
        version: 'v5',
        json: { lang: 'en', existing_tags: existingSids(file), new_tags: options.tags },
        signal: options.signal,
      });
    }
    if (options.meta || options.tags) current = await this.get(file.uuid, options);
    return current;
  }

  /**
   * After an ambiguous failure: did the upload land? Looks in the folder for a file created since
   * the first attempt (allowing two minutes of clock skew) whose name starts like ours and whose
   * sha1 matches. Without a sha1 (the body was never fully sent) it cannot have landed.
   */
  private async recoverUpload(
    folder: string,
    name: string,
    sha1: string | undefined,
    since: number,
    options: CallOptions,
  ): Promise<Recovery<UploadReply>> {
    if (!sha1) return { landed: false };
    const found = await this.findRecent(folder, name, since, options, (f) => f.hash?.sha1 === sha1);
    return found ? { landed: true, value: { status: 'success', file: found } } : { landed: false };
  }

  private async recoverImport(
    folder: string,
    batch: UrlImport[],
    since: number,
    options: CallOptions,
  ): Promise<Recovery<UploadReply>> {
    const found: FileObject[] = [];
    for (const item of batch) {
      const name = (item.name ?? new URL(item.url).pathname.split('/').pop() ?? '').split('/').pop() ?? '';
      const file = name ? await this.findRecent(folder, name, since, options, () => true) : undefined;
      if (file) found.push(file);
    }
    // Nothing of the batch is there: sending it again cannot duplicate anything.
    if (found.length === 0) return { landed: false };
    if (found.length < batch.length) {
      throw new FilerobotError(
        `URL import to ${folder} failed part-way: ${found.length} of ${batch.length} files landed; re-run it for the rest.`,
      );
    }
    return { landed: true, value: { status: 'success', files: found } };
  }

  private async findRecent(
    folder: string,
    name: string,
    since: number,
    options: CallOptions,
    accept: (file: FileObject) => boolean,
  ): Promise<FileObject | undefined> {
    const stem = name.replace(/\.[^.]*$/, '');
    const page = await this.list({
      folder,
      q: nameSearchTerm(name),
      sort: 'created_at:desc',
      limit: 100,
      signal: options.signal,
    });
    const skewMs = 120_000;
    return page.files.find((file) => {
      const created = file.created_at ? Date.parse(file.created_at) : Number.NaN;
      const recent = Number.isNaN(created) || created >= since - skewMs;
      return recent && file.name.startsWith(stem) && accept(file);
    });
  }
}

/**
 * Counts and reports the bytes of each attempt, and gives the SHA-1 of the content once an attempt
 * sent all of it (for recovery after an unclear failure). A stream sent once is hashed as it goes;
 * content that can be read again (a path, bytes) is hashed only if recovery asks, which it rarely
 * does: hashing every GiB on the way costs about half a second of CPU the transfer competes for.
 */
class SentContent {
  private streamedSha1: string | undefined;
  private sentWhole = false;
  constructor(
    private readonly source: ResolvedSource,
    private readonly onProgress?: (progress: { loaded: number; total: number | undefined }) => void,
  ) {}

  /** SHA-1 of the content; undefined when no attempt got to its end. */
  async sha1(): Promise<string | undefined> {
    if (this.streamedSha1 !== undefined || !this.sentWhole) return this.streamedSha1;
    if (this.source.bytes) return createHash('sha1').update(this.source.bytes).digest('hex');
    const hash = createHash('sha1');
    for await (const chunk of this.source.open()) hash.update(chunk);
    return hash.digest('hex');
  }

  /** The whole in-memory content went to the transport as one buffer. */
  handedOver(): void {
    this.sentWhole = true;
    this.onProgress?.({ loaded: this.source.bytes!.byteLength, total: this.source.size });
  }

  open(): AsyncIterable<Uint8Array> {
    const content = this.source.open();
    const hash = this.source.replayable ? undefined : createHash('sha1');
    const total = this.source.size;
    const onProgress = this.onProgress;
    const done = (): void => {
      this.sentWhole = true;
      if (hash) this.streamedSha1 = hash.digest('hex');
    };
    return (async function* () {
      let loaded = 0;
      for await (const chunk of content) {
        hash?.update(chunk);
        loaded += chunk.byteLength;
        onProgress?.({ loaded, total });
        yield chunk;
      }
      done();
    })();
  }
}

function uploadFields(options: UploadOptions): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  if (options.info) fields.push(['info[file]', JSON.stringify(options.info)]);
  if (options.meta) fields.push(['meta[file]', JSON.stringify(options.meta)]);
  if (options.tags) fields.push(['tags[file]', JSON.stringify(options.tags)]);
  if (options.product) fields.push(['product[file]', JSON.stringify(options.product)]);
  return fields;
}

function filterQuery(filters: FileFilters): Record<string, string | boolean | undefined> {
  return {
    folder: filters.folder,
    recursive: filters.recursive,
    q: filters.q,
    mime: filters.mime,
    created_after: dateParam(filters.created_after),
    created_before: dateParam(filters.created_before),
    updated_after: dateParam(filters.updated_after),
    updated_before: dateParam(filters.updated_before),
    collection_uuid: filters.collection_uuid,
    f64: filters.f64,
  };
}

function existingSids(file: FileObject): string[] {
  const tags = (file.tags ?? {}) as Record<string, Array<{ sid: string }>>;
  return [...new Set(Object.values(tags).flatMap((list) => list.map((tag) => tag.sid)))];
}

function isBulkEntry(
  item: BulkItem,
): item is { source: UploadSource } & Omit<UploadOptions, 'signal' | 'onProgress'> {
  return typeof item === 'object' && item !== null && !(item instanceof Uint8Array) && 'source' in item;
}

function checkSha1(expected: string | undefined, actual: string, uuid: string): void {
  if (expected && expected !== actual) {
    throw new FilerobotError(
      `download of ${uuid} is corrupt: sha1 ${actual} does not match the asset's ${expected}. Nothing was kept.`,
    );
  }
}
