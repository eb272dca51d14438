// Vitest config for the measurement scripts in native/scripts (kept out of `npm test`, whose config includes only
// test/**): `npx vitest run -c native/scripts/vitest.scripts.config.ts`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: '.',
    include: ['native/scripts/**/*.test.ts'],
    testTimeout: 600_000,
  },
});
