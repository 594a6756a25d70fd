import { createClient } from 'redis';

/**
 * Owns the Redis client of the rate limiters: connecting within a time budget, knowing whether
 * Redis can be used right now, reporting outages once (not once per request), and shutdown.
 */
export function createRedisConnection(redisConfig, { log, policy }) {
  const client = createClient({
    url: redisConfig.url,
    // While disconnected, commands are refused at once instead of piling up until reconnect.
    disableOfflineQueue: true,
    // A Redis that accepts bytes but never answers must not grow an unbounded queue.
    commandsQueueMaxLength: redisConfig.maxPendingCommands,
    // node-redis applies this only while a command waits to be written; the reply wait is
    // bounded by the store's own deadline (see guarded-redis-store.js).
    commandOptions: { timeout: redisConfig.commandTimeoutMs },
    socket: {
      connectTimeout: redisConfig.connectTimeoutMs,
      // Never give up: a strategy that returns an Error closes the client for good, and
      // counting would then never resume once Redis is back.
      reconnectStrategy: (retries) =>
        Math.min(50 * 2 ** Math.min(retries, 10), redisConfig.reconnectMaxDelayMs) + Math.floor(Math.random() * 50),
    },
  });

  let state = 'connecting'; // connecting | ready | down | closed
  let slowUntil = 0;
  let outage; // the reason of the current outage, once reported
  let lastError;
  const readyListeners = new Set();

  const reportOutage = (reason) => {
    if (outage) return;
    outage = reason;
    const effect = policy === 'closed' ? 'limited routes answer 503' : 'requests are served without rate limiting';
    log.warn(`rate limiting degraded: ${reason}; failure policy "${policy}": ${effect} until Redis answers again`);
  };
  const reportRecovery = () => {
    if (!outage) return;
    outage = undefined;
    log.info('Redis answers again; rate limiting counts again');
  };

  // Without an 'error' listener node-redis errors would crash the process.
  client.on('error', (error) => {
    lastError = error;
    if (state === 'closed') return;
    if (!client.isReady) state = 'down';
    reportOutage(`Redis error: ${error.message || error.name}`);
  });
  client.on('reconnecting', () => {
    if (state !== 'closed') state = 'down';
  });
  client.on('ready', () => {
    if (state === 'closed') return;
    state = 'ready';
    slowUntil = 0;
    reportRecovery();
    for (const listener of readyListeners) listener();
  });

  return {
    client,

    /** Connects, waiting at most connectTimeoutMs; never rejects. Retries go on in the background. */
    async start() {
      const connected = client.connect().then(
        () => true,
        (error) => {
          if (state !== 'closed') log.error(`Redis connection abandoned: ${error.message}`);
          return false;
        },
      );
      let timer;
      const waited = new Promise((resolve) => {
        timer = setTimeout(() => resolve(false), redisConfig.connectTimeoutMs);
      });
      const ok = await Promise.race([connected, waited]);
      clearTimeout(timer);
      if (!ok) {
        state = client.isReady ? 'ready' : 'down';
        reportOutage(`Redis at ${redactUrl(redisConfig.url)} not reachable within ${redisConfig.connectTimeoutMs} ms of start-up`);
      }
      return ok;
    },

    /** True when a store operation may be attempted now. */
    usable() {
      return state === 'ready' && client.isReady && Date.now() >= slowUntil;
    },

    /** Called when Redis did not answer within the budget: fail fast for `cooldownMs`. */
    markSlow() {
      slowUntil = Date.now() + redisConfig.cooldownMs;
      reportOutage(`Redis did not answer within ${redisConfig.commandTimeoutMs} ms`);
    },

    /** Called after a store operation that failed for any reason. */
    markFailed(error) {
      reportOutage(error.message);
    },

    /** Called after a successful store operation. */
    markHealthy() {
      reportRecovery();
    },

    /** Registers a callback for every (re)connection. */
    onReady(listener) {
      readyListeners.add(listener);
    },

    /** The state for the health endpoint: ready, slow, down, connecting or closed. */
    state() {
      if (state === 'ready' && Date.now() < slowUntil) return 'slow';
      return state;
    },

    lastError: () => lastError,

    /** Sends a raw command (what rate-limit-redis needs). */
    sendCommand(args) {
      return client.sendCommand(args);
    },

    /** Closes the connection: waits for pending replies up to timeoutMs, then drops it. */
    async close(timeoutMs = 2000) {
      state = 'closed';
      readyListeners.clear();
      if (!client.isOpen) return;
      if (!client.isReady) {
        client.destroy();
        return;
      }
      let timer;
      const closed = client.close().then(
        () => true,
        () => false,
      );
      const late = new Promise((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const ok = await Promise.race([closed, late]);
      clearTimeout(timer);
      if (!ok && client.isOpen) client.destroy();
    },
  };
}

function redactUrl(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable REDIS_URL)';
  }
}
