import { Agent, request as undiciRequest, type Dispatcher } from 'undici';

/** A request body the transport can send: text, bytes, or a byte stream sent as it is produced. */
export type RequestBody = string | Uint8Array | AsyncIterable<Uint8Array>;

export interface TransportRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: RequestBody;
  signal?: AbortSignal;
}

export interface TransportResponse {
  status: number;
  /** Lower-cased header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body as a byte stream; read it once, or call `text()` or `dump()`. */
  body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
  /** Discards the body so the connection can be reused. */
  dump(): Promise<void>;
}

/**
 * What the client sends requests through. The default is an undici pool with keep-alive; tests
 * inject a spy, and users may wrap the default (logging, proxies).
 */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

export interface UndiciTransportOptions {
  /** Most open connections per origin (and so most requests in flight at once). */
  connections?: number;
  keepAliveTimeoutMs?: number;
  /** Longest wait for the reply's headers once the request is sent, and for each body chunk. */
  idleTimeoutMs?: number;
}

/** The default transport. `close()` ends its pooled connections (the client calls it on `close()`). */
export function undiciTransport(
  options: UndiciTransportOptions = {},
): Transport & { close(): Promise<void> } {
  const agent = new Agent({
    connections: options.connections ?? 16,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
    headersTimeout: options.idleTimeoutMs ?? 300_000,
    bodyTimeout: options.idleTimeoutMs ?? 300_000,
  });
  const send = async (req: TransportRequest): Promise<TransportResponse> => {
    const response = await undiciRequest(req.url, {
      dispatcher: agent,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers,
      body: req.body as Dispatcher.DispatchOptions['body'],
      signal: req.signal,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    return {
      status: response.statusCode,
      headers,
      body: response.body,
      text: () => response.body.text(),
      dump: () => response.body.dump(),
    };
  };
  return Object.assign(send, { close: () => agent.close() });
}
