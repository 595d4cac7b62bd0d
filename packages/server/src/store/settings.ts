import type { Database } from 'better-sqlite3';
import { badRequest } from '../errors.js';
import { defaultModel, modelFields, normalizeModel, type MetadataModel } from './metadata-model.js';
import { now } from './metadata-store.js';

export interface FieldTranslation {
  name?: string;
  placeholder?: string;
  tooltip?: string;
}

/** Translations for one language: field texts by field ckey, option labels by internal_unique_value. */
export interface LanguagePack {
  fields: Record<string, FieldTranslation>;
  options: Record<string, string>;
}

const MODEL_KEY = 'metadata';
const I18N_KEY = 'metadata.i18n';
const BRANDING_KEY = 'project_branding';
const LANG = /^[a-z]{2,3}([_-][A-Za-z0-9]{2,4})?$/;

/**
 * Project settings kept as JSON documents, one row per key. A fresh project gets a small default
 * metadata model so that the settings and model endpoints answer something useful at once.
 */
export class SettingsStore {
  constructor(private readonly db: Database) {
    if (this.read(MODEL_KEY) === undefined) this.write(MODEL_KEY, defaultModel());
    if (this.read(BRANDING_KEY) === undefined) this.write(BRANDING_KEY, { brandColor: '#3761EB' });
  }

  private read<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM project_settings WHERE key = ?').get(key) as
      { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  private write(key: string, value: unknown): void {
    this.db
      .prepare(
        'INSERT INTO project_settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
      )
      .run(key, JSON.stringify(value), now());
  }

  metadataModel(): MetadataModel {
    return this.read<MetadataModel>(MODEL_KEY) ?? defaultModel();
  }

  /** Validates and stores a new model; identifiers of fields that keep their key are preserved. */
  setMetadataModel(input: unknown): MetadataModel {
    return this.db
      .transaction(() => {
        const next = normalizeModel(input, this.metadataModel());
        this.write(MODEL_KEY, next);
        return next;
      })
      .immediate();
  }

  branding(): Record<string, unknown> {
    return this.read<Record<string, unknown>>(BRANDING_KEY) ?? {};
  }

  translations(lang: string): LanguagePack {
    const all = this.read<Record<string, LanguagePack>>(I18N_KEY) ?? {};
    const pack = all[checkLang(lang)] ?? { fields: {}, options: {} };
    // Translations of fields or options removed from the model since are not shown.
    const fields = modelFields(this.metadataModel());
    const ckeys = new Set(fields.map((f) => f.ckey));
    const options = new Set(fields.flatMap((f) => f.possible_values.map((v) => v.internal_unique_value)));
    return {
      fields: Object.fromEntries(Object.entries(pack.fields).filter(([k]) => ckeys.has(k))),
      options: Object.fromEntries(Object.entries(pack.options).filter(([k]) => options.has(k))),
    };
  }

  /** Merges translations for one language; a value of null removes that translation. */
  setTranslations(
    lang: string,
    fields: Record<string, unknown>,
    options: Record<string, unknown>,
  ): LanguagePack {
    checkLang(lang);
    return this.db
      .transaction(() => {
        const model = modelFields(this.metadataModel());
        const byCkey = new Map(model.map((f) => [f.ckey, f]));
        for (const f of model) byCkey.set(f.key, f);
        const optionIds = new Set(
          model.flatMap((f) => f.possible_values.map((v) => v.internal_unique_value)),
        );
        const all = this.read<Record<string, LanguagePack>>(I18N_KEY) ?? {};
        const pack = all[lang] ?? { fields: {}, options: {} };
        for (const [ref, value] of Object.entries(fields)) {
          const field = byCkey.get(ref);
          if (!field) {
            throw badRequest(
              'UNKNOWN_FIELD',
              `"fields" names ${JSON.stringify(ref)}, which is not a field of the metadata model.`,
              'Use the field ckey (or key) from GET /v4/meta/model/fields.',
            );
          }
          if (value === null) {
            delete pack.fields[field.ckey];
            continue;
          }
          pack.fields[field.ckey] = fieldTranslation(value, `fields.${ref}`);
        }
        for (const [id, value] of Object.entries(options)) {
          if (!optionIds.has(id)) {
            throw badRequest(
              'UNKNOWN_OPTION',
              `"options" names ${JSON.stringify(id)}, which is not an option of any select field.`,
              'Use the internal_unique_value from GET /v4/meta/model/fields/{uuid}/options.',
            );
          }
          if (value === null) {
            delete pack.options[id];
            continue;
          }
          if (typeof value !== 'string' || value.length === 0 || value.length > 255) {
            throw badRequest(
              'INVALID_PARAMETER',
              `"options.${id}" must be a label of 1-255 characters, or null to remove it.`,
            );
          }
          pack.options[id] = value;
        }
        all[lang] = pack;
        this.write(I18N_KEY, all);
        return this.translations(lang);
      })
      .immediate();
  }
}

export function checkLang(lang: string): string {
  if (!LANG.test(lang)) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"lang" must be a language code such as en, fr or pt_BR; got ${JSON.stringify(lang)}.`,
    );
  }
  return lang;
}

function fieldTranslation(value: unknown, at: string): FieldTranslation {
  if (typeof value === 'string') value = { name: value };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('INVALID_PARAMETER', `"${at}" must be {name, placeholder?, tooltip?} or a plain name.`);
  }
  const out: FieldTranslation = {};
  for (const part of ['name', 'placeholder', 'tooltip'] as const) {
    const v = (value as Record<string, unknown>)[part];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length > 1000)
      throw badRequest('INVALID_PARAMETER', `"${at}.${part}" must be a string of at most 1000 characters.`);
    out[part] = v;
  }
  const unknown = Object.keys(value).filter((k) => !['name', 'placeholder', 'tooltip'].includes(k));
  if (unknown.length > 0)
    throw badRequest(
      'INVALID_PARAMETER',
      `"${at}" has unknown keys: ${unknown.join(', ')}.`,
      'Allowed: name, placeholder, tooltip.',
    );
  return out;
}
