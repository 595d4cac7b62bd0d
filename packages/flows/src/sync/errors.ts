/** A sync that cannot start (bad source, bad option): `code` is stable, `hint` says the fix. */
export class SyncError extends Error {
  override name = 'SyncError';
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(hint ? `${message} ${hint}` : message);
  }
}
