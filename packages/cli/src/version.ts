import { readFileSync } from 'node:fs';

/** The version in packages/cli/package.json (read next to dist/, where this module runs from). */
export const CLI_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
