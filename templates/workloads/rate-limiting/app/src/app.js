import express from 'express';
import { TokenSessions, identify } from './auth.js';
import { loadConfig } from './config.js';
import { accountRouter } from './routes/account.js';
import { authRouter } from './routes/auth.js';
import { publicRouter } from './routes/public.js';

/**
 * Builds the Express application without listening, so tests can serve it on port 0.
 * `app.locals.close()` releases whatever the app holds (nothing yet).
 */
export function createApp(config = loadConfig()) {
  const app = express();
  const sessions = new TokenSessions();
  const resetOutbox = [];

  app.disable('x-powered-by');
  app.locals.config = config;
  app.locals.resetOutbox = resetOutbox;
  app.locals.close = async () => {};

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.use(express.json({ limit: '10kb' }));
  app.use(identify(sessions));

  app.use('/api/public', publicRouter());
  app.use('/api/auth', authRouter({ sessions, resetOutbox }));
  app.use('/api/account', accountRouter({ sessions }));

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', message: 'No such endpoint.' });
  });

  // Express recognises error handlers by their four parameters.
  app.use((error, _req, res, _next) => {
    const status = Number.isInteger(error?.status) && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) console.error('[app] unexpected error:', error);
    res.status(status).json({ error: status === 500 ? 'internal_error' : 'bad_request', message: status === 500 ? 'Something went wrong.' : error.message });
  });

  return app;
}
