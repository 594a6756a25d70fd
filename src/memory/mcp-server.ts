/**
 * The embedded memory server: Byterover's two tool names and argument shapes over the SQLite store,
 * plus collab's exact lookup and stats. Transport-free — serve.ts hands it stdio, the client hands
 * it an in-memory pair, a later HTTP mode hands it Streamable HTTP.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { isCollabError, firstLine } from '../core/errors.js';
import { PHASES } from '../core/phases.js';
import { SESSION_ID_PATTERN, assertSessionId } from '../core/session-id.js';
import { ACCEPT_ALL_VALIDATOR, ERROR_META_KEY, MEMORY_SERVER_NAME, MEMORY_TOOLS, NO_MATCH_TEXT, RECORD_META_KEY, RETRIEVE_LIMIT } from './memory-tools.js';
import type { SqliteStore, StoredRecord } from './sqlite-store.js';

/** Options of the embedded server. */
export interface MemoryServerOptions {
  /** Reported in `initialize` (the CLI passes its package version). */
  version?: string;
  /** One line per unexpected failure (stderr in `collab memory serve`). */
  log?: (line: string) => void;
}

const sessionIdSchema = z
  .string()
  .regex(new RegExp(`^${SESSION_ID_PATTERN}$`), { message: 'sessionId must be SESSION-YYYYMMDD-XXXXXXXX (8 characters A-Z0-9)' })
  .describe('session id, SESSION-YYYYMMDD-XXXXXXXX');
const phaseSchema = z.enum(PHASES);

const lookupRecordSchema = z.object({
  id: z.number().int(),
  sessionId: z.string(),
  phase: phaseSchema.nullable(),
  sha256: z.string(),
  createdAt: z.string(),
  text: z.string(),
});

const statsSchema = {
  records: z.number().int(),
  sessions: z.number().int(),
  patterns: z.number().int(),
  bytes: z.number().int(),
  oldest: z.string().optional(),
  newest: z.string().optional(),
  byPhase: z.record(z.string(), z.number().int()),
  dbPath: z.string().optional(),
};

