/**
 * From the `memory` config section to how the client connects: pure, so the choice of transport,
 * the auth header and the tool mapping are tested without a server. The caller hands in the
 * environment (house rule 6).
 */
import type { MemoryConfig } from '../core/config.js';
import { CollabError } from '../core/errors.js';
import type { ConnectMemoryOptions } from './mcp-client.js';

/** Default environment variable holding the token of the `byterover` profile. */
export const BYTEROVER_TOKEN_ENV = 'BYTEROVER_API_KEY';

/** What the mapping needs besides the config section. */
export interface ConnectInputs {
  /** Database of the embedded server (profile local). */
  dbPath: string;
  env: Record<string, string | undefined>;
  /** How to spawn collab's own server (profile local with transport stdio). */
  selfServer: { command: string; args: string[]; env: Record<string, string> };
  clientVersion?: string;
}

/** The connect options for `memory`; a missing token is one line naming the variable. */
export function memoryConnectOptions(memory: MemoryConfig, inputs: ConnectInputs): ConnectMemoryOptions {
  const common = {
    connectTimeoutMs: Math.round(memory.connectTimeoutSec * 1000),
    requestTimeoutMs: Math.round(memory.requestTimeoutSec * 1000),
    tools: { store: { ...memory.tools.store }, retrieve: { ...memory.tools.retrieve } },
    lookupLimit: memory.lookupLimit,
    ...(inputs.clientVersion ? { clientVersion: inputs.clientVersion } : {}),
  };
  switch (memory.profile) {
    case 'local':
      if (memory.transport === 'stdio') return { kind: 'stdio', ...inputs.selfServer, ...common };
      return { kind: 'in-process', dbPath: inputs.dbPath, ...common };
    case 'stdio':
      if (!memory.command) throw new CollabError('CONFIG_INVALID', 'memory.profile stdio needs memory.command');
      return { kind: 'stdio', command: memory.command, args: [...memory.args], env: { ...memory.env }, ...common };
    case 'byterover':
    case 'http': {
      if (!memory.url) throw new CollabError('CONFIG_INVALID', `memory.profile ${memory.profile} needs memory.url`);
      const envName = memory.authEnv ?? (memory.profile === 'byterover' ? BYTEROVER_TOKEN_ENV : undefined);
      const headers: Record<string, string> = {};
      if (envName !== undefined) {
        const token = inputs.env[envName];
        if (!token || token.trim() === '') {
          throw new CollabError('MEMORY_UNAVAILABLE', `memory server ${memory.url} needs a token in $${envName}, which is not set`, {
            hint: `export ${envName}=<token>, or set memory.authEnv in .collab/config.json`,
          });
        }
        headers[memory.authHeader] = memory.authScheme ? `${memory.authScheme} ${token.trim()}` : token.trim();
      }
      return { kind: 'http', url: memory.url, headers, sseFallback: memory.sseFallback, ...common };
    }
  }
}
