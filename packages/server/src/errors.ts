/**
 * The one error type handlers throw. The HTTP layer turns it into the Filerobot error envelope
 * `{status:"error", code, msg, hint}` with `httpStatus`; anything else becomes a 500 whose details
 * stay in the log.
 */
export class ApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    msg: string,
    readonly hint?: string,
    /** Extra fields merged into the error body (e.g. `existing_file_uuid`). */
    readonly extra?: Record<string, unknown>,
    /** Extra response headers (e.g. `Retry-After`). */
    readonly headers?: Record<string, string>,
  ) {
    super(msg);
    this.name = 'ApiError';
  }
}

export const badRequest = (code: string, msg: string, hint?: string): ApiError =>
  new ApiError(400, code, msg, hint);

export const notFound = (code: string, msg: string, hint?: string): ApiError =>
  new ApiError(404, code, msg, hint);

export const conflict = (code: string, msg: string, hint?: string): ApiError =>
  new ApiError(409, code, msg, hint);

export const tooLarge = (msg: string, hint?: string): ApiError =>
  new ApiError(413, 'PAYLOAD_TOO_LARGE', msg, hint);
