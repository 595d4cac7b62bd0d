/**
 * Stored connections: `connections.json` in the sfx config folder holds connections whose secrets
 * are only references, `env:NAME` (an environment variable) or `secret:NAME` (an entry of
 * `secrets.json` beside it, mode 0600, which is refused when others may read it). Every write
 * replaces the file atomically (temp file, fsync, rename) under a lock file, so a crash or a second
 * `sfx` never leaves a half-written or lost file.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  CONNECTOR_ID,
  CONNECTOR_VERSION,
  InvalidConnectionError,
  parseConnection,
  type Connection,
  type Problem,
} from '@sfx/connector';
import { writeFileAtomic } from '@sfx/flows';

export const CONNECTIONS_FILE = 'connections.json';
export const SECRETS_FILE = 'secrets.json';
const FORMAT_VERSION = 1;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const ENV_REF = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;
const SECRET_REF = /^secret:([A-Za-z0-9][A-Za-z0-9_.-]*)$/;

export type SecretField = 'apiKey' | 'securityTemplate';
export const SECRET_FIELDS: readonly SecretField[] = ['apiKey', 'securityTemplate'];

/** A problem with the store or its files that a person must fix; the message says how. */
export class ConnectionStoreError extends Error {
  override name = 'ConnectionStoreError';
}

/** `$SFX_CONFIG_DIR`, else `${XDG_CONFIG_HOME:-~/.config}/sfx`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SFX_CONFIG_DIR) return env.SFX_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'sfx');
}

/** How a secret is given when a connection is added: a variable to read it from, or the value to store. */
export type SecretInput = { env: string } | { value: string };

export interface NewConnection {
  name: string;
  endpointUrl: string;
  token?: string;
  authentication: 'apikey' | 'sass';
  apiKey?: SecretInput;
  securityTemplate?: SecretInput;
  apiVersion?: 'v4' | 'v5';
}

/** Where a connection's secret comes from, for people: `env:FILEROBOT_KEY`, `secrets file`. */
export function secretSource(value: string | undefined): string {
  if (value === undefined) return '-';
  if (ENV_REF.test(value)) return value;
  if (SECRET_REF.test(value)) return 'secrets file';
  return 'connections.json (in clear: re-add it with --api-key-stdin)';
}

/** The secret field a connection uses (`apiKey` or `securityTemplate`) and its stored reference. */
export function secretOf(conn: Connection): { field: SecretField; ref: string | undefined } {
  const field: SecretField = conn.authentication === 'sass' ? 'securityTemplate' : 'apiKey';
  return { field, ref: conn[field] };
}

/** The name a connection's secret has in secrets.json. */
export function secretName(connection: string, field: SecretField): string {
  return `${connection}.${field}`;
}

interface ConnectionsFile {
  version: number;
  connections: unknown[];
}

interface SecretsFile {
  version: number;
  secrets: Record<string, string>;
}

export class ConnectionStore {
  readonly connectionsFile: string;
  readonly secretsFile: string;

  constructor(readonly dir: string = configDir()) {
    this.connectionsFile = join(dir, CONNECTIONS_FILE);
    this.secretsFile = join(dir, SECRETS_FILE);
  }

  /** Every stored connection, in the order they were added. */
  async list(): Promise<Connection[]> {
    return (await this.readConnections()).connections;
  }

  /** The connection named so; throws naming the stored ones when there is none. */
  async get(name: string): Promise<Connection> {
    const all = await this.list();
    const found = all.find((c) => c.name === name);
    if (found) return found;
    throw new ConnectionStoreError(
      `No connection "${name}" in ${this.connectionsFile}: ${
        all.length ? `the stored ones are ${all.map((c) => c.name).join(', ')}` : 'none is stored yet'
      }. Add it with: sfx connection add ${NAME.test(name) ? name : 'NAME'} --endpoint URL --api-key env:VARIABLE`,
    );
  }

  /**
   * Checks and stores a connection. Secrets given as values go to secrets.json (mode 0600) and the
   * connection refers to them as `secret:NAME`; `env` secrets are stored as `env:NAME`. Nothing is
   * written when the connection is not valid. An existing name is refused unless `replace`.
   */
  async add(input: NewConnection, options: { replace?: boolean } = {}): Promise<Connection> {
    const { conn, values } = this.prepareConnection(input);
    return this.locked(async () => {
      const current = await this.readConnections();
      const index = current.connections.findIndex((c) => c.name === conn.name);
      if (index >= 0 && !options.replace)
        throw new ConnectionStoreError(
          `A connection named "${conn.name}" already exists: choose another name, add --force to replace it, or remove it first (sfx connection remove ${conn.name}).`,
        );
      const old = index >= 0 ? current.connections[index] : undefined;
      const next = [...current.connections];
      if (old) next[index] = conn;
      else next.push(conn);
      // Secrets first and stale secrets last: a crash between two writes leaves an unused secret,
      // never a connection referring to a secret that is not there.
      if (Object.keys(values).length > 0) {
        const secrets = await this.readSecrets();
        for (const field of SECRET_FIELDS)
          if (values[field] !== undefined) secrets[secretName(conn.name, field)] = values[field]!;
        await this.writeSecrets(secrets);
      }
      await this.writeConnections(next);
      const stale = old ? storedSecretNames(old).filter((n) => !storedSecretNames(conn).includes(n)) : [];
      if (stale.length > 0) {
        const secrets = await this.readSecrets();
        for (const name of stale) delete secrets[name];
        await this.writeSecrets(secrets);
      }
      return conn;
    });
  }

