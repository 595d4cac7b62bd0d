import {
  APIError,
  AuthenticationError,
  ConfigurationError,
  ConnectionError,
  Filerobot,
  InternalServerError,
  NotFoundError,
  parseEndpoint,
  PermissionDeniedError,
  RateLimitError,
  TimeoutError,
  type ClientOptions,
} from '@sfx/client';
import { z } from 'zod';
import { InvalidConnectionError, problemsOf, type Problem } from './errors.js';
import { isPermission, PERMISSIONS, type Permission } from './permissions.js';
import { CONNECTOR_ID, CONNECTOR_VERSION } from './version.js';

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const ENV_REF = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;
/** A reference into a secrets store the caller supplies (the CLI's secrets file): `secret:NAME`. */
const SECRET_REF = /^secret:([A-Za-z0-9][A-Za-z0-9_.-]*)$/;

function secretField(what: string, example: string) {
  return z
    .string({ error: `must be a string: the ${what}, or "env:NAME" to read it from an environment variable.` })
    .min(1, { error: `must not be empty: give the ${what}, or "env:NAME" to read it from an environment variable.` })
    .describe(`The ${what}, or "env:NAME" to read it from the environment variable NAME when used (e.g. "${example}"). Never printed.`)
    .meta({ writeOnly: true, format: 'password', 'x-secret': true });
}

/**
 * A connection to one Filerobot project (DESIGN.md §3). Secrets may be `env:NAME` references,
 * resolved only when the connection is used.
 */
export const ConnectionSchema = z
  .strictObject({
    name: z
      .string({ error: 'must be a string naming the connection, e.g. "Acme production".' })
      .min(1, { error: 'must not be empty: name the connection, e.g. "Acme production".' })
      .max(200, { error: 'must be at most 200 characters long.' })
      .describe('A name for this connection, shown in flows and logs.'),
    connector: z
      .string({ error: `must be a string: "${CONNECTOR_ID}@<version>", e.g. "${CONNECTOR_ID}@${CONNECTOR_VERSION}".` })
      .regex(new RegExp(`^${CONNECTOR_ID}@\\d+\\.\\d+\\.\\d+(?:[-+][0-9A-Za-z.+-]+)?$`), {
        error: `must be "${CONNECTOR_ID}@<version>", e.g. "${CONNECTOR_ID}@${CONNECTOR_VERSION}".`,
      })
      .describe(`The connector and the version the connection was made for: "${CONNECTOR_ID}@${CONNECTOR_VERSION}".`),
    endpointUrl: z
      .string({ error: 'must be a string: the API URL, e.g. "https://api.filerobot.com/<token>".' })
      .min(1, { error: 'must not be empty: give the API URL, e.g. "https://api.filerobot.com/<token>".' })
      .describe(
        'The API URL. May hold the project token and version: "https://api.filerobot.com/acme" or ".../acme/v5"; for `sfx server`, the URL it prints.',
      ),
    token: z
      .string({ error: 'must be a string: the project token (letters, digits, - and _).' })
      .regex(/^[A-Za-z0-9_-]{1,64}$/, {
        error: 'must be the project token: 1-64 letters, digits, - or _ (e.g. "acme").',
      })
      .optional()
      .describe('The project token, when endpointUrl does not hold it.'),
    authentication: z
      .enum(['apikey', 'sass'], {
        error: 'must be "apikey" (a secret API key) or "sass" (a security template exchanged for SASS keys).',
      })
      .describe('"apikey": a secret API key; "sass": a security template id, exchanged for short-lived SASS keys.'),
    apiKey: secretField('secret API key', 'env:FILEROBOT_KEY').optional(),
    securityTemplate: secretField('security template id (SECU_...)', 'env:FILEROBOT_TEMPLATE').optional(),
    apiVersion: z
      .enum(['v4', 'v5'], { error: 'must be "v4" or "v5".' })
      .optional()
      .describe('API version for operations that exist in both; default v5, or the one endpointUrl names.'),
  })
  .superRefine((conn, ctx) => {
    const ours = SEMVER.exec(CONNECTOR_VERSION);
    const theirs = SEMVER.exec(conn.connector.slice(CONNECTOR_ID.length + 1));
    // Same major version (same minor while at 0.x): the compatibility semver promises.
    if (ours && theirs && (theirs[1] !== ours[1] || (ours[1] === '0' && theirs[2] !== ours[2]))) {
      ctx.addIssue({
        code: 'custom',
        path: ['connector'],
        message: `was made for ${conn.connector}, which this connector (${CONNECTOR_ID}@${CONNECTOR_VERSION}) cannot use: re-create the connection, or set "${CONNECTOR_ID}@${CONNECTOR_VERSION}" after checking its settings.`,
      });
    }
    if (conn.authentication === 'apikey') {
      if (conn.apiKey === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['apiKey'],
          message: 'is required when authentication is "apikey": give the secret key (Hub > Settings > Access > API keys) or "env:NAME".',
        });
      if (conn.securityTemplate !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['securityTemplate'],
          message: 'only applies when authentication is "sass": remove it, or set authentication to "sass".',
        });
    } else {
      if (conn.securityTemplate === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['securityTemplate'],
          message: 'is required when authentication is "sass": give the template id (SECU_...) or "env:NAME".',
        });
      if (conn.apiKey !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['apiKey'],
          message: 'only applies when authentication is "apikey": remove it, or set authentication to "apikey".',
        });
    }
    try {
      const url = new URL(conn.endpointUrl);
      if (url.username || url.password) {
        ctx.addIssue({
          code: 'custom',
          path: ['endpointUrl'],
          message: 'must not hold a user name or password: put the key in apiKey instead.',
        });
        return;
      }
    } catch {
      // parseEndpoint below explains what is wrong with it.
    }
    try {
      parseEndpoint(conn.endpointUrl, conn.token, conn.apiVersion);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const path = /\btoken\b/.test(message) && conn.token !== undefined ? 'token' : 'endpointUrl';
      ctx.addIssue({ code: 'custom', path: [path], message: lowerFirst(message) });
    }
  });

