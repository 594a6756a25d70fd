// Bundles src/cli/main.ts into dist/ with code splitting, so heavy modules (MCP SDK, SQLite)
// load only when a command needs them and `collab --version` stays close to bare node start-up.
import { build } from 'esbuild';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const dist = new URL('../dist', import.meta.url);
const next = new URL(`../dist.tmp-${process.pid}`, import.meta.url);
const old = new URL(`../dist.old-${process.pid}`, import.meta.url);

await build({
  entryPoints: { cli: 'src/cli/main.ts' },
  outdir: next.pathname,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Dependencies are bundled (start-up is dominated by module loading); only the native addon stays out.
  external: ['better-sqlite3'],
  minify: true,
  // Bundled CommonJS dependencies call require(): give every ESM chunk a real one.
  banner: { js: "import { createRequire as __collabCreateRequire } from 'node:module'; const require = __collabCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  define: { __COLLAB_VERSION__: JSON.stringify(pkg.version) },
});
// Swap the new build in whole, so a collab already running never sees a half-written dist/.
if (existsSync(dist)) renameSync(dist, old);
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });
