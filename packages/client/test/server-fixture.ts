import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServerOptions } from '../../server/src/index.js';
import { Filerobot, type ClientOptions } from '../src/index.js';

export interface Fixture {
  server: RunningServer;
  dir: string;
  endpoint: string;
  client(options?: Partial<ClientOptions>): Filerobot;
  close(): Promise<void>;
}

/** A local server on a free port with a throwaway data folder, and clients pointed at it. */
export async function startFixture(options: ServerOptions = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'sfx-client-'));
  const server = await startServer({
    port: 0,
    data: join(dir, 'data'),
    rootKey: 'root-key-for-client-tests',
    durability: 'relaxed',
    logLevel: 'silent',
    ...options,
  });
  const endpoint = `${server.url}/${server.token}`;
  const clients: Filerobot[] = [];
  return {
    server,
    dir,
    endpoint,
    client(extra = {}) {
      const client = new Filerobot({
        endpoint,
        apiKey: server.rootKey,
        retry: { initialDelayMs: 5, maxDelayMs: 50 },
        ...extra,
      });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