/** Builds the MCP server over a store; the caller connects it to a transport and owns the store. */
export function createMemoryServer(store: SqliteStore, opts: MemoryServerOptions = {}): McpServer {
  const server = new MemoryMcpServer(
    { name: MEMORY_SERVER_NAME, version: opts.version ?? '0.0.0' },
    {
      jsonSchemaValidator: ACCEPT_ALL_VALIDATOR,
      instructions:
        'Shared memory of collab sessions. Retrieve with a query containing the session id (SESSION-YYYYMMDD-XXXXXXXX) to get only that session\'s artifacts; store each artifact verbatim with its session id in the header.',
    },
  );
  const log = opts.log ?? (() => {});

  // A tool handler must answer, never throw: agents get a one-line isError result they can act on.
  const guarded = <A>(tool: string, fn: (args: A) => CallToolResult) => (args: A): CallToolResult => {
    try {
      return fn(args);
    } catch (err) {
      const code = isCollabError(err) ? err.code : 'INTERNAL';
      const message = firstLine(err instanceof Error ? err.message : String(err));
      if (!isCollabError(err)) log(`${tool}: ${message}`);
      return { isError: true, content: [{ type: 'text', text: message }], _meta: { [ERROR_META_KEY]: code } };
    }
  };

  server.registerTool(
    MEMORY_TOOLS.store,
    {
      title: 'Store knowledge',
      description:
        'Store a memory (an artifact, a pattern, a note) verbatim. Put the session id in the header, e.g. "**[SESSION-20251027-K9M2P7X4] CLAUDE PLAN: title**". Identical content is stored once. The store is synchronous: it is retrievable as soon as this returns.',
      inputSchema: { messages: z.string().describe('the text to store, verbatim') },
      outputSchema: {
        id: z.number().int(),
        duplicate: z.boolean(),
        sha256: z.string(),
        sessionId: z.string().nullable(),
        phase: phaseSchema.nullable(),
      },
      annotations: { title: 'Store knowledge', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    guarded(MEMORY_TOOLS.store, ({ messages }: { messages: string }) => {
      const r = store.store(messages);
      const where = r.sessionId ? `session ${r.sessionId}, phase ${r.phase ?? 'unknown'}` : 'no session';
      const text = r.duplicate ? `Already stored as memory ${r.id} (${where}).` : `Stored memory ${r.id} (${where}).`;
      return {
        content: [{ type: 'text', text }],
        structuredContent: { id: r.id, duplicate: r.duplicate, sha256: r.sha256, sessionId: r.sessionId, phase: r.phase },
      };
    }),
  );

  server.registerTool(
    MEMORY_TOOLS.retrieve,
    {
      title: 'Retrieve knowledge',
      description:
        'Search memory. A query containing a session id (SESSION-YYYYMMDD-XXXXXXXX) returns only that session\'s artifacts, best match for the other words first (e.g. "SESSION-20251027-K9M2P7X4 Claude plan"). Other queries are full-text searches ranked by BM25. Each result is one text block holding the stored text verbatim.',
      inputSchema: {
        query: z.string().describe('words to search for, optionally with a session id'),
        limit: z
          .number()
          .int()
          .min(RETRIEVE_LIMIT.min)
          .max(RETRIEVE_LIMIT.max)
          .optional()
          .describe(`maximum number of results (${RETRIEVE_LIMIT.min}-${RETRIEVE_LIMIT.max}, default ${RETRIEVE_LIMIT.default})`),
      },
      annotations: { title: 'Retrieve knowledge', readOnlyHint: true, openWorldHint: false },
    },
    guarded(MEMORY_TOOLS.retrieve, ({ query, limit }: { query: string; limit?: number | undefined }) => {
      const records = store.search(query, limit ?? RETRIEVE_LIMIT.default);
      if (records.length === 0) return { content: [{ type: 'text', text: NO_MATCH_TEXT }] };
      // No structuredContent on purpose: some clients show an agent only that, and agents must read the texts.
      return { content: records.map((r) => ({ type: 'text' as const, text: r.text, _meta: { [RECORD_META_KEY]: recordMeta(r) } })) };
    }),
  );

  server.registerTool(
    MEMORY_TOOLS.lookup,
    {
      title: 'Look up artifacts',
      description: 'Exact lookup of a session\'s stored artifacts, optionally of one phase, oldest first. Answers JSON {records:[{id,sessionId,phase,sha256,createdAt,text}]}.',
      inputSchema: { sessionId: sessionIdSchema, phase: phaseSchema.optional().describe('plan, review, implement, validate or pattern') },
      outputSchema: { records: z.array(lookupRecordSchema) },
      annotations: { title: 'Look up artifacts', readOnlyHint: true, openWorldHint: false },
    },
    guarded(MEMORY_TOOLS.lookup, ({ sessionId, phase }: { sessionId: string; phase?: (typeof PHASES)[number] | undefined }) => {
      // The regex above cannot tell a real calendar date; the one validator can.
      const id = assertSessionId(sessionId);
      const records = store.lookup(id, phase).map((r) => ({ id: r.id, sessionId: id, phase: r.phase, sha256: r.sha256, createdAt: r.createdAt, text: r.text }));
      const structured = { records };
      return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
    }),
  );

  server.registerTool(
    MEMORY_TOOLS.stats,
    {
      title: 'Memory stats',
      description: 'Counts of stored records, sessions and patterns, database size, oldest and newest record.',
      outputSchema: statsSchema,
      annotations: { title: 'Memory stats', readOnlyHint: true, openWorldHint: false },
    },
    guarded(MEMORY_TOOLS.stats, () => {
      const s = store.stats();
      return { content: [{ type: 'text', text: JSON.stringify(s) }], structuredContent: { ...s } };
    }),
  );

  return server;
}

/**
 * The SDK validates tool input itself and answers a failure as a tool error whose text joins every
 * problem with newlines and prefixes a JSON-RPC code. Agents and collab's CLI want one line, so the
 * outgoing error results are normalised here, on the public transport seam, not in SDK internals.
 */
class MemoryMcpServer extends McpServer {
  override async connect(transport: Transport): Promise<void> {
    const send = transport.send.bind(transport);
    transport.send = (message, options) => send(oneLineToolError(message), options);
    return super.connect(transport);
  }
}

function oneLineToolError(message: JSONRPCMessage): JSONRPCMessage {
  const result = (message as { result?: unknown }).result as (CallToolResult & { isError?: boolean }) | undefined;
  if (!result || result.isError !== true || !Array.isArray(result.content)) return message;
  const content = result.content.map((b) =>
    b.type === 'text' ? { ...b, text: b.text.replace(/^MCP error -?\d+:\s*/, '').replace(/\s*[\r\n]+\s*/g, '; ').trim() } : b,
  );
  const meta = (result._meta ?? {}) as Record<string, unknown>;
  // Input the SDK refused (schema, unknown tool) is the caller's mistake: say so to collab's client.
  const text = content.map((b) => (b.type === 'text' ? b.text : '')).join(' ');
  const code = meta[ERROR_META_KEY] ?? (/\bat sessionId\b/.test(text) ? 'INVALID_SESSION_ID' : 'USAGE');
  return { ...message, result: { ...result, content, _meta: { ...meta, [ERROR_META_KEY]: code } } } as JSONRPCMessage;
}

/** The metadata of one retrieve result, carried in the content block's `_meta`. */
function recordMeta(r: StoredRecord): Record<string, unknown> {
  return { id: r.id, sessionId: r.sessionId, phase: r.phase, sha256: r.sha256, createdAt: r.createdAt, ...(r.score !== undefined ? { score: r.score } : {}) };
}
