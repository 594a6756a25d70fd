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

const toolName = z.string().regex(/^[A-Za-z0-9_.:/-]{1,128}$/, { message: 'a tool name: letters, digits and _ . : / - (1-128)' });
const argName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, { message: 'an argument name: a letter or _, then letters, digits, _ or -' });

/** Tool and argument names of the memory server (default: Byterover's). */
const memoryToolsSchema = z
  .object({
    store: z
      .object({ name: toolName.default('byterover-store-knowledge'), text: argName.default('messages').describe('argument carrying the text') })
      .strict()
      .default({ name: 'byterover-store-knowledge', text: 'messages' }),
    retrieve: z
      .object({
        name: toolName.default('byterover-retrieve-knowledge'),
        query: argName.default('query'),
        limit: argName.nullable().default('limit').describe('argument carrying the result count; null when the tool takes none'),
      })
      .strict()
      .default({ name: 'byterover-retrieve-knowledge', query: 'query', limit: 'limit' }),
  })
  .strict()
  .default({ store: { name: 'byterover-store-knowledge', text: 'messages' }, retrieve: { name: 'byterover-retrieve-knowledge', query: 'query', limit: 'limit' } });

const MEMORY_DEFAULTS = {
  profile: 'local',
  transport: 'in-process',
  serverName: 'byterover-mcp',
  verifyTimeoutSec: 90,
  retrieveLimit: 10,
  args: [],
  env: {},
  authHeader: 'Authorization',
  authScheme: 'Bearer',
  sseFallback: true,
  connectTimeoutSec: 10,
  requestTimeoutSec: 30,
  lookupLimit: 50,
  tools: { store: { name: 'byterover-store-knowledge', text: 'messages' }, retrieve: { name: 'byterover-retrieve-knowledge', query: 'query', limit: 'limit' } },
} as const;

/** The `memory` section: which server (profile), how to reach it, its tool names, the verify bound. */
const memorySchema = z
  .object({
    profile: z
      .enum(['local', 'byterover', 'stdio', 'http'])
      .default('local')
      .describe('local: the embedded server; byterover: a hosted Byterover (Streamable HTTP); stdio: any command; http: any URL'),
    db: z.string().min(1).optional().describe('SQLite file of the embedded server (default $XDG_DATA_HOME/collab/memory.db)'),
    transport: z.enum(['in-process', 'stdio']).default('in-process').describe('profile local: how collab reaches the embedded server'),
    url: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, { message: 'an http:// or https:// URL' })
      .optional()
      .describe('profiles byterover and http: the MCP endpoint (Streamable HTTP; an old SSE endpoint with sseFallback)'),
    authEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'an environment variable name' })
      .optional()
      .describe('profiles byterover and http: environment variable holding the token (default BYTEROVER_API_KEY for byterover)'),
    authHeader: z.string().regex(/^[A-Za-z0-9-]+$/).default('Authorization').describe('header the token is sent in'),
    authScheme: z.string().max(32).default('Bearer').describe('prefix of the header value ("" sends the bare token)'),
    sseFallback: z.boolean().default(true).describe('retry with the old HTTP+SSE transport when Streamable HTTP is refused'),
    command: z.string().min(1).optional().describe('profile stdio: the server command'),
    args: z.array(z.string()).default([]).describe('profile stdio: its arguments'),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}).describe('profile stdio: environment added for it'),
    tools: memoryToolsSchema.describe('tool and argument names of the server'),
    serverName: z.string().regex(/^[a-zA-Z0-9_-]+$/).default('byterover-mcp').describe('name the agents see the memory server under'),
    verifyTimeoutSec: z.number().min(0).default(90).describe('bound on reading a stored artifact back'),
    retrieveLimit: z.number().int().min(1).max(100).default(10),
    lookupLimit: z.number().int().min(1).max(100).default(50).describe('results asked for when looking up a session on a server without exact lookup'),
    connectTimeoutSec: z.number().positive().max(600).default(10).describe('bound on start + initialize + tools/list'),
    requestTimeoutSec: z.number().positive().max(600).default(30).describe('bound on each memory tool call'),
  })
  .strict()
  .superRefine((m, ctx) => {
    if ((m.profile === 'byterover' || m.profile === 'http') && !m.url) ctx.addIssue({ code: 'custom', path: ['url'], message: `profile ${m.profile} needs memory.url` });
    if (m.profile === 'stdio' && !m.command) ctx.addIssue({ code: 'custom', path: ['command'], message: 'profile stdio needs memory.command' });
  })
  .default({ ...MEMORY_DEFAULTS, args: [], env: {} });

/** The `memory` section after defaults. */
export type MemoryConfig = z.infer<typeof memorySchema>;

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
    memory: memorySchema,
    redaction: z
      .object({
        enabled: z.boolean().default(true).describe('redact secrets before text leaves the machine (remote memory, the other vendor\'s agent)'),
        allow: z.array(z.string()).default([]).describe('exact strings or rule ids (e.g. "jwt") never to redact'),
      })
      .strict()
      .default({ enabled: true, allow: [] }),
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
