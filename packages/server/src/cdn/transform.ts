/**
 * Cloudimage-style image transforms for CDN delivery (`?w=400&h=300&func=crop&force_format=webp`),
 * plus a bounded on-disk cache of the results. The cache is purely derived data: deleting its
 * directory (even while the server runs) is always safe, entries are simply recomputed.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Metadata, ResizeOptions, Sharp } from 'sharp';
import { loadSharp } from '../sharp-loader.js';
import { ApiError, badRequest } from '../errors.js';
import { RenderBudget } from './render-budget.js';

export type OutputFormat = 'jpeg' | 'png' | 'webp' | 'avif' | 'gif';
/** A `force_format` candidate: `awebp`/`agif` are the animation-preserving variants of webp/gif. */
export type FormatToken = OutputFormat | 'awebp' | 'agif';
export type TransformFunc = 'crop' | 'cover' | 'fit' | 'bound' | 'proxy';

export interface TransformParams {
  w?: number;
  h?: number;
  func?: TransformFunc;
  q?: number;
  /** The first `force_format` candidate; `get` honours `formats` (and `accept`) when present. */
  format?: OutputFormat;
  /** All `force_format` candidates in preference order; the first one the requester accepts wins. */
  formats?: FormatToken[];
  gravity?: string;
  dpr?: number;
  org_if_sml?: boolean;
  r?: number;
  bg_colour?: string;
  greyscale?: boolean;
}

export interface TransformResult {
  path: string;
  type: string;
  size: number;
  /** The cache entry's key, for `hitInMemory` (absent for `func=proxy`, which is the original). */
  key?: string;
}

/** Hits on small renders held in memory, with their bytes: served without opening the file. */
const inMemory = new WeakMap<TransformResult, Buffer>();

/** The bytes of a cache hit when the cache holds them in memory, else undefined (read `path`). */
export function bytesInMemory(result: TransformResult): Buffer | undefined {
  return inMemory.get(result);
}

/** Largest side of a transform's output: `w`/`h` (after `dpr`) and the side following the aspect ratio. */
const MAX_DIMENSION = 10_000;
/** Distinct (source, params) shapes whose cache key is kept; past it they are hashed again. */
const MAX_KEY_SHAPES = 10_000;
const DEFAULT_QUALITY = 80;
const DEFAULT_BACKGROUND = '#ffffff';
/** sharp's own default for `limitInputPixels`, checked up front so a bomb is refused before decoding. */
const MAX_INPUT_PIXELS = 0x3fff * 0x3fff;
const HINT = 'e.g. ?w=400&h=300&func=crop&gravity=auto&force_format=webp,jpeg&q=80';

const MIME: Record<OutputFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
};
const EXTENSION: Record<OutputFormat, string> = {
  jpeg: 'jpg',
  png: 'png',
  webp: 'webp',
  avif: 'avif',
  gif: 'gif',
};
const FORMAT_TOKENS: Record<string, FormatToken> = {
  jpeg: 'jpeg',
  jpg: 'jpeg',
  png: 'png',
  webp: 'webp',
  avif: 'avif',
  gif: 'gif',
  awebp: 'awebp',
  agif: 'agif',
};
const FUNCS: readonly TransformFunc[] = ['crop', 'cover', 'fit', 'bound', 'proxy'];
/** Cloudimage gravity names onto sharp positions; `face` has no detector here, so saliency stands in. */
const GRAVITY: Record<string, string> = {
  center: 'centre',
  centre: 'centre',
  north: 'north',
  south: 'south',
  east: 'east',
  west: 'west',
  northeast: 'northeast',
  northwest: 'northwest',
  southeast: 'southeast',
  southwest: 'southwest',
  top: 'north',
  bottom: 'south',
  left: 'west',
  right: 'east',
  auto: 'attention',
  face: 'attention',
  smart: 'attention',
  entropy: 'entropy',
};

// ---------------------------------------------------------------------------------------------
// Query parsing

const invalid = (name: string, value: string, expected: string): ApiError =>
  badRequest(
    'INVALID_TRANSFORM',
    `Invalid transform parameter "${name}": "${value}"; expected ${expected}`,
    HINT,
  );

/** Query parsers hand over strings, repeated keys as arrays, and sometimes already-coerced values. */
function queryValue(query: Record<string, unknown>, ...names: string[]): [string, string] | undefined {
  for (const name of names) {
    let value = query[name];
    if (Array.isArray(value)) value = value[0];
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') return [name, value.trim()];
    if (typeof value === 'number' || typeof value === 'boolean') return [name, String(value)];
    throw invalid(name, String(value), 'a single value');
  }
  return undefined;
}

