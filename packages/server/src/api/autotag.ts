import { loadSharp } from '../sharp-loader.js';
import { badRequest } from '../errors.js';
import type { Call } from '../http/route.js';
import { parseObject } from '../store/metadata-store.js';
import type { FileTags, FileWithFolder, JsonObject, TagEntry } from '../store/rows.js';
import { classifyDecodeError, MAX_INPUT_PIXELS, openImage } from './image-source.js';
import { bodyObject, objectField, uuidParam } from './params.js';
import { fileObject } from './serialize.js';

/*
 * Auto-tagging (permission FILE_PROCESS_AUTOTAGGING). The reference documents
 * `POST {ask-filerobot-server}/images/autotag` {file:{uuid}, meta:{languages, limit, confidence}}
 * on an unknown host; this server answers that body at `/{token}/ask/images/autotag` and at
 * `/{token}/{v}/files/{uuid}/autotag`. There is no AI here: the tags are measurements of the
 * pixels, made with sharp, and each confidence is the share of the image the tag describes:
 * - colour names (red, orange, yellow, green, cyan, blue, purple, pink, brown, black, white, gray):
 *   the percentage of opaque pixels of that colour, over a sample of at most 128×128 pixels;
 * - `transparent`: the percentage of pixels that are not fully opaque;
 * - orientation (landscape, portrait, square, panorama; the thresholds of `info.img_o`) and size
 *   (small < 0.25 MP, medium < 2 MP, large): properties of the whole image, so 100.
 */

type Kind = 'color' | 'transparency' | 'orientation' | 'size';

export const AUTOTAG_LANGUAGES = ['en', 'fr', 'de', 'es', 'it'] as const;
type Lang = (typeof AUTOTAG_LANGUAGES)[number];

/** Each tag word in every language served; `en` is also the tag's stable `key`. */
const WORDS: Record<string, Record<Lang, string>> = {
  red: { en: 'red', fr: 'rouge', de: 'rot', es: 'rojo', it: 'rosso' },
  orange: { en: 'orange', fr: 'orange', de: 'orange', es: 'naranja', it: 'arancione' },
  yellow: { en: 'yellow', fr: 'jaune', de: 'gelb', es: 'amarillo', it: 'giallo' },
  green: { en: 'green', fr: 'vert', de: 'grün', es: 'verde', it: 'verde' },
  cyan: { en: 'cyan', fr: 'cyan', de: 'cyan', es: 'cian', it: 'ciano' },
  blue: { en: 'blue', fr: 'bleu', de: 'blau', es: 'azul', it: 'blu' },
  purple: { en: 'purple', fr: 'violet', de: 'lila', es: 'morado', it: 'viola' },
  pink: { en: 'pink', fr: 'rose', de: 'rosa', es: 'rosa', it: 'rosa' },
  brown: { en: 'brown', fr: 'marron', de: 'braun', es: 'marrón', it: 'marrone' },
  black: { en: 'black', fr: 'noir', de: 'schwarz', es: 'negro', it: 'nero' },
  white: { en: 'white', fr: 'blanc', de: 'weiß', es: 'blanco', it: 'bianco' },
  gray: { en: 'gray', fr: 'gris', de: 'grau', es: 'gris', it: 'grigio' },
  transparent: { en: 'transparent', fr: 'transparent', de: 'transparent', es: 'transparente', it: 'trasparente' },
  landscape: { en: 'landscape', fr: 'paysage', de: 'Querformat', es: 'horizontal', it: 'orizzontale' },
  portrait: { en: 'portrait', fr: 'portrait', de: 'Hochformat', es: 'vertical', it: 'verticale' },
  square: { en: 'square', fr: 'carré', de: 'quadratisch', es: 'cuadrado', it: 'quadrato' },
  panorama: { en: 'panorama', fr: 'panorama', de: 'Panorama', es: 'panorámica', it: 'panoramica' },
  small: { en: 'small', fr: 'petit', de: 'klein', es: 'pequeño', it: 'piccolo' },
  medium: { en: 'medium', fr: 'moyen', de: 'mittel', es: 'mediano', it: 'medio' },
  large: { en: 'large', fr: 'grand', de: 'groß', es: 'grande', it: 'grande' },
};

const KIND_ORDER: Record<Kind, number> = { color: 0, orientation: 1, transparency: 2, size: 3 };
const SAMPLE = 128;
const HINT = 'Example: {"meta": {"languages": ["en", "fr"], "limit": 10, "confidence": 80}, "save": true}';

export interface AutotagOptions {
  languages: Lang[];
  unsupported: string[];
  limit: number;
  confidence: number;
  save: boolean;
}

export interface Measured {
  key: string;
  kind: Kind;
  confidence: number;
}

