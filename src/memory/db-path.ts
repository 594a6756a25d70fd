import { isAbsolute, join } from 'node:path';

/**
 * The user-level default database, so validated patterns carry across projects:
 * `$XDG_DATA_HOME/collab/memory.db`, else `<home>/.local/share/collab/memory.db`.
 * The environment and home directory are passed in; nothing is read at import time.
 */
export function defaultDbPath(env: Record<string, string | undefined>, homedir: string): string {
  const xdg = env.XDG_DATA_HOME;
  // The XDG spec says a relative value is invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir, '.local', 'share');
  return join(base, 'collab', 'memory.db');
}
