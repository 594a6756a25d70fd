import { MemoryStore } from 'express-rate-limit';
import { ConfigError, validateRateLimit } from '../config.js';
import { GuardedRedisStore, StoreUnavailableError } from './guarded-redis-store.js';
import { clientKey } from './keys.js';
import { createLimiters } from './limiters.js';
import { createRedisConnection } from './redis-connection.js';

/**
 * Sets up rate limiting: connects to Redis first (bounded, never throws when Redis is away),
 * then creates one store per tier and the limiters. Returns the middleware, the status route,
 * the error handler for the fail-closed policy, the store state for /health, and close().
 */
export async function setUpRateLimiting(config, { log }) {
  const settings = config.rateLimit;
  const problems = validateRateLimit(settings);
  if (problems.length > 0) throw new ConfigError(problems);

  let connection;
  if (settings.store === 'redis') {
    connection = createRedisConnection(config.redis, { log, policy: settings.failurePolicy });
    // Stores are created after this: their script loading then finds a live connection.
    await connection.start();
  }

  const createStore = (_name, prefix) =>
    connection
      ? new GuardedRedisStore({ connection, prefix, timeoutMs: config.redis.commandTimeoutMs })
      : new MemoryStore();
  const { limiters, stores, middleware: limit, isAllowlisted } = createLimiters(settings, {
    createStore,
    log,
    onStoreFailure: (error) => connection?.markFailed(error),
  });

  // With no trusted hop, X-Forwarded-For is ignored; seeing it hints at a proxy nobody declared
  // (every client would then share the proxy's bucket). Said once, not per request.
  let proxyHintGiven = config.trustProxyHops > 0;
  const middleware = (req, res, next) => {
    if (!proxyHintGiven && req.headers['x-forwarded-for'] !== undefined) {
      proxyHintGiven = true;
      log.warn('X-Forwarded-For received but TRUST_PROXY_HOPS is 0: if the app runs behind a proxy, set the hop count');
    }
    limit(req, res, next);
  };

  /** GET: the caller's quota in every tier, read from the limiters' stores (not from headers). */
  const statusHandler = async (req, res, next) => {
    try {
      const key = clientKey(req);
      const allowlisted = isAllowlisted(req.ip);
      const entries = await Promise.all(
        Object.entries(settings.tiers).map(async ([name, tier]) => {
          const info = allowlisted ? undefined : await limiters[name].getKey(key);
          const now = Date.now();
          const active = info !== undefined && info.totalHits > 0 && info.resetTime instanceof Date && info.resetTime.getTime() > now;
          const used = active ? info.totalHits : 0;
          return [
            name,
            {
              limit: tier.limit,
              windowSeconds: Math.ceil(tier.windowMs / 1000),
              used,
              remaining: Math.max(tier.limit - used, 0),
              resetTime: active ? info.resetTime.toISOString() : null,
              resetInSeconds: active ? Math.ceil((info.resetTime.getTime() - now) / 1000) : null,
            },
          ];
        }),
      );
      res.set('Cache-Control', 'no-store');
      res.json({ key, allowlisted, tier: req.rateLimitTier ?? null, tiers: Object.fromEntries(entries) });
    } catch (error) {
      next(error);
    }
  };

  /** Error middleware: a store failure under the fail-closed policy (or on /status) is a 503. */
  const errorHandler = (error, _req, res, next) => {
    if (!(error instanceof StoreUnavailableError)) {
      next(error);
      return;
    }
    const retryAfter = Math.max(1, Math.ceil(config.redis.cooldownMs / 1000));
    res.set('Retry-After', String(retryAfter));
    res.status(503).json({
      error: 'rate_limit_unavailable',
      message: 'Rate limiting is temporarily unavailable; try again shortly.',
      retryAfter,
    });
  };

  return {
    middleware,
    statusHandler,
    errorHandler,
    limiters,
    storeState: () => (connection ? connection.state() : 'memory'),
    async close() {
      for (const store of stores) store.shutdown?.();
      await connection?.close();
    },
  };
}
