import type { Metadata } from 'sharp';
import { loadSharp } from '../sharp-loader.js';
import type { ServerContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import type { FileWithFolder } from '../store/rows.js';

/**
 * Reading a stored asset as an image for the image editor and auto-tagging: only image files,
 * within a pixel budget checked from the header before anything is decoded, and a decoding
 * failure is the file's fault (400), never a 5xx.
 */

/** sharp's own default for `limitInputPixels` (the CDN transforms' limit). */
export const MAX_INPUT_PIXELS = 0x3fff * 0x3fff;

export interface ImageSource {
  path: string;
  meta: Metadata;
  /** Width and height as displayed, EXIF orientation applied. */
  width: number;
  height: number;
}

export const notAnImage = (file: FileWithFolder, detail?: string): ApiError =>
  badRequest(
    'NOT_AN_IMAGE',
    `${file.name} (${file.type}) is not an image this server can read${detail ? `: ${detail}` : ''}.`,
    'Only raster images (JPEG, PNG, WebP, AVIF, GIF, TIFF, HEIF) and SVG can be edited or analysed.',
  );

export const imageTooLarge = (pixels: number, max: number, what: string): ApiError =>
  new ApiError(
    413,
    'IMAGE_TOO_LARGE',
    `The image has ${pixels} pixels; ${what} takes at most ${max}.`,
    'Downscale the original first (upload a smaller version), or work on a copy made by the CDN (?w=...).',
  );

/** Opens an asset as an image: 400 NOT_AN_IMAGE for anything else, 413 past `maxPixels`. */
export async function openImage(
  ctx: ServerContext,
  file: FileWithFolder,
  maxPixels: number,
  what: string,
): Promise<ImageSource> {
  if (!file.type.startsWith('image/')) throw notAnImage(file);
  const path = ctx.blobs.pathOf(file.blob_id);
  let meta: Metadata;
  try {
    meta = await loadSharp()(path, { limitInputPixels: false }).metadata();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/Input file is missing/i.test(message)) throw error;
    throw notAnImage(file, message.split('\n')[0]);
  }
  if (!meta.width || !meta.height) throw notAnImage(file, 'it has no pixel size');
  const pixels = meta.width * meta.height;
  if (pixels > Math.min(maxPixels, MAX_INPUT_PIXELS))
    throw imageTooLarge(pixels, Math.min(maxPixels, MAX_INPUT_PIXELS), what);
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  return { path, meta, width, height };
}

/** Errors sharp raises while decoding: the source's fault (400); errors writing files pass through. */
export function classifyDecodeError(file: FileWithFolder, error: unknown): unknown {
  if (error instanceof ApiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/unable to open for write|system error|ENOSPC|EACCES/i.test(message)) return error;
  return notAnImage(file, message.split('\n')[0]);
}
