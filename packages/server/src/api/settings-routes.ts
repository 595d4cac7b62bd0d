import { badRequest, notFound } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import { APPLIES_TO, modelFields, type MetadataModel } from '../store/metadata-model.js';
import { checkLang } from '../store/settings.js';
import { bodyObject, objectField, single, stringParam, uuidParam } from './params.js';

/** What anyone may read: the metadata model and branding. No keys, limits or other internals. */
function publicSettings(call: Call): Record<string, unknown> {
  const { settings } = call.ctx.catalog;
  return { metadata: settings.metadataModel(), project_branding: settings.branding() };
}

function fullSettings(call: Call): Record<string, unknown> {
  const { limits, duplicatePolicy } = call.ctx;
  return {
    ...publicSettings(call),
    upload: {
      max_file_size_bytes: limits.maxUploadBytes,
      max_files_per_request: limits.maxFilesPerRequest,
      max_urls_per_request: limits.maxUrlsPerRequest,
      duplicate_policy: duplicatePolicy,
    },
  };
}

function appliesTo(call: Call): string | undefined {
  const value = stringParam(call.query.applies_to, 'applies_to', 20);
  if (value === undefined || value === '') return undefined;
  const upper = value.toUpperCase();
  if (!(APPLIES_TO as readonly string[]).includes(upper)) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"applies_to" must be one of ${APPLIES_TO.join(', ')}; got ${JSON.stringify(value)}.`,
    );
  }
  return upper;
}

/** Every field flattened, with the group and target it belongs to. */
function listFields(model: MetadataModel, target: string | undefined): Array<Record<string, unknown>> {
  return model.model
    .filter((entry) => target === undefined || entry.applies_to === target)
    .flatMap((entry) =>
      entry.groups.flatMap((group) =>
        group.fields.map((field) => ({
          ...field,
          applies_to: entry.applies_to,
          group: { uuid: group.uuid, name: group.name },
        })),
      ),
    );
}

function fieldOptions(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const field = modelFields(call.ctx.catalog.settings.metadataModel()).find((f) => f.uuid === uuid);
  if (!field)
    throw notFound(
      'FIELD_NOT_FOUND',
      `No metadata field has the uuid ${uuid}.`,
      'List fields with GET /v4/meta/model/fields.',
    );
  // Only select fields have options; the others answer an empty list rather than an error.
  return { field_uuid: field.uuid, key: field.key, type: field.type, options: field.possible_values };
}

function langParam(value: unknown): string {
  const lang = typeof value === 'string' ? value : single(value);
  if (typeof lang !== 'string' || lang === '') {
    throw badRequest(
      'INVALID_PARAMETER',
      '"lang" is required: the language of the translations.',
      'Example: ?lang=fr',
    );
  }
  return checkLang(lang);
}

function formatParam(call: Call): 'object' | 'list' {
  const format = stringParam(call.query.format, 'format', 20) ?? 'object';
  if (format !== 'object' && format !== 'list')
    throw badRequest(
      'INVALID_PARAMETER',
      `"format" must be "object" or "list"; got ${JSON.stringify(format)}.`,
    );
  return format;
}

function fieldTranslations(call: Call, lang: string, format: 'object' | 'list'): Record<string, unknown> {
  const pack = call.ctx.catalog.settings.translations(lang);
  if (format === 'object') return { lang, fields: pack.fields };
  const fields = modelFields(call.ctx.catalog.settings.metadataModel());
  return {
    lang,
    fields: fields
      .filter((f) => pack.fields[f.ckey])
      .map((f) => ({ uuid: f.uuid, key: f.key, ckey: f.ckey, ...pack.fields[f.ckey] })),
  };
}

function putTranslations(call: Call): Record<string, unknown> {
  const body = bodyObject(call.body);
  const lang = langParam(body.lang ?? call.query.lang);
  if (body.fields === undefined && body.options === undefined) {
    throw badRequest(
      'INVALID_PARAMETER',
      'Send "fields" (and/or "options") to translate.',
      'Example: {"lang": "fr", "fields": {"title": {"name": "Titre"}}, "options": {"@itm_v1_…@": "Produit"}}',
    );
  }
  call.ctx.catalog.settings.setTranslations(
    lang,
    objectField(body.fields, 'fields'),
    objectField(body.options, 'options'),
  );
  const pack = call.ctx.catalog.settings.translations(lang);
  return { action: 'translations_updated', lang, fields: pack.fields, options: pack.options };
}

export const settingsRoutes: RouteSpec[] = [
  // akeneo reads the v4 settings without a key, so v4 answers without one, with the public subset only.
  {
    method: 'GET',
    path: '/settings',
    versions: ['v4'],
    permissions: 'public',
    summary: 'Public project settings (metadata model)',
    handler: publicSettings,
  },
  {
    method: 'GET',
    path: '/settings',
    versions: ['v5'],
    permissions: ['CONFIG_LIST'],
    summary: 'Project settings incl. metadata model',
    handler: (call) => ({ settings: fullSettings(call) }),
  },
  {
    method: 'GET',
    path: '/public/settings',
    versions: ['v5'],
    permissions: 'public',
    summary: 'Public project settings',
    handler: (call) => ({ settings: publicSettings(call) }),
  },
  {
    method: 'GET',
    path: '/meta/model/fields',
    versions: ['v4'],
    permissions: ['CONFIG_LIST'],
    summary: 'Metadata model fields',
    handler: (call) => ({ fields: listFields(call.ctx.catalog.settings.metadataModel(), appliesTo(call)) }),
  },
  {
    method: 'GET',
    path: '/meta/model/fields/:uuid/options',
    versions: ['v4'],
    permissions: ['CONFIG_LIST'],
    summary: 'Options of a select field',
    handler: fieldOptions,
  },
  {
    method: 'GET',
    path: '/attributes/keys',
    versions: ['v5'],
    permissions: ['CONFIG_LIST'],
    summary: 'Metadata keys in use on files',
    handler: (call) => {
      const fields = new Map(
        modelFields(call.ctx.catalog.settings.metadataModel(), 'FILES').map((f) => [f.key, f]),
      );
      const keys = call.ctx.catalog.facets.metaKeys();
      return {
        keys: keys.map((k) => ({
          key: k.value,
          count: k.count,
          field_uuid: fields.get(k.value)?.uuid ?? null,
          type: fields.get(k.value)?.type ?? null,
        })),
      };
    },
  },
  {
    method: 'GET',
    path: '/meta/model/fields/i18n',
    versions: ['v5'],
    permissions: ['CONFIG_LIST'],
    summary: 'Field title translations for one language',
    handler: (call) => fieldTranslations(call, langParam(call.query.lang), formatParam(call)),
  },
  {
    method: 'PUT',
    path: '/meta/model/fields/i18n',
    versions: ['v5'],
    permissions: ['CONFIG_CHANGE'],
    summary: 'Set field (and option) translations',
    handler: putTranslations,
  },
  {
    method: 'GET',
    path: '/meta/model/fields/options/i18n',
    versions: ['v5'],
    permissions: ['CONFIG_LIST'],
    summary: 'Option label translations for one language',
    handler: (call) => {
      const lang = langParam(call.query.lang);
      return { lang, options: call.ctx.catalog.settings.translations(lang).options };
    },
  },
  {
    // Our extension: the real API's model editor is not documented.
    method: 'PUT',
    path: '/settings/metadata/model',
    versions: ['v5'],
    permissions: ['CONFIG_CHANGE'],
    summary: 'Define the metadata model (extension)',
    handler: (call) => ({
      action: 'metadata_model_updated',
      metadata: call.ctx.catalog.settings.setMetadataModel(bodyObject(call.body)),
    }),
  },
];
