/**
 * Short-lived SASS keys for uploads from the Assets page. For each connection and upload folder the
 * console makes a security template that can only upload into that folder (and below, for a dropped
 * folder's subfolders) and fetch what is there, exchanges it for a SASS key, and keeps the key until
 * shortly before it expires. Uploads are sent with that key, never with the connection's API key, so
 * a key that escaped could do no more than that, and not for long.
 */
import { Filerobot, type SecurityTemplate } from '@sfx/client';

const TEMPLATE_NAME = 'sfx console uploads';
// OBJECTS_FETCH: an upload of content the folder already has answers with the existing asset, which is fetched.
export const UPLOAD_PERMISSIONS = ['FILE_UPLOAD', 'OBJECTS_FETCH'] as const;

interface Held {
  client: Filerobot;
  expiresAt: number;
}

/** `/products/*`: the folder and everything below it. */
export function uploadScope(folder: string): string {
  const base = folder.replace(/\/+/g, '/').replace(/\/$/, '');
  return base === '' ? '/*' : `${base}/*`;
}

export class UploadKeys {
  private readonly held = new Map<string, Promise<Held>>();

  constructor(private readonly ttlSeconds: number) {}

  /** A client that holds only an upload SASS key of `connection` for `folder` and below. */
  async uploader(connection: string, admin: Filerobot, folder: string): Promise<Filerobot> {
    const scope = uploadScope(folder);
    const id = `${connection}\n${scope}`;
    let held = this.held.get(id);
    const now = Date.now();
    if (held) {
      const h = await held.catch(() => undefined);
      // Renewed a minute early, so an upload that starts now does not outlive its key.
      if (!h || h.expiresAt - 60_000 <= now) {
        this.held.delete(id);
        if (h) void h.client.close();
        held = undefined;
      }
    }
    if (!held) {
      held = this.mint(admin, scope);
      held.catch(() => this.held.delete(id));
      this.held.set(id, held);
    }
    return (await held).client;
  }

  /**
   * A template of ours is reused only when it grants exactly this: a template of the same name
   * with more permissions, another scope or a longer life (an older sfx, a hand edit) is not.
   */
  private fits(template: SecurityTemplate, scope: string): boolean {
    const granted = [...(template.permissions ?? [])].sort().join(',');
    return (
      template.name === `${TEMPLATE_NAME} ${scope}` &&
      template.active !== false &&
      granted === [...UPLOAD_PERMISSIONS].sort().join(',') &&
      template.dir_scope === scope &&
      template.list_scope === scope &&
      typeof template.validity_seconds === 'number' &&
      template.validity_seconds <= this.ttlSeconds
    );
  }

  private async mint(admin: Filerobot, scope: string): Promise<Held> {
    const templates = await admin.access.templates.list();
    const template =
      templates.find((t) => this.fits(t, scope)) ??
      (await admin.access.templates.create({
        name: `${TEMPLATE_NAME} ${scope}`,
        permissions: [...UPLOAD_PERMISSIONS],
        validity_seconds: this.ttlSeconds,
        dir_scope: scope,
        list_scope: scope,
      }));
    const key = await admin.access.exchange(template.id);
    const { base, token } = admin.endpoint;
    const client = new Filerobot({ endpoint: base, token, apiKey: key });
    return { client, expiresAt: Date.now() + Math.min(template.validity_seconds ?? this.ttlSeconds, this.ttlSeconds) * 1000 };
  }

  /** Drops the keys of a connection that changed or went: they were minted with its old credentials. */
  async forget(connection: string): Promise<void> {
    const dropped: Array<Promise<Held>> = [];
    for (const [id, held] of this.held)
      if (id.startsWith(`${connection}\n`)) {
        this.held.delete(id);
        dropped.push(held);
      }
    for (const held of dropped) await held.then((h) => h.client.close(), () => undefined);
  }

  async close(): Promise<void> {
    for (const held of this.held.values()) await held.then((h) => h.client.close(), () => undefined);
  }
}
