import { FilerobotError } from '../core/errors.js';
import type { ApiCore } from '../core/http.js';
import type { ApiKey, SecurityTemplate, SecurityTemplateFields } from '../types.js';
import { Resource, seg, type CallOptions } from './resource.js';

export type TemplateInput = SecurityTemplateFields;

/** What `currentKey()` tells about the presented key: an API key, or a SASS key from a template. */
export interface PresentedKey {
  type: 'api_key' | 'sass';
  permissions: string[];
  active: boolean;
  description?: string;
  /** API keys only. */
  uuid?: string;
  /** SASS keys only. */
  expires_at?: string;
  [field: string]: unknown;
}

/**
 * API keys and security templates (`/v5/access/...`; sfx server extensions, since the real API's
 * management endpoints are undocumented), and the documented SASS key exchange.
 */
export class Access extends Resource {
  readonly keys = {
    list: async (options: CallOptions = {}): Promise<ApiKey[]> =>
      (
        await this.core.json<{ keys: ApiKey[] }>({
          method: 'GET',
          path: '/access/keys',
          version: 'v5',
          ...options,
        })
      ).keys,
    /** Creates a key; its `secret` is in this reply only. */
    create: async (
      input: { description?: string; permissions: string[] },
      options: CallOptions = {},
    ): Promise<ApiKey> =>
      (
        await this.core.json<{ key: ApiKey }>({
          method: 'POST',
          path: '/access/keys',
          version: 'v5',
          json: input,
          ...options,
        })
      ).key,
    get: async (uuid: string, options: CallOptions = {}): Promise<ApiKey> =>
      (
        await this.core.json<{ key: ApiKey }>({
          method: 'GET',
          path: `/access/keys/${seg(uuid, 'uuid')}`,
          version: 'v5',
          ...options,
        })
      ).key,
    /** `{active: false}` deactivates, `{active: true}` reactivates. */
    update: async (
      uuid: string,
      changes: { description?: string; permissions?: string[]; active?: boolean },
      options: CallOptions = {},
    ): Promise<ApiKey> =>
      (
        await this.core.json<{ key: ApiKey }>({
          method: 'PATCH',
          path: `/access/keys/${seg(uuid, 'uuid')}`,
          version: 'v5',
          json: changes,
          ...options,
        })
      ).key,
    delete: async (uuid: string, options: CallOptions = {}): Promise<void> => {
      await this.core.json({
        method: 'DELETE',
        path: `/access/keys/${seg(uuid, 'uuid')}`,
        version: 'v5',
        ...options,
      });
    },
  };

  readonly templates = {
    list: async (options: CallOptions = {}): Promise<SecurityTemplate[]> =>
      (
        await this.core.json<{ templates: SecurityTemplate[] }>({
          method: 'GET',
          path: '/access/templates',
          version: 'v5',
          ...options,
        })
      ).templates,
    create: async (input: TemplateInput, options: CallOptions = {}): Promise<SecurityTemplate> =>
      (
        await this.core.json<{ template: SecurityTemplate }>({
          method: 'POST',
          path: '/access/templates',
          version: 'v5',
          json: input,
          ...options,
        })
      ).template,
    get: async (id: string, options: CallOptions = {}): Promise<SecurityTemplate> =>
      (
        await this.core.json<{ template: SecurityTemplate }>({
          method: 'GET',
          path: `/access/templates/${seg(id, 'id')}`,
          version: 'v5',
          ...options,
        })
      ).template,
    update: async (
      id: string,
      changes: Partial<TemplateInput>,
      options: CallOptions = {},
    ): Promise<SecurityTemplate> =>
      (
        await this.core.json<{ template: SecurityTemplate }>({
          method: 'PATCH',
          path: `/access/templates/${seg(id, 'id')}`,
          version: 'v5',
          json: changes,
          ...options,
        })
      ).template,
    delete: async (id: string, options: CallOptions = {}): Promise<void> => {
      await this.core.json({
        method: 'DELETE',
        path: `/access/templates/${seg(id, 'id')}`,
        version: 'v5',
        ...options,
      });
    },
  };

  /**
   * The key this client presents, with its permissions (`GET /v5/access/key`, an sfx server
   * extension: the real API has no such call, and answers it with a 404).
   */
  async currentKey(options: CallOptions = {}): Promise<PresentedKey> {
    return (
      await this.core.json<{ key: PresentedKey }>({ method: 'GET', path: '/access/key', version: 'v5', ...options })
    ).key;
  }

  /** Swaps a security template id for a SASS key (`GET /{token}/key/{id}`, no API key sent). */
  async exchange(templateId: string, options: CallOptions = {}): Promise<string> {
    return exchangeTemplate(this.core, templateId, options);
  }
}

export async function exchangeTemplate(
  core: ApiCore,
  templateId: string,
  options: CallOptions = {},
): Promise<string> {
  const reply = await core.json<{ key?: string }>({
    method: 'GET',
    path: `/key/${seg(templateId, 'templateId')}`,
    version: 'none',
    auth: false,
    ...options,
  });
  if (!reply.key) throw new FilerobotError('The key exchange reply held no "key".');
  return reply.key;
}