/** Named colour of one pixel, from its lightness, chroma and hue. */
export function colourName(r: number, g: number, b: number): string {
  const max = Math.max(r, g, b) / 255;
  const min = Math.min(r, g, b) / 255;
  const l = (max + min) / 2;
  const chroma = max - min;
  if (chroma < 0.1) return l < 0.2 ? 'black' : l > 0.85 ? 'white' : 'gray';
  if (l < 0.1) return 'black';
  if (l > 0.95) return 'white';
  let h: number;
  const [rf, gf, bf] = [r / 255, g / 255, b / 255];
  if (max === rf) h = ((gf - bf) / chroma) % 6;
  else if (max === gf) h = (bf - rf) / chroma + 2;
  else h = (rf - gf) / chroma + 4;
  h = (h * 60 + 360) % 360;
  if (h < 15 || h >= 345) return l > 0.75 ? 'pink' : 'red';
  if (h < 45) return l < 0.4 ? 'brown' : 'orange';
  if (h < 70) return 'yellow';
  if (h < 165) return 'green';
  if (h < 195) return 'cyan';
  if (h < 255) return 'blue';
  if (h < 315) return l > 0.7 ? 'pink' : 'purple';
  return 'pink';
}

export function orientationOf(width: number, height: number): string {
  const ratio = width / height;
  return ratio > 2 ? 'panorama' : ratio > 1.05 ? 'landscape' : ratio < 0.95 ? 'portrait' : 'square';
}

export function sizeClassOf(width: number, height: number): string {
  const megapixels = (width * height) / 1e6;
  return megapixels < 0.25 ? 'small' : megapixels < 2 ? 'medium' : 'large';
}

const hex = (n: number): string => Math.round(n).toString(16).padStart(2, '0');
const round4 = (n: number): number => Math.round(n * 10_000) / 10_000;

/** Measures an image's pixels (shared with the regeneration jobs, which store part of the analysis). */
export async function analyse(
  call: Pick<Call, 'ctx'>,
  file: FileWithFolder,
  what = 'auto-tagging',
): Promise<{ tags: Measured[]; analysis: JsonObject }> {
  const source = await openImage(call.ctx, file, MAX_INPUT_PIXELS, what);
  let data: Buffer;
  let channels: number;
  try {
    const raw = await loadSharp()(source.path, { limitInputPixels: MAX_INPUT_PIXELS })
      .autoOrient()
      .resize(SAMPLE, SAMPLE, { fit: 'inside', withoutEnlargement: true, kernel: 'nearest' })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    data = raw.data;
    channels = raw.info.channels;
  } catch (error) {
    throw classifyDecodeError(file, error);
  }
  const counts = new Map<string, { n: number; r: number; g: number; b: number }>();
  let total = 0;
  let opaque = 0;
  let notOpaque = 0;
  for (let i = 0; i + channels - 1 < data.length; i += channels) {
    total++;
    const [r, g, b] = channels >= 3 ? [data[i]!, data[i + 1]!, data[i + 2]!] : [data[i]!, data[i]!, data[i]!];
    const alpha = channels === 4 || channels === 2 ? data[i + channels - 1]! : 255;
    if (alpha < 255) notOpaque++;
    // Mostly transparent pixels show the background, not the image: they have no colour.
    if (alpha < 128) continue;
    opaque++;
    const name = colourName(r, g, b);
    const entry = counts.get(name) ?? { n: 0, r: 0, g: 0, b: 0 };
    entry.n++;
    entry.r += r;
    entry.g += g;
    entry.b += b;
    counts.set(name, entry);
  }
  const colours = [...counts.entries()]
    .map(([name, c]) => ({ name, share: c.n / opaque, hex: `#${hex(c.r / c.n)}${hex(c.g / c.n)}${hex(c.b / c.n)}` }))
    .sort((a, b) => b.share - a.share || a.name.localeCompare(b.name));
  const transparentShare = total === 0 ? 0 : notOpaque / total;
  const orientation = orientationOf(source.width, source.height);
  const size = sizeClassOf(source.width, source.height);
  const tags: Measured[] = [
    ...colours.map((c) => ({ key: c.name, kind: 'color' as const, confidence: Math.round(c.share * 100) })),
    { key: orientation, kind: 'orientation', confidence: 100 },
    { key: size, kind: 'size', confidence: 100 },
  ];
  if (notOpaque > 0) tags.push({ key: 'transparent', kind: 'transparency', confidence: Math.round(transparentShare * 100) });
  return {
    tags: tags.filter((t) => t.confidence >= 1),
    analysis: {
      width: source.width,
      height: source.height,
      orientation,
      megapixels: round4((source.width * source.height) / 1e6),
      size_class: size,
      has_alpha: source.meta.hasAlpha ?? false,
      transparent_share: round4(transparentShare),
      sampled_pixels: total,
      dominant_color: colours[0]?.hex ?? null,
      main_colors: colours.filter((c) => c.share >= 0.01).map((c) => ({ name: c.name, hex: c.hex, share: round4(c.share) })),
    },
  };
}

function numberOption(value: unknown, field: string, min: number, max: number, fallback: number, whole: boolean): number {
  if (value === undefined || value === null) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n)))
    throw badRequest('INVALID_PARAMETER', `"${field}" must be a ${whole ? 'whole ' : ''}number from ${min} to ${max}; got ${JSON.stringify(value)}.`, HINT);
  return n;
}