export type Connection = z.output<typeof ConnectionSchema>;
export type ConnectionInput = z.input<typeof ConnectionSchema>;

/** Checks a connection; throws InvalidConnectionError naming each bad field and its fix. */
export function parseConnection(input: unknown): Connection {
  const result = ConnectionSchema.safeParse(input);
  if (!result.success) throw new InvalidConnectionError(problemsOf(result.error.issues));
  return result.data;
}

export interface ResolveOptions {
  /** Where `env:NAME` references are looked up. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * Looks up `secret:NAME` references (the sfx CLI passes its secrets file). Without it such a
   * reference cannot be resolved and is reported as a problem, never sent as the key.
   */
  secrets?: (name: string) => string | undefined;
}

/** The connection's secrets with `env:NAME` and `secret:NAME` references replaced by their values. */
export function resolveSecrets(
  conn: Connection,
  options: ResolveOptions = {},
): { apiKey?: string; securityTemplate?: string } {
  const env = options.env ?? process.env;
  const problems: Problem[] = [];
  const resolve = (field: 'apiKey' | 'securityTemplate'): string | undefined => {
    const value = conn[field];
    if (value === undefined) return undefined;
    const stored = SECRET_REF.exec(value);
    if (stored) {
      const name = stored[1]!;
      const found = options.secrets?.(name);
      if (found === undefined || found.trim() === '') {
        problems.push({
          path: field,
          message: options.secrets
            ? `refers to the stored secret "${name}", which the secrets store does not hold: store it again (sfx connection add ... --${field === 'apiKey' ? 'api-key' : 'template'}-stdin --force), or use "env:NAME".`
            : `refers to the stored secret "${name}", but no secrets store was given: use the connection through sfx, which reads its secrets file, or use "env:NAME".`,
        });
        return undefined;
      }
      return found.trim();
    }
    const ref = ENV_REF.exec(value);
    if (!ref) return value;
    const found = env[ref[1]!];
    if (found === undefined || found.trim() === '') {
      problems.push({
        path: field,
        message: `refers to the environment variable ${ref[1]}, which is ${found === undefined ? 'not set' : 'empty'}: set it, or put the value itself in ${field}.`,
      });
      return undefined;
    }
    return found.trim();
  };
  const resolved = { apiKey: resolve('apiKey'), securityTemplate: resolve('securityTemplate') };
  if (problems.length > 0) throw new InvalidConnectionError(problems);
  return resolved;
}

/**
 * The connection as it may be shown or logged: secrets masked, `env:` and `secret:` references kept
 * (they name where the value is, not the value), credentials in the URL removed.
 */
export function describeConnection(conn: ConnectionInput | Connection): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const [field, value] of Object.entries(conn)) {
    if (value === undefined) continue;
    if (field === 'apiKey' || field === 'securityTemplate') shown[field] = maskSecret(value);
    else if (field === 'endpointUrl') shown[field] = withoutCredentials(String(value));
    else shown[field] = String(value);
  }
  return shown;
}

function maskSecret(value: unknown): string {
  if (typeof value === 'string' && (ENV_REF.test(value) || SECRET_REF.test(value))) return value;
  return '[secret]';
}

function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}

export interface OpenOptions extends ResolveOptions {
  /** Client options to add or override (timeouts, retries, a transport for tests). */
  client?: Partial<ClientOptions>;
}

