import { isIP } from 'node:net';

// Every rate-limiting and Redis setting lives in this file: limits, routes per tier, the
// proxy hop count, the allowlist, the failure policy and the Redis time budget.

const MINUTE = 60 * 1000;
const WINDOW = 15 * MINUTE;

/**
 * The tiers. Each request is counted by exactly one tier: the first whose routes match,
 * otherwise `global`. (Counting a public read against `global` as well would cap public
 * reads at 100, and the 200 of their own tier could never be reached.)
 */
export const DEFAULT_TIERS = Object.freeze({
  global: { windowMs: WINDOW, limit: 100, routes: [] },
  login: { windowMs: WINDOW, limit: 20, routes: [{ methods: ['POST'], path: '/api/auth/login' }] },
  passwordReset: { windowMs: WINDOW, limit: 5, routes: [{ methods: ['POST'], path: '/api/auth/password-reset' }] },
  publicRead: { windowMs: WINDOW, limit: 200, routes: [{ methods: ['GET', 'HEAD'], prefix: '/api/public' }] },
});

/** Raised when the environment holds an unusable setting; lists every problem at once. */
export class ConfigError extends Error {
  constructor(problems) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Builds the configuration from environment variables. Defaults suit one instance behind no
 * proxy with Redis on localhost; see `.env.example` for every variable.
 */
export function loadConfig(env = process.env) {
  const problems = [];
  const int = (name, fallback, min, max) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const oneOf = (name, fallback, allowed) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!allowed.includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
      return fallback;
    }
    return raw;
  };

  // `trust proxy = true` would let any client choose its own address through X-Forwarded-For,
  // so only a hop count is accepted: the number of proxies of ours in front of the app.
  const rawHops = (env.TRUST_PROXY_HOPS ?? '0').trim() || '0';
  const hopsOk = /^\d+$/.test(rawHops) && Number(rawHops) <= 10;
  if (!hopsOk) {
    problems.push(`TRUST_PROXY_HOPS must be the number of trusted proxy hops (0-10), never "${env.TRUST_PROXY_HOPS}"`);
  }
  const trustProxyHops = hopsOk ? Number(rawHops) : 0;

  const allowlist = (env.RATE_LIMIT_ALLOWLIST ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of allowlist) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !bitsOk || extra !== undefined) {
      problems.push(`RATE_LIMIT_ALLOWLIST entry "${entry}" is not an IP address or CIDR block`);
    }
  }

  const config = {
    host: env.HOST ?? '127.0.0.1',
    port: int('PORT', 3000, 0, 65535),
    trustProxyHops,
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 10_000, 100, 120_000),
    rateLimit: {
      // `memory` keeps counts per process: fine for one instance or development only.
      store: oneOf('RATE_LIMIT_STORE', 'redis', ['redis', 'memory']),
      // `open`: serve requests unlimited while the store is down, and warn.
      // `closed`: answer 503 while the store is down.
      failurePolicy: oneOf('RATE_LIMIT_FAILURE_POLICY', 'open', ['open', 'closed']),
      // Addresses (or CIDR blocks) of our own monitoring; matched against req.ip, which
      // honours only `trustProxyHops`, so a forged X-Forwarded-For cannot reach it.
      allowlist,
      keyPrefix: env.RATE_LIMIT_PREFIX || 'rl:',
      standardHeaders: 'draft-8',
      tiers: structuredClone(DEFAULT_TIERS),
    },
    redis: {
      url: env.REDIS_URL || 'redis://127.0.0.1:6379',
      // How long start-up waits for the first connection before serving under the failure policy.
      connectTimeoutMs: int('REDIS_CONNECT_TIMEOUT_MS', 2000, 50, 60_000),
      // Upper bound on one store operation (a request waits at most this long for Redis).
      commandTimeoutMs: int('REDIS_COMMAND_TIMEOUT_MS', 250, 10, 10_000),
      // After a timed-out operation, fail fast for this long instead of waiting again.
      cooldownMs: int('REDIS_COOLDOWN_MS', 1000, 0, 60_000),
      reconnectMaxDelayMs: int('REDIS_RECONNECT_MAX_DELAY_MS', 2000, 10, 60_000),
      // Commands waiting for a reply beyond this count are refused at once.
      maxPendingCommands: int('REDIS_MAX_PENDING_COMMANDS', 1000, 1, 1_000_000),
    },
  };

  problems.push(...validateRateLimit(config.rateLimit));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Checks a rate-limit section (also used when a caller builds or edits one in code). */
export function validateRateLimit(rateLimit) {
  const problems = [];
  if (!rateLimit.tiers.global) problems.push('a "global" tier is required');
  for (const [name, tier] of Object.entries(rateLimit.tiers)) {
    if (!Number.isInteger(tier.limit) || tier.limit < 1) problems.push(`tier ${name}: limit must be a positive integer`);
    if (!Number.isInteger(tier.windowMs) || tier.windowMs < 1000) problems.push(`tier ${name}: windowMs must be at least 1000`);
  }
  return problems;
}
