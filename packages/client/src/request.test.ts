import { describe, expect, it } from 'vitest';
import { Filerobot } from './client.js';
import { ConfigurationError, NotFoundError } from './core/errors.js';
import { spyTransport, type SpyReply } from './core/spy.test-util.js';

const KEY = 'sk-raw-secret-0123456789';

function client(script: SpyReply[]) {
  const transport = spyTransport(script);
  const sdk = new Filerobot({
    endpoint: 'https://api.filerobot.com/acme',
    apiKey: KEY,
    transport,
    retry: { initialDelayMs: 1, maxDelayMs: 2 },
  });
  return { sdk, sent: transport.sent };
}

describe('request / requestRaw: calls without a typed method', () => {
  it('sends method, versioned path, query and JSON body with the key, and parses the reply', async () => {
    const { sdk, sent } = client([{ body: { status: 'success', things: [1, 2] } }]);
    const reply = await sdk.request<{ things: number[] }>({
      method: 'POST',
      path: '/things/a%20b',
      version: 'v4',
      query: { limit: 2, recursive: true },
      json: { name: 'x' },
    });
    expect(reply.things).toEqual([1, 2]);
    expect(sent[0]!.method).toBe('POST');
    expect(sent[0]!.url).toBe('https://api.filerobot.com/acme/v4/things/a%20b?limit=2&recursive=1');
    expect(sent[0]!.bodyText).toBe('{"name":"x"}');
    expect(sent[0]!.headers['x-filerobot-key']).toBe(KEY);
    expect(sent[0]!.headers['content-type']).toBe('application/json');
  });

  it('throws the typed error of an error reply, with the key redacted', async () => {
    const { sdk } = client([{ status: 404, body: { status: 'error', code: 'FILE_NOT_FOUND', msg: 'gone' } }]);
    const error = await sdk.request({ method: 'GET', path: '/files/x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(JSON.stringify(error)).not.toContain(KEY);
    expect((error as NotFoundError).request.headers['x-filerobot-key']).toBe('[redacted]');
  });

  it('requestRaw hands back status, headers and the unread body, asking for any content type', async () => {
    const { sdk, sent } = client([{ headers: { 'Content-Type': 'image/png' }, body: 'PNGDATA' }]);
    const response = await sdk.requestRaw({ method: 'GET', path: '/get/u1/download', version: 'none' });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('image/png');
    expect(await response.text()).toBe('PNGDATA');
    expect(sent[0]!.url).toBe('https://api.filerobot.com/acme/get/u1/download');
    expect(sent[0]!.headers.accept).toBe('*/*');
  });

  it('refuses paths that would escape the API root or smuggle a query, before sending anything', async () => {
    const { sdk, sent } = client([]);
    for (const path of ['files', '/files?limit=1', '/../other/v5/files', '/a/./b']) {
      await expect(sdk.request({ method: 'GET', path })).rejects.toBeInstanceOf(ConfigurationError);
    }
    await expect(sdk.request({ method: 'TRACE' as 'GET', path: '/files' })).rejects.toThrow(/method must be/);
    expect(sent).toHaveLength(0);
  });
});