/** A Filerobot client for the connection. Validates it and resolves its secrets first. */
export function openConnection(input: unknown, options: OpenOptions = {}): Filerobot {
  const conn = parseConnection(input);
  const secrets = resolveSecrets(conn, options);
  try {
    return new Filerobot({
      endpoint: conn.endpointUrl,
      token: conn.token,
      apiVersion: conn.apiVersion,
      ...(conn.authentication === 'apikey'
        ? { apiKey: secrets.apiKey }
        : { securityTemplate: secrets.securityTemplate }),
      userAgent: `sfx-connector/${CONNECTOR_VERSION}`,
      ...options.client,
    });
  } catch (error) {
    if (error instanceof ConfigurationError)
      throw new InvalidConnectionError([{ path: '', message: lowerFirst(error.message) }]);
    throw error;
  }
}

/** Why a connection test failed, as a stable code; `reason` says the same for people. */
export type ConnectionProblemCode =
  | 'invalid_connection'
  | 'unauthorized'
  | 'key_deactivated'
  | 'key_expired'
  | 'template_not_found'
  | 'project_not_found'
  | 'wrong_endpoint'
  | 'unreachable'
  | 'permission_denied'
  | 'access_refused'
  | 'rate_limited'
  | 'server_error'
  | 'unknown';

export interface ConnectionTestResult {
  ok: boolean;
  code?: ConnectionProblemCode;
  reason?: string;
  project?: { token: string; apiBase: string; apiVersion: 'v4' | 'v5' };
  /** What the key may do; absent when the server cannot tell (the real API has no such call). */
  grantedPermissions?: Permission[];
  /** What it may not do, when `grantedPermissions` is known. */
  missingPermissions?: Permission[];
  /**
   * Set when the connection works but the key cannot list assets (an upload-only key, say): what
   * that rules out, for people. Such a key is valid, so the test passes.
   */
  limitations?: string;
}

export interface TestOptions extends OpenOptions {
  signal?: AbortSignal;
}

/**
 * Makes one cheap call (`GET /files?limit=1&folder=/`, which needs only OBJECTS_LIST; for "sass"
 * the template is exchanged first) and says whether the connection works, and if not, why, in
 * terms of what to change. A valid key that may not list (upload-only) passes, with `limitations`.
 * Where the server tells (`GET /v5/access/key`), the key's permissions come too. Never throws and
 * never reveals a secret.
 */
export async function testConnection(input: unknown, options: TestOptions = {}): Promise<ConnectionTestResult> {
  let client: Filerobot;
  try {
    client = openConnection(input, {
      ...options,
      // A test should answer quickly: one retry of a transient failure, no long waits.
      client: { timeoutMs: 15_000, retry: { maxRetries: 1, initialDelayMs: 200, maxDelayMs: 1000 }, ...options.client },
    });
  } catch (error) {
    return { ok: false, code: 'invalid_connection', reason: error instanceof Error ? error.message : String(error) };
  }
  const conn = ConnectionSchema.parse(input);
  const project = {
    token: client.endpoint.token,
    apiBase: client.baseUrl,
    apiVersion: client.endpoint.version,
  };
  try {
    let failure: { code: ConnectionProblemCode; reason: string } | undefined;
    try {
      const page = await client.files.list({ folder: '/', limit: 1, signal: options.signal });
      if (!Array.isArray((page as { files?: unknown }).files)) {
        failure = {
          code: 'wrong_endpoint',
          reason: `${project.apiBase} answered GET /files with JSON that is not a Filerobot file list: endpointUrl does not point at the Filerobot API (e.g. https://api.filerobot.com/<token>).`,
        };
      }
    } catch (error) {
      failure = explain(error, conn, project);
    }
    const reachedKey = failure === undefined || failure.code === 'permission_denied' || failure.code === 'access_refused';
    const grantedPermissions = reachedKey ? await readGrants(client, options.signal) : undefined;
    const grants = grantedPermissions
      ? { grantedPermissions, missingPermissions: PERMISSIONS.filter((p) => !grantedPermissions.includes(p)) }
      : {};
    // The API checks the key before its permissions: a refusal for a missing permission proves the
    // key itself is good, so a key made for one job (uploads only) passes, with what it cannot do.
    if (failure?.code === 'permission_denied')
      return { ok: true, project, ...grants, limitations: cannotList(conn, grantedPermissions) };
    return { ok: failure === undefined, ...failure, project, ...grants };
  } finally {
    await client.close();
  }
}

function cannotList(conn: Connection, granted: Permission[] | undefined): string {
  const who = conn.authentication === 'sass' ? 'security template' : 'API key';
  const rest = granted
    ? granted.length > 0
      ? ` It may: ${granted.join(', ')}.`
      : ' It has no permission at all.'
    : ' The API does not say what else it may do.';
  return `The ${who} is valid but lacks OBJECTS_LIST: it cannot list or search assets, so actions and flows that read folders fail with it.${rest}`;
}

