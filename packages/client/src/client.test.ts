import { describe, expect, it } from 'vitest';
import { Filerobot } from './client.js';
import {
  APIError,
  AuthenticationError,
  ConflictError,
  ConnectionError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  AbortError,
} from './core/errors.js';
import { networkError, spyTransport, type SpyReply } from './core/spy.test-util.js';
import type { Transport } from './core/transport.js';

const KEY = 'sk-very-secret-0123456789';
const fileBody = (uuid = 'f1') => ({ status: 'success', file: { uuid, name: 'a.jpg', hash: { sha1: 'x' } } });

function client(
  script: Array<SpyReply | ((req: { method: string; url: string }) => SpyReply)>,
  extra: Partial<ConstructorParameters<typeof Filerobot>[0]> = {},
) {
  const transport = spyTransport(script);
  const sdk = new Filerobot({
    endpoint: 'https://api.filerobot.com/acme',
    apiKey: KEY,
    transport,
    random: () => 0,
    retry: { initialDelayMs: 1, maxDelayMs: 5 },
    ...extra,
  });
  return { sdk, sent: transport.sent };
}

describe('requests on the wire', () => {
  it('builds versioned paths, query strings and auth headers', async () => {
    const { sdk, sent } = client([
      { body: { status: 'success', files: [], info: { total_files_count: 0 } } },
    ]);
    await sdk.files.list({
      folder: '/shoes',
      recursive: true,
      q: '#summer',
      sort: 'created_at:desc',
      limit: 50,
    });
    const url = new URL(sent[0]!.url);
    expect(url.origin + url.pathname).toBe('https://api.filerobot.com/acme/v5/files');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      folder: '/shoes',
      recursive: '1',
      q: '#summer',
      sort: 'created_at:desc',
      limit: '50',
      offset: '0',
    });
    expect(sent[0]!.headers['x-filerobot-key']).toBe(KEY);
    expect(sent[0]!.headers['user-agent']).toMatch(/^sfx-client\/\d+\.\d+\.\d+ node\//);
  });

  it('uses the documented version for version-specific operations', async () => {
    const { sdk, sent } = client(
      [
        { body: { status: 'success', meta: {} } },
        { body: { status: 'success', file: { uuid: 'f' } } },
        { status: 200, body: { status: 'success', key: 'SASS__k' } },
      ],
      { apiVersion: 'v4' },
    );
    await sdk.meta.update('f', { a: '1' });
    await sdk.products.attach('f', { ref: 'SKU-1', position: 2 });
    await sdk.access.exchange('SECU_1');
    expect(sent.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
      'PATCH /acme/v5/file/f/meta',
      'PUT /acme/v4/file/f/product',
      'GET /acme/key/SECU_1',
    ]);
    expect(JSON.parse(sent[0]!.bodyText!)).toEqual({ meta: { a: '1' } });
    expect(sent[0]!.headers['content-type']).toBe('application/json');
    // The exchange is unauthenticated: the template id is the credential.
    expect(sent[2]!.headers['x-filerobot-key']).toBeUndefined();
  });

  it('encodes path segments so ids cannot escape their place', async () => {
    const { sdk, sent } = client([{ body: { status: 'success', meta: {} } }]);
    await sdk.folders.setMetaValue('f', 'a/b', 'x y?');
    expect(new URL(sent[0]!.url).pathname).toBe('/acme/v4/folder/f/meta/a%2Fb/x%20y%3F');
  });
});

