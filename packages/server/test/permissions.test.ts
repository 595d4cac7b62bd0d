import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, ROUTES, type Permission } from '../src/index.js';
import { urlsOf } from '../src/http/route.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
const keys = new Map<Permission, string>();
const uuid = '6f1c1b1e-0000-4000-8000-000000000000';

beforeAll(async () => {
  h = await startHarness();
  for (const permission of PERMISSIONS) {
    const r = await h.call('POST', '/access/keys', { body: { description: `only ${permission}`, permissions: [permission] } });
    keys.set(permission, (r.body.key as { secret: string }).secret);
  }
});
afterAll(async () => {
  await h.close();
});

/** A concrete URL for a route pattern: placeholders filled with a well-formed but unknown uuid. */
function concrete(pattern: string): string {
  return pattern
    .replace(':token', h.server.token)
    .replace(/:[a-z_]+/g, uuid)
    .replace('*', 'x/y.txt');
}

describe('route table', () => {
  it('every route declares its permissions, and only known ones', () => {
    for (const spec of ROUTES) {
      const entry = spec.permissions;
      expect(entry === 'public' || entry === 'any-key' || (Array.isArray(entry) && entry.length > 0), `${spec.method} ${spec.path}`).toBe(true);
      if (Array.isArray(entry)) for (const p of entry) expect(PERMISSIONS).toContain(p);
    }
  });

  it('the legacy upload path of the PyPI client is served, needing FILE_UPLOAD', () => {
    const legacy = ROUTES.find((spec) => spec.method === 'POST' && spec.path === '/upload');
    expect(legacy && urlsOf(legacy)).toEqual(['/:token/v4/upload']);
    expect(legacy?.permissions).toEqual(['FILE_UPLOAD']);
  });

  it('no two routes claim the same method and URL', () => {
    const seen = new Set<string>();
    for (const spec of ROUTES) {
      for (const url of urlsOf(spec)) {
        const id = `${spec.method} ${url}`;
        expect(seen.has(id), id).toBe(false);
        seen.add(id);
      }
    }
  });
});

describe('allow/deny matrix', () => {
  it('each permission alone passes exactly the routes that need only it; every other route answers 403 naming what is missing', async () => {
    let checked = 0;
    for (const spec of ROUTES) {
      if (spec.permissions === 'public') continue;
      const required = spec.permissions === 'any-key' ? [] : spec.permissions;
      for (const url of urlsOf(spec)) {
        const target = `${h.server.url}${concrete(url)}`;
        // One request per permission, all at once: the 31 keys are independent, and a thousand
        // sequential round trips made this test the slowest of the suite on a loaded machine.
        const replies = await Promise.all(
          PERMISSIONS.map(async (permission) => ({
            permission,
            r: await h.call(spec.method, target, { key: keys.get(permission)!, body: ['POST', 'PUT', 'PATCH', 'DELETE'].includes(spec.method) ? {} : undefined }),
          })),
        );
        for (const { permission, r } of replies) {
          const allowed = required.length === 0 || (required.length === 1 && required[0] === permission);
          if (allowed) {
            expect(r.status, `${spec.method} ${url} with ${permission}`).not.toBe(403);
            expect(r.status).not.toBe(401);
            // Placeholder ids and an empty body must meet a 4xx that names the problem, never a crash.
            expect(r.status, `${spec.method} ${url} with ${permission}: ${JSON.stringify(r.body)}`).toBeLessThan(500);
          } else {
            expect(r.status, `${spec.method} ${url} with ${permission}`).toBe(403);
            // A HEAD reply (tus offsets) has no body: its status is all it can say.
            if (spec.method !== 'HEAD') {
              expect(r.body.code).toBe('PERMISSION_DENIED');
              expect(String(r.body.msg)).toContain(required.find((p) => p !== permission)!);
            }
          }
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('public routes answer without a key (and never with a 401)', async () => {
    const publicRoutes = ROUTES.filter((spec) => spec.permissions === 'public');
    expect(publicRoutes.map((spec) => spec.path)).toEqual(expect.arrayContaining(['/settings', '/public/settings', '/s/:puid/:slug']));
    for (const spec of publicRoutes) {
      for (const url of urlsOf(spec)) {
        const r = await h.call(spec.method, `${h.server.url}${concrete(url)}`, { key: null });
        expect(r.status, `${spec.method} ${url}`).not.toBe(401);
        expect(r.status, `${spec.method} ${url}`).toBeLessThan(500);
      }
    }
  });

  it('routes needing two permissions pass only with both', async () => {
    const both = await h.call('POST', '/access/keys', { body: { permissions: ['FILE_DELETE', 'OBJECTS_FETCH'] } });
    const secret = (both.body.key as { secret: string }).secret;
    const r = await h.call('DELETE', '/files', { key: secret, body: { files_uuids: [uuid] } });
    expect(r.status).toBe(200);
    expect(r.body.not_found_uuids).toEqual([uuid]);
  });
});

describe('API keys', () => {
  it('missing, unknown and deactivated keys get distinct 401s; reactivation works at once; secrets are never listed', async () => {
    expect((await h.call('GET', '/files', { key: null })).body.code).toBe('UNAUTHORIZED');
    expect((await h.call('GET', '/files', { key: 'nope' })).status).toBe(401);
    const created = await h.call('POST', '/access/keys', { body: { description: 'ci', permissions: ['OBJECTS_LIST'] } });
    const key = created.body.key as { uuid: string; secret: string };
    expect((await h.call('GET', '/files', { key: key.secret })).status).toBe(200);
    await h.call('PATCH', `/access/keys/${key.uuid}`, { body: { active: false } });
    const denied = await h.call('GET', '/files', { key: key.secret });
    expect([denied.status, denied.body.code]).toEqual([401, 'KEY_DEACTIVATED']);
    await h.call('PATCH', `/access/keys/${key.uuid}`, { body: { active: true } });
    expect((await h.call('GET', '/files', { key: key.secret })).status).toBe(200);
    const list = await h.call('GET', '/access/keys');
    expect(JSON.stringify(list.body)).not.toContain(key.secret);
    expect(JSON.stringify(list.body)).not.toContain(h.server.rootKey);
    expect((await h.call('POST', '/access/keys', { body: { permissions: ['NOT_A_PERMISSION'] } })).body.code).toBe('INVALID_PERMISSION');
    await h.call('DELETE', `/access/keys/${key.uuid}`);
    expect((await h.call('GET', '/files', { key: key.secret })).body.code).toBe('UNAUTHORIZED');
  });

  it('an unknown project token is a 404 naming the served project', async () => {
    const r = await h.call('GET', `${h.server.url}/other/v5/files`);
    expect([r.status, r.body.code]).toEqual([404, 'PROJECT_NOT_FOUND']);
  });
});
