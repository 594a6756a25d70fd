/** A minimal line logger on stderr; `write` is replaceable so tests can capture lines. */
export function createLogger({ name = 'app', write = (line) => process.stderr.write(line) } = {}) {
  const emit = (level) => (message) => {
    write(`${new Date().toISOString()} ${level.padEnd(5)} [${name}] ${message}\n`);
  };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}
