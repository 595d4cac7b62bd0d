/**
 * Folder-scoped SASS keys and objects that live outside every folder (collections, labels, tags,
 * products, shares, approvals, airboxes, bulk changes, the metadata model): every route declares
 * what it touches, and a key with a folder scope may not change project-wide objects, nor read
 * those that show assets when it has a listing scope.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, ROUTES, type RouteSpec } from '../src/index.js';
import { sassRuleFor } from '../src/auth/sass-rules.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness;

async function sassKey(fields: Record<string, unknown>): Promise<string> {
  const made = await h.call('POST', '/access/templates', { body: { name: 'scope', permissions: [...PERMISSIONS], ...fields } });
  expect(made.status, JSON.stringify(made.body)).toBe(200);
  const id = (made.body.template as { id: string }).id;
  const exchanged = await h.call('GET', `${h.server.url}/${h.server.token}/key/${id}`, { key: null });
  return exchanged.body.key as string;
}

/** A URL for the route with made-up parameters: the checks under test run before any lookup. */
function urlOf(spec: RouteSpec): string {
  const path = spec.path.replace(/:([a-z_]+)/gi, (_m, name: string) => (/uuid/i.test(name) ? randomUUID() : 'x1'));
  const version = spec.versions[0];
  return `${h.server.url}/${h.server.token}${version ? `/${version}` : ''}${path}`;
}

const SCOPE_CODES = ['SCOPE_PROJECT_WIDE', 'OUTSIDE_FOLDER_SCOPE', 'SASS_KEY_NOT_ALLOWED'];
const routesTouching = (touches: string, pred: (spec: RouteSpec) => boolean = () => true): RouteSpec[] =>
  ROUTES.filter((spec) => sassRuleFor(spec)?.touches === touches && !sassRuleFor(spec)?.forbidden && pred(spec));

let dirScoped: string;
let listScoped: string;
let unscoped: string;

beforeAll(async () => {
  h = await startHarness();
  dirScoped = await sassKey({ dir_scope: '/in/*' });
  listScoped = await sassKey({ list_scope: '/in/*' });
  unscoped = await sassKey({});
});
afterAll(async () => {
  await h.close();
});

describe('every route declares what it touches', () => {
  it('has a class, and the class agrees with the method', () => {
    for (const spec of ROUTES) {
      const rule = sassRuleFor(spec);
      const name = `${spec.method} ${spec.path}`;
      expect(['assets', 'project-read', 'project-write', 'key-only'], name).toContain(rule?.touches);
      // A read that changed a project-wide object, or a change declared a read, would slip past the rule.
      if (rule?.touches === 'project-write') expect(['POST', 'PUT', 'PATCH', 'DELETE'], name).toContain(spec.method);
      if (rule?.touches === 'project-read') expect(spec.method, name).toBe('GET');
    }
  });
});

describe('project-wide changes', () => {
  it('are refused to a SASS key with a dir_scope or a list_scope, on every such route (403 SCOPE_PROJECT_WIDE)', async () => {
    const writes = routesTouching('project-write');
    expect(writes.length).toBeGreaterThan(15);
    for (const [key, scope] of [[dirScoped, 'dir_scope /in/*'], [listScoped, 'list_scope /in/*']] as const) {
      for (const spec of writes) {
        const r = await h.call(spec.method, urlOf(spec), { key, body: {} });
        const name = `${scope}: ${spec.method} ${spec.path}`;
        expect([r.status, r.body.code], name).toEqual([403, 'SCOPE_PROJECT_WIDE']);
        expect(String(r.body.msg), name).toContain(scope);
      }
    }
  });

  it('a folder-scoped key cannot delete or change a collection; one without a scope can', async () => {
    const created = await h.call('POST', '/collections', { body: { title: 'Everything', query: '' } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const uuid = (created.body.collection as { uuid: string }).uuid;
    for (const key of [dirScoped, listScoped]) {
      expect((await h.call('DELETE', `/collections/${uuid}`, { key })).body.code).toBe('SCOPE_PROJECT_WIDE');
      expect((await h.call('PATCH', `/collections/${uuid}`, { key, body: { title: 'Mine' } })).body.code).toBe('SCOPE_PROJECT_WIDE');
      expect((await h.call('POST', '/collections', { key, body: { title: 'Mine' } })).body.code).toBe('SCOPE_PROJECT_WIDE');
    }
    const listed = (await h.call('GET', '/collections')).body.collections as Array<{ uuid: string; title: string }>;
    expect(listed.map((c) => c.title)).toEqual(['Everything']);
    // Reading the definitions shows no asset: allowed.
    expect((await h.call('GET', '/collections', { key: listScoped })).status).toBe(200);
    expect((await h.call('DELETE', `/collections/${uuid}`, { key: unscoped })).status).toBe(200);
  });

  it('a folder-scoped key still changes files inside its scope', async () => {
    const uploaded = await h.upload('/in/a', 'a.txt', 'a');
    const file = (uploaded.file as { uuid: string }).uuid;
    for (const key of [dirScoped, listScoped]) {
      const r = await h.call('PUT', `/file/${file}/meta`, { key, body: { meta: { by: 'scoped' } } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
  });
});

describe('project-wide reads', () => {
  it('showing assets (shares, approvals, airboxes, labels, tags, products, bulk...) are refused to a listing scope only', async () => {
    const listings = routesTouching('project-read', (spec) => sassRuleFor(spec)!.list === 'refuse');
    expect(listings.map((s) => s.path)).toEqual(expect.arrayContaining(['/shares', '/approvals', '/airboxes', '/labels', '/tags', '/products']));
    for (const spec of listings) {
      const r = await h.call(spec.method, urlOf(spec), { key: listScoped });
      expect([r.status, r.body.code], `${spec.method} ${spec.path}`).toEqual([403, 'OUTSIDE_FOLDER_SCOPE']);
    }
    // An upload scope does not bound what a key may see.
    for (const path of ['/shares', '/approvals', '/airboxes', '/labels']) {
      const r = await h.call('GET', path, { key: dirScoped });
      expect(r.status, `${path} ${JSON.stringify(r.body)}`).toBe(200);
    }
  });

  it('showing only configuration (settings, metadata model, collections) are open to any scope', async () => {
    const config = routesTouching('project-read', (spec) => sassRuleFor(spec)!.list === 'none');
    expect(config.map((s) => s.path)).toEqual(expect.arrayContaining(['/settings', '/meta/model/fields', '/collections']));
    for (const key of [dirScoped, listScoped]) {
      for (const spec of config) {
        const r = await h.call(spec.method, urlOf(spec), { key });
        expect(SCOPE_CODES, `${spec.method} ${spec.path}`).not.toContain(r.body.code);
        expect(r.status, `${spec.method} ${spec.path} ${JSON.stringify(r.body)}`).not.toBe(403);
      }
    }
    expect((await h.call('GET', '/meta/model/fields', { key: listScoped, version: 'v4' })).status).toBe(200);
  });
});
