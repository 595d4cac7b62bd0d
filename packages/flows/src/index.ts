export { defineStepAction, isItemStream, type StepAction, type StepContext, type SourceItem, type BuiltinConnector } from './step-action.js';
export { FlowSchema, duration, type FlowFile, type StepFile, type TriggerFile } from './definition/schema.js';
export {
  loadFlow,
  resolveInputs,
  formatProblem,
  FlowValidationError,
  type CompiledFlow,
  type CompiledStep,
  type Problem,
  type LoadOptions,
} from './definition/load.js';
export { compileTemplate, compileExpression, evaluateTemplate, ExpressionError, FLOW_VARIABLES, type Template, type Scope } from './expressions.js';
export { ActionRegistry, type ResolvedAction } from './registry.js';
export { nearest, editDistance } from './suggest.js';
export {
  Engine,
  ItemHeldError,
  type DispatchedItem,
  type EngineOptions,
  type RunOptions,
  type ResumeOptions,
  type RunEvent,
  type RunResult,
  type StepSummary,
  type StepCounts,
  type ConnectionOpener,
  type Logger,
} from './engine/engine.js';
export { SqliteRunStore, RunBusyError, UnknownRunError, processOwner } from './engine/sqlite-run-store.js';
export type { RunStore, RunRecord, StepRecord, ItemRecord, RunStatus, StepStatus, ItemStatus, ErrorRecord, RunFilter, Awaitable, BeginItemResult, ItemCounts, RunItemCounts, ItemLease, LoopPage } from './engine/run-store.js';
export { PostgresRunStore, redactUrl, isPostgresUrl, type PostgresRunStoreOptions } from './engine/postgres-run-store.js';
export { openRunStore, type OpenedRunStore } from './engine/open-run-store.js';
export { InProcessDispatcher, inProcess, idempotencyKey, pageKey, type Dispatcher, type DispatcherFactory, type ItemJob, type ItemHandler, type PageJob } from './engine/dispatcher.js';
export { ERROR_KINDS, kindOf, errorRecord, StepTimeoutError, StepInputError, OutcomeUnknownError } from './engine/failures.js';
export { defaultRegistry } from './default-registry.js';
export type { RunTrigger } from './engine/run-store.js';
export * from './triggers/index.js';
export {
  FlowService,
  type FlowServiceOptions,
  type LoadedFlow,
  type FlowListing,
  type SkippedFlowFile,
  type FlowCheck,
  type RunDetail,
  type ServiceRole,
  type ServiceQueueOptions,
  type RunSummaryListing,
} from './service.js';
export { ServiceRequestError, type ServiceRequestCode } from './service-errors.js';
export { checkQueue, ItemQueue, ItemWorker, jobIdFor, keyOfJobId, parseQueueUrl, redactUrl as redactQueueUrl, Pacer, paceKey, DEFAULT_QUEUE, type TpsLimits, type QueueCounts, type ItemQueueOptions, type ItemWorkerOptions } from './cluster/queue.js';
export { ScheduleQueue, cronStrategy, scheduleQueueName, type ScheduledFlow, type ScheduleQueueOptions } from './cluster/schedules.js';
export { RunStops, stopRunChannel, StopNotSentError, type RunStopsOptions } from './cluster/run-stops.js';
export { renderBuiltinsMarkdown, withBuiltinsSection, FLOWS_DOC_PATH, BUILTINS_BEGIN, BUILTINS_END } from './docs.js';
export {
  sync,
  planSync,
  executePlan,
  emptyReport,
  SyncPlan,
  Sha1Cache,
  SyncError,
  defaultSha1CachePath,
  detectSource,
  normalizeSyncFolder,
  MAX_LISTED,
  type SyncOptions,
  type SyncReport,
  type PlanOptions,
  type PlanRow,
  type PlanAction,
  type PlanCounts,
  type RowResult,
  type SourceKind,
  type SourceEntry,
} from './sync/index.js';
export { writeFileAtomic } from './atomic-write.js';
