/**
 * Filerobot's file search expression (`q` of `GET /{token}/v5/files`), compiled to a SQLite WHERE
 * fragment over `files f JOIN folders d` (reading the `file_tags`, `file_meta` and `files_fts`
 * indexes the store keeps in step with each file).
 *
 * Grammar, as real clients send it:
 *   q      := term (('+' | whitespace) term)*
 *   term   := '-'? ( '#' tag | key op value | word | "quoted words" )
 *   op     := ':' | '>' | '<' | '>=' | '<=' | '!=' | '=' | ':=' | '~' | '~^' (also ':>' ... ':~^')
 *   value  := '-'? alt (',' alt)*          (leading '-' after ':' means "is not")
 *   alt    := text | lo '..' hi | 'empty' | 'non-empty'
 * Quotes group text (so it may hold spaces, '+', ':') and may surround keys, values or whole terms;
 * inside them `\"` is a literal quote. Quoting does not change what a value means: `"k":"a..b"` is
 * still a range and `"k":"a,b"` still two alternatives; use `:=` for a literal match.
 *
 * Every user value reaches SQL as a bound parameter: fragments are built with the `sql` tag below,
 * which turns anything that is not already a fragment into a `?`.
 */
import { badRequest, type ApiError } from '../errors.js';

export interface CompiledSearch {
  where: string;
  params: unknown[];
  /** The FTS5 expression of the query's words (its positive text terms, ANDed), for relevance ordering; null without any. */
  text?: string | null;
  /**
   * Set when the whole query is one filter the store can total without counting through `where`
   * (see `SingleFilter`); it selects exactly what `where` selects.
   */
  single?: SingleFilter;
}

/**
 * A query that is one filter: a tag label (lower-cased, as `file_tags` holds it) or a metadata key
 * with a text value (compared as SQLite's lower(), as the query does), whose matches the store
 * counts as it writes; or words only, an FTS5 expression, counted by walking the FTS index.
 */
export type SingleFilter =
  | { kind: 'tag'; label: string }
  | { kind: 'meta'; key: string; value: string }
  | { kind: 'words'; expression: string };

const MAX_LENGTH = 4000;
const MAX_TERMS = 50;
/** Alternatives per term; also keeps OR chains far below SQLite's expression depth limit. */
const MAX_VALUES = 50;
const CODE = 'INVALID_QUERY';

export function compileSearch(q: string): CompiledSearch {
  if (q.length > MAX_LENGTH) {
    throw invalid(
      `q is ${q.length} characters long; at most ${MAX_LENGTH} are allowed`,
      'Shorten the search, e.g. q=color:red+#summer',
    );
  }
  const raw = lex(q);
  if (raw.length > MAX_TERMS) {
    throw invalid(
      `q has ${raw.length} terms; at most ${MAX_TERMS} are allowed`,
      'Combine values of one key with commas, e.g. q=color:red,blue instead of repeating the key',
    );
  }
  const parts: Frag[] = [];
  const words: string[] = [];
  const terms: Term[] = [];
  for (const rawTerm of raw) {
    const term = parseTerm(rawTerm);
    const frag = term && compileTerm(term);
    if (frag) {
      parts.push(frag);
      terms.push(term);
    }
    const expression = term?.kind === 'text' && !term.negate ? ftsExpression(term.text) : null;
    if (expression) words.push(expression);
  }
  const text = words.length > 0 ? words.join(' ') : null;
  if (parts.length === 0) return { where: '1', params: [], text };
  const where = join(parts.map(paren), ' AND ');
  const single = terms.length === 1 ? singleFilter(terms[0]!) : undefined;
  return { where: where.sql, params: [...where.params], text, ...(single && { single }) };
}

/**
 * The single filter a term stands for, when it matches exactly that: positive words, a positive
 * `#tag` (or `tags:x`), or `key:value` on a metadata key with one value that `metaEquals` compares
 * as text. Anything else (negation, alternatives, numbers, dates, booleans, other operators) is
 * counted through the WHERE.
 */
function singleFilter(term: Term): SingleFilter | undefined {
  if (term.negate) return undefined;
  if (term.kind === 'text') {
    const expression = ftsExpression(term.text);
    return expression === null ? undefined : { kind: 'words', expression };
  }
  if (term.kind === 'tag') return tagsField().counter!(term.label);
  if (term.kind !== 'field' || term.op !== ':') return undefined;
  const { negate, alts } = parseValue(term);
  const only = alts.length === 1 ? alts[0]! : undefined;
  if (negate || only?.kind !== 'eq') return undefined;
  return resolveField(term.key).counter?.(only.value);
}

