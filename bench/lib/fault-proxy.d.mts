// Types for fault-proxy.mjs, so the client's TypeScript tests import the one implementation.

/** What the proxy does to one request. */
export type Fault =
  | 'pass'
  /** 429 with Retry-After, without forwarding. */
  | 'rate-limit'
  /** 503 once the request body is in, without forwarding. */
  | 'unavailable'
  /** Drops the connection after part of the request body, without forwarding. */
  | 'drop-early'
  /** Forwards, lets the server finish, then answers 503: the write landed but the client is told it failed. */
  | 'unavailable-after'
  /** Forwards, lets the server finish, then drops the connection instead of answering. */
  | 'drop-after';

export interface FaultProxy {
  url: string;
  /** Requests seen, and how many got each outcome. */
  counts: Record<Fault | 'requests', number>;
  close(): Promise<void>;
}

export function startFaultProxy(
  target: string,
  shares: Partial<Record<Exclude<Fault, 'pass'>, number>>,
  seed?: number,
  options?: { drops?: 'close' | 'reset' },
): Promise<FaultProxy>;
