import { createRequire } from 'node:module';
import type Sharp from 'sharp';

const require = createRequire(import.meta.url);
let loaded: typeof Sharp | undefined;

/**
 * sharp, loaded the first time an image is read or made. libvips maps ~30 MB of code and heap
 * that a server answering API calls and moving files never needs, so it is not paid for at start.
 * (sharp ships CommonJS, so a plain require keeps the callers synchronous.)
 *
 * libvips' own operation cache is turned off: its default (up to 50 MB and 20 open files) would
 * keep decoded sources and pipelines in RAM, while renders are already cached on disk by the CDN,
 * and a source is decoded once per render anyway.
 */
export function loadSharp(): typeof Sharp {
  if (!loaded) {
    loaded = require('sharp') as typeof Sharp;
    loaded.cache(false);
  }
  return loaded;
}

