/**
 * A DAM client the console's requests share. When what it was opened with goes (the connection
 * was changed or removed, an upload key is renewed) it is retired: no request is handed it any
 * more, and it closes once the last request it was handed has ended, so a listing or an upload
 * under way finishes with the credentials it started with.
 */
import type { ServerResponse } from 'node:http';
import { finished } from 'node:stream';
import type { Filerobot } from '@sfx/client';

export class SharedClient {
  private users = 0;
  private isRetired = false;
  private closing: Promise<void> | undefined;

  /** `onClosed` lets the owner stop tracking it once it is closed. */
  constructor(
    readonly client: Promise<Filerobot>,
    private readonly onClosed?: () => void,
  ) {}

  get retired(): boolean {
    return this.isRetired;
  }

  /** Counts one more user until the returned release is called (calls after the first do nothing). */
  hold(): () => void {
    this.users++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.users--;
      if (this.isRetired && this.users === 0) void this.close();
    };
  }

  /** Holds it until `until` settles. */
  holdUntil(until: Promise<unknown>): void {
    const release = this.hold();
    void until.then(release, release);
  }

  /**
   * Hands out no more: closes at once when nobody holds it (the promise is of that closing),
   * else when the last holder lets go (the promise does not wait for that).
   */
  retire(): Promise<void> {
    this.isRetired = true;
    return this.users === 0 ? this.close() : Promise.resolve();
  }

  /** Closes now, held or not: the server is closing. */
  close(): Promise<void> {
    this.isRetired = true;
    this.closing ??= this.client.then(
      (c) => c.close(),
      () => undefined,
    ).finally(() => this.onClosed?.());
    return this.closing;
  }
}

/**
 * Settles once a response is over: sent in full, or its connection gone. Already-closed responses
 * settle at once, so a hold taken late cannot be left hanging.
 */
export function responseEnd(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    finished(response, () => resolve());
  });
}
