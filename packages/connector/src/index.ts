export { CONNECTOR_ID, CONNECTOR_VERSION } from './version.js';
export { PERMISSIONS, isPermission, type Permission } from './permissions.js';
export { InvalidConnectionError, ActionInputError, ActionOutputError, type Problem } from './errors.js';
export {
  ConnectionSchema,
  parseConnection,
  resolveSecrets,
  describeConnection,
  openConnection,
  testConnection,
  type Connection,
  type ConnectionInput,
  type ConnectionProblemCode,
  type ConnectionTestResult,
  type OpenOptions,
  type TestOptions,
} from './connection.js';
export {
  defineAction,
  type Action,
  type ActionSpec,
  type ActionContext,
  type ActionKind,
  type EndpointKind,
  type ConditionalPermission,
} from './action.js';
export { DOC_SEED, type ExampleSeed } from './seed.js';
export { fileActions } from './actions/files.js';
