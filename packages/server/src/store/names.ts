import { badRequest } from '../errors.js';

/**
 * Names and folder paths as users write them. Folders are rows, not directories, so a name never
 * becomes a filesystem path; we still refuse what would be ambiguous or dangerous in URLs,
 * exports and Content-Disposition headers.
 */

export const MAX_NAME_BYTES = 255;
export const MAX_PATH_BYTES = 4096;

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (CONTROL.test(name)) return 'contains a control character (NUL, newline, tab, ...)';
  if (name.includes('/')) return 'contains "/"';
  if (name.includes('\\')) return 'contains "\\"';
  const trimmed = name.trim();
  if (trimmed === '.' || trimmed === '..') return 'is "." or ".."';
  if (trimmed.length === 0) return 'is only white space';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

/** Validates one file or folder name and returns it in Unicode NFC. */
export function checkName(raw: unknown, field = 'name'): string {
  if (typeof raw !== 'string') throw badRequest('INVALID_NAME', `"${field}" must be a string.`);
  const name = raw.normalize('NFC');
  const problem = nameProblem(name);
  if (problem) {
    throw badRequest(
      'INVALID_NAME',
      `"${field}" ${problem}.`,
      'Use a name of 1-255 bytes without "/", "\\" or control characters, other than "." and "..".',
    );
  }
  return name;
}

/**
 * Normalises a folder path: leading "/", no trailing "/", no empty segments, every segment a valid
 * name. "/" is the root. `a/b/` becomes `/a/b`.
 */
export function normalizeFolderPath(raw: unknown, field = 'folder'): string {
  if (typeof raw !== 'string') throw badRequest('INVALID_FOLDER', `"${field}" must be a folder path such as /photos/2024.`);
  const value = raw.normalize('NFC');
  if (Buffer.byteLength(value) > MAX_PATH_BYTES) {
    throw badRequest('INVALID_FOLDER', `"${field}" is longer than ${MAX_PATH_BYTES} bytes.`);
  }
  const segments = value.split('/').filter((s) => s.length > 0);
  for (const segment of segments) {
    const problem = nameProblem(segment);
    if (problem) {
      throw badRequest(
        'INVALID_FOLDER',
        `"${field}" has a segment that ${problem}: ${JSON.stringify(segment)}.`,
        'Write folders as /parent/child; segments cannot be "." or "..", nor hold "\\" or control characters.',
      );
    }
  }
  return '/' + segments.join('/');
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

export function parentPath(path: string): string {
  const segments = splitPath(path);
  segments.pop();
  return '/' + segments.join('/');
}

export function joinPath(folder: string, name: string): string {
  return folder === '/' ? `/${name}` : `${folder}/${name}`;
}

/** True when `path` is `folder` itself or lies below it ("/a" contains "/a/b" but not "/ab"). */
export function isWithin(path: string, folder: string): boolean {
  if (folder === '/') return true;
  return path === folder || path.startsWith(folder + '/');
}

export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}