describe('errors', () => {
  it.each([
    [401, AuthenticationError],
    [403, PermissionDeniedError],
    [404, NotFoundError],
    [409, ConflictError],
  ] as const)('maps HTTP %s to %s with code, msg, hint and request id', async (status, Kind) => {
    const { sdk } = client([
      {
        status,
        headers: { 'x-request-id': 'req-7' },
        body: { status: 'error', code: 'SOME_CODE', msg: 'went wrong', hint: 'do this' },
      },
    ]);
    const error = await sdk.files.get('f1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Kind);
    expect(error).toMatchObject({
      status,
      code: 'SOME_CODE',
      msg: 'went wrong',
      hint: 'do this',
      requestId: 'req-7',
    });
    expect((error as Error).message).toContain('SOME_CODE: went wrong');
  });

  it('treats a 2xx with status "error" as an error', async () => {
    const { sdk } = client([
      { status: 200, body: { status: 'error', code: 'E801_ALREADY_EXIST', msg: 'taken' } },
    ]);
    await expect(sdk.files.rename('f1', 'b.jpg')).rejects.toBeInstanceOf(ConflictError);
  });

  it('classifies the name-clash code as a conflict whatever the status (an existing folder is a 403 on the real API)', async () => {
    const { sdk } = client([
      { status: 403, body: { status: 'error', code: 'E801_ALREADY_EXIST', msg: 'The folder /a already exists.' } },
    ]);
    const error = await sdk.folders.create('/a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ status: 403, code: 'E801_ALREADY_EXIST' });
  });

  it('never lets the API key into an error, its message or its JSON', async () => {
    const { sdk } = client([
      { status: 403, body: { status: 'error', code: 'PERMISSION_DENIED', msg: 'no' } },
    ]);
    const error = (await sdk.files.get('f1').catch((e: unknown) => e)) as APIError;
    expect(error.request.headers['x-filerobot-key']).toBe('[redacted]');
    const everything = [
      error.message,
      error.stack,
      JSON.stringify(error),
      JSON.stringify(error.request),
      String(error),
    ].join('\n');
    expect(everything).not.toContain(KEY);
  });

  it('redacts secrets in query strings', async () => {
    const { sdk } = client([{ status: 404, body: { status: 'error' } }]);
    const error = (await sdk.files.list({ q: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    )) as APIError;
    expect(error.request.url).toContain('q=x');
    const { redactUrl } = await import('./core/errors.js');
    expect(redactUrl('https://api.filerobot.com/acme/v5/key/SECU_TOPSECRET')).toBe('https://api.filerobot.com/acme/v5/key/[redacted]');
    expect(redactUrl('https://api.filerobot.com/acme/key/SECU_TOPSECRET')).not.toContain('TOPSECRET');
    expect(redactUrl('https://u:p@h/x?key=abc&folder=/a')).toBe(
      'https://redacted:redacted@h/x?key=%5Bredacted%5D&folder=%2Fa',
    );
  });
});

describe('retries', () => {
  it('retries idempotent calls on 5xx, 429 and resets, sending a retry count', async () => {
    const { sdk, sent } = client([
      { status: 503 },
      { error: networkError('ECONNRESET') },
      { status: 429, headers: { 'retry-after': '0' } },
      { body: fileBody() },
    ]);
    const file = await sdk.files.get('f1');
    expect(file.uuid).toBe('f1');
    expect(sent).toHaveLength(4);
    expect(sent.map((r) => r.headers['x-sfx-retry-count'])).toEqual([undefined, '1', '2', '3']);
  });

  it('gives up after maxRetries with the last error', async () => {
    const { sdk, sent } = client(
      [{ status: 500 }, { status: 502 }, { status: 503, body: { status: 'error', code: 'DOWN' } }],
      { retry: { maxRetries: 2, initialDelayMs: 1 } },
    );
    const error = await sdk.files.get('f1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({ status: 503, code: 'DOWN' });
    expect(sent).toHaveLength(3);
  });

  it('does not retry 4xx other than 408 and 429', async () => {
    const { sdk, sent } = client([{ status: 400, body: { status: 'error', code: 'BAD' } }]);
    await expect(sdk.files.get('f1')).rejects.toMatchObject({ status: 400 });
    expect(sent).toHaveLength(1);
  });

  it('waits as long as Retry-After says', async () => {
    const { sdk } = client([{ status: 429, headers: { 'retry-after-ms': '120' } }, { body: fileBody() }]);
    const started = Date.now();
    await sdk.files.get('f1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
  });

  it('throws at once when Retry-After is beyond the cap', async () => {
    const { sdk, sent } = client([
      { status: 429, headers: { 'retry-after': '3600' }, body: { status: 'error', code: 'SLOW_DOWN' } },
    ]);
    await expect(sdk.files.get('f1')).rejects.toBeInstanceOf(RateLimitError);
    expect(sent).toHaveLength(1);
  });

  it('does not resend a non-idempotent write after an ambiguous failure', async () => {
    const { sdk, sent } = client([{ status: 500 }]);
    await expect(sdk.labels.create({ name: 'x' })).rejects.toBeInstanceOf(InternalServerError);
    const reset = client([{ error: networkError('ECONNRESET') }]);
    await expect(reset.sdk.labels.create({ name: 'x' })).rejects.toBeInstanceOf(ConnectionError);
    expect(sent).toHaveLength(1);
    expect(reset.sent).toHaveLength(1);
  });

  it('resends a non-idempotent write when the failure proves it never landed', async () => {
    const label = { status: 'success', label: { uuid: 'l', sid: '#lb1', name: 'x' } };
    const { sdk, sent } = client([{ error: networkError('ECONNREFUSED') }, { status: 429 }, { body: label }]);
    expect((await sdk.labels.create({ name: 'x' })).sid).toBe('#lb1');
    expect(sent).toHaveLength(3);
  });

  it('after an ambiguous upload failure, looks the file up by sha1 instead of uploading twice', async () => {
    const content = Buffer.from('hello world');
    const sha1 = '2aae6c35c94fcfb415dbe95f408b9ce91ee846ed';
    const { sdk, sent } = client([
      { status: 502 },
      (req) => {
        expect(req.method).toBe('GET');
        expect(new URL(req.url).searchParams.get('q')).toBe('"hello"');
        return {
          body: {
            status: 'success',
            files: [
              {
                uuid: 'landed',
                name: 'hello-1a2b3c4d.txt',
                hash: { sha1 },
                created_at: new Date().toISOString(),
              },
            ],
          },
        };
      },
    ]);
    const result = await sdk.files.upload(content, { name: 'hello.txt', folder: '/docs' });
    expect(result).toEqual({ file: expect.objectContaining({ uuid: 'landed' }), duplicate: false });
    expect(sent.map((r) => r.method)).toEqual(['POST', 'GET']);
  });

  it('uploads again when the lookup finds nothing', async () => {
    const { sdk, sent } = client([
      { status: 504 },
      { body: { status: 'success', files: [] } },
      { body: fileBody('second') },
    ]);
    const result = await sdk.files.upload(Buffer.from('abc'), { name: 'a.txt' });
    expect(result.file.uuid).toBe('second');
    expect(sent.map((r) => r.method)).toEqual(['POST', 'GET', 'POST']);
    // The resent body is complete, not the remains of the first attempt's stream.
    expect(sent[2]!.bodyText).toContain('\r\n\r\nabc\r\n');
  });

  it('resolves the duplicate-upload reply to the existing asset', async () => {
    const { sdk, sent } = client([
      {
        status: 200,
        body: { status: 'error', code: 'SAME_ASSET_EXISTS_SKIP_UPLOAD', existing_file_uuid: 'old' },
      },
      { body: fileBody('old') },
    ]);
    const result = await sdk.files.upload(Buffer.from('abc'), { name: 'a.txt' });
    expect(result).toEqual({ file: expect.objectContaining({ uuid: 'old' }), duplicate: true });
    expect(new URL(sent[1]!.url).pathname).toBe('/acme/v5/files/old');
  });

  it('stops waiting when the caller aborts', async () => {
    const controller = new AbortController();
    const { sdk } = client([{ status: 503 }, { body: fileBody() }], {
      retry: { initialDelayMs: 10_000, maxDelayMs: 10_000 },
    });
    setTimeout(() => controller.abort(), 20);
    await expect(sdk.files.get('f1', { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
  });
});

describe('renames after an unclear failure', () => {
  it('look at the file instead of renaming again (a replay would be a 409)', async () => {
    const { sdk, sent } = client([
      { status: 502 },
      { body: { status: 'success', file: { uuid: 'f1', name: 'after.jpg' } } },
    ]);
    await expect(sdk.files.rename('f1', 'after.jpg')).resolves.toMatchObject({ name: 'after.jpg' });
    expect(sent.map((r) => r.method)).toEqual(['PATCH', 'GET']);
  });

  it('rename again when the file still has its old name', async () => {
    const { sdk, sent } = client([
      { status: 502 },
      { body: { status: 'success', file: { uuid: 'f1', name: 'before.jpg' } } },
      { body: { status: 'success', file: { uuid: 'f1', name: 'after.jpg' } } },
    ]);
    await expect(sdk.files.rename('f1', 'after.jpg')).resolves.toMatchObject({ name: 'after.jpg' });
    expect(sent.map((r) => r.method)).toEqual(['PATCH', 'GET', 'PATCH']);
  });
});

describe('SASS keys', () => {
  it('exchanges the template on first use and once more when the key expires', async () => {
    const { sdk, sent } = client(
      [
        { body: { status: 'success', key: 'SASS__one' } },
        { status: 401, body: { status: 'error', code: 'KEY_EXPIRED' } },
        { body: { status: 'success', key: 'SASS__two' } },
        { body: fileBody() },
      ],
      { apiKey: undefined, securityTemplate: 'SECU_T' },
    );
    await sdk.files.get('f1');
    expect(sent.map((r) => new URL(r.url).pathname)).toEqual([
      '/acme/key/SECU_T',
      '/acme/v5/files/f1',
      '/acme/key/SECU_T',
      '/acme/v5/files/f1',
    ]);
    expect(sent[1]!.headers['x-filerobot-key']).toBe('SASS__one');
    expect(sent[3]!.headers['x-filerobot-key']).toBe('SASS__two');
  });

  it('shares one renewal among calls whose 401s arrive in the same tick', async () => {
    let exchanges = 0;
    const reply = (status: number, body: unknown): Awaited<ReturnType<Transport>> => {
      const text = JSON.stringify(body);
      return {
        status,
        headers: { 'content-type': 'application/json' },
        body: (async function* () {
          yield Buffer.from(text);
        })(),
        text: async () => text,
        dump: async () => undefined,
      };
    };
    const transport: Transport = async (req) => {
      if (req.url.includes('/key/')) return reply(200, { status: 'success', key: `SASS__${++exchanges}` });
      if (req.headers['x-filerobot-key'] === 'SASS__1')
        return reply(401, { status: 'error', code: 'KEY_EXPIRED' });
      return reply(200, fileBody());
    };
    const sdk = new Filerobot({
      endpoint: 'https://api.filerobot.com/acme',
      securityTemplate: 'SECU_T',
      transport,
      retry: { maxRetries: 0 },
    });
    await Promise.all([1, 2, 3, 4].map(() => sdk.files.get('f1')));
    expect(exchanges).toBe(2);
  });

  it('does not loop when the fresh key is refused too', async () => {
    const { sdk, sent } = client(
      [
        { body: { status: 'success', key: 'SASS__one' } },
        { status: 401, body: { status: 'error', code: 'KEY_EXPIRED' } },
        { body: { status: 'success', key: 'SASS__two' } },
        { status: 401, body: { status: 'error', code: 'KEY_EXPIRED' } },
      ],
      { apiKey: undefined, securityTemplate: 'SECU_T' },
    );
    await expect(sdk.files.get('f1')).rejects.toBeInstanceOf(AuthenticationError);
    expect(sent).toHaveLength(4);
  });
});

describe('configuration', () => {
  it('names the bad option', () => {
    expect(() => new Filerobot({ endpoint: 'https://api.filerobot.com/acme', apiKey: ' ' })).toThrow(
      /apiKey is empty/,
    );
    expect(
      () => new Filerobot({ endpoint: 'https://api.filerobot.com/acme', apiKey: 'k', securityTemplate: 'S' }),
    ).toThrow(/not both/);
    expect(() => new Filerobot({ endpoint: 'https://api.filerobot.com/acme', requestsPerSecond: 0 })).toThrow(
      /requestsPerSecond/,
    );
    expect(
      () => new Filerobot({ endpoint: 'https://api.filerobot.com/acme', retry: { maxRetries: -1 } }),
    ).toThrow(/maxRetries/);
  });
  it('check() reports failure as data', async () => {
    const { sdk } = client([
      { status: 401, body: { status: 'error', code: 'UNAUTHORIZED', msg: 'bad key' } },
    ]);
    expect(await sdk.check()).toMatchObject({ ok: false, status: 401, code: 'UNAUTHORIZED' });
  });
});
