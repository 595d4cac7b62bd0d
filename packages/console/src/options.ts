import type { Filerobot } from '@sfx/client';
import type { ConnectionTestResult } from '@sfx/connector';
import type { FlowService, Log } from '@sfx/flows';

/** A stored connection as the console may show it: never its secrets. */
export interface ConsoleConnectionInfo {
  name: string;
  endpointUrl: string;
  authentication: 'apikey' | 'sass';
  /** The one flows with `connection: null` use, and the Assets page opens first. */
  isDefault: boolean;
  /** Where its secret is kept, for people: `env:FILEROBOT_KEY`, `secrets file` (never the secret). */
  secret?: string;
}

/** A connection to add, as the Connections page's form gives it (the CLI's `NewConnection`). */
export interface ConsoleNewConnection {
  name: string;
  endpointUrl: string;
  token?: string;
  authentication: 'apikey' | 'sass';
  /** A variable to read the secret from when used, or the value, which goes to the secrets file. */
  apiKey?: { env: string } | { value: string };
  securityTemplate?: { env: string } | { value: string };
  apiVersion?: 'v4' | 'v5';
}

/**
 * What the console needs of the connection store. `sfx serve` passes the CLI's store (the console
 * never imports the CLI); tests pass a list of their own.
 */
export interface ConsoleConnections {
  list(): Promise<ConsoleConnectionInfo[]>;
  /** A client holding the connection's credentials, kept on the server side only. */
  open(name: string): Promise<Filerobot>;
  /**
   * The Connections page's writes; without them it only lists. `test` takes a stored connection's
   * name or one about to be added, and never throws for a connection that fails (the result says
   * why). `add` throws with `problems: [{path, message}]` for fields it refuses.
   */
  test?(connection: string | ConsoleNewConnection): Promise<ConnectionTestResult>;
  add?(connection: ConsoleNewConnection): Promise<void>;
  remove?(name: string): Promise<boolean>;
  /**
   * A digest of the stored connection, its record and the secret it refers to, that changes when
   * either does (a key replaced with `sfx connection add --force`, a connection removed and added
   * again); undefined when no connection has the name. The console checks it before it reuses a
   * client it opened, so a change made from the CLI meanwhile is never met with old credentials.
   * Without it, only changes made through the console itself are seen.
   */
  fingerprint?(name: string): Promise<string | undefined>;
}

export interface ConsoleOptions {
  /** The flows service whose fastify instance serves the console (Flows and Runs pages use it). */
  service?: FlowService;
  connections: ConsoleConnections;
  /** Login token (the `?token=` of the printed login URL). Default: a random one, see `consoleToken`. */
  token?: string;
  /** Admin password for the login form. Without it the form takes the token. */
  password?: string;
  /** How long a session lasts. Default 12 hours. */
  sessionTtlMs?: number;
  /** Lifetime of the SASS keys minted for browser uploads. Default 15 minutes. */
  uploadKeyTtlSeconds?: number;
  /**
   * Where the console's failures go: one JSON line each, the way the service logs. Default the
   * service's own log (`service.log`, the sfx serve log); without a service, stderr.
   */
  log?: Log;
  /**
   * CIDR ranges (or addresses) of the reverse proxies in front of the console. Only from those is
   * X-Forwarded-Proto believed (`https`: the session cookie is Secure) and X-Forwarded-For (the
   * address the login throttle counts). Default none: the headers are ignored.
   */
  trustedProxies?: readonly string[];
}