function parseInteger(entry: [string, string], min: number, max: number): number {
  const [name, raw] = entry;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw) || value < min || value > max) {
    throw invalid(name, raw, `an integer ${min}..${max}`);
  }
  return value;
}

function parseDecimal(entry: [string, string], min: number, max: number): number {
  const [name, raw] = entry;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || value < min || value > max) {
    throw invalid(name, raw, `a number ${min}..${max}`);
  }
  return value;
}

/** A bare flag (`?greyscale`) arrives as an empty string and means on. */
function parseFlag(entry: [string, string]): boolean {
  const [name, raw] = entry;
  const value = raw.toLowerCase();
  if (value === '' || value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw invalid(name, raw, '1 or 0');
}

function parseFunc(entry: [string, string]): TransformFunc {
  const value = entry[1].toLowerCase() as TransformFunc;
  if (!FUNCS.includes(value)) throw invalid(entry[0], entry[1], `one of ${FUNCS.join(', ')}`);
  return value;
}

function parseGravity(entry: [string, string]): string {
  const value = entry[1].toLowerCase();
  if (!(value in GRAVITY)) throw invalid(entry[0], entry[1], `one of ${Object.keys(GRAVITY).join(', ')}`);
  return value;
}

function parseFormats(entry: [string, string]): FormatToken[] {
  const tokens = entry[1]
    .toLowerCase()
    .split(',')
    .map((token) => token.trim());
  return tokens.map((token) => {
    const format = FORMAT_TOKENS[token];
    if (!format)
      throw invalid(entry[0], entry[1], `a comma list of ${Object.keys(FORMAT_TOKENS).join(', ')}`);
    return format;
  });
}

/** Hex (`fff`, `#ff0000`, `ff000080`) or a CSS colour name; sharp's own parser is the judge of names. */
function parseColour(entry: [string, string]): string {
  const raw = entry[1];
  const colour = /^#?([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i.test(raw) ? `#${raw.replace(/^#/, '')}` : raw;
  try {
    if (!/^#|^[a-z]{3,30}$/i.test(colour)) throw new Error('not a colour');
    loadSharp()().flatten({ background: colour });
  } catch {
    throw invalid(entry[0], raw, 'a hex colour (fff, ff0000, ff000080) or a CSS colour name');
  }
  return colour.toLowerCase();
}

function toFormat(token: FormatToken): OutputFormat {
  if (token === 'awebp') return 'webp';
  if (token === 'agif') return 'gif';
  return token;
}

/**
 * Reads the Cloudimage parameters out of a request query. Returns undefined when nothing would
 * change the original (no transform parameter, or `func=proxy`), so the caller streams the file
 * as is. Unknown parameters (including the `vh` version hash) are ignored like the real CDN does.
 */
export function parseTransformParams(query: Record<string, unknown>): TransformParams | undefined {
  const params: TransformParams = {};
  const get = (...names: string[]) => queryValue(query, ...names);
  const w = get('w', 'width');
  const h = get('h', 'height');
  const func = get('func');
  const q = get('q');
  const force = get('force_format');
  const gravity = get('gravity');
  const dpr = get('dpr');
  const orgIfSml = get('org_if_sml');
  const r = get('r');
  const bg = get('bg_colour', 'bg_color');
  const grey = get('greyscale', 'grey', 'gray');
  if (w) params.w = parseInteger(w, 1, MAX_DIMENSION);
  if (h) params.h = parseInteger(h, 1, MAX_DIMENSION);
  if (func) params.func = parseFunc(func);
  if (q) params.q = parseInteger(q, 1, 100);
  if (force) {
    params.formats = parseFormats(force);
    params.format = toFormat(params.formats[0] as FormatToken);
  }
  if (gravity) params.gravity = parseGravity(gravity);
  if (dpr) params.dpr = parseDecimal(dpr, 1, 5);
  if (orgIfSml && parseFlag(orgIfSml)) params.org_if_sml = true;
  if (r) params.r = parseInteger(r, -360, 360);
  if (bg) params.bg_colour = parseColour(bg);
  if (grey && parseFlag(grey)) params.greyscale = true;
  if (params.func === 'proxy' || Object.keys(params).length === 0) return undefined;
  return params;
}

// ---------------------------------------------------------------------------------------------
// Format negotiation and cache keys

/** jpeg/png/gif every client can show; the newer formats only when the Accept header says so. */
function acceptable(format: OutputFormat, accept: string | undefined): boolean {
  if (accept === undefined || (format !== 'webp' && format !== 'avif')) return true;
  return accept.toLowerCase().includes(`image/${format}`);
}

/**
 * The `force_format` candidate to use, or 'auto' (derived from the source) without one. A single
 * format is an order and always wins; in a list (`webp,jpeg`) the first one the requester's Accept
 * header names wins, and the last one is the fallback: the reply is never in a format outside the
 * list. (Cloudimage documents the same: `force_format=webp` delivers WebP, a chain falls back in order.)
 */
export function chooseFormat(params: TransformParams, accept?: string): FormatToken | 'auto' {
  const candidates: FormatToken[] = params.formats ?? (params.format ? [params.format] : []);
  const last = candidates.length - 1;
  return candidates.find((token, i) => i === last || acceptable(toFormat(token), accept)) ?? 'auto';
}

/** Whether the reply depends on the Accept header: only a `force_format` list negotiates. */
export function negotiatesFormat(params: TransformParams): boolean {
  return (params.formats?.length ?? 0) > 1;
}

function canonicalJson(value: Record<string, unknown>): string {
  const keys = Object.keys(value)
    .filter((key) => value[key] !== undefined)
    .sort();
  return JSON.stringify(keys.map((key) => [key, value[key]]));
}

/** The format fields are replaced by the chosen one, so `webp` and `webp,jpeg` share a webp entry. */
function cacheKey(sourceKey: string, params: TransformParams, chosen: string): string {
  const { format: _format, formats: _formats, ...rest } = params;
  return createHash('sha256')
    .update(sourceKey)
    .update('\0')
    .update(canonicalJson(rest as Record<string, unknown>))
    .update('\0')
    .update(chosen)
    .digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** Without `force_format` keep the source's format when browsers can show it, else jpeg (png for alpha). */
function defaultFormat(meta: Metadata): OutputFormat {
  const format = meta.format as string;
  if (format === 'jpeg' || format === 'png' || format === 'webp' || format === 'gif') return format;
  if (format === 'heif' && meta.compression === 'av1') return 'avif';
  return meta.hasAlpha ? 'png' : 'jpeg';
}

function position(gravity: string | undefined, animated: boolean): string | number {
  const name = GRAVITY[gravity ?? 'center'] ?? 'centre';
  // Saliency strategies work on a single frame only.
  if (name === 'attention') return animated ? 'centre' : loadSharp().strategy.attention;
  if (name === 'entropy') return animated ? 'centre' : loadSharp().strategy.entropy;
  return name;
}

/** Scales w/h by dpr, lowering dpr rather than exceeding the dimension limit so the ratio survives. */
function targetSize(params: TransformParams): { width?: number; height?: number } {
  const largest = Math.max(params.w ?? 0, params.h ?? 0);
  const dpr = Math.min(params.dpr ?? 1, MAX_DIMENSION / largest);
  const scale = (value: number | undefined) =>
    value === undefined ? undefined : Math.max(1, Math.round(value * dpr));
  return { width: scale(params.w), height: scale(params.h) };
}

function resizeOptions(params: TransformParams, animated: boolean): ResizeOptions | undefined {
  if (params.w === undefined && params.h === undefined) return undefined;
  const { width, height } = targetSize(params);
  const withoutEnlargement = params.org_if_sml === true || params.func === 'bound';
  // One side given: the other follows the aspect ratio, but never past MAX_DIMENSION either, so a
  // 4x40 strip at ?w=10000 renders 1000x10000, not 10000x100000. Every fit scales alike with one
  // side, so `inside` against a MAX_DIMENSION box on the missing side keeps their meaning.
  if (width === undefined || height === undefined) {
    return {
      width: width ?? MAX_DIMENSION,
      height: height ?? MAX_DIMENSION,
      fit: 'inside',
      withoutEnlargement,
    };
  }
  const base: ResizeOptions = { width, height, withoutEnlargement: params.org_if_sml === true };
  switch (params.func) {
    case 'crop':
    case 'cover':
      return { ...base, fit: 'cover', position: position(params.gravity, animated) };
    case 'fit':
      return { ...base, fit: 'contain', background: params.bg_colour ?? DEFAULT_BACKGROUND };
    case 'bound':
      return { ...base, fit: 'inside', withoutEnlargement: true };
    default:
      return { ...base, fit: 'inside' };
  }
}

/**
 * The size of one output frame, worked out from the source's header the way the pipeline will
 * render it (orientation, rotation, resize), so oversized work is refused before it starts.
 */
export function plannedOutputSize(meta: Metadata, params: TransformParams): { width: number; height: number } {
  let width = meta.width ?? 0;
  let height = meta.height ?? 0;
  // EXIF orientations 5-8 include a quarter turn, which autoOrient applies.
  if ((meta.orientation ?? 1) >= 5) [width, height] = [height, width];
  const r = params.r ?? 0;
  if (r % 180 !== 0 && r % 90 === 0) {
    [width, height] = [height, width];
  } else if (r % 90 !== 0) {
    // Any other angle grows the canvas to the rotated image's bounding box.
    const radians = (r * Math.PI) / 180;
    const cos = Math.abs(Math.cos(radians));
    const sin = Math.abs(Math.sin(radians));
    [width, height] = [Math.ceil(width * cos + height * sin), Math.ceil(width * sin + height * cos)];
  }
  const resize = resizeOptions(params, false);
  if (!resize || width === 0 || height === 0) return { width, height };
  const boxWidth = resize.width as number;
  const boxHeight = resize.height as number;
  if (resize.fit === 'inside') {
    let scale = Math.min(boxWidth / width, boxHeight / height);
    if (resize.withoutEnlargement) scale = Math.min(1, scale);
    return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
  }
  // contain pads the image out to the whole box, even when withoutEnlargement keeps the image
  // itself small (a 10×10 source at w=10000&h=2500&func=fit&org_if_sml=1 writes 10000×2500).
  if (resize.fit === 'contain' || !resize.withoutEnlargement) return { width: boxWidth, height: boxHeight };
  // cover without enlargement: no side grows past the source's.
  return { width: Math.min(boxWidth, width), height: Math.min(boxHeight, height) };
}

interface RenderWork {
  width: number;
  height: number;
  frames: number;
  /** Pixels written, all frames together. */
  outputPixels: number;
  /** What the render is charged to the caller's budget: megapixels decoded plus megapixels written. */
  megapixels: number;
}

/** Each render has a fixed cost (opening, encoding, writing) however small its image. */
const MIN_RENDER_MEGAPIXELS = 0.1;

function renderWork(meta: Metadata, params: TransformParams, animated: boolean): RenderWork {
  const { width, height } = plannedOutputSize(meta, params);
  const frames = animated ? Math.max(1, meta.pages ?? 1) : 1;
  const outputPixels = width * height * frames;
  let decoded = (meta.width ?? 0) * (meta.height ?? 0) * frames;
  if (meta.format === 'jpeg' && outputPixels > 0) {
    // libjpeg decodes straight at 1/2, 1/4 or 1/8 scale when the output is that much smaller,
    // so a thumbnail of a large photo costs a fraction of a full decode.
    const shrink = Math.sqrt(decoded / outputPixels);
    const factor = shrink >= 8 ? 8 : shrink >= 4 ? 4 : shrink >= 2 ? 2 : 1;
    decoded /= factor * factor;
  }
  return { width, height, frames, outputPixels, megapixels: Math.max(MIN_RENDER_MEGAPIXELS, (decoded + outputPixels) / 1e6) };
}

function encode(image: Sharp, format: OutputFormat, params: TransformParams): Sharp {
  const quality = params.q ?? DEFAULT_QUALITY;
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality, mozjpeg: true });
    case 'webp':
      return image.webp({ quality });
    // A lower effort keeps first-request latency reasonable; AVIF at default effort is slow.
    case 'avif':
      return image.avif({ quality, effort: 2 });
    case 'gif':
      return image.gif();
    case 'png':
      return image.png();
  }
}

