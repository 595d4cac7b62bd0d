import { badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import { modelFields } from '../store/metadata-model.js';
import { parseObject } from '../store/metadata-store.js';
import type { ValueCount } from '../store/facets.js';
import { bodyObject, intParam, stringParam, uuidParam } from './params.js';
import { cdnUrl } from './serialize.js';

/**
 * A metadata key as clients name it: `_<ckey>` (the Hub's autocomplete form, reference §3.17),
 * `meta.<key>`, or the key itself.
 */
function resolveMetaKey(call: Call, raw: string): string {
  const fields = modelFields(call.ctx.catalog.settings.metadataModel());
  if (raw.startsWith('_')) {
    const field = fields.find((f) => f.ckey === raw.slice(1));
    if (field) return field.key;
  }
  const prefixed = /^meta(?:data)?\.(.+)$/s.exec(raw);
  return prefixed ? prefixed[1]! : raw;
}

function autocomplete(call: Call): Record<string, unknown> {
  const q = stringParam(call.query.q, 'q', 255)?.trim() ?? '';
  const limit = intParam(call.query.limit, 'limit', { min: 1, max: 100, fallback: 10 });
  const metaKey = stringParam(call.query.meta_key, 'meta_key', 256);
  const { facets } = call.ctx.catalog;
  if (metaKey === undefined || metaKey === '' || metaKey === 'tags' || metaKey === '_tags') {
    const lang = stringParam(call.query.lang, 'lang', 10) ?? 'en';
    // Dictionary labels in their own spelling, prefix matches first, then by use.
    const seen = new Map<string, number>();
    for (const row of call.ctx.store.listTags(q || undefined, 500, 0).tags) {
      const names = parseObject(row.names) as Record<string, string>;
      const label = names[lang] ?? names[row.primary_lang] ?? Object.values(names)[0] ?? row.slug;
      if (!seen.has(label)) seen.set(label, facets.tagCount(label));
    }
    const lower = q.toLowerCase();
    const tags = [...seen]
      .map(([tag, count]) => ({ tag, count }))
      .sort(
        (a, b) =>
          Number(b.tag.toLowerCase().startsWith(lower)) - Number(a.tag.toLowerCase().startsWith(lower)) ||
          b.count - a.count ||
          a.tag.localeCompare(b.tag),
      )
      .slice(0, limit);
    return { data: { tags } };
  }
  const key = resolveMetaKey(call, metaKey);
  const values = facets.metaValues(key, limit, q || undefined);
  return { data: { meta_key: key, tags: values.map((v) => ({ tag: v.value, count: v.count })) } };
}

const FACETS = ['tags', 'labels', 'product_ref', 'extension'] as const;

function filters(call: Call): Record<string, unknown> {
  const filterBy = stringParam(call.query.filter_by, 'filter_by', 500);
  const format = stringParam(call.query.format, 'format', 20) ?? 'list';
  if (format !== 'list')
    throw badRequest('INVALID_PARAMETER', `"format" must be "list"; got ${JSON.stringify(format)}.`);
  const limit = intParam(call.query.limit, 'limit', { min: 1, max: 1000, fallback: 200 });
  if (!filterBy) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"filter_by" is required.',
      `Use filetype, ${FACETS.join(', ')}, or a metadata key (comma-separated for several), e.g. ?filter_by=filetype&format=list`,
    );
  }
  const { facets } = call.ctx.catalog;
  const keys = filterBy
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (keys.includes('filetype')) {
    if (keys.length > 1)
      throw badRequest('INVALID_PARAMETER', '"filter_by=filetype" answers its own shape; ask for it alone.');
    const types = facets.fileTypes(limit).map((t) => {
      const [major, minor] = t.value.split('/');
      return {
        name: minor ? `${major} › ${minor}` : t.value,
        value: t.value.replace('/', '_'),
        count: t.count,
      };
    });
    return { filters: { file_types: types } };
  }
  const valuesOf = (key: string): ValueCount[] => {
    switch (key) {
      case 'tags':
      case 'tag':
        return facets.tagLabels(limit);
      case 'labels':
      case 'label':
        return facets.labels(limit);
      case 'product_ref':
      case 'product':
      case 'products':
        return facets.productRefs(limit);
      case 'extension':
      case 'ext':
        return facets.extensions(limit);
      default:
        return facets.metaValues(resolveMetaKey(call, key), limit);
    }
  };
  return {
    filters: keys.map((key) => {
      const values = valuesOf(key);
      return { key, values: values.map((v) => v.value), counts: values.map((v) => v.count) };
    }),
  };
}

function previews(call: Call): Record<string, unknown> {
  const body = bodyObject(call.body);
  if (!Array.isArray(body.folders) || body.folders.length === 0) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"folders" must be a non-empty array of folder uuids.',
      'Example: {"folders": ["<uuid>"]}',
    );
  }
  if (body.folders.length > 200)
    throw badRequest(
      'INVALID_PARAMETER',
      `"folders" holds ${body.folders.length} uuids; at most 200 are accepted at once.`,
    );
  const uuids = [...new Set(body.folders.map((v, i) => uuidParam(v, `folders[${i}]`)))];
  const limit = intParam(body.limit ?? call.query.limit, 'limit', { min: 1, max: 20, fallback: 4 });
  const { store, catalog } = call.ctx;
  const folders: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const uuid of uuids) {
    const folder = store.folderByUuid(uuid);
    // One vanished folder must not blank a whole grid of previews: it is reported, not fatal.
    if (!folder) {
      missing.push(uuid);
      continue;
    }
    folders[uuid] = catalog.facets.previews(folder, limit).map((file) => ({
      file_uuid: file.uuid,
      file_uri_cdn: cdnUrl(call.url, file),
      file_type: file.type,
      preview_origin: file.folder_uuid === uuid ? 'folder' : 'subfolder',
    }));
  }
  return { folders, not_found_uuids: missing };
}

export const browseRoutes: RouteSpec[] = [
  {
    method: 'GET',
    path: '/metadata/autocomplete',
    versions: ['v5'],
    permissions: ['OBJECTS_LIST'],
    summary: 'Tag or metadata value suggestions',
    handler: autocomplete,
  },
  {
    method: 'GET',
    path: '/filters',
    versions: ['v5'],
    permissions: ['OBJECTS_LIST'],
    summary: 'Facet values with counts (file types, tags, metadata)',
    handler: filters,
  },
  {
    method: 'POST',
    path: '/folders/previews',
    versions: ['v5'],
    permissions: ['OBJECTS_FETCH'],
    summary: 'Newest images of each folder subtree',
    handler: previews,
  },
  {
    // This server derives no image variants, so every asset answers the documented envelope with none.
    method: 'GET',
    path: '/files/:uuid/variants',
    versions: ['v4'],
    permissions: ['OBJECTS_FETCH'],
    summary: 'Image variants of an asset (always none here)',
    handler: (call) => {
      const file = call.ctx.store.requireFile(uuidParam(call.params.uuid, 'uuid'));
      return { file_uuid: file.uuid, variants: [] };
    },
  },
];
