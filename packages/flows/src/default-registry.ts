import { BUILTINS } from './builtins/index.js';
import { ActionRegistry } from './registry.js';

let registry: ActionRegistry | undefined;

/** The built-in connectors and the Scaleflex connector's actions: what a flow file can use. */
export function defaultRegistry(): ActionRegistry {
  registry ??= new ActionRegistry(BUILTINS);
  return registry;
}