/** The key's own permissions, from the sfx extension `GET /v5/access/key`; undefined where it is not served. */
async function readGrants(client: Filerobot, signal?: AbortSignal): Promise<Permission[] | undefined> {
  try {
    const key = await client.access.currentKey({ signal });
    return Array.isArray(key.permissions) ? key.permissions.filter(isPermission) : undefined;
  } catch {
    return undefined;
  }
}

function explain(
  error: unknown,
  conn: Connection,
  project: ConnectionTestResult['project'] & object,
): { code: ConnectionProblemCode; reason: string } {
  const sass = conn.authentication === 'sass';
  const credential = sass ? 'securityTemplate' : 'apiKey';
  if (error instanceof TimeoutError || error instanceof ConnectionError) {
    const origin = new URL(project.apiBase).origin;
    return {
      code: 'unreachable',
      reason: `Cannot reach ${origin} (${error instanceof TimeoutError ? 'no reply in time' : shortCause(error)}): check the host and port in endpointUrl, and that this machine can reach it (network, proxy, firewall).`,
    };
  }
  if (!(error instanceof APIError)) {
    return { code: 'unknown', reason: error instanceof Error ? error.message : String(error) };
  }
  const detail = [error.msg, error.hint].filter(Boolean).join(' ');
  if (error instanceof AuthenticationError || error.status === 401) {
    if (error.code === 'KEY_DEACTIVATED')
      return {
        code: 'key_deactivated',
        reason: sass
          ? 'The SASS key was revoked: its security template has been deactivated. Reactivate the template, or use another one.'
          : 'The API key has been deactivated. Reactivate it (Hub > Settings > Access > API keys, or PATCH /v5/access/keys/{uuid} {"active":true}) or use another key.',
      };
    if (error.code === 'KEY_EXPIRED')
      return {
        code: 'key_expired',
        reason: sass
          ? 'The SASS key from the security template had already expired when it was used, even after a fresh exchange: raise the template\'s validity_seconds, and check this machine\'s clock.'
          : 'The key has expired: use a current key.',
      };
    return {
      code: 'unauthorized',
      reason: sass
        ? `The SASS key from the security template was refused (401${error.code ? ` ${error.code}` : ''}): check securityTemplate and that the template belongs to project "${project.token}".`
        : `The API key was refused (401${error.code ? ` ${error.code}` : ''}): it is not a valid key of project "${project.token}". Copy it again (Hub > Settings > Access > API keys) and check the token in endpointUrl.`,
    };
  }
  if (error instanceof NotFoundError || error.status === 404) {
    if (error.code === 'TEMPLATE_NOT_FOUND')
      return {
        code: 'template_not_found',
        reason: `The security template was not found or is not active in project "${project.token}": check securityTemplate (SECU_...) and that the template is active.`,
      };
    if (error.code === 'PROJECT_NOT_FOUND')
      return {
        code: 'project_not_found',
        reason: `The server has no project "${project.token}": check the token in endpointUrl${conn.token ? ' and token' : ''}.${detail ? ` (${detail})` : ''}`,
      };
    return {
      code: 'wrong_endpoint',
      reason: `${project.apiBase} has no Filerobot API (404${error.code ? ` ${error.code}` : ''} for GET /files): endpointUrl should look like https://api.filerobot.com/<token>; for sfx server, the URL it prints.`,
    };
  }
  if (error.code === 'INVALID_JSON_REPLY')
    return {
      code: 'wrong_endpoint',
      reason: `${project.apiBase} answered with something that is not the Filerobot API (not JSON): endpointUrl should look like https://api.filerobot.com/<token>.`,
    };
  if (error instanceof PermissionDeniedError || error.status === 403) {
    if (error.code === 'PERMISSION_DENIED')
      return {
        code: 'permission_denied',
        reason: `The ${sass ? 'security template' : 'API key'} is valid but lacks OBJECTS_LIST, which the connection test needs (GET /files). Grant it to the ${sass ? 'template' : 'key'}, or use another ${credential === 'apiKey' ? 'key' : 'template'}.`,
      };
    return {
      code: 'access_refused',
      reason: `The ${sass ? 'SASS key' : 'API key'} is valid but the request was refused (403${error.code ? ` ${error.code}` : ''}): ${detail || 'no detail given.'}`,
    };
  }
  if (error instanceof RateLimitError)
    return { code: 'rate_limited', reason: `The API is rate-limiting this key (429): try again later.${detail ? ` ${detail}` : ''}` };
  if (error instanceof InternalServerError)
    return { code: 'server_error', reason: `The API failed (HTTP ${error.status}): try again later.${detail ? ` ${detail}` : ''}` };
  return { code: 'unknown', reason: error.message };
}

function shortCause(error: Error): string {
  const message = error.message;
  const colon = message.indexOf(': ');
  return colon >= 0 ? message.slice(colon + 2) : message;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
