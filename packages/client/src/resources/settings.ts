import { Resource, seg, type CallOptions } from './resource.js';

export interface MetadataField {
  uuid?: string;
  key: string;
  ckey?: string;
  title?: string | Record<string, string>;
  type: string;
  required?: number | boolean;
  possible_values?: Array<{
    api_value: string;
    internal_unique_value?: string;
    label?: string | Record<string, string>;
  }>;
  [field: string]: unknown;
}

export interface MetadataModelEntry {
  applies_to?: 'FILES' | 'DIRECTORIES' | 'PRODUCTS' | string;
  groups: Array<{
    uuid?: string;
    name?: string;
    title?: string;
    fields: MetadataField[];
    [field: string]: unknown;
  }>;
  [field: string]: unknown;
}

export interface ProjectSettings {
  metadata?: { model?: MetadataModelEntry[]; [field: string]: unknown };
  [field: string]: unknown;
}

/** Project settings, the metadata model, facets. */
export class Settings extends Resource {
  /** Project settings incl. the metadata model (nested under `settings` in some replies; unwrapped here). */
  async get(options: CallOptions = {}): Promise<ProjectSettings> {
    const reply = await this.core.json<{ settings?: ProjectSettings } & ProjectSettings>({
      method: 'GET',
      path: '/settings',
      ...options,
    });
    return reply.settings ?? reply;
  }

  /** The public subset of the settings (v5; no key needed). */
  async getPublic(options: CallOptions = {}): Promise<ProjectSettings> {
    const reply = await this.core.json<{ settings?: ProjectSettings } & ProjectSettings>({
      method: 'GET',
      path: '/public/settings',
      version: 'v5',
      auth: false,
      ...options,
    });
    return reply.settings ?? reply;
  }

  /** Every metadata field of the model (v4). */
  async fields(options: CallOptions = {}): Promise<MetadataField[]> {
    return (
      await this.core.json<{ fields: MetadataField[] }>({
        method: 'GET',
        path: '/meta/model/fields',
        version: 'v4',
        ...options,
      })
    ).fields;
  }

  /** The options of a select field (v4). */
  async fieldOptions(fieldUuid: string, options: CallOptions = {}): Promise<unknown[]> {
    const path = `/meta/model/fields/${seg(fieldUuid, 'fieldUuid')}/options`;
    return (await this.core.json<{ options: unknown[] }>({ method: 'GET', path, version: 'v4', ...options }))
      .options;
  }

  /** Field title translations (v5). */
  async fieldTranslations(lang: string, options: CallOptions = {}): Promise<{ lang: string; fields: unknown }> {
    return this.core.json({ method: 'GET', path: '/meta/model/fields/i18n', version: 'v5', query: { lang }, ...options });
  }

  async setFieldTranslations(body: Record<string, unknown>, options: CallOptions = {}): Promise<unknown> {
    return this.core.json({
      method: 'PUT',
      path: '/meta/model/fields/i18n',
      version: 'v5',
      json: body,
      ...options,
    });
  }

  /** Option label translations of select fields (v5). */
  async optionTranslations(lang: string, options: CallOptions = {}): Promise<{ lang: string; options: unknown }> {
    return this.core.json({
      method: 'GET',
      path: '/meta/model/fields/options/i18n',
      query: { lang },
      version: 'v5',
      ...options,
    });
  }

  /** Metadata keys in use (v5). */
  async attributeKeys(options: CallOptions = {}): Promise<string[]> {
    const reply = await this.core.json<{ keys?: Array<string | { key: string }> }>({
      method: 'GET',
      path: '/attributes/keys',
      version: 'v5',
      ...options,
    });
    return (reply.keys ?? []).map((k) => (typeof k === 'string' ? k : k.key));
  }

  /** Facet values, e.g. `filters('filetype')` → file types with counts (v5). */
  async filters(filterBy: string, options: CallOptions & { limit?: number } = {}): Promise<unknown> {
    const { signal, timeoutMs, limit } = options;
    const reply = await this.core.json<{ filters: unknown }>({
      method: 'GET',
      path: '/filters',
      version: 'v5',
      query: { filter_by: filterBy, format: 'list', limit },
      signal,
      timeoutMs,
    });
    return reply.filters;
  }

  /** Replaces the metadata model (an sfx server extension; on the real API this is done in the Hub). */
  async setMetadataModel(
    model: MetadataModelEntry[],
    options: CallOptions = {},
  ): Promise<ProjectSettings['metadata']> {
    const reply = await this.core.json<{ metadata: ProjectSettings['metadata'] }>({
      method: 'PUT',
      path: '/settings/metadata/model',
      version: 'v5',
      json: { model },
      ...options,
    });
    return reply.metadata;
  }
}