  /**
   * The connection `add` would store, checked, and a lookup of its `secret:NAME` references for
   * `testConnection`, so a connection can be tried before it is saved. Writes nothing.
   */
  candidate(input: NewConnection): { conn: Connection; secrets: (name: string) => string | undefined } {
    const { conn, values } = this.prepareConnection(input);
    const byName = new Map(SECRET_FIELDS.map((field) => [secretName(conn.name, field), values[field]] as const));
    return { conn, secrets: (name) => byName.get(name) };
  }

  private prepareConnection(input: NewConnection): { conn: Connection; values: Partial<Record<SecretField, string>> } {
    if (!NAME.test(input.name))
      throw new InvalidConnectionError([
        {
          path: 'name',
          message:
            'must be 1-64 letters, digits, - or _, starting with a letter or digit (flows refer to it as NAME.action), e.g. "acme-prod".',
        },
      ]);
    const refs: Partial<Record<SecretField, string>> = {};
    const values: Partial<Record<SecretField, string>> = {};
    const problems: Problem[] = [];
    for (const field of SECRET_FIELDS) {
      const secret = input[field];
      if (secret === undefined) continue;
      if ('env' in secret) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(secret.env))
          problems.push({
            path: field,
            message:
              'must name an environment variable: letters, digits and _, not starting with a digit (e.g. env:FILEROBOT_KEY).',
          });
        refs[field] = `env:${secret.env}`;
      } else {
        if (secret.value.trim() === '' || /[\r\n]/.test(secret.value.trim()))
          problems.push({ path: field, message: 'must be one line, not empty.' });
        refs[field] = `secret:${secretName(input.name, field)}`;
        values[field] = secret.value.trim();
      }
    }
    if (problems.length) throw new InvalidConnectionError(problems);
    const conn = parseConnection({
      name: input.name,
      connector: `${CONNECTOR_ID}@${CONNECTOR_VERSION}`,
      endpointUrl: input.endpointUrl,
      ...(input.token !== undefined ? { token: input.token } : {}),
      authentication: input.authentication,
      ...refs,
      ...(input.apiVersion !== undefined ? { apiVersion: input.apiVersion } : {}),
    });
    return { conn, values };
  }

  /** Removes the connection and the secrets it stored; false when there was none. */
  async remove(name: string): Promise<boolean> {
    return this.locked(async () => {
      const current = await this.readConnections();
      const conn = current.connections.find((c) => c.name === name);
      if (!conn) return false;
      await this.writeConnections(current.connections.filter((c) => c !== conn));
      const owned = storedSecretNames(conn);
      if (owned.length > 0 && (await exists(this.secretsFile))) {
        const secrets = await this.readSecrets();
        for (const secret of owned) delete secrets[secret];
        await this.writeSecrets(secrets);
      }
      return true;
    });
  }

  /**
   * A lookup of `secret:NAME` references for `openConnection`/`testConnection` (`{ secrets }`).
   * Reads secrets.json (refusing it when others may read it) only if the connection needs it.
   */
  async secretsFor(conn: Connection): Promise<((name: string) => string | undefined) | undefined> {
    if (storedSecretNames(conn).length === 0) return undefined;
    if (!(await exists(this.secretsFile)))
      throw new ConnectionStoreError(
        `Connection "${conn.name}" refers to a stored secret, but ${this.secretsFile} does not exist: add the secret again with sfx connection add ${conn.name} ... --${conn.authentication === 'sass' ? 'template' : 'api-key'}-stdin --force.`,
      );
    const secrets = await this.readSecrets();
    return (name) => (Object.hasOwn(secrets, name) ? secrets[name] : undefined);
  }

  /**
   * A digest of the stored connection and the stored secrets it refers to, or undefined when no
   * connection has the name: it changes when the connection is replaced (`add --force`), or removed
   * and added again, even with only another key. Only the digest is returned; the secret values
   * read for it are not kept.
   */
  async fingerprint(name: string): Promise<string | undefined> {
    const conn = (await this.list()).find((c) => c.name === name);
    return conn && this.fingerprintOf(conn);
  }

  /** The same digest for a connection not necessarily stored (a flow's inline one), its `secret:` references read here. */
  async fingerprintOf(conn: Connection): Promise<string> {
    const hash = createHash('sha256').update(JSON.stringify(conn));
    // A missing secrets file is for opening the connection to report; here it is one more state.
    const secrets = await this.secretsFor(conn).catch(() => undefined);
    for (const secret of storedSecretNames(conn)) hash.update(`\0${secret}\0${secrets?.(secret) ?? ''}`);
    return hash.digest('base64url');
  }

  // ---- files ----

  private async readConnections(): Promise<{ connections: Connection[] }> {
    const text = await readFile(this.connectionsFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (text === undefined) return { connections: [] };
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      // V8's message quotes a piece of the text, which a hand-edited file may hold a key in: say
      // only where the text stops being JSON.
      const at = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
      const where = at === undefined ? '' : ` (at character ${at})`;
      throw new ConnectionStoreError(`${this.connectionsFile} is not valid JSON${where}: fix it, or move it away to start again.`);
    }
    const file = data as Partial<ConnectionsFile> | null;
    if (typeof file !== 'object' || file === null || !Array.isArray(file.connections))
      throw new ConnectionStoreError(
        `${this.connectionsFile} must hold {"version": ${FORMAT_VERSION}, "connections": [...]}: fix it, or move it away to start again.`,
      );
    if (typeof file.version === 'number' && file.version > FORMAT_VERSION)
      throw new ConnectionStoreError(
        `${this.connectionsFile} was written by a newer sfx (format ${file.version}; this one reads ${FORMAT_VERSION}): upgrade sfx.`,
      );
    const connections = file.connections.map((raw, i) => {
      try {
        return parseConnection(raw);
      } catch (error) {
        const label =
          typeof (raw as { name?: unknown })?.name === 'string'
            ? `"${(raw as { name: string }).name}"`
            : `#${i + 1}`;
        if (error instanceof InvalidConnectionError)
          throw new ConnectionStoreError(
            `${this.connectionsFile}: connection ${label} is not valid:\n${error.problems.map((p) => `  - ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n')}\nFix it in the file, or remove it (sfx connection remove NAME) and add it again.`,
          );
        throw error;
      }
    });
    return { connections };
  }

  private async writeConnections(connections: Connection[]): Promise<void> {
    const file: ConnectionsFile = { version: FORMAT_VERSION, connections };
    await writeAtomic(this.connectionsFile, `${JSON.stringify(file, null, 2)}\n`, 0o600);
  }

  private async readSecrets(): Promise<Record<string, string>> {
    let info;
    try {
      info = await lstat(this.secretsFile);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    if (!info.isFile())
      throw new ConnectionStoreError(
        `${this.secretsFile} is not a regular file: replace it with the secrets file, or remove it.`,
      );
    if (process.platform !== 'win32') {
      if ((info.mode & 0o077) !== 0)
        throw new ConnectionStoreError(
          `${this.secretsFile} may be read by other users (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}), so sfx will not use it: run chmod 600 ${this.secretsFile}` +
            ' (and replace the keys it holds if others may have read them).',
        );
      if (typeof process.getuid === 'function' && info.uid !== process.getuid())
        throw new ConnectionStoreError(
          `${this.secretsFile} belongs to another user, so sfx will not use it: remove it, or run sfx as its owner.`,
        );
    }
    let data: unknown;
    try {
      data = JSON.parse(await readFile(this.secretsFile, 'utf8'));
    } catch {
      // The parser's message may quote the file's content: never repeat it.
      throw new ConnectionStoreError(
        `${this.secretsFile} is not valid JSON: fix it, or remove it and add the secrets again (--api-key-stdin).`,
      );
    }
    const file = data as Partial<SecretsFile> | null;
    if (
      typeof file !== 'object' ||
      file === null ||
      typeof file.secrets !== 'object' ||
      file.secrets === null
    )
      throw new ConnectionStoreError(
        `${this.secretsFile} must hold {"version": ${FORMAT_VERSION}, "secrets": {...}}: fix it, or remove it and add the secrets again.`,
      );
    const secrets: Record<string, string> = {};
    for (const [name, value] of Object.entries(file.secrets))
      if (typeof value === 'string') secrets[name] = value;
    return secrets;
  }

  private async writeSecrets(secrets: Record<string, string>): Promise<void> {
    const file: SecretsFile = { version: FORMAT_VERSION, secrets };
    await writeAtomic(this.secretsFile, `${JSON.stringify(file, null, 2)}\n`, 0o600);
  }

  /** Runs `work` holding the store's lock file, so two sfx processes never lose each other's change. */
  private async locked<T>(work: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const lock = join(this.dir, '.lock');
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const handle = await open(lock, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const age = await stat(lock).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        // A lock older than a minute was left by a process that died while holding it.
        if (age > 60_000) await rm(lock, { force: true });
        else if (Date.now() > deadline)
          throw new ConnectionStoreError(
            `Another sfx is changing the connections (lock file ${lock}): try again, or remove that file if no sfx is running.`,
          );
        else await new Promise((r) => setTimeout(r, 50));
      }
    }
    try {
      return await work();
    } finally {
      await rm(lock, { force: true });
    }
  }
}

/** The secrets.json entries a connection refers to. */
function storedSecretNames(conn: Connection): string[] {
  return SECRET_FIELDS.map((f) => conn[f])
    .map((ref) => (ref === undefined ? undefined : SECRET_REF.exec(ref)?.[1]))
    .filter((n): n is string => n !== undefined);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** Writes a whole file or nothing (see @sfx/flows' writeFileAtomic). */
export const writeAtomic = (path: string, data: string, mode: number): Promise<void> => writeFileAtomic(path, data, mode);