/** Builds the sharp pipeline. The source is read from its path so large files are never buffered whole. */
function pipeline(
  sourcePath: string,
  params: TransformParams,
  meta: Metadata,
  format: OutputFormat,
  animated: boolean,
): Sharp {
  const background = params.bg_colour ?? DEFAULT_BACKGROUND;
  let image = loadSharp()(sourcePath, { animated }).autoOrient();
  if (params.r !== undefined && params.r % 360 !== 0) {
    image = params.r % 90 === 0 ? image.rotate(params.r) : image.rotate(params.r, { background });
  }
  const resize = resizeOptions(params, animated);
  if (resize) image = image.resize(resize);
  if (params.greyscale) image = image.greyscale();
  if (format === 'jpeg' && meta.hasAlpha) image = image.flatten({ background });
  return encode(image, format, params);
}

const tooManyPixels = (): ApiError =>
  new ApiError(
    413,
    'IMAGE_TOO_LARGE',
    'Source image has too many pixels to transform',
    'Request the original instead',
  );

async function readMetadata(sourcePath: string): Promise<Metadata> {
  let meta: Metadata;
  try {
    meta = await loadSharp()(sourcePath).metadata();
  } catch (error) {
    const message = String(error);
    if (/exceeds pixel limit/i.test(message)) throw tooManyPixels();
    if (/Input file is missing/.test(message)) throw error;
    throw new ApiError(
      415,
      'NOT_AN_IMAGE',
      'The file is not an image that can be transformed',
      'Request it without transform parameters to get the original',
    );
  }
  if ((meta.width ?? 0) * (meta.height ?? 0) > MAX_INPUT_PIXELS) throw tooManyPixels();
  return meta;
}

