import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CollabError } from '../../src/core/errors.js';
import { connectMemory, connectMemoryTransport, type MemoryClient } from '../../src/memory/mcp-client.js';
import { createMemoryServer } from '../../src/memory/mcp-server.js';
import { MEMORY_TOOLS, NO_MATCH_TEXT } from '../../src/memory/memory-tools.js';
import { SqliteStore } from '../../src/memory/sqlite-store.js';

const A = 'SESSION-20251027-K9M2P7X4';
const B = 'SESSION-20251028-ZZZZ0000';
const PLAN = `\n**[${A}] CLAUDE PLAN: Rate Limiting for Express API**\n\n## Open Questions\n1. NAT?\n\n## Status\nAWAITING_CODEX_REVIEW\n\nSession ID: ${A}\nAgent: Claude Code\n`;
const REVIEW = `**[${A}] CODEX REVIEW: Rate Limiting Plan**\n\nâœ… garbled check marks stay as they are\n\n## Status\nFEEDBACK_PROVIDED\n\nSession ID: ${A}\n`;
const OTHER = `**[${B}] CLAUDE PLAN: Rate Limiting for Express API**\n\nAnother session, same words: rate limiting plan.\n`;

async function rejection(p: Promise<unknown>): Promise<CollabError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CollabError) return err;
    throw new Error(`expected a CollabError, got ${String(err)}`);
  }
  throw new Error('expected a rejection');
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'collab-mcp-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('embedded server on the wire (raw SDK client)', () => {
  let store: SqliteStore;
  let server: McpServer;
  let client: Client;

  beforeEach(async () => {
    store = new SqliteStore(join(dir, 'memory.db'));
    server = createMemoryServer(store, { version: '9.9.9' });
    const [c, s] = InMemoryTransport.createLinkedPair();
    await server.connect(s);
    client = new Client({ name: 'test', version: '0' });
    await client.connect(c);
  });
  afterEach(async () => {
    await client.close();
    await server.close();
    store.close();
  });

  const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;

  it('lists exactly the four tools with Byterover argument shapes and read-only hints', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([MEMORY_TOOLS.lookup, MEMORY_TOOLS.stats, MEMORY_TOOLS.retrieve, MEMORY_TOOLS.store].sort());
    const by = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(by[MEMORY_TOOLS.store]?.inputSchema).toMatchObject({ type: 'object', properties: { messages: { type: 'string' } }, required: ['messages'] });
    expect(by[MEMORY_TOOLS.retrieve]?.inputSchema).toMatchObject({ properties: { query: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 100 } }, required: ['query'] });
    expect(by[MEMORY_TOOLS.lookup]?.inputSchema).toMatchObject({ properties: { sessionId: { type: 'string', pattern: expect.stringContaining('SESSION-') }, phase: { enum: ['plan', 'review', 'implement', 'validate', 'pattern'] } }, required: ['sessionId'] });
    for (const name of [MEMORY_TOOLS.retrieve, MEMORY_TOOLS.lookup, MEMORY_TOOLS.stats]) expect(by[name]?.annotations?.readOnlyHint).toBe(true);
    expect(by[MEMORY_TOOLS.store]?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    expect(client.getServerVersion()).toMatchObject({ name: 'collab-memory', version: '9.9.9' });
  });

  it('answers store with one line naming the memory, and dedups', async () => {
    const first = await call(MEMORY_TOOLS.store, { messages: PLAN });
    expect(first.isError).toBeFalsy();
    expect(first.content).toEqual([{ type: 'text', text: `Stored memory 1 (session ${A}, phase plan).` }]);
    expect(first.structuredContent).toMatchObject({ id: 1, duplicate: false, sessionId: A, phase: 'plan' });
    const again = await call(MEMORY_TOOLS.store, { messages: PLAN });
    expect(again.content).toEqual([{ type: 'text', text: `Already stored as memory 1 (session ${A}, phase plan).` }]);
    const free = await call(MEMORY_TOOLS.store, { messages: 'a free note' });
    expect(free.content).toEqual([{ type: 'text', text: 'Stored memory 2 (no session).' }]);
  });

  it('answers retrieve with one text block per record, verbatim, scoped to the session', async () => {
    for (const t of [PLAN, REVIEW, OTHER]) await call(MEMORY_TOOLS.store, { messages: t });
    const res = await call(MEMORY_TOOLS.retrieve, { query: `${A} Claude plan rate limiting` });
    expect(res.content?.map((b) => (b.type === 'text' ? b.text : b.type))).toEqual([PLAN, REVIEW]);
    expect(res.content?.[0]?._meta?.['collab/record']).toMatchObject({ id: 1, sessionId: A, phase: 'plan', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const limited = await call(MEMORY_TOOLS.retrieve, { query: `${A} review`, limit: 1 });
    expect(limited.content).toHaveLength(1);
    expect(limited.content?.[0]).toMatchObject({ type: 'text', text: REVIEW });
  });

  it('answers an empty result with one block saying so', async () => {
    const res = await call(MEMORY_TOOLS.retrieve, { query: '?!.,' });
    expect(res.isError).toBeFalsy();
    expect(res.content).toEqual([{ type: 'text', text: NO_MATCH_TEXT }]);
  });

  it('answers lookup with structured records and the same JSON as text', async () => {
    await call(MEMORY_TOOLS.store, { messages: PLAN });
    await call(MEMORY_TOOLS.store, { messages: REVIEW });
    const res = await call(MEMORY_TOOLS.lookup, { sessionId: A, phase: 'review' });
    const sc = res.structuredContent as { records: Array<Record<string, unknown>> };
    expect(sc.records).toHaveLength(1);
    expect(sc.records[0]).toMatchObject({ id: 2, sessionId: A, phase: 'review', text: REVIEW, sha256: expect.any(String), createdAt: expect.any(String) });
    expect(JSON.parse((res.content?.[0] as { text: string }).text)).toEqual(sc);
    const all = await call(MEMORY_TOOLS.lookup, { sessionId: A });
    expect((all.structuredContent as { records: unknown[] }).records).toHaveLength(2);
  });

  it('answers stats', async () => {
    await call(MEMORY_TOOLS.store, { messages: PLAN });
    const res = await call(MEMORY_TOOLS.stats, {});
    expect(res.structuredContent).toMatchObject({ records: 1, sessions: 1, patterns: 0, byPhase: { plan: 1 } });
  });

  it.each([
    ['store: missing messages', MEMORY_TOOLS.store, {}],
    ['store: messages not a string', MEMORY_TOOLS.store, { messages: 42 }],
    ['store: empty text', MEMORY_TOOLS.store, { messages: '   ' }],
    ['store: malformed header id', MEMORY_TOOLS.store, { messages: '**[SESSION-2025-XYZ] CLAUDE PLAN: x**' }],
    ['retrieve: limit too big', MEMORY_TOOLS.retrieve, { query: 'x', limit: 101 }],
    ['retrieve: limit zero', MEMORY_TOOLS.retrieve, { query: 'x', limit: 0 }],
    ['retrieve: two bad fields at once', MEMORY_TOOLS.retrieve, { query: 5, limit: 0 }],
    ['unknown tool', 'byterover-delete-everything', {}],
    ['retrieve: malformed id in the query', MEMORY_TOOLS.retrieve, { query: 'SESSION-2025-XYZ plan' }],
    ['lookup: malformed id', MEMORY_TOOLS.lookup, { sessionId: 'SESSION-2025-XYZ' }],
    ['lookup: a path instead of an id', MEMORY_TOOLS.lookup, { sessionId: '../../etc/passwd' }],
    ['lookup: impossible date', MEMORY_TOOLS.lookup, { sessionId: 'SESSION-20250231-K9M2P7X4' }],
    ['lookup: unknown phase', MEMORY_TOOLS.lookup, { sessionId: A, phase: 'lunch' }],
  ])('answers bad input as a one-line tool error: %s', async (_name, tool, args) => {
    const res = await call(tool, args);
    expect(res.isError).toBe(true);
    expect(res.content).toHaveLength(1);
    const text = (res.content?.[0] as { text: string }).text;
    expect(text).not.toContain('\n');
    expect(text.length).toBeGreaterThan(5);
    expect(text).not.toMatch(/^MCP error/);
    expect(['USAGE', 'INVALID_SESSION_ID']).toContain(res._meta?.['collab/error']);
    // The server keeps serving after a bad call.
    expect((await call(MEMORY_TOOLS.stats, {})).isError).toBeFalsy();
  });
});

