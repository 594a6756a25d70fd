import { rateLimit } from 'express-rate-limit';
import { StoreUnavailableError } from './guarded-redis-store.js';
import { clientKey, createAllowlist, createTierSelector } from './keys.js';

// Stores handed to a limiter by this module, across calls: one store must never count for two.
const claimedStores = new WeakSet();

/**
 * Creates one express-rate-limit instance per tier, each with its own store and key prefix,
 * plus the middleware that sends every request to exactly one of them.
 * `createStore(tierName, prefix)` must return a new store each time; a store that was already
 * given to a limiter, or a repeated prefix, is a configuration error thrown at start-up (two
 * limiters on one store would add up their counts and corrupt each other's windows).
 */
export function createLimiters(rateLimitConfig, { createStore, log, onStoreFailure = () => {} }) {
  const isAllowlisted = createAllowlist(rateLimitConfig.allowlist);
  const selectTier = createTierSelector(rateLimitConfig.tiers);
  const libraryLogger = {
    warn: (error, message) => log.warn(describe(error, message)),
    error: (error, message) => {
      // With fail-open the library reports every request it lets through; the outage is
      // reported once by the connection instead.
      if (error instanceof StoreUnavailableError) onStoreFailure(error);
      else log.error(describe(error, message));
    },
  };

  const limiters = {};
  const stores = [];
  const prefixes = new Set();
  for (const [name, tier] of Object.entries(rateLimitConfig.tiers)) {
    const prefix = `${rateLimitConfig.keyPrefix}${name}:`;
    const store = createStore(name, prefix);
    if (claimedStores.has(store) || stores.includes(store)) {
      throw new Error(`rate limiter "${name}" was given a store that another limiter already uses; create one store per limiter`);
    }
    const storePrefix = store.prefix ?? prefix;
    if (prefixes.has(storePrefix)) {
      throw new Error(`rate limiter "${name}" uses key prefix "${storePrefix}" of another limiter; prefixes must differ`);
    }
    claimedStores.add(store);
    stores.push(store);
    prefixes.add(storePrefix);

    limiters[name] = rateLimit({
      windowMs: tier.windowMs,
      limit: tier.limit,
      standardHeaders: rateLimitConfig.standardHeaders,
      legacyHeaders: false,
      identifier: name,
      keyGenerator: clientKey,
      skip: (req) => isAllowlisted(req.ip),
      store,
      passOnStoreError: rateLimitConfig.failurePolicy === 'open',
      handler: tooManyRequests(name),
      logger: libraryLogger,
    });
  }

  /** Counts the request in its tier (and only there). */
  const middleware = (req, res, next) => {
    const tier = selectTier(req);
    req.rateLimitTier = tier;
    return limiters[tier](req, res, next);
  };

  return { limiters, stores, middleware, isAllowlisted, selectTier };
}

function tooManyRequests(tier) {
  return (req, res) => {
    const info = req.rateLimit;
    // express-rate-limit has already set Retry-After from the store's reset time.
    const fromHeader = Number(res.getHeader('Retry-After'));
    const retryAfter = Number.isFinite(fromHeader)
      ? fromHeader
      : Math.max(1, Math.ceil(((info.resetTime?.getTime() ?? Date.now()) - Date.now()) / 1000));
    res.status(429).json({
      error: 'too_many_requests',
      message: `Too many requests for the ${tier} tier; retry in ${retryAfter} s.`,
      tier,
      limit: info.limit,
      retryAfter,
    });
  };
}

function describe(error, message) {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return message ? `${message} ${text}` : text;
}
