import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Filerobot } from '@sfx/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/src/index.js';
import { CONNECTOR_ID, CONNECTOR_VERSION, InvalidConnectionError, parseConnection, testConnection } from '../src/index.js';
import { PERMISSIONS } from '../src/permissions.js';

const ROOT = 'root-key-for-connection-tests';
const connector = `${CONNECTOR_ID}@${CONNECTOR_VERSION}`;

let server: RunningServer;
let dir: string;
let admin: Filerobot;
let endpointUrl: string;
/** A plain web server that is not the Filerobot API. */
let website: Server;
let websiteUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfx-connection-'));
  server = await startServer({ port: 0, data: join(dir, 'data'), rootKey: ROOT, durability: 'relaxed', logLevel: 'silent' });
  endpointUrl = `${server.url}/${server.token}`;
  admin = new Filerobot({ endpoint: endpointUrl, apiKey: ROOT });
  website = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Welcome</body></html>');
  });
  await new Promise<void>((resolve) => website.listen(0, '127.0.0.1', resolve));
  websiteUrl = `http://127.0.0.1:${(website.address() as AddressInfo).port}/acme`;
});

afterAll(async () => {
  await admin?.close();
  await server?.close();
  await new Promise((resolve) => website?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

const apikey = (apiKey: string, extra: Record<string, unknown> = {}) => ({
  name: 'test',
  connector,
  endpointUrl,
  authentication: 'apikey' as const,
  apiKey,
  ...extra,
});

describe('testConnection', () => {
  it('succeeds with a good key and reports the project and what the key may do', async () => {
    const key = await admin.access.keys.create({ description: 'reader', permissions: ['OBJECTS_LIST', 'OBJECTS_FETCH'] });
    const result = await testConnection(apikey(key.secret!));
    expect(result).toMatchObject({ ok: true, project: { token: server.token, apiVersion: 'v5' } });
    expect(result.grantedPermissions?.sort()).toEqual(['OBJECTS_FETCH', 'OBJECTS_LIST']);
    expect(result.missingPermissions).toHaveLength(PERMISSIONS.length - 2);
    expect(result.reason).toBeUndefined();
    expect(result.limitations).toBeUndefined();
  });

  it('reads the key from an env: reference, and names a missing variable', async () => {
    const ok = await testConnection(apikey('env:SFX_TEST_KEY'), { env: { SFX_TEST_KEY: ROOT } });
    expect(ok.ok).toBe(true);
    expect(ok.grantedPermissions).toHaveLength(PERMISSIONS.length);
    const missing = await testConnection(apikey('env:SFX_TEST_KEY'), { env: {} });
    expect(missing).toMatchObject({ ok: false, code: 'invalid_connection' });
    expect(missing.reason).toContain('SFX_TEST_KEY');
  });

  it('says the key is wrong, without printing it', async () => {
    const result = await testConnection(apikey('not-a-real-key-123456'));
    expect(result).toMatchObject({ ok: false, code: 'unauthorized' });
    expect(result.reason).not.toContain('not-a-real-key-123456');
  });

  it('says the key is deactivated', async () => {
    const key = await admin.access.keys.create({ description: 'soon off', permissions: ['OBJECTS_LIST'] });
    await admin.access.keys.update(key.uuid, { active: false });
    const result = await testConnection(apikey(key.secret!));
    expect(result).toMatchObject({ ok: false, code: 'key_deactivated' });
    expect(result.reason).not.toContain(key.secret!);
  });

  it('passes an upload-only key, saying what it may and may not do', async () => {
    const key = await admin.access.keys.create({ description: 'uploader', permissions: ['FILE_UPLOAD'] });
    const result = await testConnection(apikey(key.secret!));
    expect(result).toMatchObject({ ok: true, grantedPermissions: ['FILE_UPLOAD'], project: { token: server.token } });
    expect(result.code).toBeUndefined();
    expect(result.missingPermissions).toContain('OBJECTS_LIST');
    expect(result.missingPermissions).not.toContain('FILE_UPLOAD');
    expect(result.limitations).toMatch(/lacks OBJECTS_LIST: it cannot list or search assets.*It may: FILE_UPLOAD\./);
  });

  it('passes a security template that may only upload', async () => {
    const template = await admin.access.templates.create({ name: 'drop box', permissions: ['FILE_UPLOAD'] });
    const result = await testConnection({ name: 'drop', connector, endpointUrl, authentication: 'sass', securityTemplate: template.id });
    expect(result).toMatchObject({ ok: true, grantedPermissions: ['FILE_UPLOAD'] });
    expect(result.limitations).toContain('security template is valid but lacks OBJECTS_LIST');
  });

  it('says the project token is unknown', async () => {
    const result = await testConnection(apikey(ROOT, { endpointUrl: `${server.url}/no-such-project` }));
    expect(result).toMatchObject({ ok: false, code: 'project_not_found' });
    expect(result.reason).toContain('no-such-project');
  });

  it('says the endpoint is not the Filerobot API', async () => {
    const result = await testConnection(apikey(ROOT, { endpointUrl: websiteUrl }));
    expect(result).toMatchObject({ ok: false, code: 'wrong_endpoint' });
    expect(result.reason).toContain('endpointUrl');
  });

  it('says the host cannot be reached', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const result = await testConnection(apikey(ROOT, { endpointUrl: `http://127.0.0.1:${port}/acme` }));
    expect(result).toMatchObject({ ok: false, code: 'unreachable' });
    expect(result.reason).toContain(`127.0.0.1:${port}`);
  });

  it('works with a security template, and says when the template is unknown', async () => {
    const template = await admin.access.templates.create({ name: 'widget', permissions: ['OBJECTS_LIST', 'FILE_UPLOAD'] });
    const sass = { name: 'widget', connector, endpointUrl, authentication: 'sass' as const };
    const ok = await testConnection({ ...sass, securityTemplate: template.id });
    expect(ok).toMatchObject({ ok: true });
    const unknown = await testConnection({ ...sass, securityTemplate: 'SECU_DOESNOTEXIST' });
    expect(unknown).toMatchObject({ ok: false, code: 'template_not_found' });
  });

  it('names each bad field of an invalid connection and never throws', async () => {
    const result = await testConnection({ name: '', connector: 'other@1.0.0', endpointUrl: 'ftp://x', authentication: 'apikey' });
    expect(result).toMatchObject({ ok: false, code: 'invalid_connection' });
    for (const field of ['name', 'connector', 'apiKey', 'endpointUrl']) expect(result.reason).toContain(field);
  });
});

describe('parseConnection', () => {
  it('uses the version of the package as the connector version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(CONNECTOR_VERSION).toBe(pkg.version);
  });

  it('accepts the token in the URL or as a field, and the same connection either way', () => {
    const inUrl = parseConnection(apikey('k', { endpointUrl: 'https://api.filerobot.com/acme/v4' }));
    const asField = parseConnection(apikey('k', { endpointUrl: 'https://api.filerobot.com', token: 'acme', apiVersion: 'v4' }));
    expect(inUrl.apiKey).toBe(asField.apiKey);
  });

  it('refuses a key for "sass", a template for "apikey", credentials in the URL and another major version', () => {
    const problems = (input: unknown): string[] => {
      try {
        parseConnection(input);
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidConnectionError);
        return (error as InvalidConnectionError).problems.map((p) => p.path);
      }
    };
    expect(problems({ ...apikey('k'), authentication: 'sass' })).toEqual(expect.arrayContaining(['apiKey', 'securityTemplate']));
    expect(problems(apikey('k', { securityTemplate: 'SECU_X' }))).toContain('securityTemplate');
    expect(problems(apikey('k', { endpointUrl: 'https://u:p@api.filerobot.com/acme' }))).toContain('endpointUrl');
    expect(problems(apikey('k', { connector: `${CONNECTOR_ID}@99.0.0` }))).toContain('connector');
    expect(problems(apikey('k'))).toEqual([]);
  });
});
