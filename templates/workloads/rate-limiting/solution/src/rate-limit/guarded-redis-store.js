import { RedisStore } from 'rate-limit-redis';

/** A store operation could not be completed; the failure policy decides what the request gets. */
export class StoreUnavailableError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'StoreUnavailableError';
    this.code = 'RATE_LIMIT_STORE_UNAVAILABLE';
  }
}

/**
 * An express-rate-limit Store: rate-limit-redis behind a readiness check and a deadline.
 *
 * Why not RedisStore alone: its init() loads two Lua scripts once, and when that load fails
 * (Redis down at start-up, or down while it reloads scripts after a restart) the rejected
 * promise is kept and every later call fails, so counting would never resume. Here any failure
 * forgets the scripts and the next call loads them again. And node-redis's command timeout does
 * not cover the wait for a reply, so a Redis that stops answering would hold requests forever
 * without the deadline below.
 */
export class GuardedRedisStore {
  /** Counts live in Redis, shared by every instance of the app. */
  localKeys = false;
  prefix;
  #connection;
  #inner;
  #timeoutMs;
  #options;
  #scripts;

  constructor({ connection, prefix, timeoutMs }) {
    this.prefix = prefix;
    this.#connection = connection;
    this.#timeoutMs = timeoutMs;
    this.#inner = new RedisStore({ prefix, sendCommand: (...args) => connection.sendCommand(args) });
  }

  /** Called once by express-rate-limit with the limiter's options. */
  init(options) {
    this.#options = options;
    const warmUp = () => {
      this.#scripts = undefined;
      this.#loadScripts().catch(() => {});
    };
    this.#connection.onReady(warmUp);
    if (this.#connection.usable()) warmUp();
  }

  async increment(key) {
    return this.#guarded('increment', async () => {
      await this.#loadScripts();
      return this.#inner.increment(key);
    });
  }

  /** The caller's current count, or undefined when it has none in this window. */
  async get(key) {
    const info = await this.#guarded('get', async () => {
      await this.#loadScripts();
      return this.#inner.get(key);
    });
    if (!info || info.totalHits <= 0 || !info.resetTime || info.resetTime.getTime() <= Date.now()) return undefined;
    return info;
  }

  async decrement(key) {
    await this.#guarded('decrement', () => this.#inner.decrement(key));
  }

  async resetKey(key) {
    await this.#guarded('resetKey', () => this.#inner.resetKey(key));
  }

  #loadScripts() {
    if (!this.#options) return Promise.reject(new StoreUnavailableError('store used before init'));
    this.#scripts ??= this.#inner.init(this.#options).catch((error) => {
      this.#scripts = undefined;
      throw error;
    });
    return this.#scripts;
  }

  async #guarded(operation, run) {
    if (!this.#connection.usable()) {
      throw new StoreUnavailableError(`Redis unavailable (${operation} not attempted)`, {
        cause: this.#connection.lastError(),
      });
    }
    let timer;
    const deadline = new Promise((_resolve, reject) => {
      timer = setTimeout(() => reject(new DeadlineError(operation, this.#timeoutMs)), this.#timeoutMs);
    });
    try {
      // Promise.race keeps a handler on the losing promise, so its late rejection is not unhandled.
      const result = await Promise.race([run(), deadline]);
      this.#connection.markHealthy();
      return result;
    } catch (error) {
      // A failed call may leave a rejected script load behind; load again next time.
      this.#scripts = undefined;
      if (error instanceof DeadlineError) this.#connection.markSlow();
      else this.#connection.markFailed(error);
      throw new StoreUnavailableError(`Redis ${operation} failed: ${error.message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

class DeadlineError extends Error {
  constructor(operation, ms) {
    super(`no reply to ${operation} within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}