// ---------------------------------------------------------------------------------------------
// SQL fragments

/** SQL text plus its parameters, in order. Only this module's constants ever become SQL text. */
class Frag {
  constructor(
    readonly sql: string,
    readonly params: readonly unknown[],
  ) {}
}

/** Tagged template: interpolated fragments are spliced in, every other value becomes a `?`. */
function sql(strings: TemplateStringsArray, ...values: unknown[]): Frag {
  let text = strings[0] ?? '';
  const params: unknown[] = [];
  values.forEach((value, i) => {
    if (value instanceof Frag) {
      text += value.sql;
      params.push(...value.params);
    } else {
      text += '?';
      params.push(value);
    }
    text += strings[i + 1] ?? '';
  });
  return new Frag(text, params);
}

/** For constant SQL only (column names, fixed operators): never pass user text here. */
const raw = (text: string): Frag => new Frag(text, []);

function join(parts: readonly Frag[], separator: ' AND ' | ' OR '): Frag {
  return new Frag(
    parts.map((p) => p.sql).join(separator),
    parts.flatMap((p) => p.params),
  );
}

const paren = (f: Frag): Frag => sql`(${f})`;
/** NULL counts as "does not match", so negations keep rows whose column is NULL. */
const not = (f: Frag): Frag => sql`COALESCE((${f}), 0) = 0`;

// ---------------------------------------------------------------------------------------------
// Lexing: split into terms of quoted / unquoted pieces

interface Piece {
  text: string;
  quoted: boolean;
  /** Index in q of the piece's first character (its opening quote when quoted). */
  start: number;
}

type RawTerm = Piece[];

function lex(q: string): RawTerm[] {
  const terms: RawTerm[] = [];
  let pieces: Piece[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (c === '"') {
      const { text, end } = readQuoted(q, i);
      pieces.push({ text, quoted: true, start: i });
      i = end;
      continue;
    }
    if (c === '+' || /\s/.test(c)) {
      if (pieces.length > 0) terms.push(pieces);
      pieces = [];
    } else {
      const last = pieces[pieces.length - 1];
      if (last && !last.quoted) last.text += c;
      else pieces.push({ text: c, quoted: false, start: i });
    }
    i++;
  }
  if (pieces.length > 0) terms.push(pieces);
  return terms;
}

function readQuoted(q: string, open: number): { text: string; end: number } {
  let text = '';
  for (let i = open + 1; i < q.length; i++) {
    const c = q[i]!;
    if (c === '\\' && (q[i + 1] === '"' || q[i + 1] === '\\')) {
      text += q[++i];
    } else if (c === '"') {
      return { text, end: i + 1 };
    } else {
      text += c;
    }
  }
  throw invalid(
    `Unclosed quote at position ${open} in q`,
    'Close every quote, e.g. q="color":"dark red"+"#summer"',
  );
}

// ---------------------------------------------------------------------------------------------
// Parsing one term

type Term =
  | { kind: 'text'; text: string; negate: boolean }
  | { kind: 'tag'; label: string; negate: boolean }
  | { kind: 'field'; key: string; op: Operator; value: string; negate: boolean; at: number };

type Operator = ':' | ':=' | '~' | '~^' | '!=' | Comparison;
type Comparison = '>' | '>=' | '<' | '<=';

/** Longest first, so `>=` wins over `>` and `:>=` over `:`. */
const OPERATORS: ReadonlyArray<readonly [string, Operator]> = [
  [':>=', '>='],
  [':<=', '<='],
  [':!=', '!='],
  [':~^', '~^'],
  [':>', '>'],
  [':<', '<'],
  [':=', ':='],
  [':~', '~'],
  ['>=', '>='],
  ['<=', '<='],
  ['!=', '!='],
  ['~^', '~^'],
  [':', ':'],
  ['>', '>'],
  ['<', '<'],
  ['=', ':'],
  ['~', '~'],
];

