/**
 * Short-lived SASS keys for browser uploads. The console makes (once per connection) a security
 * template that can only list folders and upload, exchanges it for a SASS key, and keeps the key
 * until shortly before it expires. Uploads from the browser are sent with that key, never with the
 * connection's API key.
 */
import { Filerobot } from '@sfx/client';

const TEMPLATE_NAME = 'sfx console uploads';
// OBJECTS_FETCH: an upload of content the folder already has answers with the existing asset, which is fetched.
const PERMISSIONS = ['OBJECTS_LIST', 'OBJECTS_FETCH', 'FILE_UPLOAD', 'DIR_CREATE'];

interface Held {
  client: Filerobot;
  expiresAt: number;
}

export class UploadKeys {
  private readonly held = new Map<string, Promise<Held>>();

  constructor(private readonly ttlSeconds: number) {}

  /** A client that holds only the upload SASS key of `connection`. */
  async uploader(connection: string, admin: Filerobot): Promise<Filerobot> {
    let held = this.held.get(connection);
    const now = Date.now();
    if (held) {
      const h = await held.catch(() => undefined);
      // Renewed a minute early, so an upload that starts now does not outlive its key.
      if (!h || h.expiresAt - 60_000 <= now) {
        this.held.delete(connection);
        if (h) void h.client.close();
        held = undefined;
      }
    }
    if (!held) {
      held = this.mint(admin);
      held.catch(() => this.held.delete(connection));
      this.held.set(connection, held);
    }
    return (await held).client;
  }

  private async mint(admin: Filerobot): Promise<Held> {
    const templates = await admin.access.templates.list();
    let template = templates.find((t) => t.name === TEMPLATE_NAME && t.active !== false);
    if (!template)
      template = await admin.access.templates.create({ name: TEMPLATE_NAME, permissions: PERMISSIONS, validity_seconds: this.ttlSeconds });
    const key = await admin.access.exchange(template.id);
    const { base, token } = admin.endpoint;
    const client = new Filerobot({ endpoint: base, token, apiKey: key });
    return { client, expiresAt: Date.now() + (template.validity_seconds ?? this.ttlSeconds) * 1000 };
  }

  async close(): Promise<void> {
    for (const held of this.held.values()) await held.then((h) => h.client.close(), () => undefined);
  }
}
