import { describe, it, expect, beforeAll } from 'vitest';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import fc from 'fast-check';
import { migrate } from '../store/database.js';
import { ApiError } from '../errors.js';
import { compileSearch } from './query.js';

interface Seed {
  uuid: string;
  name: string;
  type: string;
  size: number;
  meta: Record<string, unknown>;
  tags: string[];
  labels: string[];
  product: string | null;
  created: string;
  modified: string;
}

const SEEDS: Seed[] = [
  {
    uuid: 'sunset',
    name: 'sunset-beach.jpg',
    type: 'image/jpeg',
    size: 120_000,
    meta: {
      title: 'Sunset over the beach',
      color: 'Orange',
      rating: 5,
      approved: true,
      shot_at: '2024-03-10T18:30:00.000Z',
      colors: ['red', 'Orange'],
      description: { en: 'Golden hour', fr: 'Heure dorée' },
    },
    tags: ['orange', 'beach', 'Summer'],
    labels: ['#lb1'],
    product: 'SKU-1',
    created: '2024-01-15T10:00:00.000Z',
    modified: '2024-02-01T00:00:00.000Z',
  },
  {
    uuid: 'everest',
    name: 'Greater-Himalayas.PNG',
    type: 'image/png',
    size: 2_500_000,
    meta: {
      title: 'Greater Himalayas',
      color: 'white',
      rating: '3',
      approved: 'true',
      colors: ['white', 'blue'],
      description: { en: 'Mountain', fr: 'Montagne' },
      'weird "key"': 'yes',
      'multi word key': 'value with space',
    },
    tags: ['Headgear', 'mountain'],
    labels: ['#lb2'],
    product: null,
    created: '2024-03-01T08:00:00.000Z',
    modified: '2024-03-02T08:00:00.000Z',
  },
  {
    uuid: 'report',
    name: 'report_100%.pdf',
    type: 'application/pdf',
    size: 5000,
    meta: {
      title: 'Annual report',
      rating: 1,
      approved: false,
      colors: [],
      description: {},
      empty_str: '',
      notes: null,
      shot_at: '2023-12-31',
    },
    tags: [],
    labels: [],
    product: '',
    created: '2023-12-31T23:59:59.999Z',
    modified: '2024-01-01T00:00:00.000Z',
  },
  {
    uuid: 'clip',
    name: 'clip.mp4',
    type: 'video/mp4',
    size: 10_000_000,
    meta: { type: 'special' },
    tags: ['summer'],
    labels: ['#lb1', '#lb2'],
    product: 'SKU-2',
    created: '2024-06-01T12:00:00.000Z',
    modified: '2024-06-02T12:00:00.000Z',
  },
  {
    uuid: 'logo',
    name: 'logo.svg',
    type: 'image/svg+xml',
    size: 800,
    meta: { color: 'RED', approved: 1, rating: 4.5, description: { en: '', fr: '' } },
    tags: ['Orange'],
    labels: [],
    product: null,
    created: '2024-01-15T23:00:00.000Z',
    modified: '2024-01-16T00:00:00.000Z',
  },
];

const ALL = SEEDS.map((s) => s.uuid).sort();
const LOGO_SHA1 = 'ABCDEF0123456789ABCDEF0123456789ABCDEF01';

/** Meta values as plain text, the way the store feeds the full-text index. */
function flatten(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return Object.values(value).map(flatten).join(' ');
  return String(value);
}

function seed(db: Db): void {
  db.prepare(
    `INSERT INTO folders (id, uuid, parent_id, name, path, created_at, updated_at)
     VALUES (1, 'root', NULL, '', '/', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')`,
  ).run();
  const insertFile = db.prepare(
    `INSERT INTO files (id, uuid, folder_id, name, extension, type, size, sha1, blob_id, meta, tags, labels,
       product_ref, created_at, modified_at)
     VALUES (@id, @uuid, 1, @name, @extension, @type, @size, @sha1, @uuid, @meta, @tags, @labels,
       @product, @created, @modified)`,
  );
  const insertTag = db.prepare('INSERT INTO file_tags (file_id, label) VALUES (?, ?)');
  const insertFts = db.prepare('INSERT INTO files_fts (rowid, name, meta, tags) VALUES (?, ?, ?, ?)');
  SEEDS.forEach((s, i) => {
    const id = i + 1;
    const dot = s.name.lastIndexOf('.');
    insertFile.run({
      id,
      uuid: s.uuid,
      name: s.name,
      extension: s.name.slice(dot + 1).toLowerCase(),
      type: s.type,
      size: s.size,
      sha1: s.uuid === 'logo' ? LOGO_SHA1.toLowerCase() : `sha-${s.uuid}`,
      meta: JSON.stringify(s.meta),
      tags: JSON.stringify({ en: s.tags.map((label, n) => ({ sid: `#tg${id}${n}`, label })) }),
      labels: JSON.stringify(s.labels),
      product: s.product,
      created: s.created,
      modified: s.modified,
    });
    for (const label of s.tags) insertTag.run(id, label.toLowerCase());
    insertFts.run(id, `${s.name.replace(/[._-]+/g, ' ')} ${s.name}`, flatten(s.meta), s.tags.join(' '));
  });
}

