import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis } from './support/redis.js';

describe('test support: a private redis-server', () => {
  it('starts on its own port, answers, and is gone after stop', async () => {
    const redis = await startRedis();
    const client = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    client.disconnect();
    await redis.stop();
    const after = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    await expect(after.connect()).rejects.toThrow();
    after.disconnect();
  });
});
