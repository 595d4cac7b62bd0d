import type { FileObject } from './types.js';

/** Cloudimage-style delivery transforms (reference §6). */
export interface Transform {
  w?: number;
  h?: number;
  func?: 'crop' | 'cover' | 'fit' | 'bound';
  /** Crop anchor with `func: 'crop'`: `auto`, `north`, `face`, ... */
  gravity?: string;
  /** Quality 1-100. */
  q?: number;
  /** e.g. `webp`, `webp,jpeg`, `avif`, `png`. */
  force_format?: string;
  dpr?: number;
  /** Do not upscale small originals. */
  org_if_sml?: boolean;
  /** Rotation in degrees. */
  r?: number;
  greyscale?: boolean;
  /** Any other parameter the CDN knows, passed as is. */
  [param: string]: string | number | boolean | undefined;
}

/**
 * A CDN URL for an asset with transforms: `cdnUrl(file, { w: 400, func: 'cover', force_format: 'webp' })`.
 * Keeps the version hash (`vh`) so caches miss after a change, and drops `func=proxy`, which the API
 * adds to mean "no processing". Build it at read time from a fresh file object: path-based CDN URLs
 * change when an asset is renamed or moved.
 */
export function cdnUrl(source: FileObject | string, transform: Transform = {}): string {
  const base = typeof source === 'string' ? source : source.url?.cdn;
  if (!base) throw new TypeError('the file object has no url.cdn; fetch it with files.get() first.');
  const url = new URL(base);
  if (url.searchParams.get('func') === 'proxy') url.searchParams.delete('func');
  for (const [name, value] of Object.entries(transform)) {
    if (value === undefined || value === false) {
      url.searchParams.delete(name);
      continue;
    }
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new RangeError(`transform ${name} must be a finite number.`);
    url.searchParams.set(name, value === true ? '1' : String(value));
  }
  for (const [name, min, max] of [
    ['q', 1, 100],
    ['w', 1, 10_000],
    ['h', 1, 10_000],
  ] as const) {
    const value = transform[name];
    if (typeof value === 'number' && (value < min || value > max))
      throw new RangeError(`transform ${name} must be between ${min} and ${max}, got ${value}.`);
  }
  return url.toString();
}
