/**
 * What the Flows/Runs/Connections tests share: flows written for them, a local HTTP endpoint a
 * flow's `http.request` step waits on (so a run stays running until the test lets it go), and a
 * connection store in memory built on the connector (parse, test, open), as the CLI's is.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONNECTOR_ID,
  CONNECTOR_VERSION,
  openConnection,
  parseConnection,
  testConnection,
  type Connection,
} from '@sfx/connector';
import type { ConsoleConnections, ConsoleNewConnection } from '../src/index.js';

export const HELD_FLOW = `name: held
description: waits for an HTTP answer, then logs three items
inputs:
  url: { type: string, description: the URL to wait on }
steps:
  - id: wait
    uses: http.request
    with: { url: "{% $inputs.url %}" }
  - id: each
    forEach: "{% [1, 2, 3] %}"
    uses: log.info
    with: { message: "{% 'item ' & $string($item) %}" }
`;

export const NIGHTLY_FLOW = `name: nightly
trigger: { type: schedule, cron: "0 2 * * *", timezone: UTC }
steps:
  - id: note
    uses: log.info
    with: { message: "{% 'tick ' & $trigger.scheduledAt %}" }
`;

/** Files of these flows in a fresh folder, for `startStack({ flows })`. */
export async function flowFiles(flows: Record<string, string>): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'sfx-console-flows-'));
  const files: string[] = [];
  for (const [name, text] of Object.entries(flows)) {
    await writeFile(join(dir, name), text);
    files.push(join(dir, name));
  }
  return files;
}

export interface Gate {
  url: string;
  /** Requests answer once released (or at once, when open). */
  release(): void;
  /** Hold the next requests again. */
  hold(): void;
  /** Answer 400 while true. */
  failing: boolean;
  requests: number;
  close(): Promise<void>;
}

export async function gate(): Promise<Gate> {
  let open = false;
  const waiting: Array<() => void> = [];
  const state = { failing: false, requests: 0 };
  const server: Server = createServer((request, response) => {
    state.requests++;
    const answer = (): void => {
      if (state.failing) response.writeHead(400, { 'content-type': 'application/json' }).end('{"msg":"refused by the test"}');
      else response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    };
    if (open) answer();
    else waiting.push(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  const release = (): void => {
    open = true;
    for (const answer of waiting.splice(0)) answer();
  };
  return {
    url: `http://127.0.0.1:${address.port}/wait`,
    release,
    hold() {
      open = false;
    },
    get failing() {
      return state.failing;
    },
    set failing(value: boolean) {
      state.failing = value;
    },
    get requests() {
      return state.requests;
    },
    async close() {
      release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Connections kept in memory; secrets typed in are kept apart, as the CLI's secrets file keeps them. */
export function memoryConnections(): ConsoleConnections & {
  secrets: Map<string, string>;
  /** Stores a connection over any of that name, as `sfx connection add --force` does from a terminal. */
  put(connection: ConsoleNewConnection): void;
} {
  const stored = new Map<string, Connection>();
  const secrets = new Map<string, string>();
  const prepare = (input: ConsoleNewConnection): { conn: Connection; values: Map<string, string> } => {
    const values = new Map<string, string>();
    const ref = (field: 'apiKey' | 'securityTemplate'): string | undefined => {
      const secret = input[field];
      if (!secret) return undefined;
      if ('env' in secret) return `env:${secret.env}`;
      values.set(`${input.name}.${field}`, secret.value);
      return `secret:${input.name}.${field}`;
    };
    const apiKey = ref('apiKey');
    const securityTemplate = ref('securityTemplate');
    const conn = parseConnection({
      name: input.name,
      connector: `${CONNECTOR_ID}@${CONNECTOR_VERSION}`,
      endpointUrl: input.endpointUrl,
      authentication: input.authentication,
      ...(input.token ? { token: input.token } : {}),
      ...(apiKey ? { apiKey } : {}),
      ...(securityTemplate ? { securityTemplate } : {}),
      ...(input.apiVersion ? { apiVersion: input.apiVersion } : {}),
    });
    return { conn, values };
  };
  return {
    secrets,
    async list() {
      return [...stored.values()].map((c) => ({
        name: c.name,
        endpointUrl: c.endpointUrl,
        authentication: c.authentication,
        isDefault: stored.size === 1,
        secret: (c.apiKey ?? c.securityTemplate ?? '').startsWith('env:') ? (c.apiKey ?? c.securityTemplate)! : 'secrets file',
      }));
    },
    async open(name) {
      const conn = stored.get(name);
      if (!conn) throw new Error(`no connection named ${name}`);
      return openConnection(conn, { secrets: (n) => secrets.get(n) });
    },
    async test(connection) {
      if (typeof connection === 'string') {
        const conn = stored.get(connection);
        if (!conn) return { ok: false, code: 'invalid_connection', reason: `no connection named ${connection}.` };
        return testConnection(conn, { secrets: (n) => secrets.get(n) });
      }
      const { conn, values } = prepare(connection);
      return testConnection(conn, { secrets: (n) => values.get(n) });
    },
    async add(connection) {
      if (stored.has(connection.name))
        throw Object.assign(new Error(`a connection named "${connection.name}" already exists.`), {
          problems: [{ path: 'name', message: 'is taken by another connection: choose another name.' }],
        });
      const { conn, values } = prepare(connection);
      for (const [k, v] of values) secrets.set(k, v);
      stored.set(conn.name, conn);
    },
    put(connection) {
      const { conn, values } = prepare(connection);
      for (const k of [...secrets.keys()]) if (k.startsWith(`${connection.name}.`)) secrets.delete(k);
      for (const [k, v] of values) secrets.set(k, v);
      stored.set(conn.name, conn);
    },
    async fingerprint(name) {
      const conn = stored.get(name);
      if (!conn) return undefined;
      const hash = createHash('sha256').update(JSON.stringify(conn));
      for (const [k, v] of secrets) if (k.startsWith(`${name}.`)) hash.update(`\0${k}\0${v}`);
      return hash.digest('hex');
    },
    async remove(name) {
      for (const k of [...secrets.keys()]) if (k.startsWith(`${name}.`)) secrets.delete(k);
      return stored.delete(name);
    },
  };
}
