import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { leaseOf } from './buffer-pool.js';

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
 * What the client sends requests through. The default is `httpTransport` (node:http and
 * node:https with keep-alive); tests inject a spy, and users may wrap the default (logging, proxies).
 */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

export interface HttpTransportOptions {
  /** Most open connections per origin (and so most requests in flight at once). */
  connections?: number;
  /** How long an unused connection stays open for the next request. */
  keepAliveTimeoutMs?: number;
  /** Longest silence on a connection in use: waiting for the reply's headers, or between body chunks. */
  idleTimeoutMs?: number;
  /** Longest wait for a new connection to open. */
  connectTimeoutMs?: number;
}

/** @deprecated The options of `httpTransport`, under their former name. */
export type UndiciTransportOptions = HttpTransportOptions;

/** Error codes this transport gives its own failures (the others are Node's: ECONNRESET, ...). */
export const CONNECT_TIMEOUT = 'ERR_CONNECT_TIMEOUT';
export const IDLE_TIMEOUT = 'ETIMEDOUT';

/**
 * The default transport, on node:http / node:https with a keep-alive agent per protocol. Node's
 * own HTTP stack costs a few MB at start-up where a userland one costs about 20, and its socket
 * writes take the bytes as they are, so a small upload is one write and a large one streams with
 * backpressure. `close()` ends the pooled connections (the client calls it on `close()`).
 */
export function httpTransport(options: HttpTransportOptions = {}): Transport & { close(): Promise<void> } {
  const connections = options.connections ?? 16;
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const agentOptions = {
    keepAlive: true,
    maxSockets: connections,
    maxFreeSockets: connections,
    // Also the idle time after which a free connection is closed (or less, if the server says so).
    timeout: options.keepAliveTimeoutMs ?? 10_000,
    // The most recently used connection is the least likely to have been closed by the server.
    scheduling: 'lifo' as const,
  };
  let plain: HttpAgent | undefined;
  let secure: HttpsAgent | undefined;

  const send = (req: TransportRequest): Promise<TransportResponse> =>
    new Promise<TransportResponse>((resolve, reject) => {
      const https = req.url.startsWith('https:');
      const agent = https ? (secure ??= new HttpsAgent(agentOptions)) : (plain ??= new HttpAgent(agentOptions));
      let request: ClientRequest;
      try {
        request = (https ? httpsRequest : httpRequest)(req.url, {
          method: req.method,
          headers: framedHeaders(req),
          agent,
          signal: req.signal,
          timeout: idleTimeoutMs,
        });
      } catch (error) {
        reject(error);
        return;
      }
      let settled = false;
      request.on('error', (error) => {
        // After the reply arrived, a failure reaches the caller through the reply's body stream.
        if (!settled) {
          settled = true;
          reject(error);
        }
      });
      request.on('timeout', () => {
        request.destroy(codedError(IDLE_TIMEOUT, `no data for ${idleTimeoutMs} ms`));
      });
      request.on('socket', (socket) => {
        if (!socket.connecting || connectTimeoutMs <= 0) return;
        const timer = setTimeout(() => {
          request.destroy(codedError(CONNECT_TIMEOUT, `could not connect within ${connectTimeoutMs} ms`));
        }, connectTimeoutMs);
        const stop = (): void => clearTimeout(timer);
        socket.once('connect', stop);
        socket.once('close', stop);
      });
      request.on('response', (response: IncomingMessage) => {
        settled = true;
        resolve(reply(response));
      });

      const body = req.body;
      if (body instanceof Uint8Array) {
        const lease = leaseOf(body);
        if (lease) {
          // The buffer may be reused once written out ('finish'), never if the request died first.
          const ended = lease.writeStarted();
          request.once('finish', () => ended(true));
          request.once('close', () => ended(false));
        }
        request.end(body);
      } else if (body === undefined || typeof body === 'string') request.end(body);
      else writeStream(request, body).catch((error: unknown) => request.destroy(asError(error)));
    });

  const close = async (): Promise<void> => {
    plain?.destroy();
    secure?.destroy();
  };
  return Object.assign(send, { close });
}

/** @deprecated Use `httpTransport` (same options); the client no longer depends on undici. */
export const undiciTransport = httpTransport;

/** Writes a streamed body chunk by chunk, waiting whenever the socket's buffer is full. */
async function writeStream(request: ClientRequest, body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of body) {
    if (request.destroyed) return; // stops the source too: for-await calls its return()
    if (!request.write(chunk)) await drained(request);
  }
  if (!request.destroyed) request.end();
}

function drained(request: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      request.off('drain', done);
      request.off('close', done);
      resolve();
    };
    request.on('drain', done);
    request.on('close', done);
  });
}

function reply(response: IncomingMessage): TransportResponse {
  const headers: Record<string, string> = {};
  const raw = response.headers;
  for (const name in raw) {
    const value = raw[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    status: response.statusCode ?? 0,
    headers,
    body: response,
    text: () =>
      new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('end', () =>
          resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')),
        );
        response.once('error', reject);
        response.once('close', () => {
          if (!response.readableEnded) reject(codedError('ECONNRESET', 'the reply was cut off'));
        });
      }),
    dump: () =>
      new Promise<void>((resolve) => {
        if (response.readableEnded || response.destroyed) {
          resolve();
          return;
        }
        response.once('end', resolve);
        response.once('close', resolve);
        response.resume();
      }),
  };
}

/**
 * The headers, with the body's framing stated: Node sends a body of a DELETE (or GET, OPTIONS)
 * with neither Content-Length nor chunked encoding unless told, which no server can read.
 */
function framedHeaders(req: TransportRequest): Record<string, string> {
  const body = req.body;
  if (body === undefined || 'content-length' in req.headers || 'transfer-encoding' in req.headers)
    return req.headers;
  if (typeof body === 'string') return { ...req.headers, 'content-length': String(Buffer.byteLength(body)) };
  if (body instanceof Uint8Array) return { ...req.headers, 'content-length': String(body.byteLength) };
  return { ...req.headers, 'transfer-encoding': 'chunked' };
}

function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
