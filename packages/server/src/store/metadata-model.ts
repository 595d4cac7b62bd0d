import { randomUUID } from 'node:crypto';
import { badRequest } from '../errors.js';

/**
 * The project's metadata model in the shape `GET /v5/settings` returns under `metadata`
 * (reference §3.17): `model[]` per `applies_to`, each with `groups[].fields[]`, and
 * `store.regional_variants_groups[]`. Uuids, ckeys and option values are generated here so that
 * a field keeps its identity when the model is redefined with the same key.
 */

export const FIELD_TYPES = [
  'text',
  'textarea',
  'numeric',
  'decimal2',
  'boolean',
  'date',
  'select-one',
  'multi-select',
  'tags',
  'geopoint',
  'attachment-uri',
  'asset-attachments',
  'integer-list',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** Spellings other clients use for the same types (underscores, shorter names). */
const TYPE_ALIASES: Record<string, FieldType> = {
  select: 'select-one',
  select_one: 'select-one',
  multi_select: 'multi-select',
  multiselect: 'multi-select',
  number: 'numeric',
  integer: 'numeric',
  decimal: 'decimal2',
  bool: 'boolean',
  attachment_uri: 'attachment-uri',
  asset_attachments: 'asset-attachments',
  attachments_assets: 'asset-attachments',
  integer_list: 'integer-list',
};

const SELECT_TYPES: ReadonlySet<FieldType> = new Set(['select-one', 'multi-select']);
export const APPLIES_TO = ['FILES', 'DIRECTORIES', 'PRODUCTS'] as const;
const FIELD_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MAX_FIELDS = 500;
const MAX_VALUES = 1000;

export interface PossibleValue {
  api_value: string;
  internal_unique_value: string;
  label: string;
}

export interface ModelField {
  uuid: string;
  key: string;
  ckey: string;
  title: string;
  type: FieldType;
  placeholder: string;
  hint: string;
  required: 0 | 1;
  possible_values: PossibleValue[];
  regional_variants_group_uuid: string | null;
  validation: string;
}

export interface ModelGroup {
  uuid: string;
  name: string;
  isRoot: boolean;
  fields: ModelField[];
}

export interface ModelEntry {
  applies_to: (typeof APPLIES_TO)[number];
  groups: ModelGroup[];
}

export interface RegionalVariantsGroup {
  uuid: string;
  label: string;
  type: string;
  variants: PossibleValue[];
}

export interface MetadataModel {
  model: ModelEntry[];
  store: { force_filling_metadata_on_upload: boolean; regional_variants_groups: RegionalVariantsGroup[] };
}

export function modelFields(model: MetadataModel, appliesTo?: string): ModelField[] {
  return model.model
    .filter((entry) => appliesTo === undefined || entry.applies_to === appliesTo)
    .flatMap((entry) => entry.groups.flatMap((group) => group.fields));
}

const optionValue = (): string => `@itm_v1_${randomUUID().replaceAll('-', '').slice(0, 8)}_1@`;

/** What a fresh project starts with: a few common fields and one language group. */
export function defaultModel(): MetadataModel {
  return normalizeModel(
    {
      regional_variants_groups: [
        {
          label: 'Language',
          type: 'LANGUAGES',
          variants: [
            { api_value: 'en', label: 'English' },
            { api_value: 'fr', label: 'Français' },
            { api_value: 'de', label: 'Deutsch' },
          ],
        },
      ],
      model: [
        {
          applies_to: 'FILES',
          groups: [
            {
              name: 'Root fields',
              isRoot: true,
              fields: [
                { key: 'title', title: 'Title', type: 'text', regional_variants_group: 'Language' },
                {
                  key: 'description',
                  title: 'Description',
                  type: 'textarea',
                  regional_variants_group: 'Language',
                },
                { key: 'alt', title: 'Alt text', type: 'text', regional_variants_group: 'Language' },
              ],
            },
            {
              name: 'General',
              fields: [
                { key: 'copyright', title: 'Copyright', type: 'text' },
                {
                  key: 'category',
                  title: 'Category',
                  type: 'select-one',
                  possible_values: [
                    { api_value: 'marketing', label: 'Marketing' },
                    { api_value: 'product', label: 'Product' },
                    { api_value: 'editorial', label: 'Editorial' },
                  ],
                },
                { key: 'approved', title: 'Approved', type: 'boolean' },
              ],
            },
          ],
        },
      ],
    },
    undefined,
  );
}

type Input = Record<string, unknown>;

function isObject(value: unknown): value is Input {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, field: string, max: number, fallback?: string): string {
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback;
    throw badRequest('INVALID_METADATA_MODEL', `${field} is required.`);
  }
  if (typeof value !== 'string' || value.length > max) {
    throw badRequest('INVALID_METADATA_MODEL', `${field} must be a string of at most ${max} characters.`);
  }
  return value;
}

function list(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest('INVALID_METADATA_MODEL', `${field} must be an array.`);
  return value;
}

