import { describe, expect, it } from 'vitest';
import { PERMISSIONS as SERVER_PERMISSIONS } from '../../server/src/auth/permissions.js';
import { PERMISSIONS, isPermission } from './permissions.js';

describe('PERMISSIONS', () => {
  it('is the local server\'s list, in the same order', () => {
    expect([...PERMISSIONS]).toEqual([...SERVER_PERMISSIONS]);
  });

  it('tells permission names from anything else', () => {
    expect(isPermission('FILE_UPLOAD')).toBe(true);
    expect(isPermission('file_upload')).toBe(false);
    expect(isPermission(undefined)).toBe(false);
  });
});