let db: Db;

beforeAll(() => {
  db = new Database(':memory:');
  migrate(db);
  seed(db);
});

function execute(q: string): string[] {
  const { where, params } = compileSearch(q);
  const rows = db
    .prepare(`SELECT f.uuid FROM files f JOIN folders d ON d.id = f.folder_id WHERE ${where}`)
    .all(...params) as { uuid: string }[];
  return rows.map((r) => r.uuid).sort();
}

const except = (...uuids: string[]): string[] => ALL.filter((u) => !uuids.includes(u));

function expectInvalid(q: string, message?: RegExp): void {
  let caught: unknown;
  try {
    compileSearch(q);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ApiError);
  const error = caught as ApiError;
  expect(error.httpStatus).toBe(400);
  expect(error.code).toBe('INVALID_QUERY');
  expect(error.hint).toMatch(/q=/);
  if (message) expect(error.message).toMatch(message);
}

type Case = [string, string[]];

const check = (cases: Case[]) =>
  it.each(cases)('%s', (q, expected) => {
    expect(execute(q)).toEqual([...expected].sort());
  });

describe('compileSearch: empty query', () => {
  it('returns a match-all fragment', () => {
    expect(compileSearch('')).toEqual({ where: '1', params: [], text: null });
  });
  check([
    ['   ', ALL],
    ['+', ALL],
    ['-', ALL],
    ['#', ALL],
    ['"!!!"', ALL],
  ]);
});

describe('compileSearch: full text', () => {
  check([
    ['sunset', ['sunset']],
    ['himal', []],
    ['himal*', ['everest']],
    ['"greater himal*"', ['everest']],
    ['himalayas', ['everest']],
    ['sunse*', ['sunset']],
    ['-himal*', except('everest')],
    ['him*al', []],
    ['*', ALL],
    ['"greater himalayas"', ['everest']],
    ['greater himalayas', ['everest']],
    ['greater+sunset', []],
    ['montagne', ['everest']],
    ['doree', ['sunset']],
    ['"AND" OR NOT', []],
    ['"say ""hi"" *"', []],
    ['-sunset', except('sunset')],
  ]);
});

describe('compileSearch: tags', () => {
  check([
    ['#headgear', ['everest']],
    ['"#headgear"', ['everest']],
    ['#HEADGEAR', ['everest']],
    ['#orange', ['sunset', 'logo']],
    ['-#orange', except('sunset', 'logo')],
    ['#summer', ['sunset', 'clip']],
    ['tags:summer,headgear', ['sunset', 'everest', 'clip']],
    ['tags:#mountain', ['everest']],
    ['tags~ount', ['everest']],
    ['tags:empty', ['report']],
    ['tags:non-empty', except('report')],
  ]);
});

describe('compileSearch: metadata equality', () => {
  check([
    ['color:orange', ['sunset']],
    ['color:red', ['logo']],
    ['color=white', ['everest']],
    ['colors:red', ['sunset']],
    ['colors:blue,red', ['sunset', 'everest']],
    ['"colors":"red,white"', ['sunset', 'everest']],
    ['description:montagne', ['everest']],
    ['description:"golden hour"', ['sunset']],
    ['color:-red', except('logo')],
    ['color:-"red"', except('logo')],
    ['color!=red', except('logo')],
    ['color:empty,white', ['report', 'clip', 'everest']],
    ['"multi word key":"value with space"', ['everest']],
    ['"weird \\"key\\"":yes', ['everest']],
    ['missing:anything', []],
    ['meta.type:special', ['clip']],
    ['type:special', []],
  ]);
});

describe('compileSearch: metadata empty / non-empty', () => {
  check([
    ['color:empty', ['report', 'clip']],
    ['description:empty', ['report', 'clip', 'logo']],
    ['description:non-empty', ['sunset', 'everest']],
    ['colors:empty', ['report', 'clip', 'logo']],
    ['notes:empty', ALL],
    ['empty_str:empty', ALL],
    ['"color":"EMPTY"', ['report', 'clip']],
    ['color:-empty', ['sunset', 'everest', 'logo']],
  ]);
});