/** Options from the top level of the body or, as the reference sends them, from `meta`. */
export function parseAutotagOptions(body: JsonObject): AutotagOptions {
  const meta = objectField(body.meta, 'meta');
  const pick = (key: string): [unknown, string] =>
    meta[key] !== undefined ? [meta[key], `meta.${key}`] : [body[key], key];
  const [rawLanguages, languagesField] = pick('languages');
  let list: unknown[] = ['en'];
  if (rawLanguages !== undefined && rawLanguages !== null) {
    list = typeof rawLanguages === 'string' ? rawLanguages.split(',') : (rawLanguages as unknown[]);
    if (!Array.isArray(list) || list.length === 0 || list.length > 20)
      throw badRequest('INVALID_PARAMETER', `"${languagesField}" must list 1 to 20 language codes, e.g. ["en", "fr"].`, HINT);
  }
  const languages: Lang[] = [];
  const unsupported: string[] = [];
  for (const [i, value] of list.entries()) {
    if (typeof value !== 'string' || !/^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$/i.test(value.trim()))
      throw badRequest('INVALID_PARAMETER', `"${languagesField}[${i}]" must be a language code such as "en" or "fr-FR"; got ${JSON.stringify(value)}.`, HINT);
    const base = value.trim().slice(0, value.trim().search(/[_-]|$/)).toLowerCase();
    if ((AUTOTAG_LANGUAGES as readonly string[]).includes(base)) {
      if (!languages.includes(base as Lang)) languages.push(base as Lang);
    } else if (!unsupported.includes(value.trim())) unsupported.push(value.trim());
  }
  // Languages without translations fall back to English, once.
  if (unsupported.length > 0 && !languages.includes('en')) languages.push('en');
  const [rawLimit, limitField] = pick('limit');
  const [rawConfidence, confidenceField] = pick('confidence');
  const save = body.save ?? meta.save;
  if (save !== undefined && typeof save !== 'boolean')
    throw badRequest('INVALID_PARAMETER', `"save" must be true (add the tags to the file) or false; got ${JSON.stringify(save)}.`, HINT);
  return {
    languages,
    unsupported,
    limit: numberOption(rawLimit, limitField, 1, 100, 10, true),
    confidence: numberOption(rawConfidence, confidenceField, 0, 100, 10, false),
    save: save === true,
  };
}

async function autotag(call: Call, uuid: string, body: JsonObject): Promise<Record<string, unknown>> {
  const { store } = call.ctx;
  const file = store.requireFile(uuid);
  const options = parseAutotagOptions(body);
  const measured = await analyse(call, file);
  const chosen = measured.tags
    .filter((t) => t.confidence >= options.confidence)
    .sort(
      (a, b) => b.confidence - a.confidence || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.key.localeCompare(b.key),
    )
    .slice(0, options.limit);
  const tags: Record<string, Array<Record<string, unknown>>> = {};
  for (const lang of options.languages) {
    tags[lang] = chosen.map((t) => ({ key: t.key, label: WORDS[t.key]![lang], confidence: t.confidence, kind: t.kind }));
  }
  const reply: Record<string, unknown> = {
    action: options.save ? 'file_autotagged' : 'file_analysed',
    file_uuid: uuid,
    languages: options.languages,
    unsupported_languages: options.unsupported,
    tags,
    analysis: measured.analysis,
    saved: false,
  };
  if (options.save) {
    const updated = store.transaction(() => {
      const current = store.requireFile(uuid);
      const next = parseObject(current.tags) as FileTags;
      for (const lang of options.languages) {
        const added = chosen
          .map((t) => store.resolveTag(WORDS[t.key]![lang], lang, true))
          .filter((e): e is TagEntry => e !== undefined);
        const merged = new Map([...(next[lang] ?? []), ...added].map((e) => [e.sid, e]));
        if (merged.size > 0) next[lang] = [...merged.values()];
      }
      return store.setFileTags(uuid, next);
    });
    reply.saved = true;
    reply.file = fileObject(call.url, updated);
  }
  return reply;
}

/** `POST /{v}/files/{uuid}/autotag` {languages?, limit?, confidence?, save?} (or those under `meta`). */
export function autotagFile(call: Call): Promise<Record<string, unknown>> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  return autotag(call, uuid, call.body === undefined ? {} : bodyObject(call.body));
}

/** `POST /{token}/ask/images/autotag` with the reference's body {file:{uuid}, meta:{...}}. */
export function autotagAsk(call: Call): Promise<Record<string, unknown>> {
  const body = bodyObject(call.body);
  const file = objectField(body.file, 'file');
  if (file.uuid === undefined)
    throw badRequest('INVALID_PARAMETER', '"file.uuid" is required: the uuid of the image to tag.', 'Example: {"file": {"uuid": "…"}, "meta": {"languages": ["en"], "limit": 10, "confidence": 80}}');
  return autotag(call, uuidParam(file.uuid, 'file.uuid'), body);
}
