import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyRecord } from '../auth/api-keys.js';
import type { Permission } from '../auth/permissions.js';
import type { SassKeyRecord } from '../auth/sass.js';
import type { ApiVersion, UrlContext } from '../api/serialize.js';
import type { ServerContext } from '../context.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

/**
 * Who made the request: an API key, or a SASS key with its template's rules and the caller's
 * address (which the per-source limits count by). `id` names the key in limits and logs.
 */
export type Principal =
  | { kind: 'api-key'; id: string; key: ApiKeyRecord; permissions: ReadonlySet<Permission> }
  | { kind: 'sass'; id: string; sass: SassKeyRecord; ip: string; permissions: ReadonlySet<Permission> };

export interface Call {
  req: FastifyRequest;
  reply: FastifyReply;
  ctx: ServerContext;
  url: UrlContext;
  principal: Principal | undefined;
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

/** What a handler returns: fields for the success envelope, or `undefined` when it replied itself. */
export type HandlerResult = Record<string, unknown> | undefined;

/**
 * One API route. `path` follows the `/{token}/{version}` prefix (or the token alone when
 * `versions` is empty). `permissions` lists every permission the caller must hold; `public`
 * routes authenticate differently (CDN, key exchange) and say so; `any-key` routes need a valid
 * key but no permission (a key reading its own grants, which it must be able to do whatever it
 * was granted).
 */
export interface RouteSpec {
  method: HttpMethod;
  path: string;
  versions: ApiVersion[];
  permissions: Permission[] | 'public' | 'any-key';
  summary: string;
  /** The request body is a stream the handler reads itself (uploads). */
  streamBody?: boolean;
  /**
   * Served at `path` as it is, without the `/{token}` prefix, the way the real connector host
   * (resumable uploads) is: the handler reads the project from `X-Filerobot-Token`.
   */
  connector?: true;
  /** JSON body limit for this route, when it differs from the default. */
  bodyLimit?: (ctx: ServerContext) => number;
  handler: (call: Call) => Promise<HandlerResult> | HandlerResult;
}

/** The success envelope around a handler's result, serialized: what the app sends for a returned result. */
export function successJson(result: Record<string, unknown>): string {
  return JSON.stringify({ status: 'success', ...result });
}

export function route(spec: RouteSpec): RouteSpec {
  return spec;
}

/** The URL patterns (fastify syntax) a route is served at. */
export function urlsOf(spec: RouteSpec): string[] {
  if (spec.connector) return [spec.path];
  if (spec.versions.length === 0) return [`/:token${spec.path}`];
  return spec.versions.map((v) => `/:token/${v}${spec.path}`);
}
