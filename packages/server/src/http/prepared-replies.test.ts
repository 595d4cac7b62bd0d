import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { PREPARED_BYTES_LIMIT, prepareReply } from './prepared-replies.js';
import type { Call } from './route.js';

function call(url: string): Call {
  const raw = { method: 'GET', url, headers: { host: 'localhost' } } as unknown as IncomingMessage;
  return { req: { raw }, reply: { statusCode: 200, getHeaders: () => ({ 'content-type': 'image/webp' }) } } as unknown as Call;
}

describe('prepareReply', () => {
  it('stops preparing once the bodies a memo holds would pass the byte limit, and starts again with a new memo', () => {
    const memo = new Map<string, unknown>();
    const third = Buffer.alloc(Math.floor(PREPARED_BYTES_LIMIT / 3) + 1);
    prepareReply(call('/t/cdn/a.png?w=1'), memo, third);
    prepareReply(call('/t/cdn/a.png?w=2'), memo, third);
    expect(memo.size).toBe(2);
    // The third would pass the limit: not kept, so it cannot pin its render.
    prepareReply(call('/t/cdn/a.png?w=3'), memo, third);
    expect(memo.size).toBe(2);
    // A small reply still fits.
    prepareReply(call('/t/cdn/a.png?w=4'), memo, Buffer.alloc(10));
    expect(memo.size).toBe(3);
    // A database change gives a new memo, with its own budget.
    const fresh = new Map<string, unknown>();
    prepareReply(call('/t/cdn/a.png?w=3'), fresh, third);
    expect(fresh.size).toBe(1);
  });
});
