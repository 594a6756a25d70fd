import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/collab.js', import.meta.url));

/** Result of one `bin/collab` run. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A throw-away XDG_DATA_HOME (so the user-level memory db is the test's own). */
export function tempDir(prefix = 'collab-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Spawns `node bin/collab.js ...args` in `cwd` with a private data home. */
export function collab(args: string[], opts: { cwd: string; dataHome: string; env?: Record<string, string>; input?: string; timeoutMs?: number }): CliRun {
  const res = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, XDG_DATA_HOME: opts.dataHome, NO_COLOR: '1', COLLAB_MEMORY_DB: '', ...opts.env },
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}
