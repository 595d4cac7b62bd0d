// Types for delay-proxy.mjs, so the CLI's TypeScript tests import the one implementation.

export interface DelayProxy {
  url: string;
  /** Arrival time (ms, performance.now) and method + path of every request, in order. */
  requests: Array<{ at: number; method: string; path: string }>;
  close(): Promise<void>;
}

/** Forwards every request to `target` after `delayMs`, streaming both ways. */
export function startDelayProxy(target: string, delayMs: number): Promise<DelayProxy>;
