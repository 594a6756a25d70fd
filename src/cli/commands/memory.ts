import { CollabError } from '../../core/errors.js';
import { findSessionIds } from '../../core/session-id.js';
import type { MemoryRecord } from '../../core/ports.js';
import { createContext } from '../context.js';
import type { Handler } from '../program.js';

/** `collab memory serve`: the embedded MCP server on stdio (stdout is the protocol; logs go to stderr), or `--http`. */
export const serveCommand: Handler = async (cmd, g, out) => {
  const opts = cmd.opts<{ db?: string; http?: boolean; host: string; port: string; allowedHost?: string[] }>();
  const ctx = createContext(g, out, { db: opts.db });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (!opts.http) {
    if (cmd.getOptionValueSource('host') === 'cli' || cmd.getOptionValueSource('port') === 'cli') throw new CollabError('USAGE', '--host and --port need --http');
    const { runStdioServer } = await import('../../memory/serve.js');
    await runStdioServer({ dbPath: ctx.dbPath, log });
    return 0;
  }
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CollabError('USAGE', `--port must be a whole number from 0 to 65535, got ${JSON.stringify(opts.port)}`);
  if (!opts.host.trim()) throw new CollabError('USAGE', '--host is empty');
  const { runHttpServer } = await import('../../memory/http-serve.js');
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await runHttpServer({
      dbPath: ctx.dbPath,
      host: opts.host.trim(),
      port,
      allowedHosts: opts.allowedHost ?? [],
      ...(ctx.env.COLLAB_MEMORY_TOKEN ? { envToken: ctx.env.COLLAB_MEMORY_TOKEN } : {}),
      log,
      signal: stop.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
};

/** Parses a positive integer option. */
export function parseLimit(value: unknown, name = '--limit', max = 100): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new CollabError('USAGE', `${name} must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

/** JSON shape of one memory record (docs/json.md). */
export function recordJson(r: MemoryRecord) {
  return { id: r.id ?? null, sessionId: r.sessionId ?? null, phase: r.phase ?? null, sha256: r.sha256 ?? null, createdAt: r.createdAt ?? null, text: r.text };
}

/** `collab memory search <query>`. */
export const searchCommand: Handler = async (cmd, g, out) => {
  const [query] = cmd.processedArgs as [string];
  const opts = cmd.opts<{ limit: string; db?: string }>();
  if (!query.trim()) throw new CollabError('USAGE', 'the search query is empty');
  const limit = parseLimit(opts.limit);
  const ctx = createContext(g, out, { db: opts.db });
  const memory = await ctx.connectMemory();
  try {
    const records = await memory.retrieve(query, limit);
    if (g.json) {
      out.json({ query, sessionIds: findSessionIds(query), count: records.length, results: records.map(recordJson) });
      return 0;
    }
    if (records.length === 0) out.line('no memories matched');
    for (const r of records) {
      out.line(out.c.bold(`── ${r.sessionId ?? 'no session'} ${r.phase ?? ''} ${r.id ? `(memory ${r.id})` : ''}`.trim()));
      out.line(r.text.trim());
      out.line();
    }
    return 0;
  } finally {
    await memory.close();
  }
};

/** `collab memory stats`. */
export const statsCommand: Handler = async (cmd, g, out) => {
  const ctx = createContext(g, out, { db: cmd.opts<{ db?: string }>().db });
  const memory = await ctx.connectMemory();
  try {
    if (!memory.stats) throw new CollabError('MEMORY_UNAVAILABLE', `${memory.describe} does not report stats`);
    const s = await memory.stats();
    if (g.json) {
      out.json(s);
      return 0;
    }
    out.line(`memory     ${memory.describe}`);
    out.line(`records    ${s.records} (${s.sessions} sessions, ${s.patterns} patterns)`);
    out.line(`by phase   ${Object.entries(s.byPhase).map(([k, v]) => `${k} ${v}`).join(', ') || '-'}`);
    out.line(`size       ${(s.bytes / 1024).toFixed(1)} KiB`);
    out.line(`oldest     ${s.oldest ?? '-'}`);
    out.line(`newest     ${s.newest ?? '-'}`);
    return 0;
  } finally {
    await memory.close();
  }
};

/** `collab patterns [query]`: validated patterns, best match first. */
export const patternsCommand: Handler = async (cmd, g, out) => {
  const [query] = cmd.processedArgs as [string | undefined];
  const limit = parseLimit(cmd.opts<{ limit: string }>().limit);
  const ctx = createContext(g, out);
  const memory = await ctx.connectMemory();
  try {
    const { findPatterns } = await import('../../engine/patterns.js');
    const patterns = await findPatterns(memory, query ?? '', limit);
    if (g.json) {
      out.json({ query: query ?? null, count: patterns.length, patterns: patterns.map((p) => ({ title: p.title, sourceSession: p.sessionId, score: p.score ?? null, record: recordJson(p.record) })) });
      return 0;
    }
    if (patterns.length === 0) out.line('no validated patterns yet (a session stores one with `collab extract-pattern`)');
    for (const p of patterns) out.line(`${out.c.bold(p.title)}  ${out.c.dim(`from ${p.sessionId}${p.score !== undefined ? `, score ${p.score}/10` : ''}`)}`);
    return 0;
  } finally {
    await memory.close();
  }
};
