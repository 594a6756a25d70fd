import { execFileSync } from 'node:child_process';

/** Builds dist/ once before the suites, so e2e tests always spawn the current code. */
export default function setup(): void {
  try {
    execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  } catch {
    // Unit and integration suites do not need dist/; the e2e suites fail on their own with the build error above.
    process.stderr.write('global-setup: build failed; e2e tests will fail\n');
  }
}
