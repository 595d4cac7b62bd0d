/**
 * Why a request to the service (from the console) was refused: a code, an HTTP status and a hint
 * the caller can show as is. Messages never hold secrets: they name flows, runs and files only.
 */
import type { Problem } from './definition/load.js';

export type ServiceRequestCode =
  | 'UNKNOWN_FLOW'
  | 'UNKNOWN_RUN'
  | 'INVALID_FLOW'
  | 'INVALID_INPUTS'
  | 'INVALID_FILE_NAME'
  | 'NOT_A_SCHEDULE'
  | 'RUN_ACTIVE'
  | 'RUN_NOT_RUNNING'
  | 'RUN_ELSEWHERE'
  | 'NOTHING_TO_RESUME'
  | 'SERVICE_BUSY'
  | 'SERVICE_STOPPING'
  | 'QUEUE_UNAVAILABLE';

const STATUS: Record<ServiceRequestCode, number> = {
  UNKNOWN_FLOW: 404,
  UNKNOWN_RUN: 404,
  INVALID_FLOW: 422,
  INVALID_INPUTS: 400,
  INVALID_FILE_NAME: 400,
  NOT_A_SCHEDULE: 409,
  RUN_ACTIVE: 409,
  RUN_NOT_RUNNING: 409,
  RUN_ELSEWHERE: 409,
  NOTHING_TO_RESUME: 409,
  SERVICE_BUSY: 503,
  SERVICE_STOPPING: 503,
  QUEUE_UNAVAILABLE: 503,
};

export class ServiceRequestError extends Error {
  override name = 'ServiceRequestError';
  readonly statusCode: number;

  constructor(
    readonly code: ServiceRequestCode,
    message: string,
    readonly hint: string,
    /** For INVALID_FLOW: every problem, at its line and column. */
    readonly problems: Problem[] = [],
  ) {
    super(message);
    this.statusCode = STATUS[code];
  }
}
