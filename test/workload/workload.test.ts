// The rate-limiting reference workload: its cassette against collab's own schemas, the
// solution's start-up guards in-process, and the workload checks (checks/*.test.mjs) on a real
// redis-server against app/ + solution/ composed in a temporary directory.

import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCassette } from '../../src/agents/replay.js';
import { crossCheckVerdict, parseVerdict } from '../../src/core/verdict.js';
import { linkWorkloadDeps } from '../../src/workload/link-deps.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const workload = path.join(root, 'templates', 'workloads', 'rate-limiting');
const cassetteDir = path.join(workload, 'cassette');

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listFiles(full, base));
    else out.push(path.relative(base, full).split(path.sep).join('/'));
  }
  return out;
}

/** Copies app/ and then solution/ over it into a fresh temporary directory with linked deps. */
async function compose(withSolution: boolean): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'collab-workload-'));
  cpSync(path.join(workload, 'app'), dir, { recursive: true });
  if (withSolution) cpSync(path.join(workload, 'solution'), dir, { recursive: true, force: true });
  await linkWorkloadDeps(dir, import.meta.url);
  return dir;
}

function openQuestions(markdown: string): string[] {
  const section = markdown.split(/^## Open Questions[^\n]*\n/m)[1] ?? '';
  const body = section.split(/^## /m)[0] ?? '';
  return body.split('\n').filter((line) => /^\d+\.\s/.test(line));
}

describe('linkWorkloadDeps', () => {
  it('links node_modules to the directory that holds express, idempotently', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'collab-link-'));
    try {
      const target = await linkWorkloadDeps(dir, import.meta.url);
      expect(existsSync(path.join(target, 'express-rate-limit', 'package.json'))).toBe(true);
      expect(lstatSync(path.join(dir, 'node_modules')).isSymbolicLink()).toBe(true);
      expect(realpathSync(path.join(dir, 'node_modules'))).toBe(realpathSync(target));
      await expect(linkWorkloadDeps(dir, import.meta.url)).resolves.toBe(target);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves a real node_modules alone and refuses a link elsewhere', async () => {
    const real = mkdtempSync(path.join(os.tmpdir(), 'collab-link-'));
    const foreign = mkdtempSync(path.join(os.tmpdir(), 'collab-link-'));
    try {
      mkdirSync(path.join(real, 'node_modules'));
      await expect(linkWorkloadDeps(real, import.meta.url)).resolves.toBe(path.join(real, 'node_modules'));
      symlinkSync(os.tmpdir(), path.join(foreign, 'node_modules'));
      await expect(linkWorkloadDeps(foreign, import.meta.url)).rejects.toThrow(/remove it first/);
    } finally {
      rmSync(real, { recursive: true, force: true });
      rmSync(foreign, { recursive: true, force: true });
    }
  });
});

