/** The stored-connections file and its secrets file (`sfx connection ...`). */
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidConnectionError } from '@sfx/connector';
import { configDir, ConnectionStore, ConnectionStoreError, secretSource } from '../src/connections-store.js';

const SECRET = 'sk-0123456789abcdef-never-shown';
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function store(): Promise<ConnectionStore> {
  const dir = await mkdtemp(join(tmpdir(), 'sfx-store-'));
  dirs.push(dir);
  return new ConnectionStore(join(dir, 'config'));
}

const base = { endpointUrl: 'https://api.filerobot.com/acme', authentication: 'apikey' as const };

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('configDir', () => {
  it('is $SFX_CONFIG_DIR, else $XDG_CONFIG_HOME/sfx, else ~/.config/sfx', () => {
    expect(configDir({ SFX_CONFIG_DIR: '/x/sfx-conf', XDG_CONFIG_HOME: '/xdg', HOME: '/home/a' })).toBe(
      '/x/sfx-conf',
    );
    expect(configDir({ XDG_CONFIG_HOME: '/xdg', HOME: '/home/a' })).toBe('/xdg/sfx');
    expect(configDir({ HOME: '/home/a' })).toBe('/home/a/.config/sfx');
  });
});

describe('ConnectionStore', () => {
  it('starts empty and keeps connections in the order they were added', async () => {
    const s = await store();
    expect(await s.list()).toEqual([]);
    await s.add({ ...base, name: 'one', apiKey: { env: 'ONE_KEY' } });
    await s.add({
      ...base,
      name: 'two',
      apiKey: { env: 'TWO_KEY' },
      token: 'acme2',
      apiVersion: 'v4',
      endpointUrl: 'https://api.filerobot.com',
    });
    const all = await s.list();
    expect(all.map((c) => c.name)).toEqual(['one', 'two']);
    expect(all[1]).toEqual({
      name: 'two',
      connector: 'scaleflex@0.1.0',
      endpointUrl: 'https://api.filerobot.com',
      token: 'acme2',
      authentication: 'apikey',
      apiKey: 'env:TWO_KEY',
      apiVersion: 'v4',
    });
    expect((await s.get('one')).apiKey).toBe('env:ONE_KEY');
    // A fresh store object reads the same file.
    expect((await new ConnectionStore(s.dir).list()).map((c) => c.name)).toEqual(['one', 'two']);
  });

  it('keeps a secret given as a value in secrets.json (0600), and only a reference in connections.json', async () => {
    const s = await store();
    const conn = await s.add({ ...base, name: 'acme', apiKey: { value: `  ${SECRET}\n` } });
    expect(conn.apiKey).toBe('secret:acme.apiKey');
    const connections = await readFile(s.connectionsFile, 'utf8');
    expect(connections).not.toContain(SECRET);
    expect(connections).toContain('"apiKey": "secret:acme.apiKey"');
    expect((await stat(s.secretsFile)).mode & 0o777).toBe(0o600);
    expect((await stat(s.dir)).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(s.secretsFile, 'utf8'))).toEqual({
      version: 1,
      secrets: { 'acme.apiKey': SECRET },
    });
    const lookup = await s.secretsFor(conn);
    expect(lookup?.('acme.apiKey')).toBe(SECRET);
    expect(lookup?.('other.apiKey')).toBeUndefined();
    // A connection with only env references never needs the secrets file.
    expect(
      await s.secretsFor(await s.add({ ...base, name: 'env-only', apiKey: { env: 'K' } })),
    ).toBeUndefined();
    expect(secretSource(conn.apiKey)).toBe('secrets file');
    expect(secretSource('env:FILEROBOT_KEY')).toBe('env:FILEROBOT_KEY');
  });

  it('refuses to read a secrets file others may read, saying how to fix it', async () => {
    const s = await store();
    const conn = await s.add({ ...base, name: 'acme', apiKey: { value: SECRET } });
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      await chmod(s.secretsFile, mode);
      const error = await errorOf(s.secretsFor(conn));
      expect(error).toBeInstanceOf(ConnectionStoreError);
      expect(error.message).toContain(`mode 0${mode.toString(8)}`);
      expect(error.message).toContain(`chmod 600 ${s.secretsFile}`);
      expect(error.message).not.toContain(SECRET);
      // Nor will it add a secret to it.
      expect(
        (await errorOf(s.add({ ...base, name: 'other', apiKey: { value: 'x-key' } }))).message,
      ).toContain('chmod 600');
    }
    await chmod(s.secretsFile, 0o600);
    expect((await s.secretsFor(conn))?.('acme.apiKey')).toBe(SECRET);
  });

  it('says a hand-broken connections.json is not JSON without quoting any of it', async () => {
    const s = await store();
    await s.add({ ...base, name: 'acme', apiKey: { env: 'FILEROBOT_KEY' } });
    await writeFile(s.connectionsFile, `{"connections": [{"name": "acme", "apiKey": ${SECRET}}]}`);
    const error = await errorOf(s.list());
    expect(error).toBeInstanceOf(ConnectionStoreError);
    expect(error.message).toContain('is not valid JSON');
    expect(error.message).not.toContain(SECRET);
  });

  it('checks the connection before writing anything, naming each bad field', async () => {
    const s = await store();
    const bad = await errorOf(
      s.add({
        name: 'acme',
        endpointUrl: 'ftp://example.com/acme',
        authentication: 'apikey',
        apiKey: { value: SECRET },
      }),
    );
    expect(bad).toBeInstanceOf(InvalidConnectionError);
    expect((bad as InvalidConnectionError).problems.map((p) => p.path)).toEqual(['endpointUrl']);
    expect(bad.message).not.toContain(SECRET);
    const missingKey = (await errorOf(s.add({ ...base, name: 'acme' }))) as InvalidConnectionError;
    expect(missingKey.problems).toEqual([
      { path: 'apiKey', message: expect.stringContaining('is required when authentication is "apikey"') },
    ]);
    const badName = (await errorOf(
      s.add({ ...base, name: 'has.dot', apiKey: { env: 'K' } }),
    )) as InvalidConnectionError;
    expect(badName.problems[0]?.path).toBe('name');
    const badEnv = (await errorOf(
      s.add({ ...base, name: 'acme', apiKey: { env: '1BAD' } }),
    )) as InvalidConnectionError;
    expect(badEnv.problems[0]).toMatchObject({
      path: 'apiKey',
      message: expect.stringContaining('environment variable'),
    });
    // Nothing was written.
    expect(await readdir(join(s.dir, '..'))).toEqual([]);
  });

  it('refuses a name already taken unless told to replace it, and drops the secret the old one stored', async () => {
    const s = await store();
    await s.add({ ...base, name: 'acme', apiKey: { value: SECRET } });
    const taken = await errorOf(s.add({ ...base, name: 'acme', apiKey: { env: 'ACME_KEY' } }));
    expect(taken.message).toMatch(/already exists: choose another name, add --force/);
    await s.add({ ...base, name: 'acme', apiKey: { env: 'ACME_KEY' } }, { replace: true });
    expect((await s.list()).map((c) => [c.name, c.apiKey])).toEqual([['acme', 'env:ACME_KEY']]);
    expect(JSON.parse(await readFile(s.secretsFile, 'utf8')).secrets).toEqual({});
    // Replacing a stored key with another stored key keeps the new one.
    await s.add({ ...base, name: 'acme', apiKey: { value: 'second-key' } }, { replace: true });
    await s.add({ ...base, name: 'acme', apiKey: { value: 'third-key' } }, { replace: true });
    expect(JSON.parse(await readFile(s.secretsFile, 'utf8')).secrets).toEqual({ 'acme.apiKey': 'third-key' });
  });

  it('stores a security template for sass connections the same way', async () => {
    const s = await store();
    const conn = await s.add({
      ...base,
      authentication: 'sass',
      name: 'widget',
      securityTemplate: { value: 'SECU_ABC' },
    });
    expect(conn).toMatchObject({
      authentication: 'sass',
      securityTemplate: 'secret:widget.securityTemplate',
    });
    expect(conn.apiKey).toBeUndefined();
    expect((await s.secretsFor(conn))?.('widget.securityTemplate')).toBe('SECU_ABC');
  });

  it('removes a connection with the secrets it stored, leaving the others', async () => {
    const s = await store();
    await s.add({ ...base, name: 'a', apiKey: { value: 'key-a' } });
    await s.add({ ...base, name: 'b', apiKey: { value: 'key-b' } });
    expect(await s.remove('a')).toBe(true);
    expect(await s.remove('a')).toBe(false);
    expect((await s.list()).map((c) => c.name)).toEqual(['b']);
    expect(JSON.parse(await readFile(s.secretsFile, 'utf8')).secrets).toEqual({ 'b.apiKey': 'key-b' });
    const missing = await errorOf(s.get('a'));
    expect(missing.message).toMatch(
      /No connection "a" in .*connections\.json: the stored ones are b\. Add it with: sfx connection add a/,
    );
  });

  it('writes atomically and never loses a change when several writers add at once', async () => {
    const s = await store();
    const names = Array.from({ length: 12 }, (_, i) => `c${i}`);
    await Promise.all(
      names.map((name, i) =>
        new ConnectionStore(s.dir).add({
          ...base,
          name,
          apiKey: i % 2 ? { env: 'K' } : { value: `key-${i}` },
        }),
      ),
    );
    expect((await s.list()).map((c) => c.name).sort()).toEqual([...names].sort());
    expect(Object.keys(JSON.parse(await readFile(s.secretsFile, 'utf8')).secrets)).toHaveLength(6);
    // No temp or lock file is left behind.
    expect((await readdir(s.dir)).sort()).toEqual(['connections.json', 'secrets.json']);
  });

  it('explains a damaged or hand-edited connections file instead of failing obscurely', async () => {
    const s = await store();
    await s.add({ ...base, name: 'acme', apiKey: { env: 'K' } });
    await writeFile(s.connectionsFile, '{"version":1,"connections":[');
    expect((await errorOf(s.list())).message).toMatch(
      /connections\.json is not valid JSON.*: fix it, or move it away/,
    );
    await writeFile(
      s.connectionsFile,
      JSON.stringify({ version: 1, connections: [{ ...base, name: 'acme', connector: 'scaleflex@0.1.0' }] }),
    );
    const invalid = await errorOf(s.list());
    expect(invalid.message).toContain('connection "acme" is not valid');
    expect(invalid.message).toContain('apiKey: is required when authentication is "apikey"');
    await writeFile(s.connectionsFile, JSON.stringify({ version: 9, connections: [] }));
    expect((await errorOf(s.list())).message).toContain('written by a newer sfx');
  });

  it('never repeats the content of a damaged secrets file', async () => {
    const s = await store();
    const conn = await s.add({ ...base, name: 'acme', apiKey: { value: SECRET } });
    await writeFile(s.secretsFile, `{"version":1,"secrets":{"acme.apiKey":"${SECRET}"`, { mode: 0o600 });
    const error = await errorOf(s.secretsFor(conn));
    expect(error.message).toMatch(/secrets\.json is not valid JSON/);
    expect(error.message).not.toContain(SECRET);
  });
});
