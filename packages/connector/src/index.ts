export { CONNECTOR_ID, CONNECTOR_VERSION } from './version.js';
export { PERMISSIONS, isPermission, type Permission } from './permissions.js';
export { InvalidConnectionError, ActionInputError, ActionOutputError, problemsOf, type Problem } from './errors.js';
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
export { ACTIONS, getAction } from './actions/index.js';
export { fileActions } from './actions/files.js';
export { manifest, type Manifest } from './manifest.js';
export {
  exportCatalog,
  toJsonSchema,
  type CatalogJson,
  type CatalogAction,
  type CatalogTrigger,
  type CatalogOptions,
  type JsonSchema,
} from './catalog.js';
export { renderActionsMarkdown, schemaFields, ACTIONS_DOC_PATH, type SchemaField } from './docs.js';
export {
  TRIGGERS,
  getTrigger,
  newAssets,
  updatedAssets,
  assetVersion,
  damEvents,
  definePollingTrigger,
  PollStateSchema,
  createWebhookHandler,
  startWebhookReceiver,
  DeliveryLog,
  signBody,
  verifySignature,
  verifyBasicAuth,
  WebhookAuthError,
  WebhookPayloadError,
  TriggerConfigError,
  TriggerStateError,
  TriggerOutputError,
  type Trigger,
  type TriggerContext,
  type TriggerInfo,
  type TriggerKind,
  type PollingTrigger,
  type PollingSpec,
  type PollSource,
  type PollState,
  type PollOptions,
  type PollResult,
  type WebhookTrigger,
  type WebhookRequest,
  type WebhookOutcome,
  type HandleOptions,
  type SubscribeInput,
  type DamEventOutput,
  type DamEventsConfigInput,
  type WebhookHandlerOptions,
  type HandlerReply,
  type ReceiverOptions,
  type WebhookReceiver,
} from './triggers/index.js';
export { webhookActions } from './actions/webhooks.js';