describe('rate-limiting cassette', () => {
  const read = (name: string) => readFileSync(path.join(cassetteDir, name), 'utf8');

  it('loads under the replay schema and points at the solution', () => {
    const cassette = loadCassette(cassetteDir);
    expect(cassette.name).toBe('rate-limiting');
    expect(cassette.phases.implement[0]?.files).toBe('../solution');
  });

  it('holds artifact bodies only (collab adds header, status and trailer)', () => {
    for (const name of ['plan.md', 'implement.md', 'pattern.md']) {
      const text = read(name);
      expect(text, name).not.toMatch(/^\*\*\[SESSION-/m);
      expect(text, name).not.toMatch(/^## Status/m);
      expect(text, name).not.toMatch(/^Session ID:/m);
    }
    expect(read('pattern.md')).toContain('{{sessionId}}');
  });

  it('review: CONDITIONAL, no critical concern, the four expected concerns, every plan question answered', () => {
    const questions = openQuestions(read('plan.md'));
    expect(questions).toHaveLength(5);
    const review = parseVerdict(JSON.parse(read('review.json')));
    expect(review.verdict).toBe('CONDITIONAL');
    expect(review.concerns.some((c) => c.severity === 'critical')).toBe(false);
    const check = crossCheckVerdict(review, { openQuestions: questions });
    expect(check.effective).toBe('CONDITIONAL');
    expect(check.flags).toEqual([]);
    const titles = review.concerns.map((c) => c.title).join('\n');
    for (const topic of [/NAT/, /login/i, /Redis failure/i, /allowlist/i]) expect(titles).toMatch(topic);
    expect(review.answers).toHaveLength(questions.length);
  });

  it('validate: APPROVED with a score, files reviewed exist in the implemented app', () => {
    const validation = parseVerdict(JSON.parse(read('validate.json')));
    expect(validation.verdict).toBe('APPROVED');
    expect(validation.score).toBeGreaterThanOrEqual(8);
    expect(crossCheckVerdict(validation).effective).toBe('APPROVED');
    const implemented = new Set([...listFiles(path.join(workload, 'app')), ...listFiles(path.join(workload, 'solution'))]);
    for (const file of validation.filesReviewed) expect(implemented.has(file), file).toBe(true);
    for (const file of listFiles(path.join(workload, 'solution'))) expect(validation.filesReviewed, file).toContain(file);
  });

  it('implement.md lists exactly the files of solution/', () => {
    const section = (read('implement.md').split(/^## Files Changed\n/m)[1] ?? '').split(/^## /m)[0] ?? '';
    const listed = [...section.matchAll(/^- `([^`]+)`/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(listFiles(path.join(workload, 'solution')).sort());
  });
});

describe('rate-limiting solution start-up guards', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await compose(true);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(path.join(dir, rel)).href)) as T;

  // The solution is plain JavaScript: these are the shapes the guards below rely on.
  type Logger = { info: (m: string) => void; warn: (m: string) => void; error: (m: string) => void };
  type RateLimitSettings = Record<string, unknown>;
  type Limiters = { createLimiters: (settings: RateLimitSettings, deps: { createStore: () => object; log: Logger }) => unknown };
  type Config = {
    loadConfig: (env: Record<string, string>) => { rateLimit: RateLimitSettings; trustProxyHops: number } & Record<string, unknown>;
    ConfigError: new (...args: never[]) => Error;
  };
  type App = { createApp: (config: object, deps: { log: Logger }) => Promise<unknown> };

  const log = { info: () => {}, warn: () => {}, error: () => {} };

  it('throws when two limiters would share one store', async () => {
    const { createLimiters } = await load<Limiters>('src/rate-limit/limiters.js');
    const { loadConfig } = await load<Config>('src/config.js');
    const { MemoryStore } = (await import(pathToFileURL(path.join(dir, 'node_modules', 'express-rate-limit', 'dist', 'index.mjs')).href)) as {
      MemoryStore: new () => { prefix?: string };
    };
    const shared = new MemoryStore();
    expect(() => createLimiters(loadConfig({}).rateLimit, { createStore: () => shared, log })).toThrow(/store that another limiter already uses/);
  });

  it('throws when two limiters would share one key prefix', async () => {
    const { createLimiters } = await load<Limiters>('src/rate-limit/limiters.js');
    const { loadConfig } = await load<Config>('src/config.js');
    let n = 0;
    const createStore = () => ({ prefix: 'same:', n: n++, increment: () => ({ totalHits: 1, resetTime: undefined }), decrement: () => {}, resetKey: () => {} });
    expect(() => createLimiters(loadConfig({}).rateLimit, { createStore, log })).toThrow(/prefix "same:"/);
  });

  it('refuses trust proxy = true, from the environment and in code', async () => {
    const { loadConfig, ConfigError } = await load<Config>('src/config.js');
    expect(() => loadConfig({ TRUST_PROXY_HOPS: 'true' })).toThrow(ConfigError);
    expect(loadConfig({ TRUST_PROXY_HOPS: '2' }).trustProxyHops).toBe(2);
    const { createApp } = await load<App>('src/app.js');
    const config = { ...loadConfig({ RATE_LIMIT_STORE: 'memory' }), trustProxyHops: true as unknown as number };
    await expect(createApp(config, { log })).rejects.toThrow(/hop count/);
  });

  it('reports every configuration problem at once', async () => {
    const { loadConfig } = await load<Config>('src/config.js');
    try {
      loadConfig({ PORT: 'x', RATE_LIMIT_FAILURE_POLICY: 'maybe', RATE_LIMIT_ALLOWLIST: 'not-an-ip' });
      expect.unreachable();
    } catch (error) {
      expect((error as { problems: string[] }).problems).toHaveLength(3);
    }
  });
});

describe('rate-limiting starting app', () => {
  it('serves the API without any rate limiting', async () => {
    const dir = await compose(false);
    try {
      type StartApp = { createApp: (config: { host: string; port: number }) => import('express').Express };
      const { createApp } = (await import(pathToFileURL(path.join(dir, 'src', 'app.js')).href)) as StartApp;
      const app = await createApp({ host: '127.0.0.1', port: 0 });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        for (let i = 0; i < 8; i += 1) {
          const res = await fetch(`http://127.0.0.1:${port}/api/auth/password-reset`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email: 'alice@example.test' }),
          });
          expect(res.status).toBe(202);
          expect(res.headers.get('ratelimit')).toBeNull();
        }
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Runs checks/run.mjs against `dir`; resolves to its exit code and output. */
async function runChecks(dir: string, extraEnv: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [path.join(workload, 'checks', 'run.mjs'), dir], {
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  return { code, output };
}

function requireRedis(): void {
  const bin = process.env.REDIS_SERVER_BIN || 'redis-server';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`${bin} is required for the workload tests and was not found (Debian/Ubuntu: apt-get install -y redis-server)`);
  }
}

describe('rate-limiting workload checks on a real redis-server', () => {
  it('all pass against app/ + solution/', { timeout: 300_000 }, async () => {
    requireRedis();
    const dir = await compose(true);
    try {
      const { code, output } = await runChecks(dir);
      expect(code, output).toBe(0);
      expect(output).toMatch(/ℹ pass [1-9]\d*/);
      expect(output).toMatch(/ℹ fail 0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Negative control (about 30 s, so opt-in): the seed's "validated pattern" must fail the checks.
  it.runIf(process.env.WORKLOAD_NEGATIVE_CONTROL === '1')('reject the seed pattern', { timeout: 300_000 }, async () => {
    requireRedis();
    const dir = await compose(false);
    try {
      const fixture = path.join(root, 'test', 'workload', 'fixtures', 'seed-pattern', 'src');
      cpSync(fixture, path.join(dir, 'src'), { recursive: true, force: true });
      // Without loopback in its whitelist, so the pattern's other faults are exercised too.
      writeFileSync(path.join(dir, 'src', 'seed-options.js'), 'export const WHITELIST_LOOPBACK = false;\n');
      const { code, output } = await runChecks(dir, { WORKLOAD_CHECK_WAIT_MS: '3000' });
      expect(code, output).toBe(1);
      const failed = [...output.matchAll(/^\s*✖ (.+?) \(\d/gm)].map((m) => m[1]);
      for (const name of [
        'passwordReset: the 5th request passes and the 6th is refused',
        'public reads are counted by their own tier only, not by the global one',
        'the status endpoint reports the caller quota from the limiter store, for every tier',
        'two IPv6 addresses in one /56 share a bucket; the next /56 does not',
        'refuses to start with TRUST_PROXY_HOPS=true',
        'Redis unreachable at start-up (policy open): starts without an unhandled rejection, counts once Redis is up',
      ]) {
        expect(failed, output).toContain(name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
