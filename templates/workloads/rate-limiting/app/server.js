import { createApp } from './src/app.js';
import { ConfigError, loadConfig } from './src/config.js';

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const app = await createApp(config);
const server = app.listen(config.port, config.host, () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}`);
});

function shutdown() {
  server.close(() => process.exit(0));
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
