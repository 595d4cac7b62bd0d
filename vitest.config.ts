import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'bench/**/*.test.mjs'],
    // A limit only catches hangs: CI and developers run on loaded 2-core machines, where a test that
    // spawns the CLI a dozen times or sends a thousand requests can legitimately take a minute.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Two cores: a couple of workers keeps crash tests (which spawn servers) from starving each other.
    maxWorkers: 2,
  },
});
