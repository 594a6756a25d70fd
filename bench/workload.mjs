#!/usr/bin/env node
// Load benchmark of the rate-limiting workload (npm run bench:workload): the same API with no
// limiter (the starting app), with the limiter on the memory store, and with the limiter on a
// real redis-server, under the same autocannon load on 127.0.0.1. Prints requests/s and
// p50/p95/p99 latency per variant and the ratios against no limiter, in one run.
//
// Settings (environment): BENCH_DURATION seconds per measured run (default 5), BENCH_ROUNDS
// (default 2; variants are interleaved per round and the median is reported), BENCH_CONNECTIONS
// (default 10, for the throughput run; the latency run uses one), BENCH_JSON=1 for a JSON line at the end. Needs redis-server on PATH
// (or REDIS_SERVER_BIN).

import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const workload = path.resolve(here, '..', 'templates', 'workloads', 'rate-limiting');
const HOST = '127.0.0.1';
const ROUTE = '/api/public/articles';

/** Child mode: serve one variant on a free loopback port and print "READY <port>". */
async function serve(variant, appDir, redisUrl) {
  const { createApp } = await import(pathToFileURL(path.join(appDir, 'src', 'app.js')).href);
  let app;
  if (variant === 'none') {
    app = await createApp({ host: HOST, port: 0 });
  } else {
    const { loadConfig } = await import(pathToFileURL(path.join(appDir, 'src', 'config.js')).href);
    const config = loadConfig({ RATE_LIMIT_STORE: variant, REDIS_URL: redisUrl ?? '' });
    // Every request is counted but none refused: the benchmark measures counting, not 429s.
    for (const tier of Object.values(config.rateLimit.tiers)) tier.limit = 1_000_000_000;
    const quiet = { info: () => {}, warn: (m) => process.stderr.write(`${m}\n`), error: (m) => process.stderr.write(`${m}\n`) };
    app = await createApp(config, { log: quiet });
  }
  const server = app.listen(0, HOST, () => process.stdout.write(`READY ${server.address().port}\n`));
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(async () => {
      await app.locals.close?.();
      process.exit(0);
    });
  });
}

function compose(withSolution) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'collab-bench-'));
  cpSync(path.join(workload, 'app'), dir, { recursive: true });
  if (withSolution) cpSync(path.join(workload, 'solution'), dir, { recursive: true, force: true });
  // Same mechanism as src/workload/link-deps.ts: link to the node_modules that holds express.
  const expressManifest = createRequire(import.meta.url).resolve('express/package.json');
  symlinkSync(path.dirname(path.dirname(expressManifest)), path.join(dir, 'node_modules'), 'junction');
  return dir;
}

function startServer(variant, appDir, redisUrl) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', variant, appDir, redisUrl ?? ''], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${variant} server did not start within 15 s`)), 15_000);
    child.once('exit', (code) => reject(new Error(`${variant} server exited (${code}) before it was ready`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /READY (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, port: Number(match[1]) });
      }
    });
  });
}

async function stopServer({ child }) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

