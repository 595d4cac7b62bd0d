import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Filerobot } from '@sfx/client';
import { startServer, type RunningServer, type ServerOptions } from '../../server/src/index.js';
import { PERMISSIONS, type Permission } from '../src/permissions.js';

/** A local server on a throwaway data folder, with clients for keys made on it. */
export interface LocalProject {
  server: RunningServer;
  /** Scratch space for the test (the data folder lives beside it). */
  dir: string;
  /** A client with the root key (every permission). */
  root: Filerobot;
  clientFor(apiKey: string): Filerobot;
  /** A client whose key has every permission but `missing` (one key per permission, made once). */
  clientWithout(missing: Permission): Promise<Filerobot>;
  close(): Promise<void>;
}

export async function startLocalProject(name: string, options: ServerOptions = {}): Promise<LocalProject> {
  const dir = await mkdtemp(join(tmpdir(), `sfx-${name}-`));
  const server = await startServer({
    port: 0,
    data: join(dir, 'data'),
    rootKey: `root-key-for-${name}`,
    durability: 'relaxed',
    logLevel: 'silent',
    ...options,
  });
  const clients: Filerobot[] = [];
  const clientFor = (apiKey: string): Filerobot => {
    // No retries: a refused or failing call must surface at once, as the tests expect.
    const client = new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey, retry: { maxRetries: 0 } });
    clients.push(client);
    return client;
  };
  const root = clientFor(server.rootKey);
  const without = new Map<Permission, Promise<Filerobot>>();
  return {
    server,
    dir,
    root,
    clientFor,
    clientWithout(missing) {
      let made = without.get(missing);
      if (!made) {
        made = root.access.keys
          .create({ description: `all but ${missing}`, permissions: PERMISSIONS.filter((p) => p !== missing) })
          .then((key) => clientFor(key.secret!));
        without.set(missing, made);
      }
      return made;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
