/**
 * The web console as `sfx serve` and `sfx demo` mount it: the CLI's connection store behind the
 * console's narrow ConsoleConnections, and the login line printed at start.
 */
import { registerConsole, type ConsoleConnections, type RegisteredConsole } from '@sfx/console';
import { testConnection } from '@sfx/connector';
import type { FlowServiceOptions } from '@sfx/flows';
import { ConnectionStore, secretOf, secretSource } from './connections-store.js';
import { openStored } from './run.js';

/** The stored connections; the default is --connection / SFX_CONNECTION, or the only one stored. */
export function storedConnections(defaultName: string | undefined): ConsoleConnections {
  return {
    async list() {
      const all = await new ConnectionStore().list();
      const wanted = defaultName ?? (process.env.SFX_CONNECTION || undefined) ?? (all.length === 1 ? all[0]!.name : undefined);
      return all.map((c) => ({
        name: c.name,
        endpointUrl: c.endpointUrl,
        authentication: c.authentication,
        isDefault: c.name === wanted,
        secret: secretSource(secretOf(c).ref),
      }));
    },
    async open(name) {
      return (await openStored(name)).client;
    },
    async test(connection) {
      const store = new ConnectionStore();
      if (typeof connection === 'string') {
        try {
          const conn = await store.get(connection);
          const secrets = await store.secretsFor(conn);
          return await testConnection(conn, secrets ? { secrets } : {});
        } catch (error) {
          // The store cannot give it (gone, or its secret missing): the message says what to do.
          return { ok: false, code: 'invalid_connection', reason: (error as Error).message };
        }
      }
      // Tried before it is stored: its secret is looked up from what was typed, nothing is written.
      const candidate = store.candidate(connection);
      return testConnection(candidate.conn, { secrets: candidate.secrets });
    },
    async add(connection) {
      await new ConnectionStore().add(connection);
    },
    remove: (name) => new ConnectionStore().remove(name),
    fingerprint: (name) => new ConnectionStore().fingerprint(name),
  };
}

export interface ConsoleFlags {
  console?: boolean;
  consoleToken?: string;
  connection?: string;
  /** --trusted-proxy: the reverse proxies whose X-Forwarded-Proto / X-Forwarded-For count. */
  trustedProxy?: string[];
}

/** FlowService's `http` hook that mounts the console, and the console once mounted. */
export function consoleHook(flags: ConsoleFlags): {
  hook: NonNullable<FlowServiceOptions['http']>;
  mounted: () => RegisteredConsole | undefined;
} {
  let mounted: RegisteredConsole | undefined;
  return {
    mounted: () => mounted,
    hook: async (app, service) => {
      if (flags.console === false) return;
      const token = flags.consoleToken || process.env.SFX_CONSOLE_TOKEN || undefined;
      const password = process.env.SFX_CONSOLE_PASSWORD || undefined;
      mounted = await registerConsole(app, {
        service,
        connections: storedConnections(flags.connection),
        ...(token ? { token } : {}),
        ...(password ? { password } : {}),
        ...(flags.trustedProxy?.length ? { trustedProxies: flags.trustedProxy } : {}),
      });
    },
  };
}

/**
 * How to open the console. The URL carries the token only when it was generated here: a token the
 * user chose (flag or variable) is theirs to type, never printed.
 */
export function consoleLoginLine(mounted: RegisteredConsole, base: string, flags: ConsoleFlags): string {
  const given = Boolean(flags.consoleToken || process.env.SFX_CONSOLE_TOKEN);
  if (!given) return `console: ${mounted.loginUrl(base)}`;
  return `console: ${base}/ui/login (log in with the token given by ${flags.consoleToken ? '--console-token' : 'SFX_CONSOLE_TOKEN'}${process.env.SFX_CONSOLE_PASSWORD ? ' or SFX_CONSOLE_PASSWORD' : ''})`;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * What listening beyond loopback means for the console, said at start: it is plain HTTP, so the
 * token, the password and the session cookie cross the network readable by anyone on the path.
 */
export function consoleExposureWarning(host: string, flags: ConsoleFlags): string | undefined {
  if (flags.console === false || isLoopback(host)) return undefined;
  return (
    `warning: --host ${host} makes the web console at /ui reachable from other machines over plain HTTP; ` +
    'its login token, password and session cookie can be read by anyone on the network path. ' +
    'Put sfx serve behind an HTTPS reverse proxy (give its address with --trusted-proxy, so the session cookie is Secure, ' +
    'and set SFX_CONSOLE_PASSWORD), or start it with --no-console ' +
    'when only the webhooks need to be reachable.'
  );
}
