/**
 * Uploads from the Assets page go through a SASS key that can do no more than upload into the
 * drop's folder (and below) and fetch what is there, for no longer than the console's key lifetime;
 * a template of the same name that grants more is never reused.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UPLOAD_PERMISSIONS } from '../src/upload-keys.js';
import { samplePng, startStack, type Stack } from './e2e/harness.js';

let stack: Stack;
let session: { cookie: string; csrf: string };

beforeAll(async () => {
  stack = await startStack({ token: 'tok-uploads-123', console: { uploadKeyTtlSeconds: 600 } });
  const res = await stack.app.inject({ method: 'GET', url: '/ui/login?token=tok-uploads-123' });
  const cookie = String(res.headers['set-cookie']).split(';')[0]!;
  const page = await stack.app.inject({ method: 'GET', url: '/ui/flows', headers: { cookie } });
  session = { cookie, csrf: /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)![1]! };
});
afterAll(async () => stack?.close());

async function upload(folder: string, path: string): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([await samplePng(path.length)], { type: 'image/png' }), path.split('/').pop());
  return fetch(`${stack.url}/ui/assets/upload?folder=${encodeURIComponent(folder)}&path=${encodeURIComponent(path)}`, {
    method: 'POST',
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrf },
    body: form,
  });
}

it('the upload key is scoped to the drop folder, grants only upload and fetch, and lives no longer than asked', async () => {
  // A template with the console's name that grants far more, for a year: it must not be picked up.
  const broad = await stack.client.access.templates.create({
    name: 'sfx console uploads /incoming/*',
    permissions: ['OBJECTS_LIST', 'OBJECTS_FETCH', 'FILE_UPLOAD', 'FILE_DELETE', 'DIR_CREATE'],
    validity_seconds: 365 * 24 * 3600,
  });
  const first = await upload('/incoming', 'shoot/a.png');
  expect(first.status).toBe(200);
  expect(await first.json()).toMatchObject({ status: 'success', file: { folder: '/incoming/shoot' } });
  expect((await upload('/incoming', 'b.png')).status).toBe(200);
  const ours = (await stack.client.access.templates.list()).filter((t) => t.name.startsWith('sfx console uploads') && t.id !== broad.id);
  expect(ours).toHaveLength(1);
  expect(ours[0]).toMatchObject({ dir_scope: '/incoming/*', list_scope: '/incoming/*' });
  expect([...ours[0]!.permissions].sort()).toEqual([...UPLOAD_PERMISSIONS].sort());
  expect(ours[0]!.validity_seconds).toBeLessThanOrEqual(600);
  // Another folder gets a key of its own.
  expect((await upload('/elsewhere', 'c.png')).status).toBe(200);
  const scopes = (await stack.client.access.templates.list()).filter((t) => t.name.startsWith('sfx console uploads')).map((t) => t.dir_scope);
  expect(scopes).toContain('/elsewhere/*');
  const files = await stack.client.files.list({ folder: '/', recursive: true });
  expect(files.files?.map((f) => `${f.folder?.name}/${f.name}`).sort()).toEqual(['/elsewhere/c.png', '/incoming/b.png', '/incoming/shoot/a.png']);
});
