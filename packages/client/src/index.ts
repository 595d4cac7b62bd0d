export { Filerobot, CLIENT_VERSION, type ClientOptions, type RawRequest } from './client.js';
export { parseEndpoint, DEFAULT_ENDPOINT, type ApiVersion, type Endpoint } from './core/config.js';
export {
  FilerobotError,
  APIError,
  BadRequestError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  PayloadTooLargeError,
  UnprocessableEntityError,
  RateLimitError,
  InternalServerError,
  ConnectionError,
  TimeoutError,
  AbortError,
  ConfigurationError,
  redactRequest,
  type RedactedRequest,
} from './core/errors.js';
export { PagePromise, MAX_PAGE_SIZE, type PagingOptions } from './core/pagination.js';
export { DEFAULT_RETRY, type RetryPolicy } from './core/retry.js';
export {
  httpTransport,
  undiciTransport,
  type HttpTransportOptions,
  type Transport,
  type TransportRequest,
  type TransportResponse,
  type RequestBody,
} from './core/transport.js';
export { cdnUrl, type Transform } from './cdn.js';
export type { UploadSource } from './uploads/source.js';
export type * from './types.js';
export { sizeInBytes, blurHashOf } from './types.js';
export type {
  FileFilters,
  FileListParams,
  UploadOptions,
  UploadResult,
  UrlImport,
  UrlImportResult,
  BulkItem,
  BulkItemResult,
  BulkProgress,
  BulkUploadOptions,
  BulkUploadReport,
} from './resources/files.js';
export type { LegacyFileUpdate, LegacyFileUpdateResult, RegenerationJob, RegenerationResult } from './resources/files.js';
export type { FolderListParams, FolderPreview } from './resources/folders.js';
export type { CollectionFolderInput, CollectionUpdate } from './resources/collections.js';
export type { MetaUpdateOptions } from './resources/meta.js';
export type { SetTagsInput } from './resources/tags.js';
export type { LabelInput } from './resources/labels.js';
export type { ShareInput } from './resources/shares.js';
export type {
  Approval,
  ApprovalInput,
  ApprovalListPage,
  ApprovalListParams,
  ApprovalRule,
  ApprovalStatus,
  ApprovalVote,
  ApprovalVoteInput,
  ApprovalVoteValue,
} from './resources/approvals.js';
export type { Airbox, AirboxInput, AirboxListPage, AirboxPublicConfig, AirboxUpdate } from './resources/airboxes.js';
export type { AirboxUploadOptions, AirboxUploadResult } from './resources/airboxes.js';
export type { BulkChange } from './resources/bulk.js';
export type { TemplateInput, PresentedKey } from './resources/access.js';
export type { MetadataField, MetadataModelEntry, ProjectSettings } from './resources/settings.js';
export { checkProductRef } from './resources/products.js';
export type { CallOptions } from './resources/resource.js';
export {
  WEBHOOK_EVENT_TYPES,
  type Webhook,
  type WebhookInput,
  type WebhookChanges,
  type WebhookDelivery,
  type WebhookDeliveryPage,
  type DeliveryListParams,
  type DeliveryState,
  type WebhookEvent,
  type WebhookEventType,
} from './resources/webhooks.js';
export {
  JsonFileResumeStore,
  DEFAULT_CHUNK_SIZE,
  type ResumeStore,
  type ResumableSource,
  type ResumableUploadOptions,
} from './uploads/resumable.js';
export { PERMISSIONS, isPermission, type Permission } from './permissions.js';
export { nameSearchTerm } from './resources/name-search.js';
