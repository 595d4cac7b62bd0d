import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

type Key = { uuid: string; secret: string; description: string; permissions: string[]; active: boolean; root: boolean };
type Template = { id: string; name: string; permissions: string[]; active: boolean };

let h: Harness;
/** A key that manages access but holds little else: the escalation the rules stop. */
let manager: Key;
let rootUuid: string;

async function createKey(permissions: string[], description = 'k'): Promise<Key> {
  const r = await h.call('POST', '/access/keys', { body: { description, permissions } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.key as Key;
}

async function createTemplate(permissions: string[]): Promise<Template> {
  const r = await h.call('POST', '/access/templates', { body: { name: 'tpl', permissions } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.template as Template;
}

const asManager = (body?: unknown): { key: string; body?: unknown } => ({ key: manager.secret, body });
const keyNow = async (uuid: string): Promise<Key> => (await h.call('GET', `/access/keys/${uuid}`)).body.key as Key;
const templateNow = async (id: string): Promise<Template> =>
  (await h.call('GET', `/access/templates/${id}`)).body.template as Template;

beforeAll(async () => {
  h = await startHarness();
  manager = await createKey(['ACCESS_READ', 'ACCESS_MANAGE', 'OBJECTS_LIST', 'FILE_UPLOAD'], 'manager');
  const keys = (await h.call('GET', '/access/keys')).body.keys as Key[];
  rootUuid = keys.find((k) => k.root)!.uuid;
});
afterAll(async () => {
  await h.close();
});

describe('ACCESS_MANAGE grants only what the caller holds', () => {
  it('refuses to create a key with a permission the caller lacks, naming it', async () => {
    const r = await h.call('POST', '/access/keys', asManager({ permissions: ['OBJECTS_LIST', 'FILE_DELETE', 'CONFIG_CHANGE'] }));
    expect([r.status, r.body.code]).toEqual([403, 'PERMISSION_NOT_GRANTABLE']);
    expect(r.body.permissions).toEqual(['FILE_DELETE', 'CONFIG_CHANGE']);
    expect(String(r.body.msg)).toContain('FILE_DELETE, CONFIG_CHANGE');
    expect(((await h.call('GET', '/access/keys')).body.keys as Key[]).length).toBe(2);

    const ok = await h.call('POST', '/access/keys', asManager({ permissions: ['OBJECTS_LIST', 'FILE_UPLOAD'] }));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });

  it('refuses to create a security template with a permission the caller lacks', async () => {
    const r = await h.call('POST', '/access/templates', asManager({ name: 'widget', permissions: ['FILE_UPLOAD', 'FILE_DELETE'] }));
    expect([r.status, r.body.code, r.body.permissions]).toEqual([403, 'PERMISSION_NOT_GRANTABLE', ['FILE_DELETE']]);
    expect((await h.call('GET', '/access/templates')).body.templates).toEqual([]);
    const ok = await h.call('POST', '/access/templates', asManager({ name: 'widget', permissions: ['FILE_UPLOAD'] }));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    await h.call('DELETE', `/access/templates/${(ok.body.template as Template).id}`);
  });

  it('refuses to widen a key or template, its own key included, beyond what the caller holds', async () => {
    const weak = await createKey(['OBJECTS_LIST']);
    const widen = await h.call('PATCH', `/access/keys/${weak.uuid}`, asManager({ permissions: ['OBJECTS_LIST', 'FILE_DELETE'] }));
    expect([widen.status, widen.body.code]).toEqual([403, 'PERMISSION_NOT_GRANTABLE']);
    expect((await keyNow(weak.uuid)).permissions).toEqual(['OBJECTS_LIST']);

    const self = await h.call('PATCH', `/access/keys/${manager.uuid}`, asManager({ permissions: [...manager.permissions, 'CONFIG_CHANGE'] }));
    expect([self.status, self.body.code]).toEqual([403, 'PERMISSION_NOT_GRANTABLE']);
    expect((await keyNow(manager.uuid)).permissions).toEqual(manager.permissions);

    const template = await createTemplate(['OBJECTS_LIST']);
    const t = await h.call('PATCH', `/access/templates/${template.id}`, asManager({ permissions: ['OBJECTS_LIST', 'FILE_DELETE'] }));
    expect([t.status, t.body.code]).toEqual([403, 'PERMISSION_NOT_GRANTABLE']);
    expect((await templateNow(template.id)).permissions).toEqual(['OBJECTS_LIST']);
  });
});

describe('ACCESS_MANAGE reaches only keys and templates holding no more than the caller', () => {
  it('cannot rename, deactivate, reactivate or delete a stronger key', async () => {
    const strong = await createKey(['OBJECTS_LIST', 'FILE_DELETE'], 'strong');
    for (const body of [{ description: 'mine now' }, { active: false }, { permissions: ['OBJECTS_LIST'] }]) {
      const r = await h.call('PATCH', `/access/keys/${strong.uuid}`, asManager(body));
      expect([r.status, r.body.code, r.body.permissions], JSON.stringify(body)).toEqual([403, 'PERMISSIONS_EXCEED_CALLER', ['FILE_DELETE']]);
    }
    const del = await h.call('DELETE', `/access/keys/${strong.uuid}`, asManager());
    expect([del.status, del.body.code]).toEqual([403, 'PERMISSIONS_EXCEED_CALLER']);
    expect(await keyNow(strong.uuid)).toMatchObject({ description: 'strong', active: true, permissions: ['OBJECTS_LIST', 'FILE_DELETE'] });

    // Switched off by someone who may: the manager cannot switch it back on.
    expect((await h.call('PATCH', `/access/keys/${strong.uuid}`, { body: { active: false } })).status).toBe(200);
    const revive = await h.call('PATCH', `/access/keys/${strong.uuid}`, asManager({ active: true }));
    expect([revive.status, revive.body.code]).toEqual([403, 'PERMISSIONS_EXCEED_CALLER']);
    expect((await keyNow(strong.uuid)).active).toBe(false);
    expect((await h.call('GET', '/access/key', { key: strong.secret })).body.code).toBe('KEY_DEACTIVATED');
  });

  it('manages keys within its reach: rename, deactivate, reactivate, delete', async () => {
    const weak = await createKey(['OBJECTS_LIST', 'FILE_UPLOAD'], 'weak');
    const renamed = await h.call('PATCH', `/access/keys/${weak.uuid}`, asManager({ description: 'renamed', active: false }));
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    expect(renamed.body.key).toMatchObject({ description: 'renamed', active: false });
    expect((await h.call('PATCH', `/access/keys/${weak.uuid}`, asManager({ active: true }))).body.key).toMatchObject({ active: true });
    expect((await h.call('DELETE', `/access/keys/${weak.uuid}`, asManager())).status).toBe(200);
    expect((await h.call('GET', `/access/keys/${weak.uuid}`)).status).toBe(404);
  });

  it('cannot change, deactivate, reactivate or delete a stronger template', async () => {
    const strong = await createTemplate(['OBJECTS_LIST', 'CONFIG_CHANGE']);
    for (const body of [{ name: 'mine' }, { active: false }, { permissions: ['OBJECTS_LIST'] }]) {
      const r = await h.call('PATCH', `/access/templates/${strong.id}`, asManager(body));
      expect([r.status, r.body.code, r.body.permissions], JSON.stringify(body)).toEqual([403, 'PERMISSIONS_EXCEED_CALLER', ['CONFIG_CHANGE']]);
    }
    expect((await h.call('DELETE', `/access/templates/${strong.id}`, asManager())).body.code).toBe('PERMISSIONS_EXCEED_CALLER');
    expect(await templateNow(strong.id)).toMatchObject({ name: 'tpl', active: true });

    await h.call('PATCH', `/access/templates/${strong.id}`, { body: { active: false } });
    const revive = await h.call('PATCH', `/access/templates/${strong.id}`, asManager({ active: true }));
    expect([revive.status, revive.body.code]).toEqual([403, 'PERMISSIONS_EXCEED_CALLER']);
    expect((await templateNow(strong.id)).active).toBe(false);

    const weak = await createTemplate(['FILE_UPLOAD']);
    expect((await h.call('PATCH', `/access/templates/${weak.id}`, asManager({ name: 'uploads', active: false }))).status).toBe(200);
    expect((await h.call('DELETE', `/access/templates/${weak.id}`, asManager())).status).toBe(200);
  });
});

describe('ACCESS_READ and template ids', () => {
  it('shows a key only the templates it holds every permission of: their id would mint keys with the rest', async () => {
    const reader = await createKey(['ACCESS_READ', 'OBJECTS_LIST']);
    const strong = await createTemplate(['OBJECTS_LIST', 'FILE_DELETE']);
    const weak = await createTemplate(['OBJECTS_LIST']);
    const listed = await h.call('GET', '/access/templates', { key: reader.secret });
    const ids = (listed.body.templates as Template[]).map((t) => t.id);
    expect(ids).toContain(weak.id);
    expect(ids).not.toContain(strong.id);
    expect(JSON.stringify(listed.body)).not.toContain(strong.id);
    const all = (await h.call('GET', '/access/templates')).body.templates as Template[];
    expect(listed.body.beyond_reach).toBe(all.length - ids.length);
    expect(listed.body.beyond_reach).toBeGreaterThan(0);

    const one = await h.call('GET', `/access/templates/${strong.id}`, { key: reader.secret });
    expect([one.status, one.body.code]).toEqual([403, 'PERMISSIONS_EXCEED_CALLER']);
    expect(JSON.stringify(one.body)).not.toContain(strong.id);
    expect((await h.call('GET', `/access/templates/${weak.id}`, { key: reader.secret })).status).toBe(200);
    expect((await h.call('GET', '/access/templates')).body.beyond_reach).toBe(0);
  });
});

describe('the root key is fixed', () => {
  it('cannot be renamed, narrowed, deactivated or deleted, by any key, itself included', async () => {
    for (const key of [manager.secret, h.server.rootKey]) {
      for (const body of [{ description: 'not root' }, { active: false }, { permissions: ['OBJECTS_LIST'] }, { active: true }]) {
        const r = await h.call('PATCH', `/access/keys/${rootUuid}`, { key, body });
        expect([r.status, r.body.code], JSON.stringify(body)).toEqual([403, 'ROOT_KEY_IMMUTABLE']);
        expect(String(r.body.hint)).toContain('--root-key');
      }
      const del = await h.call('DELETE', `/access/keys/${rootUuid}`, { key });
      expect([del.status, del.body.code]).toEqual([403, 'ROOT_KEY_IMMUTABLE']);
    }
    expect(await keyNow(rootUuid)).toMatchObject({ description: 'root key', active: true, root: true });
    expect((await h.call('GET', '/access/key')).status).toBe(200);
  });
});

describe('SASS keys', () => {
  it('cannot change or delete keys or templates even when the template grants ACCESS_MANAGE', async () => {
    const template = await createTemplate(['ACCESS_READ', 'ACCESS_MANAGE']);
    const sass = (await h.call('GET', `${h.server.url}/${h.server.token}/key/${template.id}`, { key: null })).body.key as string;
    const weak = await createKey(['OBJECTS_LIST'], 'weak');
    for (const [method, path, body] of [
      ['PATCH', `/access/keys/${weak.uuid}`, { description: 'x' }],
      ['DELETE', `/access/keys/${weak.uuid}`, undefined],
      ['PATCH', `/access/templates/${template.id}`, { name: 'x' }],
      ['DELETE', `/access/templates/${template.id}`, undefined],
    ] as const) {
      const r = await h.call(method, path, { key: sass, body });
      expect([r.status, r.body.code], `${method} ${path}`).toEqual([403, 'SASS_KEY_NOT_ALLOWED']);
    }
    expect((await keyNow(weak.uuid)).description).toBe('weak');
  });
});
