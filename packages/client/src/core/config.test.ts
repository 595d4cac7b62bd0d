import { describe, expect, it } from 'vitest';
import { parseEndpoint } from './config.js';
import { ConfigurationError } from './errors.js';

describe('parseEndpoint', () => {
  it.each([
    [
      'https://api.filerobot.com/acme',
      undefined,
      undefined,
      { base: 'https://api.filerobot.com', token: 'acme', version: 'v5' },
    ],
    [
      'https://api.filerobot.com/acme/v4',
      undefined,
      undefined,
      { base: 'https://api.filerobot.com', token: 'acme', version: 'v4' },
    ],
    [
      'https://api.filerobot.com/acme/v5/',
      undefined,
      undefined,
      { base: 'https://api.filerobot.com', token: 'acme', version: 'v5' },
    ],
    [
      'https://api.filerobot.com',
      'acme',
      undefined,
      { base: 'https://api.filerobot.com', token: 'acme', version: 'v5' },
    ],
    [undefined, 'acme', 'v4', { base: 'https://api.filerobot.com', token: 'acme', version: 'v4' }],
    [
      'http://127.0.0.1:7010/demo',
      undefined,
      undefined,
      { base: 'http://127.0.0.1:7010', token: 'demo', version: 'v5' },
    ],
    [
      'http://proxy.local/filerobot',
      'acme',
      undefined,
      { base: 'http://proxy.local/filerobot', token: 'acme', version: 'v5' },
    ],
    [
      'http://proxy.local/filerobot/acme/v4',
      undefined,
      'v4',
      { base: 'http://proxy.local/filerobot', token: 'acme', version: 'v4' },
    ],
  ] as const)('%s + token %s + %s', (url, token, version, expected) => {
    expect(parseEndpoint(url, token, version)).toEqual(expected);
  });

  it.each([
    ['ftp://x/acme', undefined, undefined, /http\(s\)/],
    ['not a url', undefined, undefined, /not a URL/],
    ['https://api.filerobot.com', undefined, undefined, /no project token/],
    ['https://api.filerobot.com/acme', 'other', undefined, /holds token "acme" but token is "other"/],
    ['https://api.filerobot.com/acme/v4', undefined, 'v5', /says v4 but apiVersion is v5/],
    ['https://api.filerobot.com/acme/v3', undefined, undefined, /version "v3"/],
    ['https://api.filerobot.com/acme?key=1', undefined, undefined, /query string/],
    ['https://api.filerobot.com/ac%20me', undefined, undefined, /characters/],
  ] as const)('rejects %s (token %s)', (url, token, version, message) => {
    expect(() => parseEndpoint(url, token, version)).toThrow(ConfigurationError);
    expect(() => parseEndpoint(url, token, version)).toThrow(message);
  });
});
