/**
 * The permissions a Filerobot API key or security template can carry, in the order the Scaleflex
 * access pages list them. The client does not depend on the server, so the list is its own; a test
 * checks it against the local server's.
 */
export const PERMISSIONS = [
  'OBJECTS_LIST',
  'OBJECTS_FETCH',
  'FILE_UPLOAD',
  'FILE_META_CREATE',
  'FILE_META_CHANGE',
  'FILE_RENAME',
  'FILE_MOVE',
  'FILE_DELETE',
  'FILE_SET_VISIBILITY',
  'FILE_LABEL_CHANGE',
  'FILE_IMAGE_EDITOR',
  'DIR_CREATE',
  'DIR_RENAME',
  'DIR_META_CHANGE',
  'DIR_MOVE',
  'DIR_DELETE',
  'DIR_SET_VISIBILITY',
  'CONFIG_CHANGE',
  'CONFIG_LIST',
  'FILE_PRODUCT_CHANGE',
  'FILE_PROCESS_AUTOTAGGING',
  'COLLECTIONS_LIST',
  'COLLECTIONS_MANAGE',
  'LABELS_LIST',
  'LABEL_MANAGE',
  'OBJECTS_SHARE_MANAGE',
  'OBJECTS_AIRBOX_MANAGE',
  'OBJECTS_APPROVAL_MANAGE',
  'OBJECTS_APPROVAL_VOTE',
  'ACCESS_READ',
  'ACCESS_MANAGE',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

const known = new Set<string>(PERMISSIONS);

/** Whether a value is one of the 31 permission names. */
export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && known.has(value);
}
