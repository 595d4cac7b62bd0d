import type { Label } from '../types.js';
import { Resource, type CallOptions } from './resource.js';

export interface LabelInput {
  name: string;
  color?: string;
  shape?: string;
  is_pinned?: boolean;
  permissions?: Record<string, { scope: string; ids: string[] | null }>;
}

/** Labels (v5). Attaching them to assets goes through `bulk` (`labels.add` / `labels.del`). */
export class Labels extends Resource {
  async list(options: CallOptions = {}): Promise<Label[]> {
    return (
      await this.core.json<{ labels: Label[] }>({ method: 'GET', path: '/labels', version: 'v5', ...options })
    ).labels;
  }

  async create(label: LabelInput, options: CallOptions = {}): Promise<Label> {
    return (
      await this.core.json<{ label: Label }>({
        method: 'POST',
        path: '/labels',
        version: 'v5',
        json: { label },
        ...options,
      })
    ).label;
  }
}
