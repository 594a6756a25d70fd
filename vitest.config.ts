import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/agents/real runs the real codex/claude binaries: only inside a loopback-only network namespace (npm run test:agents).
    exclude: ['test/agents/real/**', '**/node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
