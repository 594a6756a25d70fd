#!/usr/bin/env node
// Runs the workload checks against an implemented app:
//   node checks/run.mjs <app-dir>        (or WORKLOAD_APP_DIR=<app-dir> node checks/run.mjs)
// Exit code 0 when every check passes, 1 when one fails, 2 when it cannot run at all
// (no app directory, no redis-server). Needs only Node >= 20 and redis-server on PATH;
// the app directory must be able to resolve its own dependencies (node_modules).

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';
import { appDir, requireRedisServer } from './support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const argDir = process.argv[2];
if (argDir) process.env.WORKLOAD_APP_DIR = path.resolve(argDir);

let dir;
let redisVersion;
try {
  dir = appDir();
  redisVersion = requireRedisServer();
} catch (error) {
  process.stderr.write(`workload checks cannot run: ${error.message}\n`);
  process.exit(2);
}

process.stdout.write(`workload checks: app ${dir}\n${redisVersion}\n\n`);
const files = readdirSync(here)
  .filter((name) => name.endsWith('.test.mjs'))
  .sort()
  .map((name) => path.join(here, name));

let failed = 0;
const stream = run({ files, concurrency: true, timeout: 180_000 });
stream.on('test:fail', (event) => {
  // Count leaf failures only; a failing suite also reports its failing children.
  if (event.details?.type !== 'suite') failed += 1;
});
stream.compose(spec).pipe(process.stdout);
stream.once('end', () => {
  process.exitCode = failed > 0 ? 1 : 0;
});