export function fieldType(value: unknown, field: string): FieldType {
  const raw = typeof value === 'string' ? value.trim().toLowerCase() : '';
  const type = (FIELD_TYPES as readonly string[]).includes(raw) ? (raw as FieldType) : TYPE_ALIASES[raw];
  if (!type) {
    throw badRequest(
      'INVALID_METADATA_MODEL',
      `${field} is ${JSON.stringify(value)}, which is not a field type.`,
      `Use one of ${FIELD_TYPES.join(', ')}.`,
    );
  }
  return type;
}

function possibleValues(value: unknown, field: string, previous: PossibleValue[]): PossibleValue[] {
  const items = list(value, field);
  if (items.length > MAX_VALUES)
    throw badRequest('INVALID_METADATA_MODEL', `${field} has more than ${MAX_VALUES} values.`);
  const seen = new Set<string>();
  return items.map((item, i) => {
    const at = `${field}[${i}]`;
    const raw = typeof item === 'string' ? { api_value: item } : item;
    if (!isObject(raw))
      throw badRequest('INVALID_METADATA_MODEL', `${at} must be a string or {api_value, label}.`);
    const api = text(raw.api_value ?? raw.value, `${at}.api_value`, 255).trim();
    if (!api) throw badRequest('INVALID_METADATA_MODEL', `${at}.api_value must not be empty.`);
    if (seen.has(api))
      throw badRequest('INVALID_METADATA_MODEL', `${at}.api_value ${JSON.stringify(api)} appears twice.`);
    seen.add(api);
    const kept = previous.find((p) => p.api_value === api);
    return {
      api_value: api,
      internal_unique_value: kept?.internal_unique_value ?? optionValue(),
      label: text(raw.label ?? raw.name, `${at}.label`, 255, api),
    };
  });
}

/**
 * Validates a model definition (the body of `PUT /v5/settings/metadata/model`) and fills in
 * generated identifiers, reusing those of `previous` for fields, groups and options that keep
 * their key, so values already stored on files keep their meaning.
 */
