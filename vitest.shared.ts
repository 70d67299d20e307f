// Shared vitest settings: tests import workspace packages from their TypeScript
// sources (the "source" export condition), so `pnpm test` needs no prior tsc build.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source', 'module', 'node', 'default'] },
  ssr: { resolve: { conditions: ['source', 'node', 'default'], externalConditions: ['node'] } },
  test: {
    include: ['test/**/*.test.ts', 'integration/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
