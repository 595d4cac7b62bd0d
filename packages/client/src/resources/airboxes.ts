import mime from 'mime-types';
import { ConfigurationError } from '../core/errors.js';
import { PagePromise, type PagingOptions } from '../core/pagination.js';
import type { Meta } from '../types.js';
import { multipartBody } from '../uploads/multipart.js';
import { resolveSource, type UploadSource } from '../uploads/source.js';
import { Resource, seg, type CallOptions } from './resource.js';

/*
 * Airbox management is INFERRED: the reference shows the permission OBJECTS_AIRBOX_MANAGE and the
 * Hub's read of an airbox config (GET /v3/a/{puid}/{title}?format=json) but no management
 * endpoint. The shapes below are the sfx server's design in the API's style.
 */

/** A public upload link into one folder. */
export interface Airbox {
  uuid: string;
  /** The public id in the link. */
  puid: string;
  title: string;
  description: string;
  /** The folder path uploads land in (where it was, once that folder is deleted). */
  folder: string;
  /** Null once the folder was deleted; point the airbox at a folder again with update(). */
  folder_uuid: string | null;
  active: boolean;
  expires_at: string | null;
  /** Bytes per file; null means the project's upload limit. */
  max_file_size: number | null;
  /** `{base}/{token}/v3/a/{puid}/{slug}`: add `?format=json` for its public config. */
  airbox_uri: string;
  created_at: string;
  updated_at: string;
  [field: string]: unknown;
}

export interface AirboxInput {
  title: string;
  /** Created when missing. */
  folder: string;
  description?: string;
  /** Default true. */
  active?: boolean;
  expires_at?: string | Date;
  max_file_size?: number;
}

/** Every field may change; `null` removes an expiry, a size limit or the description. */
export interface AirboxUpdate {
  title?: string;
  folder?: string;
  description?: string | null;
  active?: boolean;
  expires_at?: string | Date | null;
  max_file_size?: number | null;
}

/** What anyone with the link sees (no key). */
export interface AirboxPublicConfig {
  puid: string;
  title: string;
  description: string;
  expires_at: string | null;
  upload: { max_file_size: number; max_files_per_request: number; files_per_minute?: number };
  [field: string]: unknown;
}

export interface AirboxUploadOptions extends CallOptions {
  /** The file's name; defaults to the file's base name. Required for bytes and streams. */
  name?: string;
  /** Metadata for the file (tags and product links are not accepted through an airbox). */
  meta?: Meta;
  /** MIME type of the content; guessed from the name when absent. */
  contentType?: string;
}

/**
 * What an airbox upload answers. It names only what was sent: no uuid, stored name, folder or URL,
 * since the uploader may not read anything in the airbox's folder.
 */
export interface AirboxUploadResult {
  airbox: { puid: string; title: string };
  files: Array<{ name: string; type: string; size: { bytes: number; pretty: string }; sha1: string }>;
  info: { uploaded_files: number; files_count: number };
  [field: string]: unknown;
}

export interface AirboxListPage {
  airboxes: Airbox[];
  info: { total: number; limit: number; offset: number };
}

function when<T extends string | Date | null | undefined>(value: T): string | Exclude<T, Date> {
  if (!(value instanceof Date)) return value as Exclude<T, Date>;
  if (Number.isNaN(value.getTime())) throw new ConfigurationError('"expires_at" is an invalid Date.');
  return value.toISOString();
}

/** Airboxes: public upload links into a folder (inferred endpoints, v5; all need OBJECTS_AIRBOX_MANAGE). */
export class Airboxes extends Resource {
  /** Airboxes, newest first. Await for one page; iterate for all. */
  list(params: PagingOptions & CallOptions = {}): PagePromise<AirboxListPage, Airbox> {
    const { signal, timeoutMs, offset, limit, pageSize, maxItems } = params;
    return new PagePromise(
      (page) =>
        this.core.json<AirboxListPage>({
          method: 'GET',
          path: '/airboxes',
          version: 'v5',
          query: { limit: page.limit, offset: page.offset },
          signal,
          timeoutMs,
        }),
      (page) => page.airboxes ?? [],
      (page) => page.info?.total,
      { offset, limit, pageSize, maxItems, defaultLimit: 100 },
    );
  }

