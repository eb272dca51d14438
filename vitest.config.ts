import { defineConfig } from 'vitest/config';

// Tests open real LMDB environments and spawn real processes, so they get generous
// per-test timeouts; they never assert on wall-clock time (benchmarks do that).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: run files in two forks; LMDB tests are I/O heavy, not CPU heavy.
    pool: 'forks',
    maxWorkers: 2,
  },
});
