import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  // Test files run through Vite's SSR pipeline: workspace packages resolve to their TypeScript sources.
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'tests/**/*.test.ts'],
    // Firewall and namespace tests share kernel state (netns names, nft tables): run files one at a time.
    fileParallelism: false,
    // Removes network namespaces left behind by a crashed earlier run, before and after the suite.
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