/** Decoder failures are the source's fault (415); failures writing the cache are ours and pass through. */
function classifyRenderError(error: unknown): unknown {
  const message = error instanceof Error ? error.message : String(error);
  if (/exceeds pixel limit/i.test(message)) return tooManyPixels();
  if (/unable to open for write|system error/i.test(message)) return error;
  return new ApiError(
    415,
    'NOT_AN_IMAGE',
    `The image could not be decoded: ${message.split('\n')[0]}`,
    'Request it without transform parameters to get the original',
  );
}

// ---------------------------------------------------------------------------------------------
// Cache

interface Entry {
  path: string;
  type: string;
  size: number;
  bytes?: Buffer;
  /** When the file's mtime was last set to record use (ms since epoch). */
  touchedAt?: number;
}

/** Renders up to this size are kept in memory once served, up to `DEFAULT_HOT_BYTES` in all. */
const HOT_MAX_ENTRY_BYTES = 256 * 1024;
export const DEFAULT_HOT_BYTES = 32 * 1024 ** 2;
/** A hit served from memory records its use on disk (for the LRU order after a restart) at most this often. */
const TOUCH_INTERVAL_MS = 60_000;

const outputTooLarge = (work: RenderWork, max: number): ApiError =>
  new ApiError(
    413,
    'IMAGE_TOO_LARGE',
    `The transform would render ${work.width}×${work.height}${work.frames > 1 ? ` × ${work.frames} frames` : ''} = ` +
      `${work.outputPixels} pixels; this server renders at most ${max} pixels per image.`,
    'Ask for a smaller w/h (or dpr), or for the original without transform parameters. ' +
      'The limit is the server option limits.maxTransformPixels (sfx server --max-transform-pixels).',
  );

