import { readdirSync } from 'node:fs';
import path from 'node:path';
import { findExecutable } from '../process/which.js';
import { createProcessRunner } from '../process/runner.js';

/** Outcome of the workload's own tests run against a directory. */
export interface ChecksResult {
  ok: boolean;
  /** Set (with the reason) when the checks could not run here, e.g. no redis-server. */
  skipped?: string;
  summary: string;
  passed: number;
  failed: number;
  output: string;
}

/** Runs the workload checks (`node --test`) against `appDir`; they start their own redis-server on a free loopback port. */
export async function runWorkloadChecks(opts: { appDir: string; checksDir: string; env: NodeJS.ProcessEnv; onLine?: (line: string) => void; timeoutMs?: number }): Promise<ChecksResult> {
  const redis = findExecutable('redis-server', opts.env.PATH);
  if (!redis) return { ok: false, skipped: 'redis-server is not installed (Debian/Ubuntu: apt-get install redis-server), so the rate-limiting tests cannot run on real Redis', summary: '', passed: 0, failed: 0, output: '' };
  const files = readdirSync(opts.checksDir).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join(opts.checksDir, f));
  if (files.length === 0) return { ok: false, summary: `no *.test.mjs in ${opts.checksDir}`, passed: 0, failed: 0, output: '' };
  const res = await createProcessRunner().run({
    command: process.execPath,
    args: ['--test', '--test-reporter=tap', ...files],
    cwd: opts.appDir,
    env: { WORKLOAD_APP_DIR: opts.appDir, REDIS_SERVER_BIN: redis },
    timeoutMs: opts.timeoutMs ?? 180_000,
    ...(opts.onLine ? { onStdoutLine: opts.onLine, onStderrLine: opts.onLine } : {}),
  });
  const num = (re: RegExp) => Number(re.exec(res.stdout)?.[1] ?? 0);
  const passed = num(/^# pass (\d+)/m);
  const failed = num(/^# fail (\d+)/m);
  const ok = res.exitCode === 0 && failed === 0 && passed > 0;
  const summary = res.timedOut ? 'timed out' : `${passed} passed, ${failed} failed`;
  return { ok, summary, passed, failed, output: res.stdout + res.stderr };
}
