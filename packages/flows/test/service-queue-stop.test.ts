/**
 * A process on a cluster whose Redis went away must still stop on SIGTERM: closing BullMQ's queue
 * and worker waits for Redis to answer, which a Redis that is gone never does.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FlowService } from '../src/index.js';
import { registry } from './triggers-fixture.js';
import { startRedis } from './support/redis.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('a service on a queue', () => {
  it.each(['all', 'coordinator', 'worker'] as const)('with --role %s stops when its Redis is gone', { timeout: 90_000 }, async (role) => {
    const dir = await mkdtemp(join(tmpdir(), 'sfx-queue-stop-'));
    dirs.push(dir);
    await writeFile(join(dir, 'tick.yaml'), 'name: tick\ntrigger: { type: schedule, cron: "0 2 * * *" }\nsteps:\n  - id: note\n    uses: t.record\n    with: { value: 1 }\n');
    const redis = await startRedis();
    const lines: string[] = [];
    const service = new FlowService({
      flowsDir: dir,
      journal: join(dir, 'runs.db'),
      registry,
      port: 0,
      queue: { url: redis.url, name: `stop-${role}` },
      role,
      write: (line) => lines.push(line),
    });
    await service.start();
    await redis.stop();
    await service.stop('test');
    expect(lines.some((l) => l.includes('"stopping"'))).toBe(true);
  });
});
