import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { defineAction } from '../action.js';

export const rawRequest = defineAction({
  id: 'raw-request',
  title: 'Raw API request',
  description:
    'Any API call this catalogue has no action for, sent with the connection\'s key, retries and typed errors. JSON replies are returned; with saveTo, the reply body (an image, a CSV export ...) is streamed to that file instead. The key needs whatever permission the call does.',
  group: 'raw',
  permissions: [],
  kind: 'destructive',
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], { error: 'must be GET, POST, PUT, PATCH or DELETE.' }),
    path: z
      .string({ error: 'must be a string: the path after the version, e.g. "/files".' })
      .regex(/^\/[^?#]*$/, { error: 'must start with "/" and hold no query string (use query), e.g. "/files".' })
      .describe('The path after /{token}/{version}, e.g. "/files/{uuid}"; segments already encoded.'),
    version: z
      .enum(['v4', 'v5', 'none'], { error: 'must be "v4", "v5" or "none".' })
      .optional()
      .describe('"none" for paths without a version (/key/{id}); default: the connection\'s.'),
    query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    body: z.unknown().optional().describe('Sent as JSON.'),
    saveTo: z.string().min(1).optional().describe('Stream the reply body to this local file (for binary replies).'),
  }),
  output: z.strictObject({
    body: z.unknown().optional().describe('The parsed JSON reply (without saveTo).'),
    savedTo: z.string().optional(),
    bytes: z.number().optional(),
    sha1: z.string().optional(),
    contentType: z.string().optional(),
  }),
  example: (seed) => ({ method: 'GET' as const, path: '/files', query: { folder: seed.folder.path, limit: 1 } }),
  run: async ({ client, signal }, input) => {
    const call = { method: input.method, path: input.path, version: input.version, query: input.query, json: input.body, signal };
    if (!input.saveTo) return { body: await client.request(call) };
    const response = await client.requestRaw(call);
    await mkdir(dirname(input.saveTo), { recursive: true });
    const partial = `${input.saveTo}.part`;
    const hash = createHash('sha1');
    let bytes = 0;
    try {
      await pipeline(
        response.body,
        async function* (source: AsyncIterable<Uint8Array>) {
          for await (const chunk of source) {
            hash.update(chunk);
            bytes += chunk.byteLength;
            yield chunk;
          }
        },
        createWriteStream(partial),
      );
      await rename(partial, input.saveTo);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return { savedTo: input.saveTo, bytes, sha1: hash.digest('hex'), contentType: response.headers['content-type'] };
  },
});

export const rawActions = [rawRequest];
