/**
 * Exit codes: 0 success; 1 the work failed (API error, network, stored connection unusable);
 * 2 the command was given something it cannot run with (unknown action, bad JSON, invalid input),
 * found before any request; 130 interrupted (Ctrl-C).
 */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** An error whose message is for people, with the exit code sfx ends with (bin/sfx.js prints it). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILED,
  ) {
    super(message);
  }
}

/** Bad input, found before any request: exit code 2. */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}