  async create(input: AirboxInput, options: CallOptions = {}): Promise<Airbox> {
    return (
      await this.core.json<{ airbox: Airbox }>({
        method: 'POST',
        path: '/airboxes',
        version: 'v5',
        json: { ...input, expires_at: when(input.expires_at) },
        ...options,
      })
    ).airbox;
  }

  async get(uuid: string, options: CallOptions = {}): Promise<Airbox> {
    return (
      await this.core.json<{ airbox: Airbox }>({
        method: 'GET',
        path: `/airboxes/${seg(uuid, 'uuid')}`,
        version: 'v5',
        ...options,
      })
    ).airbox;
  }

  /** Changes an airbox; `{active: false}` closes its link, `{active: true}` reopens it. */
  async update(uuid: string, change: AirboxUpdate, options: CallOptions = {}): Promise<Airbox> {
    const json = change.expires_at === undefined ? change : { ...change, expires_at: when(change.expires_at) };
    return (
      await this.core.json<{ airbox: Airbox }>({
        method: 'PATCH',
        path: `/airboxes/${seg(uuid, 'uuid')}`,
        version: 'v5',
        json,
        ...options,
      })
    ).airbox;
  }

  /** Deletes an airbox: its link stops working; files uploaded through it stay. */
  async delete(uuid: string, options: CallOptions = {}): Promise<void> {
    await this.core.json({
      method: 'DELETE',
      path: `/airboxes/${seg(uuid, 'uuid')}`,
      version: 'v5',
      ...options,
    });
  }

  /**
   * Uploads one file into an airbox, **without a key**: the puid is the credential (sent in the path
   * and as `X-Filerobot-Airbox-Puid`, the uploader's header). Inferred: `POST /{token}/v3/a/{puid}/{title}`
   * multipart. The file lands in the airbox's folder; one larger than its `max_file_size` is a
   * PayloadTooLargeError, a closed, expired or unknown airbox a NotFoundError, too many uploads a
   * RateLimitError. Not retried once sent: the uploader cannot look whether a lost upload landed.
   */
  async upload(puid: string, title: string, source: UploadSource, options: AirboxUploadOptions = {}): Promise<AirboxUploadResult> {
    const resolved = await resolveSource(source, options.name);
    const contentType = options.contentType ?? (mime.lookup(resolved.name) || 'application/octet-stream');
    const fields: Array<[string, string]> = options.meta ? [['meta[file]', JSON.stringify(options.meta)]] : [];
    return this.core.json<AirboxUploadResult>({
      method: 'POST',
      path: `/v3/a/${seg(puid, 'puid')}/${seg(title, 'title')}`,
      version: 'none',
      auth: false,
      headers: { 'X-Filerobot-Airbox-Puid': puid },
      body: () =>
        multipartBody(fields, {
          field: 'file',
          filename: resolved.name,
          contentType,
          size: resolved.size,
          content: resolved.open(),
        }),
      replayable: resolved.replayable,
      idempotent: false,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
    });
  }

  /**
   * The public config of an airbox link, read without a key (`GET /{token}/v3/a/{puid}/{title}?format=json`).
   * A closed, expired or unknown airbox is a NotFoundError.
   */
  async publicConfig(puid: string, title = 'airbox', options: CallOptions = {}): Promise<AirboxPublicConfig> {
    return (
      await this.core.json<{ airbox: AirboxPublicConfig }>({
        method: 'GET',
        path: `/v3/a/${seg(puid, 'puid')}/${seg(title, 'title')}`,
        version: 'none',
        query: { format: 'json' },
        auth: false,
        ...options,
      })
    ).airbox;
  }
}
