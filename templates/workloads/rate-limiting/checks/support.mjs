// Shared helpers for the workload checks: a redis-server per test file on a free loopback
// port, the app under test as a child process (`node server.js` in WORKLOAD_APP_DIR), and
// small HTTP/RESP clients. Everything talks to 127.0.0.1 only. Processes are stopped by PID.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export const LOOPBACK = '127.0.0.1';
/** The redis-server binary: REDIS_SERVER_BIN when set (collab passes the one it found), else PATH. */
export const REDIS_SERVER = process.env.REDIS_SERVER_BIN || 'redis-server';
/** Longest wait for something that should happen (app ready, counting resumed); WORKLOAD_CHECK_WAIT_MS overrides. */
export const WAIT_MS = Number(process.env.WORKLOAD_CHECK_WAIT_MS) || 10_000;

/** The implemented app under test, from WORKLOAD_APP_DIR. */
export function appDir() {
  const dir = process.env.WORKLOAD_APP_DIR;
  if (!dir) throw new Error('WORKLOAD_APP_DIR is not set: point it at the directory holding the implemented app');
  const resolved = path.resolve(dir);
  if (!existsSync(path.join(resolved, 'server.js'))) throw new Error(`${resolved} has no server.js`);
  return resolved;
}

/** Fails with a clear message when redis-server is not on PATH. */
export function requireRedisServer() {
  const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`${REDIS_SERVER} is not installed or cannot run (Debian/Ubuntu: apt-get install -y redis-server)`);
  }
  return probe.stdout.trim();
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes; returns that value. */
export async function waitFor(probe, { timeoutMs = WAIT_MS, intervalMs = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await delay(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}`);
}

/** Resolves to the promise's value, or to `fallback` after `ms`; the timer never outlives it. */
export async function within(promise, ms, fallback = undefined) {
  const controller = new AbortController();
  try {
    return await Promise.race([promise, delay(ms, fallback, { signal: controller.signal })]);
  } finally {
    controller.abort();
  }
}

function exitOf(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function stopChild(child, signal, graceMs) {
  if (child.exitCode !== null || child.signalCode !== null) return exitOf(child);
  child.kill(signal);
  const exited = exitOf(child);
  const result = await within(exited, graceMs);
  if (result) return result;
  child.kill('SIGKILL');
  return exited;
}

// ---------------------------------------------------------------------------------------------
// RESP: just enough of the Redis protocol to send a command and read one reply.

function encodeCommand(args) {
  let out = `*${args.length}\r\n`;
  for (const arg of args) {
    const text = String(arg);
    out += `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
  }
  return out;
}

function parseReply(buffer, offset = 0) {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buffer[offset]);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  if (type === '+') return { value: line, end: next };
  if (type === '-') return { value: new Error(line), end: next };
  if (type === ':') return { value: Number(line), end: next };
  if (type === '$') {
    const length = Number(line);
    if (length === -1) return { value: null, end: next };
    if (buffer.length < next + length + 2) return undefined;
    return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
  }
  if (type === '*') {
    const count = Number(line);
    if (count === -1) return { value: null, end: next };
    const items = [];
    let cursor = next;
    for (let i = 0; i < count; i += 1) {
      const item = parseReply(buffer, cursor);
      if (!item) return undefined;
      items.push(item.value);
      cursor = item.end;
    }
    return { value: items, end: cursor };
  }
  throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
}

/** Sends one command to Redis on 127.0.0.1:port and resolves to its reply. */
export function redisCommand(port, args, { timeoutMs = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ host: LOOPBACK, port });
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${args[0]} on port ${port}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const reply = parseReply(buffer);
      if (!reply) return;
      clearTimeout(timer);
      socket.end();
      if (reply.value instanceof Error) reject(reply.value);
      else resolve(reply.value);
    });
    socket.write(encodeCommand(args));
  });
}

// ---------------------------------------------------------------------------------------------

/** A redis-server child on a loopback port: no persistence, stopped by its PID. */
export class RedisServer {
  /** Starts redis-server on `port` (a free one by default) and waits until it answers PING. */
  static async start({ port } = {}) {
    const server = new RedisServer(port ?? (await freePort()));
    await server.#launch();
    return server;
  }

  #child;
  #paused = false;
  log = '';

  constructor(port) {
    this.port = port;
    this.url = `redis://${LOOPBACK}:${port}`;
  }

