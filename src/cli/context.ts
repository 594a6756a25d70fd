import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CollabError, isCollabError } from '../core/errors.js';
import { parseConfig, type CollabConfig } from '../core/config.js';
import type { Clock, MemoryPort, MemoryServerSpec } from '../core/ports.js';
import { FsLedger } from '../ledger/fs-ledger.js';
import { defaultDbPath } from '../memory/db-path.js';
import type { GlobalOptions } from './program.js';
import type { Output } from './output.js';

/** Everything a command needs, built once here (house rule 6: nothing reads env or disk at import time). */
export interface CliContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  out: Output;
  config: CollabConfig;
  ledger: FsLedger;
  clock: Clock;
  dbPath: string;
  /** How to start collab itself (for agents that spawn our memory server). */
  selfCommand: { command: string; args: string[] };
  /** Root of the installed package (templates/ lives there). */
  packageRoot: string;
  memoryServerSpec(): MemoryServerSpec;
  /** Connects to the configured memory server (lazily imports the MCP code); `allowOffline`: a remote server that is down yields an offline port instead of an error. */
  connectMemory(opts?: { allowOffline?: boolean }): Promise<MemoryPort>;
}

/** Root of the collab package: dist/ and src/cli/ are both two levels below it. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'templates'))) return dir;
    dir = path.dirname(dir);
  }
  throw new CollabError('INTERNAL', 'cannot find the collab package root (templates/ missing)');
}

/** Builds the context for `g` (global options) and an optional `--db` override. */
export function createContext(g: GlobalOptions, out: Output, opts: { db?: string } = {}): CliContext {
  const env = process.env;
  const cwd = resolveCwd(g.cwd);
  const config = loadConfig(cwd);
  const root = packageRoot();
  const dbPath = path.resolve(cwd, expandHome(opts.db ?? (env.COLLAB_MEMORY_DB || undefined) ?? config.memory.db ?? defaultDbPath(env, homedir())));
  const selfCommand = { command: process.execPath, args: [path.join(root, 'bin', 'collab.js')] };
  const ctx: CliContext = {
    cwd,
    env,
    out,
    config,
    ledger: new FsLedger(path.join(cwd, '.collab')),
    clock: { now: () => new Date() },
    dbPath,
    selfCommand,
    packageRoot: root,
    memoryServerSpec: () => agentMemorySpec(config, selfCommand, dbPath),
    connectMemory: async (connectOpts = {}) => {
      const [{ connectMemory }, { memoryConnectOptions }] = await Promise.all([import('../memory/mcp-client.js'), import('../memory/connect-options.js')]);
      // Configuration problems (no URL, no token) are errors whatever the caller wants.
      const options = memoryConnectOptions(config.memory, { dbPath, env, selfServer: ctx.memoryServerSpec() });
      try {
        return await connectMemory(options);
      } catch (err) {
        // A remote server that is down must not stop the work: the ledger keeps the artifacts (outbox).
        const contract = isCollabError(err) && err.details && 'problems' in err.details;
        if (!connectOpts.allowOffline || config.memory.profile === 'local' || !isCollabError(err) || err.code !== 'MEMORY_UNAVAILABLE' || contract) throw err;
        const { OfflineMemory } = await import('../memory/offline-memory.js');
        out.warn(`${err.message}; working from the ledger, artifacts go to the outbox (\`collab memory sync\` later)`);
        return new OfflineMemory(config.memory.url ?? config.memory.command ?? config.memory.profile, err.message);
      }
    },
  };
  return ctx;
}

/** The memory server as the agents get it: the configured remote one, or collab's own over stdio. */
export function agentMemorySpec(config: CollabConfig, self: { command: string; args: string[] }, dbPath: string): MemoryServerSpec {
  const m = config.memory;
  const name = m.serverName;
  if ((m.profile === 'http' || m.profile === 'byterover') && m.url) {
    const tokenEnv = m.authEnv ?? (m.profile === 'byterover' ? 'BYTEROVER_API_KEY' : undefined);
    return { name, command: '', args: [], env: {}, url: m.url, ...(tokenEnv ? { bearerTokenEnv: tokenEnv } : {}) };
  }
  if (m.profile === 'stdio' && m.command) return { name, command: m.command, args: [...m.args], env: { ...m.env } };
  return { name, command: self.command, args: [...self.args, 'memory', 'serve', '--db', dbPath], env: {} };
}

/** `~/x` → `$HOME/x` (config files are not expanded by a shell). */
function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(homedir(), p.slice(1)) : p;
}

function resolveCwd(dir: string | undefined): string {
  const cwd = path.resolve(dir ?? process.cwd());
  let st;
  try {
    st = statSync(cwd);
  } catch {
    throw new CollabError('USAGE', `--cwd ${dir}: no such directory`);
  }
  if (!st.isDirectory()) throw new CollabError('USAGE', `--cwd ${dir}: not a directory`);
  return cwd;
}

/** Reads `.collab/config.json` when present; a bad file is CONFIG_INVALID, never ignored. */
export function loadConfig(cwd: string): CollabConfig {
  const file = path.join(cwd, '.collab', 'config.json');
  if (!existsSync(file)) return parseConfig({});
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CollabError('CONFIG_INVALID', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(raw, file);
}
