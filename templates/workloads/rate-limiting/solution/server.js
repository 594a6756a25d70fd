import { createApp } from './src/app.js';
import { ConfigError, loadConfig } from './src/config.js';
import { createLogger } from './src/log.js';

const log = createLogger();

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  log.error(error.message);
  process.exit(1);
}

// createApp waits for Redis at most REDIS_CONNECT_TIMEOUT_MS and never rejects because Redis
// is away: the app starts and follows its failure policy until Redis answers.
const app = await createApp(config, { log });
const server = app.listen(config.port, config.host);

server.once('listening', () => {
  const { address, port } = server.address();
  log.info(`listening on http://${address}:${port}`);
});
server.once('error', (error) => {
  log.error(`cannot listen on ${config.host}:${config.port}: ${error.message}`);
  void shutdown('listen error', 1);
});

let stopping = false;

/** Stops accepting connections, lets requests in flight finish, then closes Redis. */
async function shutdown(reason, exitCode = 0) {
  if (stopping) return;
  stopping = true;
  log.info(`${reason}: shutting down`);
  const force = setTimeout(() => {
    log.warn(`shutdown took longer than ${config.shutdownTimeoutMs} ms; closing remaining connections`);
    server.closeAllConnections();
    process.exit(exitCode === 0 ? 1 : exitCode);
  }, config.shutdownTimeoutMs);
  force.unref();

  // Requests still arriving on kept-alive connections are answered with "Connection: close";
  // connections that go idle once their response is sent are closed by the sweep.
  server.on('request', (_req, res) => res.setHeader('Connection', 'close'));
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  await new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  clearInterval(sweep);
  await app.locals.close();
  clearTimeout(force);
  log.info('stopped');
  process.exit(exitCode);
}

process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
