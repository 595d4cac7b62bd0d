/**
 * `sfx find`'s friendly flags turned into the API's search expression (`q`, docs/search.md), so
 * what runs is what a user could have typed, and `--json` shows it.
 */
import { UsageError } from '../errors.js';

export interface SearchFlags {
  tag?: string[];
  meta?: string[];
  type?: string[];
  name?: string;
}

/**
 * Text that needs quotes to stay one piece of a term: separators (space, `+`), the grammar's own
 * characters, and a leading `-` (which would negate) or `#` (which would make a tag).
 */
const NEEDS_QUOTES = /[\s+"\\:<>=!~#,]|^-/;

/** Quoted when it must be; `\"` and `\\` inside quotes are literal. */
export function quote(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/[\\"]/g, '\\$&')}"` : text;
}

/** `image`, `video/mp4`, `image/*` -> the `type:` value the API's asset picker sends (`image_png`). */
function typeValue(type: string): string {
  const t = type.trim().toLowerCase();
  if (!/^[a-z0-9.+-]+(\/([a-z0-9.+-]+|\*))?$/.test(t))
    throw new UsageError(
      `--type ${JSON.stringify(type)} is neither a kind (image, video, audio, text, application, font) nor a MIME type (image/png, image/*).`,
    );
  return t.endsWith('/*') ? t.slice(0, -2) : t.replace('/', '_');
}

/** `key=value` -> `key:value`; `key` alone -> `key:non-empty` (the asset has the field). */
function metaTerm(pair: string): string {
  const at = pair.indexOf('=');
  const key = (at < 0 ? pair : pair.slice(0, at)).trim();
  if (key === '')
    throw new UsageError(`--meta ${JSON.stringify(pair)} has no key: give key=value (e.g. --meta color=red), or key alone for "has a value".`);
  if (at < 0) return `${quote(key)}:non-empty`;
  const value = pair.slice(at + 1).trim();
  if (value === '') return `${quote(key)}:empty`;
  // Commas stay unquoted-equivalent: quoting does not change what a value means (a,b is still "a or b").
  return `${quote(key)}:${quote(value)}`;
}

/** The terms the friendly flags stand for, in a stable order; each term is ANDed with the others. */
export function flagTerms(flags: SearchFlags): string[] {
  const terms: string[] = [];
  for (const tag of flags.tag ?? []) {
    const label = tag.replace(/^#/, '').trim();
    if (label === '') throw new UsageError('--tag needs a tag label, e.g. --tag summer.');
    terms.push(quote(`#${label}`));
  }
  for (const pair of flags.meta ?? []) terms.push(metaTerm(pair));
  if (flags.type?.length) terms.push(`type:${flags.type.map(typeValue).join(',')}`);
  if (flags.name !== undefined) {
    if (flags.name.trim() === '') throw new UsageError('--name needs a name or a pattern, e.g. --name "sunset*".');
    terms.push(`name:${quote(flags.name.trim())}`);
  }
  return terms;
}

/** The free query (as typed) followed by the flags' terms. */
export function buildQuery(query: string, flags: SearchFlags): string {
  return [query.trim(), ...flagTerms(flags)].filter(Boolean).join(' ');
}

const UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/**
 * `--since`: a span back from now (`90m`, `12h`, `3d`, `2w`, `1y`) or a date (`2026-01-01`,
 * `2026-01-01T10:00:00Z`), as the ISO time the API's `updated_after` takes.
 */
export function sinceDate(value: string, now = Date.now()): string {
  const text = value.trim();
  const span = /^(\d+)\s*([smhdwy])$/i.exec(text);
  const ms = span ? now - Number(span[1]) * UNITS[span[2]!.toLowerCase()]! : /^\d{4}-\d{2}(-\d{2})?([T ].*)?$/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms))
    throw new UsageError(`--since ${JSON.stringify(value)} is not a time: give a span back from now (90m, 12h, 3d, 2w) or a date (2026-01-01).`);
  return new Date(ms).toISOString();
}
