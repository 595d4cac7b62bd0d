/**
 * Short-lived SASS keys for uploads from the Assets page. For each connection and upload folder the
 * console makes a security template that can only upload into that folder (and below, for a dropped
 * folder's subfolders) and fetch what is there, exchanges it for a SASS key, and keeps the key until
 * shortly before it expires. Uploads are sent with that key, never with the connection's API key, so
 * a key that escaped could do no more than that, and not for long.
 */
import { Filerobot, type SecurityTemplate } from '@sfx/client';
import { SharedClient } from './shared-client.js';

const TEMPLATE_NAME = 'sfx console uploads';
// OBJECTS_FETCH: an upload of content the folder already has answers with the existing asset, which is fetched.
export const UPLOAD_PERMISSIONS = ['FILE_UPLOAD', 'OBJECTS_FETCH'] as const;

/** A key being minted or minted: its client, and (once minted) when to stop handing it out. */
interface Held {
  shared: SharedClient;
  expiresAt: Promise<number>;
}

/** `/products/*`: the folder and everything below it. */
export function uploadScope(folder: string): string {
  const base = folder.replace(/\/+/g, '/').replace(/\/$/, '');
  return base === '' ? '/*' : `${base}/*`;
}

export class UploadKeys {
  private readonly held = new Map<string, Held>();
  /** Every key client not closed yet: those above, and replaced ones still used by an upload. */
  private readonly open = new Set<SharedClient>();

  constructor(private readonly ttlSeconds: number) {}

  /**
   * A client that holds only an upload SASS key of `connection` for `folder` and below, kept open
   * until `until` settles (the upload's request is over) even if the key is renewed or forgotten.
   */
  async uploader(connection: string, admin: Filerobot, folder: string, until: Promise<unknown>): Promise<Filerobot> {
    const scope = uploadScope(folder);
    const id = `${connection}\n${scope}`;
    for (;;) {
      const known = this.held.get(id);
      const held = known ?? this.start(id, admin, scope);
      // Held before waiting, so a renewal or a forget meanwhile cannot close it under this upload.
      const release = held.shared.hold();
      let expiresAt: number;
      try {
        expiresAt = await held.expiresAt;
      } catch (error) {
        release();
        if (this.held.get(id) === held) this.held.delete(id);
        // A mint that failed for an earlier upload is tried again; this upload's own failure is its answer.
        if (!known) throw error;
        continue;
      }
      // Renewed a minute early, so an upload that starts now does not outlive its key.
      const stale = known && (held.shared.retired || expiresAt - 60_000 <= Date.now());
      if (stale) {
        void this.retire(id, held);
        release();
        continue;
      }
      void until.then(release, release);
      return held.shared.client;
    }
  }

  private start(id: string, admin: Filerobot, scope: string): Held {
    const minted = this.mint(admin, scope);
    const shared: SharedClient = new SharedClient(
      minted.then((m) => m.client),
      () => this.open.delete(shared),
    );
    const held = { shared, expiresAt: minted.then((m) => m.expiresAt) };
    this.open.add(shared);
    shared.client.catch(() => {
      this.open.delete(shared);
      if (this.held.get(id) === held) this.held.delete(id);
    });
    this.held.set(id, held);
    return held;
  }

  private retire(id: string, held: Held): Promise<void> {
    if (this.held.get(id) === held) this.held.delete(id);
    return held.shared.retire();
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

  private async mint(admin: Filerobot, scope: string): Promise<{ client: Filerobot; expiresAt: number }> {
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

  /**
   * Drops the keys of a connection that changed or went: they were minted with its old credentials.
   * A key an upload still uses closes when that upload's request is over.
   */
  async forget(connection: string): Promise<void> {
    const retiring: Array<Promise<void>> = [];
    for (const [id, held] of [...this.held]) if (id.startsWith(`${connection}\n`)) retiring.push(this.retire(id, held));
    await Promise.all(retiring);
  }

  async close(): Promise<void> {
    this.held.clear();
    for (const shared of [...this.open]) await shared.close();
  }
}
