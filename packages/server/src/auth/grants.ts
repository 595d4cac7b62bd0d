import { ApiError } from '../errors.js';
import type { Principal } from '../http/route.js';
import type { Permission } from './permissions.js';

/**
 * What a key holding ACCESS_MANAGE may do with other credentials. Without these rules ACCESS_MANAGE
 * would be every permission: a key could mint a key (or a template, whose SASS keys anyone with
 * its id can obtain) with more than it holds, or reactivate a stronger key someone switched off.
 * So a caller grants only what it holds, and touches only keys and templates that hold no more
 * than it does. The root key holds everything, so only the "root key is fixed" rule limits it.
 */

function lacking(principal: Principal, permissions: readonly Permission[]): Permission[] {
  return [...new Set(permissions)].filter((p) => !principal.permissions.has(p));
}

/** A key or template may be given only permissions the caller holds itself. */
export function checkGrantable(principal: Principal, permissions: readonly Permission[]): void {
  const missing = lacking(principal, permissions);
  if (missing.length === 0) return;
  throw new ApiError(
    403,
    'PERMISSION_NOT_GRANTABLE',
    `This key cannot grant ${missing.join(', ')}: a key may grant only permissions it holds itself.`,
    `Leave out ${missing.length > 1 ? 'these permissions' : 'this permission'}, or make the change with a key that holds ${missing.length > 1 ? 'them' : 'it'}.`,
    { permissions: missing },
  );
}

/**
 * A key or template that holds permissions the caller lacks is out of its reach: changing,
 * deactivating, reactivating or deleting it would act with rights the caller was never given.
 */
export function checkWithinReach(
  principal: Principal,
  target: { permissions: readonly Permission[] },
  what: 'API key' | 'security template',
  action = 'change or delete',
): void {
  const missing = lacking(principal, target.permissions);
  if (missing.length === 0) return;
  throw new ApiError(
    403,
    'PERMISSIONS_EXCEED_CALLER',
    `This ${what} holds ${missing.join(', ')}, which this key does not: a key may ${action} only ${what}s whose permissions it holds all of.`,
    `Use a key that holds ${missing.length > 1 ? 'these permissions' : 'this permission'} (the root key holds all).`,
    { permissions: missing },
  );
}

export const rootKeyImmutable = (): ApiError =>
  new ApiError(
    403,
    'ROOT_KEY_IMMUTABLE',
    'The root key cannot be changed, deactivated or deleted through the API.',
    'It is set when the server starts (--root-key, SFX_ROOT_KEY or <data>/root-key); restart the server with another key to replace it.',
  );

