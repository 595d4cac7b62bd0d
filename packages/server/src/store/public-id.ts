import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** 36^26 is about 2^134: a link id as hard to guess as a 128-bit secret, with margin. */
export const PUBLIC_ID_LENGTH = 26;
/** The largest multiple of 36 a byte reaches: bytes at or above it are redrawn, so every letter is equally likely. */
const UNBIASED = 256 - (256 % ALPHABET.length);

/**
 * A public id for share and airbox links, in the style of the real ones (lower-case letters and
 * digits) but long enough to be the credential it is: uniform over 36^26 values (rejection
 * sampling, no modulo bias). Ids made by earlier versions (10 characters) stay valid: they are
 * looked up as they are.
 */
export function newPublicId(length = PUBLIC_ID_LENGTH): string {
  let id = '';
  while (id.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte >= UNBIASED) continue;
      id += ALPHABET[byte % ALPHABET.length];
      if (id.length === length) break;
    }
  }
  return id;
}