export function normalizeModel(input: unknown, previous: MetadataModel | undefined): MetadataModel {
  if (!isObject(input))
    throw badRequest('INVALID_METADATA_MODEL', 'The body must be an object {model: [...]}.');
  const oldGroups = previous?.store.regional_variants_groups ?? [];
  const rvgInput =
    input.regional_variants_groups === undefined
      ? undefined
      : list(input.regional_variants_groups, 'regional_variants_groups');
  const groups: RegionalVariantsGroup[] =
    rvgInput === undefined
      ? oldGroups
      : rvgInput.map((raw, i) => {
          const at = `regional_variants_groups[${i}]`;
          if (!isObject(raw))
            throw badRequest('INVALID_METADATA_MODEL', `${at} must be an object {label, type, variants}.`);
          const label = text(raw.label ?? raw.name, `${at}.label`, 100);
          const kept = oldGroups.find((g) => g.uuid === raw.uuid || g.label === label);
          const variants = possibleValues(raw.variants, `${at}.variants`, kept?.variants ?? []);
          if (variants.length === 0)
            throw badRequest('INVALID_METADATA_MODEL', `${at}.variants must list at least one variant.`);
          return {
            uuid: kept?.uuid ?? randomUUID(),
            label,
            type: text(raw.type, `${at}.type`, 32, 'LANGUAGES').toUpperCase(),
            variants,
          };
        });
  if (new Set(groups.map((g) => g.label)).size !== groups.length) {
    throw badRequest('INVALID_METADATA_MODEL', 'Two regional variants groups share a label.');
  }

  if (input.model === undefined) {
    throw badRequest(
      'INVALID_METADATA_MODEL',
      '"model" is required.',
      'Example: {"model": [{"applies_to": "FILES", "groups": [{"name": "General", "fields": [{"key": "color", "type": "text"}]}]}]}',
    );
  }
  const entries = list(input.model, 'model');
  const seenApplies = new Set<string>();
  let total = 0;
  const model = entries.map((rawEntry, e): ModelEntry => {
    const at = `model[${e}]`;
    if (!isObject(rawEntry))
      throw badRequest('INVALID_METADATA_MODEL', `${at} must be an object {applies_to, groups}.`);
    const appliesTo = text(rawEntry.applies_to, `${at}.applies_to`, 20, 'FILES').toUpperCase();
    if (!(APPLIES_TO as readonly string[]).includes(appliesTo)) {
      throw badRequest('INVALID_METADATA_MODEL', `${at}.applies_to must be one of ${APPLIES_TO.join(', ')}.`);
    }
    if (seenApplies.has(appliesTo))
      throw badRequest(
        'INVALID_METADATA_MODEL',
        `Two model entries apply to ${appliesTo}; put all their groups in one.`,
      );
    seenApplies.add(appliesTo);
    const oldEntry = previous?.model.find((m) => m.applies_to === appliesTo);
    const oldFields = oldEntry?.groups.flatMap((g) => g.fields) ?? [];
    const keys = new Set<string>();
    const modelGroups = list(rawEntry.groups, `${at}.groups`).map((rawGroup, g): ModelGroup => {
      const gat = `${at}.groups[${g}]`;
      if (!isObject(rawGroup))
        throw badRequest('INVALID_METADATA_MODEL', `${gat} must be an object {name, fields}.`);
      const name = text(rawGroup.name, `${gat}.name`, 100);
      const oldGroup = oldEntry?.groups.find((og) => og.name === name);
      const fields = list(rawGroup.fields, `${gat}.fields`).map((rawField, f): ModelField => {
        const fat = `${gat}.fields[${f}]`;
        if (!isObject(rawField))
          throw badRequest('INVALID_METADATA_MODEL', `${fat} must be an object {key, type, title}.`);
        const key = text(rawField.key, `${fat}.key`, 64);
        if (!FIELD_KEY.test(key)) {
          throw badRequest(
            'INVALID_METADATA_MODEL',
            `${fat}.key ${JSON.stringify(key)} is not a valid field key.`,
            'Start with a letter; use letters, digits and "_" (at most 64), e.g. "product_color".',
          );
        }
        if (keys.has(key))
          throw badRequest(
            'INVALID_METADATA_MODEL',
            `The field key ${JSON.stringify(key)} appears twice in ${appliesTo}.`,
          );
        keys.add(key);
        const type = fieldType(rawField.type, `${fat}.type`);
        const kept = oldFields.find((o) => o.key === key);
        const isSelect = SELECT_TYPES.has(type);
        if (!isSelect && list(rawField.possible_values, `${fat}.possible_values`).length > 0) {
          throw badRequest(
            'INVALID_METADATA_MODEL',
            `${fat}.possible_values only applies to select-one and multi-select fields; ${key} is ${type}.`,
          );
        }
        const values = isSelect
          ? possibleValues(rawField.possible_values, `${fat}.possible_values`, kept?.possible_values ?? [])
          : [];
        if (isSelect && values.length === 0) {
          throw badRequest(
            'INVALID_METADATA_MODEL',
            `${fat}.possible_values must list at least one value for a ${type} field.`,
            'Example: "possible_values": [{"api_value": "red", "label": "Red"}]',
          );
        }
        let rvg: string | null = null;
        const rvgRef = rawField.regional_variants_group_uuid ?? rawField.regional_variants_group;
        if (rvgRef !== undefined && rvgRef !== null && rvgRef !== '') {
          const found = groups.find((group) => group.uuid === rvgRef || group.label === rvgRef);
          if (!found) {
            throw badRequest(
              'INVALID_METADATA_MODEL',
              `${fat} names the regional variants group ${JSON.stringify(rvgRef)}, which does not exist.`,
              `Known groups: ${groups.map((group) => `${group.label} (${group.uuid})`).join(', ') || 'none'}.`,
            );
          }
          rvg = found.uuid;
        }
        const validation = text(rawField.validation, `${fat}.validation`, 500, '');
        if (validation) {
          try {
            new RegExp(validation);
          } catch {
            throw badRequest(
              'INVALID_METADATA_MODEL',
              `${fat}.validation is not a valid regular expression.`,
            );
          }
        }
        const required = rawField.required;
        if (required !== undefined && ![0, 1, true, false].includes(required as number | boolean)) {
          throw badRequest('INVALID_METADATA_MODEL', `${fat}.required must be 0, 1, true or false.`);
        }
        return {
          uuid: kept?.uuid ?? randomUUID(),
          key,
          ckey: kept?.ckey ?? key.toLowerCase(),
          title: text(rawField.title ?? rawField.label, `${fat}.title`, 255, key),
          type,
          placeholder: text(rawField.placeholder, `${fat}.placeholder`, 255, ''),
          hint: text(rawField.hint, `${fat}.hint`, 1000, ''),
          required: required === 1 || required === true ? 1 : 0,
          possible_values: values,
          regional_variants_group_uuid: rvg,
          validation,
        };
      });
      total += fields.length;
      return { uuid: oldGroup?.uuid ?? randomUUID(), name, isRoot: rawGroup.isRoot === true, fields };
    });
    const ckeys = new Set<string>();
    for (const field of modelGroups.flatMap((group) => group.fields)) {
      if (ckeys.has(field.ckey))
        throw badRequest(
          'INVALID_METADATA_MODEL',
          `The field keys of ${appliesTo} differ only by letter case (${field.key}).`,
        );
      ckeys.add(field.ckey);
    }
    return { applies_to: appliesTo as ModelEntry['applies_to'], groups: modelGroups };
  });
  if (total > MAX_FIELDS)
    throw badRequest(
      'INVALID_METADATA_MODEL',
      `The model has ${total} fields; at most ${MAX_FIELDS} are allowed.`,
    );
  const force =
    input.force_filling_metadata_on_upload ?? previous?.store.force_filling_metadata_on_upload ?? false;
  if (typeof force !== 'boolean')
    throw badRequest('INVALID_METADATA_MODEL', '"force_filling_metadata_on_upload" must be true or false.');
  return { model, store: { force_filling_metadata_on_upload: force, regional_variants_groups: groups } };
}
