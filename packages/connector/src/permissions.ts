// One list of permissions for the client and the connector: the client owns it.
export { PERMISSIONS, isPermission, type Permission } from '@sfx/client';