async function load(autocannon, port, durationSec, connections) {
  const times = [];
  const instance = autocannon({ url: `http://${HOST}:${port}${ROUTE}`, connections, duration: durationSec });
  instance.on('response', (_client, _status, _bytes, ms) => times.push(ms));
  const result = await instance;
  times.sort((a, b) => a - b);
  return {
    rps: result.requests.total / (result.duration || durationSec),
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    p99: percentile(times, 99),
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function main() {
  const durationSec = Number(process.env.BENCH_DURATION ?? 4);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
  const { default: autocannon } = await import('autocannon');
  const { RedisServer, requireRedisServer } = await import(pathToFileURL(path.join(workload, 'checks', 'support.mjs')).href);
  let redisVersion;
  try {
    redisVersion = requireRedisServer();
  } catch (error) {
    process.stderr.write(`bench:workload cannot run: ${error.message}\n`);
    process.exit(2);
  }

  const baseDir = compose(false);
  const solutionDir = compose(true);
  const redis = await RedisServer.start();
  const variants = [
    { name: 'none', label: 'no limiter', dir: baseDir },
    { name: 'memory', label: 'memory store', dir: solutionDir },
    { name: 'redis', label: 'redis store', dir: solutionDir },
  ];
  const samples = Object.fromEntries(variants.map((v) => [v.name, []]));
  const startedAt = Date.now();
  try {
    process.stdout.write(
      `bench:workload — GET ${ROUTE} on ${HOST}, ${connections} connections; per variant and round: ${durationSec} s at full load` +
          ` (throughput), then ${durationSec} s on one connection (latency without queueing); ${rounds} round(s), medians reported\n` +
        `node ${process.version}, ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model ?? ''}, ${redisVersion.split(' ').slice(0, 3).join(' ')}\n\n`,
    );
    for (let round = 1; round <= rounds; round += 1) {
      for (const variant of variants) {
        await redis.command('FLUSHALL');
        const server = await startServer(variant.name, variant.dir, redis.url);
        try {
          await load(autocannon, server.port, 1, connections); // warm-up, discarded
          const max = await load(autocannon, server.port, durationSec, connections);
          const paced = await load(autocannon, server.port, durationSec, 1);
          samples[variant.name].push({ max, paced });
          const bad = max.non2xx + max.errors + paced.non2xx + paced.errors;
          process.stdout.write(
            `  round ${round} ${variant.label.padEnd(13)} ${max.rps.toFixed(0).padStart(7)} req/s max;` +
              ` one connection p50 ${paced.p50.toFixed(2)} p95 ${paced.p95.toFixed(2)} p99 ${paced.p99.toFixed(2)} ms` +
              `${bad ? `  (${bad} non-2xx or failed)` : ''}\n`,
          );
        } finally {
          await stopServer(server);
        }
      }
    }
  } finally {
    await redis.stop();
    rmSync(baseDir, { recursive: true, force: true });
    rmSync(solutionDir, { recursive: true, force: true });
  }

  const summary = Object.fromEntries(
    variants.map((v) => {
      const list = samples[v.name];
      const pick = (mode, key) => median(list.map((s) => s[mode][key]));
      return [
        v.name,
        {
          label: v.label,
          rps: pick('max', 'rps'),
          maxP50: pick('max', 'p50'),
          maxP95: pick('max', 'p95'),
          maxP99: pick('max', 'p99'),
          p50: pick('paced', 'p50'),
          p95: pick('paced', 'p95'),
          p99: pick('paced', 'p99'),
          failed: list.reduce((n, s) => n + s.max.non2xx + s.max.errors + s.paced.non2xx + s.paced.errors, 0),
        },
      ];
    }),
  );
  const base = summary.none;
  const row = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(14) : String(c).padStart(11))).join(' ');
  const lines = [
    '',
    'full load (throughput; latency here is mostly queueing)',
    row(['variant', 'req/s', 'ratio', 'p50 ms', 'p95 ms', 'p99 ms']),
    ...variants.map((v) => {
      const s = summary[v.name];
      return row([v.label, s.rps.toFixed(0), (s.rps / base.rps).toFixed(2), s.maxP50.toFixed(2), s.maxP95.toFixed(2), s.maxP99.toFixed(2)]);
    }),
    '',
    'one connection, one request at a time (latency added by the limiter)',
    row(['variant', 'p50 ms', 'p95 ms', 'p99 ms', '+p50 ms', '+p95 ms', '+p99 ms']),
    ...variants.map((v) => {
      const s = summary[v.name];
      return row([v.label, s.p50.toFixed(2), s.p95.toFixed(2), s.p99.toFixed(2), (s.p50 - base.p50).toFixed(2), (s.p95 - base.p95).toFixed(2), (s.p99 - base.p99).toFixed(2)]);
    }),
  ];
  const redisRatio = summary.redis.rps / base.rps;
  const redisAdded = summary.redis.p95 - base.p95;
  lines.push(
    '',
    `goal  Redis limiter adds <= 1 ms at p95:   ${redisAdded.toFixed(2)} ms  ${redisAdded <= 1 ? 'PASS' : 'FAIL'}`,
    `goal  Redis throughput ratio >= 0.7:       ${redisRatio.toFixed(2)}     ${redisRatio >= 0.7 ? 'PASS' : 'FAIL'}`,
    `seed  claimed ~5 ms added at p95 (120 -> 125 ms) and 10k req/s; measured here: +${redisAdded.toFixed(2)} ms at p95, ` +
      `${summary.redis.rps.toFixed(0)} req/s with Redis (${base.rps.toFixed(0)} without)`,
    `total ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
  );
  if (variants.some((v) => summary[v.name].failed)) {
    lines.push('warning: some responses were not 2xx or failed; the figures above are suspect');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (process.env.BENCH_JSON === '1') {
    process.stdout.write(`${JSON.stringify({ durationSec, rounds, connections, summary, redisRatio, redisAddedP95Ms: redisAdded })}\n`);
  }
}

// Dispatch last, so every module-level binding above is initialised.
if (process.argv[2] === '--serve') await serve(process.argv[3], process.argv[4], process.argv[5]);
else await main();
