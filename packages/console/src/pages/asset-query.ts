/**
 * The Assets page's query: the `q` search split into chips, and keyset paging over "newest first".
 *
 * The API pages by offset, and offsets drift and get slow deep into 100k+ assets. The grid pages by
 * key instead: each page asks for assets created before the last one shown (`created_before`, a
 * second past it since the API's times have whole seconds) and skips only the few already shown
 * from that same second. A page costs the same at asset 100 000 as at asset 100.
 */
import type { FileObject } from '@sfx/client';

export interface Cursor {
  /** ISO time: list assets created strictly before it. */
  before: string;
  /** Assets of the boundary second already shown. */
  skip: number;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.before, cursor.skip])).toString('base64url');
}

export function decodeCursor(text: unknown): Cursor | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    const [before, skip] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof before === 'string' && !Number.isNaN(Date.parse(before)) && Number.isInteger(skip) && (skip as number) >= 0)
      return { before, skip: skip as number };
  } catch {
    // fall through: a hand-edited cursor starts from the top
  }
  return undefined;
}

function second(file: FileObject): number | undefined {
  const ms = file.created_at ? Date.parse(file.created_at) : NaN;
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000) * 1000;
}

/** The cursor after a page (newest first), or undefined when the page was the last. */
export function nextCursor(previous: Cursor | undefined, page: FileObject[], limit: number): Cursor | undefined {
  if (page.length < limit) return undefined;
  const last = second(page[page.length - 1]!);
  if (last === undefined) return undefined;
  const before = new Date(last + 1000).toISOString();
  let skip = 0;
  for (let i = page.length - 1; i >= 0 && second(page[i]!) === last; i--) skip++;
  // A whole page inside one second: keep counting from where the previous page stood.
  if (skip === page.length && previous && previous.before === before) skip += previous.skip;
  return { before, skip };
}

export interface Chip {
  /** The term as written in q. */
  term: string;
  label: string;
  kind: 'tag' | 'text' | 'meta' | 'type' | 'other';
}

/** Splits q into its terms (`+` or spaces between them, quotes kept together). */
export function splitQuery(q: string): string[] {
  const terms: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of q) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === '+' || ch === ' ')) {
      if (current.trim()) terms.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim()) terms.push(current.trim());
  return terms;
}

export function chipOf(term: string): Chip {
  const bare = term.replace(/^"|"$/g, '');
  if (bare.startsWith('#')) return { term, label: `tag ${bare.slice(1)}`, kind: 'tag' };
  const kv = /^"?([\w.-]+)"?\s*(:|>=|<=|!=|>|<)\s*"?(.*?)"?$/.exec(term);
  if (kv) {
    const [, key, op, value] = kv;
    if (key === 'type' || key === 'mimetype') return { term, label: `${key} ${value}`, kind: 'type' };
    return { term, label: `${key}${op === ':' ? ': ' : ` ${op} `}${value}`, kind: 'meta' };
  }
  return { term, label: term.startsWith('"') ? `text ${bare}` : bare, kind: term.startsWith('"') ? 'text' : 'other' };
}

export function joinQuery(terms: string[]): string {
  return terms.join(' ');
}

/** q with a term added (if absent) or removed. */
export function withTerm(q: string, term: string): string {
  const terms = splitQuery(q);
  return joinQuery(terms.includes(term) ? terms : [...terms, term]);
}

export function withoutTerm(q: string, term: string): string {
  return joinQuery(splitQuery(q).filter((t) => t !== term));
}

/** How a tag or a metadata value is written in q. */
export function tagTerm(label: string): string {
  return /[\s+,"]/.test(label) ? `"#${label.replace(/"/g, '')}"` : `#${label}`;
}
