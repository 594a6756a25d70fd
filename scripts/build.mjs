// Bundles src/cli/main.ts into dist/ with code splitting, so heavy modules (MCP SDK, SQLite)
// load only when a command needs them and `collab --version` stays close to bare node start-up.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { cli: 'src/cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  packages: 'external',
  logLevel: 'warning',
  define: { __COLLAB_VERSION__: JSON.stringify(pkg.version) },
});