describe('MemoryPort over the in-process pair', () => {
  let memory: MemoryClient;
  beforeEach(async () => {
    memory = await connectMemory({ kind: 'in-process', dbPath: join(dir, 'sub', 'memory.db') });
  });
  afterEach(async () => {
    await memory.close();
  });

  it('stores, retrieves, looks up and reports stats', async () => {
    expect(memory.describe).toBe(`embedded sqlite ${join(dir, 'sub', 'memory.db')}`);
    expect(await memory.tools()).toContain(MEMORY_TOOLS.lookup);
    const s1 = await memory.store(PLAN);
    expect(s1).toEqual({ id: '1', raw: `Stored memory 1 (session ${A}, phase plan).` });
    expect(await memory.store(PLAN)).toMatchObject({ id: '1', duplicate: true });
    await memory.store(REVIEW);
    await memory.store(OTHER);

    const found = await memory.retrieve(`${A} Codex review`, 10);
    expect(found.map((r) => [r.sessionId, r.phase, r.id])).toEqual([
      [A, 'review', '2'],
      [A, 'plan', '1'],
    ]);
    expect(found[0]?.text).toBe(REVIEW);
    expect(found[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);

    const exact = await memory.lookup(A, 'plan');
    expect(exact).toHaveLength(1);
    expect(exact[0]).toMatchObject({ id: '1', sessionId: A, phase: 'plan', text: PLAN });
    expect(await memory.lookup(A, 'validate')).toEqual([]);
    expect(await memory.retrieve('nothing-like-this-anywhere', 5)).toEqual([]);

    expect(memory.stats).toBeTypeOf('function');
    expect(await memory.stats!()).toMatchObject({ records: 3, sessions: 2 });
  });

  it('turns tool errors into one-line CollabErrors with the server-side code', async () => {
    const bad = await rejection(memory.store('**[SESSION-2025-XYZ] CLAUDE PLAN: x**'));
    expect(bad.code).toBe('INVALID_SESSION_ID');
    expect(bad.message).not.toContain('\n');
    expect((await rejection(memory.retrieve('SESSION-20251027-K9M2 plan'))).code).toBe('INVALID_SESSION_ID');
    // Checked on the client, before anything reaches the server.
    expect((await rejection(memory.lookup('not-an-id'))).code).toBe('INVALID_SESSION_ID');
    expect((await rejection(memory.lookup(A, 'lunch' as never))).code).toBe('USAGE');
    expect((await rejection(memory.retrieve('x', 0))).code).toBe('USAGE');
    expect((await rejection(memory.store(''))).code).toBe('USAGE');
  });

  it('fails with MEMORY_UNAVAILABLE after close, and closes twice', async () => {
    await memory.close();
    const err = await rejection(memory.retrieve(A));
    expect(err.code).toBe('MEMORY_UNAVAILABLE');
    await memory.close();
  });
});

it('refuses an unopenable database with one line naming the path', async () => {
  const err = await rejection(connectMemory({ kind: 'in-process', dbPath: dir }));
  expect(err.code).toBe('MEMORY_UNAVAILABLE');
  expect(err.message).toContain(dir);
  expect(err.message).not.toContain('\n');
});

describe('foreign servers (Byterover-shaped, no collab tools)', () => {
  // A stand-in for a hosted memory: Byterover's two tools, no metadata, one block per memory.
  async function foreign(texts: string[]): Promise<MemoryClient> {
    const server = new McpServer({ name: 'byterover-like', version: '1' });
    server.registerTool(MEMORY_TOOLS.store, { inputSchema: { messages: z.string() } }, ({ messages }) => {
      texts.push(messages);
      return { content: [{ type: 'text', text: 'Memory queued for processing. Estimated time: 25s' }] };
    });
    server.registerTool(MEMORY_TOOLS.retrieve, { inputSchema: { query: z.string(), limit: z.number().optional() } }, () =>
      texts.length === 0 ? { content: [{ type: 'text', text: 'No memories found.' }] } : { content: texts.map((t) => ({ type: 'text' as const, text: t })) },
    );
    const [c, s] = InMemoryTransport.createLinkedPair();
    await server.connect(s);
    return connectMemoryTransport(c, { describe: 'byterover-like', onClose: () => server.close() });
  }

  it('parses session and phase from the texts and filters lookups by them', async () => {
    const texts: string[] = [];
    const memory = await foreign(texts);
    try {
      expect(await memory.retrieve('anything')).toEqual([]);
      const stored = await memory.store(PLAN);
      expect(stored).toEqual({ queued: true, estimatedSeconds: 25, raw: 'Memory queued for processing. Estimated time: 25s' });
      texts.push(REVIEW, OTHER, 'free note');
      const recs = await memory.retrieve('rate limiting');
      expect(recs.map((r) => [r.sessionId, r.phase])).toEqual([
        [A, 'plan'],
        [A, 'review'],
        [B, 'plan'],
        [undefined, undefined],
      ]);
      const plan = await memory.lookup(A, 'plan');
      expect(plan.map((r) => r.text)).toEqual([PLAN]);
      expect((await memory.lookup(A)).map((r) => r.phase)).toEqual(['plan', 'review']);
      expect(memory.stats).toBeUndefined();
    } finally {
      await memory.close();
    }
  });

  it('refuses a server without the Byterover tools, naming what it offers', async () => {
    const server = new McpServer({ name: 'wrong', version: '1' });
    server.registerTool('search', { inputSchema: { q: z.string() } }, () => ({ content: [] }));
    const [c, s] = InMemoryTransport.createLinkedPair();
    await server.connect(s);
    const err = await rejection(connectMemoryTransport(c, { describe: 'wrong', onClose: () => server.close() }));
    expect(err.code).toBe('MEMORY_UNAVAILABLE');
    expect(err.message).toBe('memory server (wrong) does not match the memory contract: no tool byterover-store-knowledge; no tool byterover-retrieve-knowledge; it offers: search{q:string}');
  });
});