describe('compileSearch: metadata numbers, booleans and dates', () => {
  check([
    ['rating:5', ['sunset']],
    ['rating:3', ['everest']],
    ['rating:4.5', ['logo']],
    ['rating>=4', ['sunset', 'logo']],
    ['rating:>=4', ['sunset', 'logo']],
    ['rating<2', ['report']],
    ['rating:"2..5"', ['sunset', 'everest', 'logo']],
    ['rating:"..3"', ['everest', 'report']],
    ['rating:"4.."', ['sunset', 'logo']],
    ['rating!=5', except('sunset')],
    ['approved:true', ['sunset', 'everest', 'logo']],
    ['approved:false', ['report']],
    ['approved:-true', ['report', 'clip']],
    ['shot_at>2024-01-01', ['sunset']],
    ['shot_at:2023-12-31', ['report']],
    ['shot_at:2024-03-10', ['sunset']],
    ['shot_at:"2024-03-01..2024-03-31"', ['sunset']],
    ['shot_at<=2024-03-10T18:30', ['sunset', 'report']],
    ['shot_at<2024-03-10T18:30', ['report']],
  ]);
});

describe('compileSearch: asset-picker operators on metadata', () => {
  check([
    ['title~report', ['report']],
    ['title:~REPORT', ['report']],
    ['title~^sunset', ['sunset']],
    ['title~^beach', []],
    ['title~%', []],
    ['color:=Orange', ['sunset']],
    ['color:=orange', []],
    ['colors:=Orange', ['sunset']],
  ]);
});

describe('compileSearch: built-in keys', () => {
  check([
    ['name:sunset-beach.jpg', ['sunset']],
    ['name:SUNSET-BEACH', ['sunset']],
    ['name:*beach*', ['sunset']],
    ['filename:*.png', ['everest']],
    ['name:report_100%.pdf', ['report']],
    ['name:report_1', []],
    ['name~100%', ['report']],
    ['name~_', ['report']],
    ['name:=clip.mp4', ['clip']],
    ['name:=CLIP.mp4', []],
    ['name~^log', ['logo']],
    ['name:-*.jpg', except('sunset')],
    ['type:image/png', ['everest']],
    ['mimetype:image_png', ['everest']],
    ['type:image', ['sunset', 'everest', 'logo']],
    ['type:image/*', ['sunset', 'everest', 'logo']],
    ['mime:video', ['clip']],
    ['type:"image/svg+xml"', ['logo']],
    ['type:svg', ['logo']],
    ['type:-image', ['report', 'clip']],
    ['ext:pdf', ['report']],
    ['extension:.PNG', ['everest']],
    ['ext:jpg,png', ['sunset', 'everest']],
    ['size>1000000', ['everest', 'clip']],
    ['size:>1000000', ['everest', 'clip']],
    ['Size>1000000', ['everest', 'clip']],
    ['size<=5000', ['report', 'logo']],
    ['size:"1000..200000"', ['sunset', 'report']],
    ['size:5000', ['report']],
    ['size!=5000', except('report')],
    ['size:abc', []],
    ['uuid:CLIP', ['clip']],
    [`sha1:${LOGO_SHA1}`, ['logo']],
    ['labels:#lb1', ['sunset', 'clip']],
    ['labels:lb2', ['everest', 'clip']],
    ['labels:empty', ['report', 'logo']],
    ['product_ref:sku-1', ['sunset']],
    ['product:SKU-1,SKU-2', ['sunset', 'clip']],
    ['product_ref:empty', ['everest', 'report', 'logo']],
    ['product_ref:-sku-1', except('sunset')],
  ]);
});

describe('compileSearch: dates of the file', () => {
  check([
    ['created:2024-01-15', ['sunset', 'logo']],
    ['created>=2024-01-15', ['sunset', 'everest', 'clip', 'logo']],
    ['created<2024', ['report']],
    ['created:2023', ['report']],
    ['uploaded_at:"2024-01-01..2024-03-01"', ['sunset', 'logo', 'everest']],
    ['created>2024-01-15T12:00:00Z', ['logo', 'everest', 'clip']],
    // '+' separates terms, so a positive offset must be quoted.
    ['created_at>"2024-01-15T12:00:00+02:00"', ['logo', 'everest', 'clip']],
    ['created_at<2024-01-15T05:01-05:00', ['report', 'sunset']],
    ['created>"2024-01-15 10:00"', ['logo', 'everest', 'clip']],
    ['created>1717000000', ['clip']],
    ['created:2023-12-31T23:59:59.999Z', ['report']],
    ['updated<2024-02-01', ['report', 'logo']],
    ['modified_at:2024-06-02', ['clip']],
    ['updated_at:"2024-03..2024-06"', ['everest', 'clip']],
  ]);
});

