/** `secret:NAME` references in connections: resolved through the store the caller gives, never sent as they are. */
import { describe, expect, it } from 'vitest';
import {
  describeConnection,
  InvalidConnectionError,
  openConnection,
  parseConnection,
  resolveSecrets,
} from '../src/index.js';

const base = {
  name: 'acme',
  connector: 'scaleflex@0.1.0',
  endpointUrl: 'http://127.0.0.1:1/acme',
  authentication: 'apikey' as const,
};

describe('secret:NAME references', () => {
  it('are looked up in the secrets store given', () => {
    const conn = parseConnection({ ...base, apiKey: 'secret:acme.apiKey' });
    const store: Record<string, string> = { 'acme.apiKey': 'the-key\n' };
    expect(resolveSecrets(conn, { secrets: (n) => store[n] })).toEqual({
      apiKey: 'the-key',
      securityTemplate: undefined,
    });
  });

  it('are a problem naming the field, never the key, when the store lacks them or no store is given', () => {
    const conn = parseConnection({ ...base, apiKey: 'secret:acme.apiKey' });
    const missing = (() => {
      try {
        resolveSecrets(conn, { secrets: () => undefined });
      } catch (error) {
        return error;
      }
    })();
    expect(missing).toBeInstanceOf(InvalidConnectionError);
    expect((missing as InvalidConnectionError).problems).toEqual([
      {
        path: 'apiKey',
        message: expect.stringContaining('"acme.apiKey", which the secrets store does not hold'),
      },
    ]);
    expect(() => resolveSecrets(conn)).toThrow(/no secrets store was given/);
    expect(() => openConnection({ ...base, apiKey: 'secret:acme.apiKey' })).toThrow(InvalidConnectionError);
  });

  it('are shown as they are (they name a place, not a value), while literal keys are masked', () => {
    expect(describeConnection({ ...base, apiKey: 'secret:acme.apiKey' }).apiKey).toBe('secret:acme.apiKey');
    expect(describeConnection({ ...base, apiKey: 'env:KEY' }).apiKey).toBe('env:KEY');
    expect(describeConnection({ ...base, apiKey: 'literal-key' }).apiKey).toBe('[secret]');
  });

  it('do not change env:NAME references or literal keys', () => {
    const env = parseConnection({ ...base, apiKey: 'env:ACME_KEY' });
    expect(resolveSecrets(env, { env: { ACME_KEY: 'from-env' }, secrets: () => 'from-store' }).apiKey).toBe(
      'from-env',
    );
    const literal = parseConnection({ ...base, apiKey: 'literal-key' });
    expect(resolveSecrets(literal, { secrets: () => 'from-store' }).apiKey).toBe('literal-key');
  });
});
