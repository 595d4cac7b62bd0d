import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does to one request. */
export type Fault =
  | 'pass'
  /** 429 with Retry-After, without forwarding. */
  | 'rate-limit'
  /** 503 without forwarding. */
  | 'unavailable'
  /** Drops the connection after part of the request body, without forwarding. */
  | 'drop-early'
  /** Forwards, lets the server finish, then answers 503: the write landed but the client is told it failed. */
  | 'unavailable-after'
  /** Forwards, lets the server finish, then drops the connection instead of answering. */
  | 'drop-after';

export interface FaultProxy {
  url: string;
  counts: Record<Fault, number>;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of the local server that injects faults by a seeded pseudo-random draw,
 * so a failing run can be replayed with the same seed.
 */
export async function startFaultProxy(target: string, shares: Partial<Record<Exclude<Fault, 'pass'>, number>>, seed = 1): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  let state = seed >>> 0 || 1;
  const random = (): number => {
    // xorshift32: tiny, deterministic, good enough to spread faults.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const counts: Record<Fault, number> = { pass: 0, 'rate-limit': 0, unavailable: 0, 'drop-early': 0, 'unavailable-after': 0, 'drop-after': 0 };
  const pick = (): Fault => {
    let draw = random();
    for (const [fault, share] of Object.entries(shares) as Array<[Fault, number]>) {
      if (draw < share) return fault;
      draw -= share;
    }
    return 'pass';
  };

  const forward = (req: IncomingMessage, onResponse: (upstream: IncomingMessage) => void, onError: () => void): void => {
    const upstream = httpRequest(
      { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: req.headers },
      onResponse,
    );
    upstream.on('error', onError);
    req.pipe(upstream);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const fault = pick();
    counts[fault]++;
    switch (fault) {
      case 'rate-limit':
        req.resume();
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' }).end('{"status":"error","code":"TOO_MANY_REQUESTS","msg":"slow down"}');
        return;
      case 'unavailable':
        req.resume();
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"error","code":"UNAVAILABLE","msg":"try later"}');
        return;
      case 'drop-early': {
        let seen = 0;
        req.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > 0) req.socket.destroy();
        });
        req.on('end', () => req.socket.destroy());
        return;
      }
      case 'unavailable-after':
      case 'drop-after':
        forward(
          req,
          (upstream) => {
            upstream.resume();
            upstream.on('end', () => {
              if (fault === 'drop-after') req.socket.destroy();
              else res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"error","code":"UNAVAILABLE","msg":"gateway lost the reply"}');
            });
          },
          () => req.socket.destroy(),
        );
        return;
      default:
        forward(
          req,
          (upstream) => {
            res.writeHead(upstream.statusCode ?? 502, upstream.headers);
            upstream.pipe(res);
          },
          () => req.socket.destroy(),
        );
    }
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