describe('compileSearch: combining terms', () => {
  check([
    ['"color":"white"+"#mountain"+"greater"', ['everest']],
    ['color:orange #beach', ['sunset']],
    ['color:orange   +  #beach', ['sunset']],
    ['-"color":"orange"', except('sunset')],
    ['--#orange', ['sunset', 'logo']],
    ['-color:-red', ['logo']],
    ['type:image -#orange size>1000', ['everest']],
    ['created:2024-01-15+-#orange', []],
  ]);
});

describe('compileSearch: invalid queries', () => {
  it('rejects an unclosed quote, saying where it opens', () => {
    expectInvalid('"unclosed', /Unclosed quote at position 0 in q/);
    expectInvalid('color:"dark red', /Unclosed quote at position 6 in q/);
    expectInvalid('"a\\"', /Unclosed quote at position 0/);
  });

  it('rejects an empty key', () => {
    expectInvalid(':x', /Missing key before ':' at position 0/);
    expectInvalid('"":x', /Missing key/);
    expectInvalid('sky >5', /Missing key before '>' at position 4/);
    expectInvalid('-:x', /Missing key/);
  });

  it('rejects an operator without a value', () => {
    expectInvalid('color:', /Missing value after 'color:' at position 5/);
    expectInvalid('color:""', /Missing value/);
    expectInvalid('size>', /Missing value after 'size>'/);
    expectInvalid('color:-', /Missing value/);
    expectInvalid('color:,', /Missing value/);
    expectInvalid('name~^', /Missing value/);
  });

  it('rejects a query longer than 4000 characters', () => {
    expectInvalid('a'.repeat(4001), /4001 characters.*at most 4000/);
    expect(execute('a'.repeat(4000))).toEqual([]);
  });

  it('rejects more than 50 terms', () => {
    expectInvalid(Array.from({ length: 51 }, () => 'x').join('+'), /51 terms; at most 50/);
  });

  it('rejects more than 50 values in one term', () => {
    expectInvalid(
      `color:${Array.from({ length: 51 }, (_, i) => `v${i}`).join(',')}`,
      /Too many values \(51\)/,
    );
  });

  it('runs the largest accepted query', () => {
    const values = Array.from({ length: 50 }, (_, i) => i).join(',');
    const wide = Array.from({ length: 26 }, (_, i) => `-k${i}:${values}`);
    const q = [...wide, ...Array.from({ length: 24 }, (_, i) => `-#t${i}`)].join('+');
    expect(q.length).toBeLessThanOrEqual(4000);
    expect(execute(q)).toEqual(ALL);
  });
});

describe('compileSearch: properties', () => {
  /** Either a 400 ApiError, or SQL that SQLite runs. */
  function compilesOrRejects(q: string): boolean {
    let compiled;
    try {
      compiled = compileSearch(q);
    } catch (e) {
      return e instanceof ApiError && e.httpStatus === 400 && e.code === 'INVALID_QUERY';
    }
    db.prepare(`SELECT f.uuid FROM files f JOIN folders d ON d.id = f.folder_id WHERE ${compiled.where}`).all(
      ...compiled.params,
    );
    return true;
  }

  const fragments = fc.constantFrom(
    '"',
    ':',
    '+',
    ' ',
    '-',
    '#',
    ',',
    '..',
    '>',
    '<',
    '>=',
    '<=',
    '!=',
    '=',
    ':=',
    '~',
    '~^',
    ':-',
    '*',
    '%',
    '_',
    '\\',
    "'",
    '$',
    '.',
    '[0]',
    'empty',
    'non-empty',
    'true',
    '5',
    '2024-01-15',
    'T10:00Z',
    'name',
    'type',
    'size',
    'created',
    'tags',
    'labels',
    'meta.',
    'color',
    'NEAR(',
    'OR',
    ')',
    '(',
    'é',
  );
  const grammarish = fc
    .array(fc.oneof(fragments, fc.string({ maxLength: 4 })), { maxLength: 24 })
    .map((a) => a.join(''));

  it('compiles arbitrary strings to runnable SQL or a 400', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60, unit: 'binary' }), compilesOrRejects), { numRuns: 400 });
  });

  it('compiles grammar-shaped strings to runnable SQL or a 400', () => {
    fc.assert(fc.property(grammarish, compilesOrRejects), { numRuns: 1500 });
  });

  it('never puts user text into the SQL', () => {
    const sentinel = 'zqxjv';
    const withSentinel = fc
      .array(
        fc.oneof(fragments, fc.constant(sentinel), fc.constant(`'${sentinel}'); DROP TABLE files; --`)),
        {
          maxLength: 16,
        },
      )
      .map((a) => a.join(''));
    fc.assert(
      fc.property(withSentinel, (q) => {
        try {
          expect(compileSearch(q).where.toLowerCase()).not.toContain(sentinel);
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
    expect(execute('')).toEqual(ALL);
  });
});