  get pid() {
    return this.#child?.pid;
  }

  get running() {
    return Boolean(this.#child && this.#child.exitCode === null && this.#child.signalCode === null);
  }

  async #launch() {
    const args = ['--port', String(this.port), '--bind', LOOPBACK, '--save', '', '--appendonly', 'no', '--dir', os.tmpdir()];
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#paused = false;
    child.stdout.on('data', (chunk) => (this.log += chunk));
    child.stderr.on('data', (chunk) => (this.log += chunk));
    const spawned = new Promise((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    await spawned;
    await waitFor(
      async () => {
        if (!this.running) throw new Error(`redis-server exited early:\n${this.log}`);
        return (await redisCommand(this.port, ['PING'], { timeoutMs: 500 })) === 'PONG';
      },
      { timeoutMs: 10_000, what: `redis-server on port ${this.port}` },
    );
  }

  /** Sends a command to this server. */
  command(...args) {
    return redisCommand(this.port, args);
  }

  /** Kills the server abruptly (SIGKILL), as a crash would. */
  async kill() {
    if (!this.#child) return;
    await stopChild(this.#child, 'SIGKILL', 5000);
  }

  /** Freezes the process (SIGSTOP): connections stay open, nothing is answered. */
  pause() {
    if (!this.running || this.#paused) return;
    process.kill(this.#child.pid, 'SIGSTOP');
    this.#paused = true;
  }

  /** Thaws a paused server (SIGCONT). */
  resume() {
    if (!this.running || !this.#paused) return;
    process.kill(this.#child.pid, 'SIGCONT');
    this.#paused = false;
  }

  /** Starts a fresh redis-server on the same port (after kill/stop). */
  async restart() {
    if (this.running) await this.stop();
    await this.#launch();
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s). */
  async stop() {
    if (!this.#child) return;
    this.resume();
    await stopChild(this.#child, 'SIGTERM', 5000);
  }
}

// ---------------------------------------------------------------------------------------------

/** The app under test, run as `node server.js` in the app directory. */
export class AppProcess {
  /**
   * Starts the app with `env` on top of a minimal environment and waits until /health answers
   * (or the process exits, which rejects). Set `waitForHealth: false` to inspect a failed start.
   */
  static async start({ env = {}, waitForHealth = true, healthTimeoutMs = WAIT_MS } = {}) {
    const port = await freePort();
    const app = new AppProcess(port, env);
    if (waitForHealth) {
      try {
        await waitFor(
          async () => {
            if (!app.running) throw new Error(`app exited (${JSON.stringify(app.exit)}) before answering /health`);
            const res = await fetch(`${app.url}/health`, { signal: AbortSignal.timeout(1000) });
            await res.arrayBuffer();
            return res.status === 200;
          },
          { timeoutMs: healthTimeoutMs, what: 'the app to answer GET /health' },
        );
      } catch (error) {
        await app.stop();
        error.message += `\n--- app output ---\n${app.output}`;
        throw error;
      }
    }
    return app;
  }

  #child;
  #exited;
  output = '';
  exit = undefined;

  constructor(port, env) {
    this.port = port;
    this.url = `http://${LOOPBACK}:${port}`;
    this.#child = spawn(process.execPath, ['server.js'], {
      cwd: appDir(),
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        HOST: LOOPBACK,
        PORT: String(port),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child.stdout.on('data', (chunk) => (this.output += chunk));
    this.#child.stderr.on('data', (chunk) => (this.output += chunk));
    this.#exited = exitOf(this.#child).then((result) => {
      this.exit = result;
      return result;
    });
  }

  get pid() {
    return this.#child.pid;
  }

  get running() {
    return this.exit === undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Resolves when the process has exited: `{ code, signal }`. */
  exited() {
    return this.#exited;
  }

  /** Sends a signal to the app by PID. */
  signal(name) {
    if (this.running) process.kill(this.#child.pid, name);
  }

  /** Stops the app (SIGTERM, then SIGKILL after 5 s); resolves to `{ code, signal }`. */
  async stop() {
    return stopChild(this.#child, 'SIGTERM', 5000);
  }

  /**
   * One HTTP request. Options: method, token (bearer), ip (sent as X-Forwarded-For, i.e. as our
   * proxy would), headers, json (request body). Resolves to { status, headers, body, ms }.
   */
  async request(pathname, { method = 'GET', token, ip, headers = {}, json, timeoutMs = 10_000 } = {}) {
    const requestHeaders = { ...headers };
    if (token) requestHeaders.authorization = `Bearer ${token}`;
    if (ip) requestHeaders['x-forwarded-for'] = ip;
    if (json !== undefined) requestHeaders['content-type'] = 'application/json';
    const started = performance.now();
    const res = await fetch(`${this.url}${pathname}`, {
      method,
      headers: requestHeaders,
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    const ms = performance.now() - started;
    let body = text;
    if ((res.headers.get('content-type') ?? '').includes('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        // leave as text; the assertion will show it
      }
    }
    return { status: res.status, headers: res.headers, body, ms };
  }

  /** Logs in and returns the bearer token. */
  async login(username, password, options = {}) {
    const res = await this.request('/api/auth/login', { method: 'POST', json: { username, password }, ...options });
    if (res.status !== 200 || typeof res.body?.token !== 'string') {
      throw new Error(`login as ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
    return res.body.token;
  }
}

export const USERS = {
  alice: { username: 'alice', password: 'alice-correct-horse' },
  bob: { username: 'bob', password: 'bob-battery-staple' },
  carol: { username: 'carol', password: 'carol-tr0ub4dor' },
};

/** The four tiers of the task and the request that lands in each. */
export const TIERS = {
  global: { limit: 100, windowSeconds: 900, path: '/api/account/profile', method: 'GET', needsToken: true },
  login: { limit: 20, windowSeconds: 900, path: '/api/auth/login', method: 'POST', json: { username: 'alice', password: 'wrong-password' } },
  passwordReset: { limit: 5, windowSeconds: 900, path: '/api/auth/password-reset', method: 'POST', json: { email: 'alice@example.test' } },
  publicRead: { limit: 200, windowSeconds: 900, path: '/api/public/articles', method: 'GET' },
};

/** Sends one request of a tier (see TIERS). */
export function hitTier(app, tierName, options = {}) {
  const tier = TIERS[tierName];
  return app.request(tier.path, { method: tier.method, json: tier.json, ...options });
}

/**
 * Reads the standard rate-limit headers (IETF draft 7 or draft 8) into
 * `{ draft, limit, remaining, reset, window, name }`; undefined when absent.
 */
export function readRateLimitHeaders(headers) {
  const combined = headers.get('ratelimit');
  const policy = headers.get('ratelimit-policy');
  if (!combined || !policy) return undefined;
  const draft7 = /^limit=(\d+), remaining=(\d+), reset=(\d+)$/.exec(combined);
  if (draft7) {
    const policyMatch = /^(\d+);w=(\d+)$/.exec(policy);
    if (!policyMatch) throw new Error(`draft-7 RateLimit-Policy malformed: ${policy}`);
    return { draft: 7, limit: Number(draft7[1]), remaining: Number(draft7[2]), reset: Number(draft7[3]), window: Number(policyMatch[2]) };
  }
  const draft8 = /^"([^"]+)"; r=(\d+); t=(\d+)$/.exec(combined);
  if (draft8) {
    const policyMatch = /^"([^"]+)"; q=(\d+); w=(\d+)(?:; pk=:[A-Za-z0-9+/=]*:)?$/.exec(policy);
    if (!policyMatch) throw new Error(`draft-8 RateLimit-Policy malformed: ${policy}`);
    if (policyMatch[1] !== draft8[1]) throw new Error(`policy name ${policyMatch[1]} differs from ${draft8[1]}`);
    return {
      draft: 8,
      name: draft8[1],
      limit: Number(policyMatch[2]),
      remaining: Number(draft8[2]),
      reset: Number(draft8[3]),
      window: Number(policyMatch[3]),
    };
  }
  throw new Error(`RateLimit header is neither draft-7 nor draft-8: ${combined}`);
}

/** Environment for a test app: the given Redis, one trusted proxy hop, quick timeouts. */
export function appEnv(redis, extra = {}) {
  return {
    REDIS_URL: redis.url,
    TRUST_PROXY_HOPS: '1',
    REDIS_CONNECT_TIMEOUT_MS: '1000',
    REDIS_COMMAND_TIMEOUT_MS: '200',
    REDIS_RECONNECT_MAX_DELAY_MS: '200',
    ...extra,
  };
}
