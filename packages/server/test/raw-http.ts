import { connect } from 'node:net';

export interface RawReply {
  status: number;
  body: Record<string, unknown>;
}

export interface RawRequest {
  method: string;
  /** Absolute URL. */
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** The Content-Length header sent; default the body's length, `null` for none. */
  contentLength?: number | null;
  /**
   * How the request ends: `send` writes the body and waits for the reply; `half-close` also ends the
   * socket's writing side (a body shorter than its Content-Length then ends early); `destroy` sends
   * the body and then destroys the socket, as a client that gives up mid-upload does.
   */
  end?: 'send' | 'half-close' | 'destroy';
}

/**
 * One HTTP/1.1 request over a plain socket, so a test can send what fetch never would: a body
 * that disagrees with its Content-Length, or a connection dropped mid-body. Resolves with the
 * reply, or `'closed'` when the connection closed without one.
 */
export function rawRequest(request: RawRequest): Promise<RawReply | 'closed'> {
  const url = new URL(request.url);
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body ?? '');
  const headers: Record<string, string> = { host: url.host, connection: 'close', ...request.headers };
  const length = request.contentLength === undefined ? body.length : request.contentLength;
  if (length !== null) headers['content-length'] = String(length);
  const head =
    `${request.method} ${url.pathname}${url.search} HTTP/1.1\r\n` +
    Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    '\r\n';
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve(parseReply(Buffer.concat(chunks))));
    socket.on('connect', () => {
      socket.write(head);
      socket.write(body);
      if (request.end === 'half-close') socket.end();
      // Long enough for the bytes to reach the server's parser, so the drop lands mid-body.
      if (request.end === 'destroy') setTimeout(() => socket.destroy(), 30);
    });
  });
}

function parseReply(raw: Buffer): RawReply | 'closed' {
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0) return 'closed';
  const [statusLine, ...headerLines] = raw.subarray(0, split).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  if (!Number.isInteger(status)) return 'closed';
  let payload = raw.subarray(split + 4);
  if (headerLines.some((l) => /^transfer-encoding:\s*chunked/i.test(l))) payload = unchunk(payload);
  const text = payload.toString('utf8');
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { raw: text };
  }
  return { status, body };
}

function unchunk(payload: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const line = payload.indexOf('\r\n', at);
    if (line < 0) break;
    const size = parseInt(payload.subarray(at, line).toString('latin1'), 16);
    if (!size) break;
    parts.push(payload.subarray(line + 2, line + 2 + size));
    at = line + 4 + size;
  }
  return Buffer.concat(parts);
}
