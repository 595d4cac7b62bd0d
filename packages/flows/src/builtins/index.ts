import type { BuiltinConnector, StepAction } from '../step-action.js';
import { csvConnector } from './csv.js';
import { fsConnector } from './fs.js';
import { httpConnector } from './http.js';
import { jsonConnector } from './json.js';
import { logConnector } from './log.js';
import { transformConnector } from './transform.js';

export { BuiltinError, type BuiltinErrorCode } from './errors.js';
export { HttpStatusError } from './http.js';

/** The connectors every flow can use without a `connections:` entry. */
export const BUILTINS: readonly BuiltinConnector[] = [fsConnector, csvConnector, jsonConnector, httpConnector, transformConnector, logConnector];

/** `getBuiltin('csv', 'read')`; undefined when there is no such connector or action. */
export function getBuiltin(connector: string, action: string): StepAction | undefined {
  return BUILTINS.find((c) => c.name === connector)?.actions.find((a) => a.id === action);
}
