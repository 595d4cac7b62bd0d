/**
 * A built-in action's failure at run time. `code` is stable so a step's `retry.on` can name it;
 * `hint` says what to do. Messages name paths and URLs (without their query) but never values that
 * may be secrets.
 */
export class BuiltinError extends Error {
  override name = 'BuiltinError';
  constructor(
    readonly code: BuiltinErrorCode,
    message: string,
    readonly hint?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(hint ? `${message} ${hint}` : message);
  }
}

export type BuiltinErrorCode =
  | 'NOT_FOUND'
  | 'NOT_A_FILE'
  | 'NOT_A_FOLDER'
  | 'ALREADY_EXISTS'
  | 'TOO_LARGE'
  | 'PARSE_ERROR'
  | 'BAD_VALUE'
  | 'BAD_CURSOR'
  | 'EXPRESSION_ERROR'
  | 'HTTP_STATUS'
  | 'HTTP_NETWORK'
  | 'HTTP_TIMEOUT';
