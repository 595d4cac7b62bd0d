import type { Transport, TransportRequest, TransportResponse } from './transport.js';

export interface SpyReply {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Throw this instead of replying (a network failure). */
  error?: Error;
}

export interface SentRequest extends Omit<TransportRequest, 'body'> {
  /** The body as text, read fully (streamed bodies are drained, as the wire would). */
  bodyText: string | undefined;
}

/** A transport that records what was sent and answers from a script, one reply per request. */
export function spyTransport(
  script: Array<SpyReply | ((req: SentRequest) => SpyReply)>,
): Transport & { sent: SentRequest[] } {
  const sent: SentRequest[] = [];
  const transport = async (req: TransportRequest): Promise<TransportResponse> => {
    let bodyText: string | undefined;
    if (typeof req.body === 'string') bodyText = req.body;
    else if (req.body instanceof Uint8Array) bodyText = Buffer.from(req.body).toString();
    else if (req.body) {
      const chunks: Buffer[] = [];
      for await (const chunk of req.body) chunks.push(Buffer.from(chunk));
      bodyText = Buffer.concat(chunks).toString();
    }
    const record: SentRequest = {
      method: req.method,
      url: req.url,
      headers: { ...req.headers },
      signal: req.signal,
      bodyText,
    };
    sent.push(record);
    const next = script.shift();
    if (!next)
      throw new Error(
        `spy transport: no scripted reply for request #${sent.length} ${req.method} ${req.url}`,
      );
    const reply = typeof next === 'function' ? next(record) : next;
    if (reply.error) throw reply.error;
    const text =
      reply.body === undefined
        ? ''
        : typeof reply.body === 'string'
          ? reply.body
          : JSON.stringify(reply.body);
    return {
      status: reply.status ?? 200,
      headers: Object.fromEntries(Object.entries(reply.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      body: (async function* () {
        yield Buffer.from(text);
      })(),
      text: async () => text,
      dump: async () => undefined,
    };
  };
  return Object.assign(transport, { sent });
}

/** A network error with a Node-style code, as undici raises them. */
export function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}
