import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { secretDigest } from '../auth/api-keys.js';
import type { ServerContext } from '../context.js';
import { dataMemo } from '../store/data-memo.js';
import type { Call } from './route.js';

/**
 * Whole replies to hot GETs (a cached render on the CDN, a file's details), prepared from a
 * request that went through the routes and answered from then on ahead of them: no routing, no
 * hooks, no lookups, no headers worked out again. The framework's share of such a request is
 * most of its cost.
 *
 * A prepared reply is kept in the data memo (store/data-memo.ts), so any change to the database
 * drops it before the next request is answered. It is keyed by everything else a reply may depend
 * on: the raw URL, the Host and Accept headers, and the presented key (by its SHA-256), so it is
 * only ever given to the same request, by the same credential, at the same state of the database
 * as the routed request that was answered, and authorized, with it. Routes prepare only replies
 * that depend on nothing more (see `prepareReply`'s callers).
 */
interface PreparedReply {
  /** Name, value, name, value...; the first value is the request id, set for each reply. */
  headers: string[];
  body: Buffer | string;
  /** Whether the reply may still be given (the CDN's render still in memory); records its use. */
  stillValid?: () => boolean;
}

const KEY_HEADER = 'x-filerobot-key';

/**
 * Bytes of bodies prepared replies may hold in one memo. A prepared CDN reply keeps its render
 * alive even after the render cache evicted it, until the next database change empties the memo:
 * without this bound, a stream of distinct transforms on a read-only server would pin every
 * render made since the last write. Past it, replies are simply not prepared (they still route).
 */
export const PREPARED_BYTES_LIMIT = 32 * 1024 * 1024;
const preparedBytes = new WeakMap<Map<string, unknown>, number>();

/** Requests whose reply is the whole body, whatever validators say: no conditions, no range, no body. */
function preparable(req: IncomingMessage): boolean {
  const { headers } = req;
  return (
    req.method === 'GET' &&
    headers.range === undefined &&
    headers['if-none-match'] === undefined &&
    headers['if-modified-since'] === undefined &&
    headers['if-range'] === undefined &&
    headers['content-length'] === undefined &&
    headers['transfer-encoding'] === undefined
  );
}

function preparedKey(req: IncomingMessage): string {
  const { headers } = req;
  const raw = headers[KEY_HEADER];
  const secret = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  const credential = secret ? secretDigest(secret) : '';
  const accept = headers.accept === undefined ? '' : `+${headers.accept}`;
  return `prepared:${credential}\n${accept}\n${headers.host ?? ''}\n${req.url ?? ''}`;
}

/**
 * Keeps the reply `call` has just sent (status 200, `body`) for the same request to come, in
 * `memo`: the data memo as the request found it before reading anything, so that a change made
 * meanwhile has already discarded it. A caller prepares only a reply that is a function of the
 * database, the URL, Host, Accept and the key's identity alone: never one that depends on time,
 * the client's address, or counters kept in memory (rate limits, SASS quotas).
 */
export function prepareReply(
  call: Call,
  memo: Map<string, unknown> | undefined,
  body: Buffer | string,
  stillValid?: () => boolean,
): void {
  const req = call.req.raw;
  if (!memo || call.reply.statusCode !== 200 || !preparable(req)) return;
  const held = (preparedBytes.get(memo) ?? 0) + Buffer.byteLength(body);
  if (held > PREPARED_BYTES_LIMIT) return;
  preparedBytes.set(memo, held);
  const headers = Object.entries(call.reply.getHeaders()).filter(([name]) => name !== 'x-request-id');
  memo.set(preparedKey(req), {
    headers: ['x-request-id', '', ...headers.flatMap(([name, value]) => [name, String(value)])],
    body,
    stillValid,
  } satisfies PreparedReply);
}

/**
 * Answers a request whose reply was prepared, ahead of any routing, and says whether it did;
 * everything else goes on to the routes. Headers and body are those the routes gave, with a
 * request id of its own.
 */
export function preparedReplies(ctx: ServerContext): (req: IncomingMessage, res: ServerResponse) => boolean {
  const prefix = `/${ctx.token}/`;
  return (req, res) => {
    if (!req.url?.startsWith(prefix) || !preparable(req)) return false;
    const memo = dataMemo(ctx.store.db);
    if (!memo) return false;
    const key = preparedKey(req);
    const prepared = memo.get(key) as PreparedReply | undefined;
    if (!prepared) return false;
    if (prepared.stillValid && !prepared.stillValid()) {
      memo.delete(key);
      return false;
    }
    prepared.headers[1] = randomUUID();
    res.writeHead(200, prepared.headers);
    res.end(prepared.body);
    return true;
  };
}
