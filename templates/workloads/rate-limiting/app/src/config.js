/** Raised when the environment holds an unusable setting; lists every problem at once. */
export class ConfigError extends Error {
  constructor(problems) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Builds the app configuration from environment variables (PORT, HOST). */
export function loadConfig(env = process.env) {
  const problems = [];
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT must be 0-65535, got "${env.PORT}"`);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    host: env.HOST ?? '127.0.0.1',
    port,
  };
}
