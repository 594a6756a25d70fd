import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// The adapter suite: pure tables plus the real codex / claude binaries against the scripted model
// server. Run it with `sh test/agents/run-in-netns.sh` (a loopback-only network namespace).
export default defineConfig({
  test: {
    root,
    include: ['test/agents/**/*.test.ts'],
    // Builds dist/ (the real memory server is `node bin/collab.js memory serve`), then checks the namespace.
    globalSetup: ['test/global-setup.ts', 'test/agents/netns-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
