import type { Share, ShareItem } from '../types.js';
import { Resource, seg, type CallOptions } from './resource.js';

export interface ShareInput {
  title: string;
  description?: string;
  items: ShareItem[];
  starts_at?: string | Date;
  expires_at?: string | Date;
  starts_tz?: string;
  expires_tz?: string;
  /** Password protection; never echoed back by the API. */
  auth?: Array<{ user?: string; pass: string }>;
}

/** Shareboxes: public links to a set of assets (v5). */
export class Shares extends Resource {
  async list(options: CallOptions = {}): Promise<Share[]> {
    return (
      await this.core.json<{ shares: Share[] }>({ method: 'GET', path: '/shares', version: 'v5', ...options })
    ).shares;
  }

  async create(input: ShareInput, options: CallOptions = {}): Promise<Share> {
    const json = {
      ...input,
      starts_at: input.starts_at instanceof Date ? input.starts_at.toISOString() : input.starts_at,
      expires_at: input.expires_at instanceof Date ? input.expires_at.toISOString() : input.expires_at,
    };
    return (
      await this.core.json<{ share: Share }>({
        method: 'POST',
        path: '/shares',
        version: 'v5',
        json,
        ...options,
      })
    ).share;
  }

  /** One sharebox (an sfx server extension). */
  async get(uuid: string, options: CallOptions = {}): Promise<Share> {
    return (
      await this.core.json<{ share: Share }>({
        method: 'GET',
        path: `/shares/${seg(uuid, 'uuid')}`,
        version: 'v5',
        ...options,
      })
    ).share;
  }

  /** Deletes a sharebox (an sfx server extension). */
  async delete(uuid: string, options: CallOptions = {}): Promise<void> {
    await this.core.json({
      method: 'DELETE',
      path: `/shares/${seg(uuid, 'uuid')}`,
      version: 'v5',
      ...options,
    });
  }
}
