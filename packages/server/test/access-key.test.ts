import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../src/index.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('GET /v5/access/key (extension): the presented key', () => {
  it('shows a key its own grants, whatever it was granted, and never its secret', async () => {
    const created = await h.call('POST', '/access/keys', { body: { description: 'pim sync', permissions: ['FILE_UPLOAD'] } });
    const key = created.body.key as { uuid: string; secret: string };
    const r = await h.call('GET', '/access/key', { key: key.secret });
    expect(r.status).toBe(200);
    expect(r.body.key).toMatchObject({ type: 'api_key', uuid: key.uuid, description: 'pim sync', permissions: ['FILE_UPLOAD'], active: true });
    expect(JSON.stringify(r.body)).not.toContain(key.secret);

    const root = await h.call('GET', '/access/key');
    expect((root.body.key as { permissions: string[] }).permissions).toEqual([...PERMISSIONS]);
    expect(JSON.stringify(root.body)).not.toContain(h.server.rootKey);
  });

  it('refuses a missing, unknown or deactivated key like any other route', async () => {
    expect((await h.call('GET', '/access/key', { key: null })).body.code).toBe('UNAUTHORIZED');
    expect((await h.call('GET', '/access/key', { key: 'not-a-key' })).status).toBe(401);
    const created = await h.call('POST', '/access/keys', { body: { permissions: ['OBJECTS_LIST'] } });
    const key = created.body.key as { uuid: string; secret: string };
    await h.call('PATCH', `/access/keys/${key.uuid}`, { body: { active: false } });
    const r = await h.call('GET', '/access/key', { key: key.secret });
    expect([r.status, r.body.code]).toEqual([401, 'KEY_DEACTIVATED']);
  });

  it("shows a SASS key its template's permissions and expiry, not the template id", async () => {
    const made = await h.call('POST', '/access/templates', {
      body: { name: 'widget', permissions: ['OBJECTS_LIST', 'FILE_UPLOAD'], validity_seconds: 600, list_scope: '/incoming' },
    });
    const template = made.body.template as { id: string };
    const exchanged = await h.call('GET', `${h.server.url}/${h.server.token}/key/${template.id}`, { key: null });
    const sass = exchanged.body.key as string;
    const r = await h.call('GET', '/access/key', { key: sass });
    expect(r.status).toBe(200);
    const shown = r.body.key as { type: string; permissions: string[]; expires_at: string; description: string };
    expect(shown).toMatchObject({ type: 'sass', description: 'widget', active: true });
    expect(shown.permissions.sort()).toEqual(['FILE_UPLOAD', 'OBJECTS_LIST']);
    expect(Date.parse(shown.expires_at)).toBeGreaterThan(Date.now());
    expect(JSON.stringify(r.body)).not.toContain(template.id);
    expect(JSON.stringify(r.body)).not.toContain(sass);
  });
});