const overBudget = (perMinute: number, wait: number): ApiError =>
  new ApiError(
    429,
    'RENDER_BUDGET_EXCEEDED',
    `Your address has used its budget for new image transforms: ${perMinute} megapixels a minute ` +
      '(decoded plus written; cached transforms do not count).',
    `Retry after ${wait} s; cached transforms and originals are still served. The budget is the server ` +
      'option limits.transformMegapixelsPerMinutePerIp (sfx server --transform-budget).',
    { retry_after: wait },
    { 'retry-after': String(wait) },
  );

const FILE_PATTERN = /^([0-9a-f]{64})\.(jpg|png|webp|avif|gif)$/;
const TEMP_PREFIX = '.tmp-';
/** Temp files older than this are leftovers of a crash, not a render still in progress. */
const STALE_TEMP_MS = 60_000;

/** Renders that may run at once by default: one per CPU core, at least 2. */
export const DEFAULT_MAX_CONCURRENT_TRANSFORMS = Math.max(2, availableParallelism());
/** Renders that may wait for a slot by default; past that a render is refused with 503 TRANSFORM_BUSY. */
export const DEFAULT_MAX_QUEUED_TRANSFORMS = 32;
/**
 * Most pixels one transform may write, all frames together: 25 MP is a 5000×5000 image, far past any
 * web layout (an 8K screen is 33 MP at dpr 1 but pages do not fill it with one image), while
 * 100 MP renders took ~4.5 s of CPU each.
 */
export const DEFAULT_MAX_TRANSFORM_PIXELS = 25_000_000;
/**
 * Render work one client address may cause per minute, in megapixels decoded plus written: about
 * 1200 thumbnails of 0.5 MP images, or 24 renders at the pixel cap (~25 s of CPU).
 */
export const DEFAULT_TRANSFORM_MEGAPIXELS_PER_MINUTE_PER_IP = 600;

export interface TransformCacheOptions {
  dir: string;
  maxBytes: number;
  maxEntries?: number;
  /** Memory for the bytes of small renders (each up to 256 KiB), served without a file read; default 32 MiB, 0 for none. */
  maxHotBytes?: number;
  /** Renders (cache misses) that run at once; default one per CPU core, at least 2. */
  maxConcurrent?: number;
  /** Renders that may wait for a slot; more are refused with 503 TRANSFORM_BUSY. Default 32. */
  maxQueued?: number;
  /** Awaited inside a render slot before the render starts (tests hold renders with it). */
  beforeRender?: () => Promise<void>;
  /** Most pixels a render may write (all frames); more is a 413. Default DEFAULT_MAX_TRANSFORM_PIXELS. */
  maxOutputPixels?: number;
  /** Render budget per client (`get`'s `client`), in megapixels a minute; 0 (default) means none. */
  megapixelsPerMinutePerClient?: number;
  /** Milliseconds since the epoch, for the budget's refill. Default `Date.now`. */
  clock?: () => number;
}