function parseTerm(rawTerm: RawTerm): Term | null {
  const pieces = rawTerm.map((p) => ({ ...p }));
  let negate = false;
  // Only an unquoted '-' negates: "-5" in quotes is text.
  while (pieces[0] && !pieces[0].quoted && pieces[0].text.startsWith('-')) {
    negate = !negate;
    pieces[0].text = pieces[0].text.slice(1);
    pieces[0].start++;
    if (pieces[0].text === '') pieces.shift();
  }
  const first = pieces[0];
  if (!first) return null;
  if (first.text.startsWith('#')) {
    return {
      kind: 'tag',
      label: pieces
        .map((p) => p.text)
        .join('')
        .slice(1),
      negate,
    };
  }
  const found = findOperator(pieces);
  if (!found) return { kind: 'text', text: pieces.map((p) => p.text).join(' '), negate };
  return splitAtOperator(pieces, found, negate);
}

interface FoundOperator {
  piece: number;
  index: number;
  token: string;
  op: Operator;
}

function findOperator(pieces: readonly Piece[]): FoundOperator | null {
  for (let piece = 0; piece < pieces.length; piece++) {
    const { text, quoted } = pieces[piece]!;
    if (quoted) continue;
    for (let index = 0; index < text.length; index++) {
      const match = OPERATORS.find(([token]) => text.startsWith(token, index));
      if (match) return { piece, index, token: match[0], op: match[1] };
    }
  }
  return null;
}

function splitAtOperator(pieces: readonly Piece[], found: FoundOperator, negate: boolean): Term {
  const opPiece = pieces[found.piece]!;
  const at = opPiece.start + found.index;
  const key = [...pieces.slice(0, found.piece).map((p) => p.text), opPiece.text.slice(0, found.index)]
    .join('')
    .trim();
  const valueStart = found.index + found.token.length;
  const value = [opPiece.text.slice(valueStart), ...pieces.slice(found.piece + 1).map((p) => p.text)].join(
    '',
  );
  if (key === '') {
    throw invalid(
      `Missing key before '${found.token}' at position ${at} in q`,
      'Put a key before the operator, e.g. q=color:red or q="color":"dark red"',
    );
  }
  return { kind: 'field', key, op: found.op, value, negate, at };
}

// ---------------------------------------------------------------------------------------------
// Values: alternatives, ranges, empty / non-empty

type Condition =
  | { kind: 'eq' | 'exact' | 'contains' | 'prefix'; value: string }
  | { kind: 'compare'; op: Comparison; value: string }
  | { kind: 'range'; lo: string; hi: string }
  | { kind: 'empty'; present: boolean };

const EMPTY_WORDS = new Set(['empty']);
const PRESENT_WORDS = new Set(['non-empty', 'nonempty', 'not-empty', 'notempty']);

function parseValue(term: Extract<Term, { kind: 'field' }>): { negate: boolean; alts: Condition[] } {
  let text = term.value;
  let negate = term.op === '!=';
  // ':-' (and a '-' leading a ':' value) is the asset picker's "is not".
  if (term.op === ':' && text.startsWith('-')) {
    negate = true;
    text = text.slice(1);
  }
  const values = text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (values.length === 0) {
    throw invalid(
      `Missing value after '${shorten(term.key)}${term.op}' at position ${term.at} in q`,
      'Give a value after the operator, e.g. q=color:red, q=size:>1000 or q=color:empty',
    );
  }
  if (values.length > MAX_VALUES) {
    throw invalid(
      `Too many values (${values.length}) for '${shorten(term.key)}' at position ${term.at} in q; ` +
        `at most ${MAX_VALUES} per term`,
      'Narrow the list, e.g. q=color:red,blue,green',
    );
  }
  return { negate, alts: values.map((v) => condition(term.op, v)) };
}

function condition(op: Operator, value: string): Condition {
  switch (op) {
    case ':=':
      return { kind: 'exact', value };
    case '~':
      return { kind: 'contains', value };
    case '~^':
      return { kind: 'prefix', value };
    case '>':
    case '>=':
    case '<':
    case '<=':
      return { kind: 'compare', op, value };
    default:
      return equalityCondition(value);
  }
}

function equalityCondition(value: string): Condition {
  const lower = value.toLowerCase();
  if (EMPTY_WORDS.has(lower)) return { kind: 'empty', present: false };
  if (PRESENT_WORDS.has(lower)) return { kind: 'empty', present: true };
  const dots = value.indexOf('..');
  if (dots >= 0) return { kind: 'range', lo: value.slice(0, dots).trim(), hi: value.slice(dots + 2).trim() };
  return { kind: 'eq', value };
}

