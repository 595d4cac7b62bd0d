import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitError } from '../src/index.js';
import { startFixture, type Fixture } from './server-fixture.js';

let fx: Fixture;

beforeAll(async () => {
  fx = await startFixture({ limits: { requestsPerMinutePerKey: 5 } });
});

afterAll(async () => {
  await fx.close();
});

describe('429 from the server', () => {
  it('surfaces as RateLimitError with Retry-After when the wait is longer than the client will sleep', async () => {
    const client = fx.client({ retry: { maxRetries: 3, maxRetryAfterMs: 1_000 } });
    const other = await client.access.keys.create({ permissions: ['OBJECTS_LIST'] });
    for (let i = 0; i < 4; i++) await client.files.list();
    const error = await client.files.list().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, code: 'TOO_MANY_REQUESTS' });
    // 5 per minute: the next token is 12 s away, which the server says and the client reports.
    expect(Number((error as RateLimitError).headers['retry-after'])).toBeGreaterThanOrEqual(11);
    // Another key has its own budget.
    await expect(fx.client({ apiKey: other.secret! }).files.list()).resolves.toBeDefined();
  });
});
