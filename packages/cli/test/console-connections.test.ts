/**
 * The CLI's connection store behind the console's Connections page (`storedConnections`): a
 * connection added from the page lands in the store with its secret in the secrets file, is listed
 * with where its secret is kept (never the secret), tests against a real server before and after
 * it is stored, and is removed with its secret.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type RunningServer } from '@sfx/server';
import { storedConnections } from '../src/console.js';

const ROOT = 'root-key-for-console-connections-91';
let dir: string;
let server: RunningServer;
const saved = process.env.SFX_CONFIG_DIR;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfx-console-conn-'));
  process.env.SFX_CONFIG_DIR = join(dir, 'config');
  server = await startServer({ port: 0, data: join(dir, 'dam'), rootKey: ROOT, token: 'demo', durability: 'relaxed', logLevel: 'silent' });
});
afterAll(async () => {
  if (saved === undefined) delete process.env.SFX_CONFIG_DIR;
  else process.env.SFX_CONFIG_DIR = saved;
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

it('adds, lists, tests and removes through the CLI store, the secret kept out of every listing', async () => {
  const connections = storedConnections(undefined);
  const input = { name: 'local', endpointUrl: `${server.url}/demo`, authentication: 'apikey' as const, apiKey: { value: ROOT } };
  const before = await connections.test!(input);
  expect(before).toMatchObject({ ok: true, project: { token: 'demo' } });
  expect((await connections.test!({ ...input, apiKey: { value: 'wrong-key' } })).code).toBe('unauthorized');
  expect(await connections.list()).toEqual([]);

  await connections.add!(input);
  const listed = await connections.list();
  expect(listed).toEqual([
    { name: 'local', endpointUrl: `${server.url}/demo`, authentication: 'apikey', isDefault: true, secret: 'secrets file' },
  ]);
  expect(JSON.stringify(listed)).not.toContain(ROOT);
  expect(await readFile(join(dir, 'config', 'secrets.json'), 'utf8')).toContain(ROOT);
  expect((await connections.test!('local')).ok).toBe(true);
  expect(await connections.test!('nope')).toMatchObject({ ok: false, code: 'invalid_connection' });

  expect(await connections.remove!('local')).toBe(true);
  expect(await connections.list()).toEqual([]);
  expect(await readFile(join(dir, 'config', 'secrets.json'), 'utf8')).not.toContain(ROOT);
});

it('fingerprints a stored connection: the same until it changes, another after its key is replaced, none once removed', async () => {
  const connections = storedConnections(undefined);
  const input = { name: 'fp', endpointUrl: `${server.url}/demo`, authentication: 'apikey' as const, apiKey: { value: ROOT } };
  expect(await connections.fingerprint!('fp')).toBeUndefined();
  await connections.add!(input);
  const first = await connections.fingerprint!('fp');
  expect(first).toMatch(/^[\w-]{43}$/);
  expect(await connections.fingerprint!('fp')).toBe(first);
  expect(first).not.toContain(ROOT);
  // Removed and added again under the same name with another key (its reference is the same).
  await connections.remove!('fp');
  expect(await connections.fingerprint!('fp')).toBeUndefined();
  await connections.add!({ ...input, apiKey: { value: 'another-key-0a9d' } });
  const second = await connections.fingerprint!('fp');
  expect(second).toBeDefined();
  expect(second).not.toBe(first);
  await connections.remove!('fp');
});