// ---------------------------------------------------------------------------------------------
// Fields: where a key's values live and what equality means for them

type CompareMode = 'text' | 'number' | 'date' | 'meta';

interface Field {
  /** A predicate about one value, put in context: as is for a column, in a subquery for a set. */
  scope(pred: Frag): Frag;
  /** SQL expression of one value. */
  value: Frag;
  mode: CompareMode;
  /** What `key:value` means for this field. */
  equals(value: string): Frag;
  /** Cleans a user value before any comparison (e.g. '#' off tags, '.' off extensions). */
  normalize(value: string): string;
  /** The counted group `key:value` is, when `equals(normalize(value))` selects exactly it. */
  counter?(value: string): SingleFilter | undefined;
}

const identity = (f: Frag): Frag => f;
const keep = (v: string): string => v;
const ESCAPE = raw(`ESCAPE '\\'`);

function textColumn(column: string, normalize: (v: string) => string = keep): Field {
  const value = raw(column);
  return {
    scope: identity,
    value,
    mode: 'text',
    equals: (v) => sql`lower(${value}) = lower(${v})`,
    normalize,
  };
}

function numberColumn(column: string): Field {
  const value = raw(column);
  return {
    scope: identity,
    value,
    mode: 'number',
    equals: (v) => (isNumeric(v) ? sql`${value} = ${Number(v)}` : raw('0')),
    normalize: keep,
  };
}

function dateColumn(column: string): Field {
  const value = raw(column);
  return {
    scope: identity,
    value,
    mode: 'date',
    equals: (v) => compareDate(value, raw('='), v, true),
    normalize: keep,
  };
}

/** `name:sunset` finds sunset.jpg too: the pattern is tried on the name and on its stem. */
function nameField(): Field {
  return {
    ...textColumn('f.name'),
    equals: (v) => {
      const p = wildcard(v);
      const stem = raw('substr(f.name, 1, length(f.name) - length(f.extension) - 1)');
      return sql`(f.name LIKE ${p} ${ESCAPE} OR (f.extension <> '' AND ${stem} LIKE ${p} ${ESCAPE}))`;
    },
  };
}

/** `image/png`, `image_png` (URL-friendly form), `image/*`, a bare `image` or a bare `png`. */
function mimeField(): Field {
  return {
    ...textColumn('f.type'),
    equals: (v) => {
      let mime = v.toLowerCase();
      if (!mime.includes('/') && mime.includes('_')) mime = mime.replace('_', '/');
      if (mime.endsWith('/')) mime += '*';
      if (mime.includes('/')) return sql`f.type LIKE ${wildcard(mime)} ${ESCAPE}`;
      const word = escapeLike(mime);
      return sql`(f.type LIKE ${`${word}/%`} ${ESCAPE} OR f.type LIKE ${`%/${word}`} ${ESCAPE} \
OR f.type LIKE ${`%/${word}+%`} ${ESCAPE})`;
    },
  };
}

/**
 * Set-valued fields are written as id lists (`f.id IN (SELECT file_id ...)`) rather than correlated
 * EXISTS, so SQLite can start from the index of matches instead of probing once per file: that
 * makes counts and rare matches fast. A page read by walking a files index in order wants the
 * opposite, a keyed probe per candidate, rather than materialising every match first: `probeForm`
 * rewrites one form into the other. Both select the same files; only constant SQL changes.
 */
const ID_LISTS = {
  tags: {
    list: 'f.id IN (SELECT t.file_id FROM file_tags t WHERE ',
    probe: 'EXISTS (SELECT 1 FROM file_tags t WHERE t.file_id = f.id AND ',
  },
  meta: {
    list: 'f.id IN (SELECT j.file_id FROM file_meta j WHERE j.key = ',
    // `+` keeps SQLite from seeking the (key, value) index and then scanning it for this file,
    // which it otherwise prefers and which costs one pass over every match per file.
    probe: 'EXISTS (SELECT 1 FROM file_meta j WHERE j.file_id = f.id AND +j.key = ',
  },
} as const;

/** A compiled WHERE with each id list turned into a per-file probe; the parameters are unchanged. */
export function probeForm(where: string): string {
  let out = where;
  for (const { list, probe } of Object.values(ID_LISTS)) out = out.replaceAll(list, probe);
  return out;
}

