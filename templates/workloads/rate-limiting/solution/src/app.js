import express from 'express';
import { TokenSessions, identify } from './auth.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { setUpRateLimiting } from './rate-limit/index.js';
import { accountRouter } from './routes/account.js';
import { authRouter } from './routes/auth.js';
import { publicRouter } from './routes/public.js';

/**
 * Builds the Express application without listening, so tests can serve it on port 0.
 * Async because Redis is connected (within a time budget) before the limiters are created.
 * `app.locals.close()` releases the Redis connection; server.js calls it on shutdown.
 */
export async function createApp(config = loadConfig(), { log = createLogger() } = {}) {
  if (!Number.isInteger(config.trustProxyHops) || config.trustProxyHops < 0) {
    // `true` would trust any X-Forwarded-For and let every client pick its own address.
    throw new ConfigError([`trustProxyHops must be a hop count (0, 1, 2...), got ${String(config.trustProxyHops)}`]);
  }

  const app = express();
  const sessions = new TokenSessions();
  const resetOutbox = [];

  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxyHops > 0 ? config.trustProxyHops : false);
  app.locals.config = config;
  app.locals.resetOutbox = resetOutbox;

  const rateLimiting = await setUpRateLimiting(config, { log });
  app.locals.rateLimiting = rateLimiting;
  app.locals.close = () => rateLimiting.close();

  // Probes are never limited; the response says whether the limiter's store is usable.
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', rateLimitStore: rateLimiting.storeState() });
  });

  // Identify first (header only, cheap) so the limiter can key on the user, then limit,
  // and only then parse bodies: refused requests should cost as little as possible.
  app.use(identify(sessions));
  app.use(rateLimiting.middleware);
  app.use(express.json({ limit: '10kb' }));

  app.get('/api/rate-limit/status', rateLimiting.statusHandler);
  app.use('/api/public', publicRouter());
  app.use('/api/auth', authRouter({ sessions, resetOutbox }));
  app.use('/api/account', accountRouter({ sessions }));

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', message: 'No such endpoint.' });
  });

  app.use(rateLimiting.errorHandler);
  // Express recognises error handlers by their four parameters.
  app.use((error, _req, res, _next) => {
    const status = Number.isInteger(error?.status) && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) log.error(`unexpected error: ${error?.stack ?? error}`);
    res.status(status).json({
      error: status === 500 ? 'internal_error' : 'bad_request',
      message: status === 500 ? 'Something went wrong.' : error.message,
    });
  });

  return app;
}
