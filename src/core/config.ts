import { z } from 'zod';
import { CollabError } from './errors.js';

const agentKind = z.enum(['claude', 'codex', 'manual', 'replay']).describe('which program plays the role');

const roleSchema = (defaultAgent: 'claude' | 'codex') =>
  z
    .object({
      agent: agentKind.default(defaultAgent),
      model: z.string().min(1).optional().describe('model passed to the agent (--model / -m)'),
      timeoutSec: z.number().int().positive().default(1800).describe('hard time bound of one phase'),
      idleTimeoutSec: z.number().int().positive().default(600).describe('end the agent when it reports nothing for this long'),
      args: z.array(z.string()).default([]).describe('extra command-line arguments for the agent'),
      retries: z.number().int().min(0).max(5).default(1).describe('re-runs after an infrastructure failure (crash, timeout, no answer); separate from review rounds'),
    })
    .strict()
    .default({ agent: defaultAgent, timeoutSec: 1800, idleTimeoutSec: 600, args: [], retries: 1 });

/** The one config schema: `.collab/config.json` (and CLI flags on top). */
export const configSchema = z
  .object({
    handoff: z.enum(['direct', 'memory']).default('direct').describe('direct: collab moves artifacts; memory: agents store/retrieve them (seed workflow)'),
    maxIterations: z.number().int().min(1).max(20).default(3).describe('cap on validate -> implement rounds (and on re-plans)'),
    roles: z
      .object({
        planner: roleSchema('claude'),
        reviewer: roleSchema('codex'),
        implementer: roleSchema('claude'),
        validator: roleSchema('codex'),
      })
      .strict()
      .default({
        planner: { agent: 'claude', timeoutSec: 1800, idleTimeoutSec: 600, args: [], retries: 1 },
        reviewer: { agent: 'codex', timeoutSec: 1800, idleTimeoutSec: 600, args: [], retries: 1 },
        implementer: { agent: 'claude', timeoutSec: 1800, idleTimeoutSec: 600, args: [], retries: 1 },
        validator: { agent: 'codex', timeoutSec: 1800, idleTimeoutSec: 600, args: [], retries: 1 },
      }),
    replay: z
      .object({ cassette: z.string().min(1).optional().describe('directory of a replay cassette (default: the rate-limiting workload)') })
      .strict()
      .default({}),
    manual: z
      .object({ waitSec: z.number().int().min(0).default(900).describe('how long `manual` waits for the artifact to appear in memory') })
      .strict()
      .default({ waitSec: 900 }),
    memory: z
      .object({
        db: z.string().min(1).optional().describe('SQLite file of the embedded server (default $XDG_DATA_HOME/collab/memory.db)'),
        transport: z.enum(['in-process', 'stdio']).default('in-process').describe('how collab reaches the embedded server'),
        serverName: z.string().regex(/^[a-zA-Z0-9_-]+$/).default('byterover-mcp').describe('name the agents see the memory server under'),
        verifyTimeoutSec: z.number().min(0).default(90).describe('bound on reading a stored artifact back'),
        retrieveLimit: z.number().int().min(1).max(100).default(10),
      })
      .strict()
      .default({ transport: 'in-process', serverName: 'byterover-mcp', verifyTimeoutSec: 90, retrieveLimit: 10 }),
    patterns: z
      .object({ limit: z.number().int().min(0).max(20).default(3).describe('patterns handed to the planner at start') })
      .strict()
      .default({ limit: 3 }),
  })
  .strict();

export type CollabConfig = z.infer<typeof configSchema>;
export type RoleConfig = CollabConfig['roles']['planner'];

/** Validates a raw config object; every problem is reported at once in one line. */
export function parseConfig(raw: unknown, source = 'config'): CollabConfig {
  const res = configSchema.safeParse(raw ?? {});
  if (res.success) return res.data;
  const problems = res.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new CollabError('CONFIG_INVALID', `${source} is invalid: ${problems.join('; ')}`, { details: { problems } });
}

/** The defaults (no file). */
export function defaultConfig(): CollabConfig {
  return parseConfig({});
}
