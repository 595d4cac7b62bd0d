/**
 * Flow files as the console edits them: one plain file name inside the flows folder (never a
 * path), written atomically (a temporary file in the same folder, flushed, then renamed over the
 * old one), so a crash mid-save leaves the old flow or the new one, never half of either, and the
 * service never loads a torn file.
 */
import { join } from 'node:path';
import { ServiceRequestError } from './service-errors.js';

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.ya?ml$/;

/** The file's path in `dir`, or a refusal for anything that is not a plain `name.yaml`. */
export function flowFilePath(dir: string, name: string): string {
  if (!FILE_NAME.test(name) || name.includes('..'))
    throw new ServiceRequestError(
      'INVALID_FILE_NAME',
      `"${name}" is not a flow file name.`,
      'Use a plain file name ending in .yaml: letters, digits, ., - and _, e.g. import-products.yaml.',
    );
  return join(dir, name);
}
