import type { ApiKeyRecord } from '../auth/api-keys.js';
import { checkGrantable, checkWithinReach, rootKeyImmutable } from '../auth/grants.js';
import { isPermission, PERMISSIONS, type Permission } from '../auth/permissions.js';
import { badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import { bodyObject, uuidParam } from './params.js';

export function permissionList(value: unknown, field = 'permissions'): Permission[] {
  if (!Array.isArray(value)) {
    throw badRequest('INVALID_PARAMETER', `"${field}" must be an array of permission names.`, `Known permissions: ${PERMISSIONS.join(', ')}.`);
  }
  const unknown = value.filter((p) => !isPermission(p));
  if (unknown.length > 0) {
    throw badRequest('INVALID_PERMISSION', `Unknown permission${unknown.length > 1 ? 's' : ''}: ${unknown.map((u) => JSON.stringify(u)).join(', ')}.`,
      `Known permissions: ${PERMISSIONS.join(', ')}.`);
  }
  return [...new Set(value as Permission[])];
}

function description(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > 500) throw badRequest('INVALID_PARAMETER', '"description" must be a string of at most 500 characters.');
  return value;
}

const keyObject = (key: ApiKeyRecord): Record<string, unknown> => ({ ...key });

/** The key a PATCH or DELETE names, once the caller may act on it (not the root key, nothing it lacks). */
function reachableKey(call: Call): ApiKeyRecord {
  const key = call.ctx.keys.require(uuidParam(call.params.uuid, 'uuid'));
  if (key.root) throw rootKeyImmutable();
  checkWithinReach(call.principal!, key, 'API key');
  return key;
}

export const accessRoutes: RouteSpec[] = [
  {
    method: 'GET', path: '/access/keys', versions: ['v5'], permissions: ['ACCESS_READ'], summary: 'List API keys',
    handler: (call) => ({ keys: call.ctx.keys.list().map(keyObject) }),
  },
  {
    method: 'POST', path: '/access/keys', versions: ['v5'], permissions: ['ACCESS_MANAGE'], summary: 'Create an API key (the secret is shown once)',
    handler: (call) => {
      const body = bodyObject(call.body);
      const permissions = permissionList(body.permissions);
      checkGrantable(call.principal!, permissions);
      const created = call.ctx.keys.create(description(body.description) ?? '', permissions);
      return { key: { ...keyObject(created.key), secret: created.secret } };
    },
  },
  {
    method: 'GET', path: '/access/keys/:uuid', versions: ['v5'], permissions: ['ACCESS_READ'], summary: 'API key details',
    handler: (call) => ({ key: keyObject(call.ctx.keys.require(uuidParam(call.params.uuid, 'uuid'))) }),
  },
  {
    method: 'PATCH', path: '/access/keys/:uuid', versions: ['v5'], permissions: ['ACCESS_MANAGE'], summary: 'Change, deactivate or reactivate an API key (not the root key; only keys holding no more than the caller)',
    handler: (call) => {
      const target = reachableKey(call);
      const body = bodyObject(call.body);
      if (body.active !== undefined && typeof body.active !== 'boolean') throw badRequest('INVALID_PARAMETER', '"active" must be true or false.');
      const permissions = body.permissions === undefined ? undefined : permissionList(body.permissions);
      if (permissions) checkGrantable(call.principal!, permissions);
      const key = call.ctx.keys.update(target.uuid, {
        description: description(body.description),
        permissions,
        active: body.active as boolean | undefined,
      });
      return { key: keyObject(key) };
    },
  },
  {
    method: 'DELETE', path: '/access/keys/:uuid', versions: ['v5'], permissions: ['ACCESS_MANAGE'], summary: 'Delete an API key',
    handler: (call) => {
      const key = call.ctx.keys.delete(reachableKey(call).uuid);
      return { action: 'key_deleted', key_uuid: key.uuid };
    },
  },
  {
    // Our extension: the real API offers no way for a key to read its own grants, which a connection
    // test needs to say what a key may do. Any valid key may call it; it shows only that key.
    method: 'GET', path: '/access/key', versions: ['v5'], permissions: 'any-key', summary: 'The presented key and its permissions (extension)',
    handler: (call) => {
      const principal = call.principal!;
      if (principal.kind === 'sass') {
        const { template, expiresAt } = principal.sass;
        return {
          key: { type: 'sass', description: template.name, permissions: [...principal.permissions], active: true, expires_at: new Date(expiresAt).toISOString() },
        };
      }
      return { key: { type: 'api_key', ...keyObject(principal.key) } };
    },
  },
];