function tagsField(): Field {
  const value = raw('t.label');
  return {
    scope: (pred) => sql`${raw(ID_LISTS.tags.list)}${pred})`,
    value,
    mode: 'text',
    equals: (v) => sql`t.label = ${v}`,
    normalize: normalizeLabel,
    counter: (v) => {
      const label = normalizeLabel(v);
      return label === '' ? undefined : { kind: 'tag', label };
    },
  };
}

/** Labels are stored lower-cased by JavaScript, so lower-case the same way. */
const normalizeLabel = (v: string): string => v.replace(/^#/, '').trim().toLowerCase();

/** Label sids look like `#lb1`; accept them with or without the '#'. */
function labelsField(): Field {
  const value = raw('l.value');
  return {
    scope: (pred) => sql`EXISTS (SELECT 1 FROM json_each(f.labels) l WHERE ${pred})`,
    value,
    mode: 'text',
    equals: (v) => sql`l.value IN (${v}, ${v.startsWith('#') ? v.slice(1) : `#${v}`})`,
    normalize: keep,
  };
}

/**
 * A metadata key. `file_meta` holds, per file and top-level key, the scalar leaves json_tree over
 * `$."key"` yields (one for a scalar, every element of an array (multi-select) or value of a
 * localized object) with json_tree's `type` and `value`, so "any element / any locale matches" falls
 * out and the predicates below read `j` exactly as they would a json_tree row. The
 * (key, lower(value)) index turns equality into a seek instead of parsing every file's JSON.
 */
function metaField(key: string): Field {
  return {
    scope: (pred) => sql`${raw(ID_LISTS.meta.list)}${key} AND ${pred})`,
    value: raw('j.value'),
    mode: 'meta',
    equals: metaEquals,
    normalize: keep,
    // `metaEquals` compares these values as text; the others as numbers, dates or booleans.
    counter: (v) => (equalsAsText(v) ? { kind: 'meta', key, value: v } : undefined),
  };
}

const META_NUMBER = raw(
  `(j.type IN ('integer', 'real') OR (j.type = 'text' AND trim(j.value) <> '' ` +
    `AND trim(j.value) NOT GLOB '*[^0-9.eE+-]*' AND j.value GLOB '*[0-9]*'))`,
);
const META_TRUE = raw(
  `(j.type = 'true' OR (j.type IN ('integer', 'real') AND j.value = 1) ` +
    `OR (j.type = 'text' AND lower(trim(j.value)) = 'true'))`,
);
const META_FALSE = raw(
  `(j.type = 'false' OR (j.type IN ('integer', 'real') AND j.value = 0) ` +
    `OR (j.type = 'text' AND lower(trim(j.value)) = 'false'))`,
);

function metaEquals(v: string): Frag {
  if (equalsAsText(v)) return sql`(j.type = 'text' AND lower(j.value) = lower(${v}))`;
  const lower = v.toLowerCase();
  if (lower === 'true') return META_TRUE;
  if (lower === 'false') return META_FALSE;
  if (isNumeric(v)) return sql`(${META_NUMBER} AND CAST(j.value AS REAL) = ${Number(v)})`;
  return sql`(j.type = 'text' AND ${compareDate(raw('j.value'), raw('='), v, false)})`;
}

/** Whether `key:v` is a plain case-insensitive text comparison, not a boolean, number or date. */
function equalsAsText(v: string): boolean {
  const lower = v.toLowerCase();
  return lower !== 'true' && lower !== 'false' && !isNumeric(v) && !dateBound(v, false);
}

/**
 * A file's approval: its latest approval request that was not cancelled (one of the approval
 * tables' rows, `a`). `approval_status`, `task_requester` and `task_duedate` read that request,
 * `task_approver` its approvers; a file with no such request has none of them (`:empty`).
 */
const CURRENT_APPROVAL =
  'f.id IN (SELECT af.file_id FROM approval_files af JOIN approvals a ON a.id = af.approval_id ' +
  'WHERE af.approval_id = (SELECT max(x.approval_id) FROM approval_files x JOIN approvals y ON y.id = x.approval_id ' +
  "WHERE x.file_id = af.file_id AND y.status <> 'cancelled') AND ";

function approvalField(base: Field, approvers = false): Field {
  return {
    ...base,
    scope: approvers
      ? (pred) =>
          sql`${raw(CURRENT_APPROVAL)}EXISTS (SELECT 1 FROM approval_approvers p WHERE p.approval_id = a.id AND ${pred}))`
      : (pred) => sql`${raw(CURRENT_APPROVAL)}${pred})`,
  };
}

const BUILT_INS: Readonly<Record<string, () => Field>> = {
  name: nameField,
  filename: nameField,
  type: mimeField,
  mimetype: mimeField,
  mime: mimeField,
  extension: () => textColumn('f.extension', (v) => v.replace(/^\./, '')),
  ext: () => textColumn('f.extension', (v) => v.replace(/^\./, '')),
  size: () => numberColumn('f.size'),
  created: () => dateColumn('f.created_at'),
  created_at: () => dateColumn('f.created_at'),
  uploaded_at: () => dateColumn('f.created_at'),
  updated: () => dateColumn('f.modified_at'),
  updated_at: () => dateColumn('f.modified_at'),
  modified_at: () => dateColumn('f.modified_at'),
  uuid: () => textColumn('f.uuid'),
  sha1: () => textColumn('f.sha1'),
  labels: labelsField,
  label: labelsField,
  product_ref: () => textColumn('f.product_ref'),
  product: () => textColumn('f.product_ref'),
  tags: tagsField,
  tag: tagsField,
  approval_status: () => approvalField(textColumn('a.status')),
  task_requester: () => approvalField(textColumn('a.requester')),
  task_duedate: () => approvalField(dateColumn('a.due_date')),
  task_approver: () => approvalField(textColumn('p.approver'), true),
};

/** Built-in names win; `meta.type:x` reaches a metadata key that shares a built-in's name. */
function resolveField(key: string): Field {
  const prefixed = /^meta(?:data)?\.(.+)$/s.exec(key);
  if (prefixed) return metaField(prefixed[1]!);
  const builtIn = Object.hasOwn(BUILT_INS, key.toLowerCase()) ? BUILT_INS[key.toLowerCase()] : undefined;
  return builtIn ? builtIn() : metaField(key);
}

// ---------------------------------------------------------------------------------------------
// Compiling

function compileTerm(term: Term): Frag | null {
  const body =
    term.kind === 'text' ? fullText(term.text) : term.kind === 'tag' ? tag(term.label) : field(term);
  if (!body) return null;
  return term.negate ? not(body) : body;
}

/**
 * Each word becomes a quoted FTS5 string, so user text is never FTS syntax. A word matches whole
 * words; only a word the user ends with `*` matches as a prefix. FTS5 answers a whole word from one
 * doclist, while a prefix merges the doclists of every word it starts (a short prefix at 1M assets
 * reads most of the index), so prefix matching is what the user asks for, never the default.
 */
function fullText(text: string): Frag | null {
  const expression = ftsExpression(text);
  return expression === null ? null : sql`${raw(FTS_LIST)}${expression})`;
}

const WORD = /([\p{L}\p{N}\p{M}]+)(\*?)/gu;

/** The FTS5 MATCH expression for a text term, or null when it holds no word. */
export function ftsExpression(text: string): string | null {
  const words = [...text.matchAll(WORD)].map(([, w, star]) => `"${w!.replace(/"/g, '""')}"${star}`);
  return words.length === 0 ? null : words.join(' ');
}

const FTS_LIST = 'f.id IN (SELECT rowid FROM files_fts WHERE files_fts MATCH ';

function tag(label: string): Frag | null {
  const f = tagsField();
  const value = f.normalize(label);
  return value === '' ? null : f.scope(f.equals(value));
}

function field(term: Extract<Term, { kind: 'field' }>): Frag {
  const f = resolveField(term.key);
  const { negate, alts } = parseValue(term);
  const body = paren(
    join(
      alts.map((c) => compileCondition(f, c)),
      ' OR ',
    ),
  );
  return negate ? not(body) : body;
}

function compileCondition(f: Field, c: Condition): Frag {
  switch (c.kind) {
    case 'empty': {
      const present = f.scope(presence(f));
      return c.present ? present : sql`NOT ${present}`;
    }
    case 'eq':
      return f.scope(f.equals(f.normalize(c.value)));
    case 'exact':
      return f.scope(sql`CAST(${f.value} AS TEXT) = ${f.normalize(c.value)}`);
    case 'contains':
      return f.scope(like(f, `%${escapeLike(f.normalize(c.value))}%`));
    case 'prefix':
      return f.scope(like(f, `${escapeLike(f.normalize(c.value))}%`));
    case 'compare':
      return f.scope(compare(f, c.op, f.normalize(c.value)));
    case 'range':
      return f.scope(range(f, f.normalize(c.lo), f.normalize(c.hi)));
  }
}

function presence(f: Field): Frag {
  if (f.mode === 'meta') return raw(`(j.type <> 'null' AND NOT (j.type = 'text' AND trim(j.value) = ''))`);
  return sql`(${f.value} IS NOT NULL AND ${f.value} <> '')`;
}

const like = (f: Field, pattern: string): Frag => sql`CAST(${f.value} AS TEXT) LIKE ${pattern} ${ESCAPE}`;

function range(f: Field, lo: string, hi: string): Frag {
  const bounds: Frag[] = [];
  if (lo !== '') bounds.push(compare(f, '>=', lo));
  if (hi !== '') bounds.push(compare(f, '<=', hi));
  return bounds.length > 0 ? paren(join(bounds, ' AND ')) : presence(f);
}

const COMPARISON_SQL: Readonly<Record<Comparison | '=', Frag>> = {
  '>': raw('>'),
  '>=': raw('>='),
  '<': raw('<'),
  '<=': raw('<='),
  '=': raw('='),
};

function compare(f: Field, op: Comparison, v: string): Frag {
  const sqlOp = COMPARISON_SQL[op];
  switch (f.mode) {
    case 'number':
      return isNumeric(v) ? sql`${f.value} ${sqlOp} ${Number(v)}` : raw('0');
    case 'date':
      return compareDate(f.value, sqlOp, v, true);
    case 'text':
      return sql`lower(${f.value}) ${sqlOp} lower(${v})`;
    case 'meta':
      if (isNumeric(v)) return sql`(${META_NUMBER} AND CAST(j.value AS REAL) ${sqlOp} ${Number(v)})`;
      if (dateBound(v, false)) return sql`(j.type = 'text' AND ${compareDate(f.value, sqlOp, v, false)})`;
      return sql`(j.type = 'text' AND lower(j.value) ${sqlOp} lower(${v}))`;
  }
}

/**
 * Compares at the precision the user wrote: the stored ISO timestamp is cut to the bound's
 * length, so `created:2024-01-15` is the whole day and `created<=2024-01-31` includes that day.
 */
function compareDate(column: Frag, op: Frag, v: string, allowYear: boolean): Frag {
  const bound = dateBound(v, allowYear);
  if (!bound) return sql`${column} ${op} ${v}`;
  return sql`substr(${column}, 1, ${bound.length}) ${op} ${bound}`;
}

const TIME = String.raw`(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(\.\d+)?)?)?)?`;
const DATE = new RegExp(
  String.raw`^(\d{4})(?:-(\d{2})(?:-(\d{2})${TIME})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$`,
  'i',
);

/** The UTC ISO prefix a date-ish value stands for, or null when it is not a date. */
function dateBound(v: string, allowYear: boolean): string | null {
  if (allowYear && /^\d{10}$|^\d{13}$/.test(v)) {
    // Unix time in seconds or milliseconds.
    const ms = v.length === 10 ? Number(v) * 1000 : Number(v);
    return new Date(ms).toISOString().slice(0, v.length === 10 ? 19 : 23);
  }
  const m = DATE.exec(v);
  if (!m || (!m[2] && !allowYear)) return null;
  const [, , , , hour, minute, second, fraction, zone] = m;
  const local = v.slice(0, v.length - (zone?.length ?? 0)).replace(/[T ]/i, 'T');
  if (!zone || !hour) return local;
  const precision = fraction ? 23 : second ? 19 : minute ? 16 : 13;
  const date = new Date(
    `${local.slice(0, 10)}T${hour}:${minute ?? '00'}:${second ?? '00'}${fraction ?? ''}${zone}`,
  );
  return Number.isNaN(date.getTime()) ? local : date.toISOString().slice(0, precision);
}

// ---------------------------------------------------------------------------------------------
// Helpers

const isNumeric = (v: string): boolean =>
  /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v) && Number.isFinite(Number(v));

const escapeLike = (v: string): string => v.replace(/[\\%_]/g, '\\$&');

/** `*` is the user's wildcard; everything else is literal. */
const wildcard = (v: string): string => escapeLike(v).replace(/\*/g, '%');

const shorten = (s: string): string => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

const invalid = (msg: string, hint: string): ApiError => badRequest(CODE, msg, hint);