const busy = (): ApiError =>
  new ApiError(
    503,
    'TRANSFORM_BUSY',
    'The server is rendering as many image transforms as it can take right now',
    'Retry in a moment; cached transforms and originals are served meanwhile',
    undefined,
    { 'retry-after': '1' },
  );

/**
 * A counting semaphore with a bounded wait queue: at most `max` holders, at most `maxQueued`
 * waiting; `acquire` throws TRANSFORM_BUSY past both. Waiters are served round-robin by client
 * (first come, first served within one), so a burst from one address does not make everyone
 * else wait for all of it: another client's render waits for at most one turn per client ahead.
 */
class RenderSlots {
  private running = 0;
  private waiters = 0;
  /** Waiters per client; Map order is the round-robin order (a served client moves to the end). */
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(
    private readonly max: number,
    private readonly maxQueued: number,
  ) {}

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiters;
  }

  /** Resolves to the slot's release function, to be called exactly once. */
  async acquire(client = ''): Promise<() => void> {
    if (this.running < this.max) {
      this.running++;
    } else {
      if (this.waiters >= this.maxQueued) throw busy();
      this.waiters++;
      // release() hands its slot straight to the next waiter, so `running` stays as it is.
      await new Promise<void>((resolve) => {
        const queue = this.waiting.get(client);
        if (queue) queue.push(resolve);
        else this.waiting.set(client, [resolve]);
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.next();
      if (next) next();
      else this.running--;
    };
  }

  private next(): (() => void) | undefined {
    const first = this.waiting.entries().next();
    if (first.done) return undefined;
    const [client, queue] = first.value;
    const waiter = queue.shift();
    this.waiting.delete(client);
    if (queue.length > 0) this.waiting.set(client, queue);
    this.waiters--;
    return waiter;
  }
}

export class TransformCache {
  /**
   * `busy`: renders refused because every slot and the whole wait queue were taken; `overBudget`:
   * renders refused because their caller had spent its budget; `tooLarge`: over the pixel cap.
   */
  readonly stats = { hits: 0, renders: 0, evictions: 0, busy: 0, overBudget: 0, tooLarge: 0 };
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly maxEntries: number;
  private readonly slots: RenderSlots;
  private readonly beforeRender?: () => Promise<void>;
  private readonly maxOutputPixels: number;
  private readonly budget: RenderBudget;
  /** Map order is recency order: the first entry is the least recently used. */
  private readonly index = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<TransformResult>>();
  /** Cache keys by request shape (see `keyOf`). */
  private readonly keys = new Map<string, string>();
  private bytes = 0;
  /** Bytes of renders held in memory; bounded by `maxHotBytes`, least recently used dropped first. */
  private hotBytes = 0;
  private readonly maxHotBytes: number;

  constructor(options: TransformCacheOptions) {
    this.maxHotBytes = options.maxHotBytes ?? DEFAULT_HOT_BYTES;
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.slots = new RenderSlots(
      Math.max(1, options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_TRANSFORMS),
      Math.max(0, options.maxQueued ?? DEFAULT_MAX_QUEUED_TRANSFORMS),
    );
    this.beforeRender = options.beforeRender;
    this.maxOutputPixels = options.maxOutputPixels ?? DEFAULT_MAX_TRANSFORM_PIXELS;
    this.budget = new RenderBudget(options.megapixelsPerMinutePerClient ?? 0, options.clock);
    mkdirSync(this.dir, { recursive: true });
    this.load();
  }

  get totalBytes(): number {
    return this.bytes;
  }

  get entryCount(): number {
    return this.index.size;
  }

  /** Renders running now, and renders waiting for a slot. */
  get rendering(): { running: number; queued: number } {
    return { running: this.slots.active, queued: this.slots.queued };
  }

  /**
   * Returns the path and MIME type of the transformed image, computing it once per (sourceKey, params)
   * and reusing it after. `sourceKey` must change whenever the source content does (e.g. uuid + hash).
   * Only a render (a miss not already in progress) is checked and counted: over the pixel cap it
   * fails with 413, past the client's budget with 429 RENDER_BUDGET_EXCEEDED, and with every slot
   * and the wait queue taken with 503 TRANSFORM_BUSY. Hits, joins of a render in progress and
   * `func=proxy` are never refused nor counted, and never wait for a slot. `clientOf` names the
   * client (or says how to find it: called for renders only, hits do not pay for it).
   */
  async get(
    sourceKey: string,
    sourcePath: string,
    sourceType: string,
    params: TransformParams,
    accept?: string,
    clientOf?: string | (() => string),
  ): Promise<TransformResult> {
    if (params.func === 'proxy') return this.original(sourcePath, sourceType);
    const chosen = chooseFormat(params, accept);
    const key = this.keyOf(sourceKey, params, chosen);
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const hit = await this.lookup(key);
    if (hit) return hit;
    // The header only: cheap, and it tells how much work the render would be.
    const meta = await readMetadata(sourcePath);
    // Re-check: another caller may have started (or finished) the same render while we awaited.
    const started = this.inflight.get(key);
    if (started) return started;
    if (this.index.has(key)) return this.get(sourceKey, sourcePath, sourceType, params, accept, clientOf);
    const client = typeof clientOf === 'function' ? clientOf() : clientOf;
    const work = renderWork(meta, params, chosen === 'awebp' || chosen === 'agif');
    if (work.outputPixels > this.maxOutputPixels) {
      this.stats.tooLarge++;
      throw outputTooLarge(work, this.maxOutputPixels);
    }
    if (client !== undefined) {
      const wait = this.budget.take(client, work.megapixels);
      if (wait > 0) {
        this.stats.overBudget++;
        throw overBudget(this.budget.perMinute, wait);
      }
    }
    const render = this.render(key, sourcePath, meta, params, chosen, client).finally(() => this.inflight.delete(key));
    this.inflight.set(key, render);
    return render;
  }

  /**
   * The cache key, a SHA-256 over canonical params: hashed once per distinct request shape, since
   * every hit needs it. Keyed by the params as parsed (a fixed field order) and the source.
   */
  private keyOf(sourceKey: string, params: TransformParams, chosen: string): string {
    const shape = `${sourceKey}\0${chosen}\0${JSON.stringify(params)}`;
    let key = this.keys.get(shape);
    if (key === undefined) {
      key = cacheKey(sourceKey, params, chosen);
      if (this.keys.size >= MAX_KEY_SHAPES) this.keys.clear();
      this.keys.set(shape, key);
    }
    return key;
  }

  private async original(sourcePath: string, sourceType: string): Promise<TransformResult> {
    const info = await stat(sourcePath);
    return { path: sourcePath, type: sourceType, size: info.size };
  }

  /**
   * Touching the file checks it still exists (the cache dir may be wiped) and records use for
   * restarts. A small render is read into memory on its first hit; later hits serve those bytes
   * with no file-system call, recording use on disk at most once a minute.
   */
  private async lookup(key: string): Promise<TransformResult | undefined> {
    const entry = this.index.get(key);
    if (!entry) return undefined;
    const now = Date.now();
    if (entry.bytes) {
      this.touchInMemory(entry, now);
    } else {
      try {
        const at = new Date(now);
        await utimes(entry.path, at, at);
        entry.touchedAt = now;
        if (entry.size <= HOT_MAX_ENTRY_BYTES && this.maxHotBytes > 0) {
          const bytes = await readFile(entry.path);
          if (this.index.get(key) === entry && bytes.length === entry.size && !entry.bytes) {
            entry.bytes = bytes;
            this.hotBytes += bytes.length;
            this.coolDown(key);
          }
        }
      } catch {
        if (this.index.get(key) === entry) this.forget(key);
        return undefined;
      }
    }
    if (this.index.get(key) !== entry) return undefined;
    this.counted(key, entry);
    const result: TransformResult = { path: entry.path, type: entry.type, size: entry.size, key };
    if (entry.bytes) inMemory.set(result, entry.bytes);
    return result;
  }

  /**
   * A hit on render `key` served from memory by a caller that kept its reply (the CDN's prepared
   * responses): true, with the use recorded as `get` records it, when the cache still holds exactly
   * `bytes` in memory; false when the entry was evicted, replaced or cooled down, and the caller
   * must go through `get` again.
   */
  hitInMemory(key: string, bytes: Buffer): boolean {
    const entry = this.index.get(key);
    if (!entry || entry.bytes !== bytes) return false;
    this.touchInMemory(entry, Date.now());
    this.counted(key, entry);
    return true;
  }

  /** Records use on disk, for the LRU order after a restart, at most once a minute. */
  private touchInMemory(entry: Entry, now: number): void {
    if (now - (entry.touchedAt ?? 0) < TOUCH_INTERVAL_MS) return;
    entry.touchedAt = now;
    const at = new Date(now);
    utimes(entry.path, at, at).catch(() => undefined);
  }

  /** A hit: the entry becomes the most recently used. */
  private counted(key: string, entry: Entry): void {
    this.index.delete(key);
    this.index.set(key, entry);
    this.stats.hits++;
  }

  private async render(
    key: string,
    sourcePath: string,
    meta: Metadata,
    params: TransformParams,
    chosen: FormatToken | 'auto',
    client: string | undefined,
  ): Promise<TransformResult> {
    let release: () => void;
    try {
      release = await this.slots.acquire(client);
    } catch (error) {
      this.stats.busy++;
      throw error;
    }
    try {
      if (this.beforeRender) await this.beforeRender();
      return await this.renderInSlot(key, sourcePath, meta, params, chosen);
    } finally {
      release();
    }
  }

  private async renderInSlot(
    key: string,
    sourcePath: string,
    meta: Metadata,
    params: TransformParams,
    chosen: FormatToken | 'auto',
  ): Promise<TransformResult> {
    this.stats.renders++;
    const format = chosen === 'auto' ? defaultFormat(meta) : toFormat(chosen);
    const animated = chosen === 'awebp' || chosen === 'agif';
    await mkdir(this.dir, { recursive: true });
    // Written aside and renamed in, so a concurrent reader never sees a partial file.
    const temp = join(this.dir, `${TEMP_PREFIX}${key}-${randomUUID()}`);
    let size: number;
    try {
      size = (await pipeline(sourcePath, params, meta, format, animated).toFile(temp)).size;
    } catch (error) {
      await rm(temp, { force: true });
      throw classifyRenderError(error);
    }
    const entry: Entry = { path: join(this.dir, `${key}.${EXTENSION[format]}`), type: MIME[format], size };
    await rename(temp, entry.path);
    this.insert(key, entry);
    return { path: entry.path, type: entry.type, size: entry.size, key };
  }

  private insert(key: string, entry: Entry): void {
    this.forget(key);
    this.index.set(key, entry);
    this.bytes += entry.size;
    this.evict(key);
  }

  private forget(key: string): Entry | undefined {
    const entry = this.index.get(key);
    if (!entry) return undefined;
    this.index.delete(key);
    this.bytes -= entry.size;
    if (entry.bytes) this.hotBytes -= entry.bytes.length;
    entry.bytes = undefined;
    return entry;
  }

  /** Drops the in-memory bytes of the least recently used renders until `maxHotBytes` holds. */
  private coolDown(keep: string): void {
    for (const [key, entry] of this.index) {
      if (this.hotBytes <= this.maxHotBytes) return;
      if (key === keep || !entry.bytes) continue;
      this.hotBytes -= entry.bytes.length;
      entry.bytes = undefined;
    }
  }

  /** Bytes of renders held in memory now. */
  get memoryBytes(): number {
    return this.hotBytes;
  }

  /**
   * Drops least-recently-used entries until the bounds hold. The entry just inserted is kept even
   * if it alone exceeds maxBytes, since the caller is about to serve it; the next insert evicts it.
   */
  private evict(keep?: string, sync = false): void {
    for (const key of this.index.keys()) {
      if (this.bytes <= this.maxBytes && this.index.size <= this.maxEntries) return;
      if (key === keep) continue;
      const entry = this.forget(key);
      if (!entry) continue;
      this.stats.evictions++;
      if (sync) removeQuietly(entry.path);
      else unlink(entry.path).catch(() => undefined);
    }
  }

  /** Rebuilds the index from disk so a restart keeps its cache; mtimes (touched on use) give LRU order. */
  private load(): void {
    const found: Array<{ key: string; entry: Entry; used: number }> = [];
    for (const name of readdirSync(this.dir)) {
      const file = join(this.dir, name);
      if (name.startsWith(TEMP_PREFIX)) {
        removeStaleTemp(file);
        continue;
      }
      const match = FILE_PATTERN.exec(name);
      const info = match ? statOrUndefined(file) : undefined;
      if (!match || !info?.isFile()) continue;
      const format = (Object.keys(EXTENSION) as OutputFormat[]).find(
        (f) => EXTENSION[f] === match[2],
      ) as OutputFormat;
      found.push({
        key: match[1] as string,
        entry: { path: file, type: MIME[format], size: info.size },
        used: info.mtimeMs,
      });
    }
    found.sort((a, b) => a.used - b.used);
    for (const { key, entry } of found) {
      this.index.set(key, entry);
      this.bytes += entry.size;
    }
    this.evict(undefined, true);
  }
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone: nothing to reclaim.
  }
}

function removeStaleTemp(file: string): void {
  const info = statOrUndefined(file);
  if (info && Date.now() - info.mtimeMs > STALE_TEMP_MS) removeQuietly(file);
}
