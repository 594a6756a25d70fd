/**
 * collab's side of memory: a MemoryPort over an MCP `Client`. The embedded server is reached the
 * same way as any other (in-process through the SDK's linked in-memory pair, or spawned on stdio),
 * so collab never opens the database file itself.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode as McpErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CollabError, ERROR_CODES, firstLine, type ErrorCode } from '../core/errors.js';
import { PHASES, type Phase } from '../core/phases.js';
import type { FoundArtifact, MemoryPort, MemoryRecord, MemoryStats, StoreResult } from '../core/ports.js';
import { assertSessionId } from '../core/session-id.js';
import { ACCEPT_ALL_VALIDATOR, ERROR_META_KEY, MEMORY_TOOLS, NO_MATCH_TEXT, RECORD_META_KEY, RETRIEVE_LIMIT } from './memory-tools.js';
import { isPhase, sniffArtifact } from './sniff-artifact.js';
import { DEFAULT_TOOL_MAPPING, PHASE_QUERY_WORDS, checkToolContract, describeTools, foldForMarker, parseQueued, splitCombinedText, type ListedTool, type ToolMapping } from './tool-contract.js';

/** Bounds shared by every kind of connection. */
export interface ConnectTimeouts {
  /** Bound on spawn + initialize + tools/list (default 10 s). */
  connectTimeoutMs?: number;
  /** Bound on each tool call (default 30 s). */
  requestTimeoutMs?: number;
  /** Receives the server's stderr line by line (stdio only); it is also kept for error messages. */
  onServerLog?: (line: string) => void;
  /** Reported to the server in `initialize`. */
  clientVersion?: string;
  /** Tool and argument names of the server (default: Byterover's). */
  tools?: ToolMapping;
  /** How many results a lookup asks for on servers without `collab-lookup-artifact` (default 50). */
  lookupLimit?: number;
}

/** How to reach the memory server. */
export type ConnectMemoryOptions =
  | ({ kind: 'in-process'; dbPath: string } & ConnectTimeouts)
  | ({ kind: 'stdio'; command: string; args: string[]; env?: Record<string, string>; cwd?: string } & ConnectTimeouts)
  | ({
      kind: 'http';
      /** Streamable HTTP endpoint (an old SSE endpoint too when `sseFallback`). */
      url: string;
      /** Sent with every request (the auth header, built by the caller from an environment variable). */
      headers?: Record<string, string>;
      /** Retry with the deprecated HTTP+SSE transport when the server refuses Streamable HTTP (default true). */
      sseFallback?: boolean;
    } & ConnectTimeouts);

/** What connectMemoryTransport needs besides the transport. */
export interface TransportConnectOptions extends ConnectTimeouts {
  /** Human description ("embedded sqlite /path/memory.db"). */
  describe: string;
  /** Last lines of the server's stderr, for error messages. */
  stderrTail?: () => string;
  /** Runs after the client closed (in-process: close the server and the store). */
  onClose?: () => Promise<void> | void;
  /** The server is not on this machine: the engine redacts what it stores there. */
  remote?: boolean;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const STDERR_TAIL_BYTES = 4096;
const KNOWN_CODES = new Set<string>(ERROR_CODES);

/** Connects to the embedded server in-process or spawns a server on stdio; throws MEMORY_UNAVAILABLE (one line) when it cannot. */
export async function connectMemory(opts: ConnectMemoryOptions): Promise<MemoryClient> {
  if (opts.kind === 'in-process') {
    // Loaded here, not at the top: a stdio connection must not pay for SQLite and the server.
    const [{ InMemoryTransport }, { SqliteStore }, { createMemoryServer }] = await Promise.all([
      import('@modelcontextprotocol/sdk/inMemory.js'),
      import('./sqlite-store.js'),
      import('./mcp-server.js'),
    ]);
    const store = new SqliteStore(opts.dbPath);
    const server = createMemoryServer(store, opts.clientVersion ? { version: opts.clientVersion } : {});
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    try {
      await server.connect(serverSide);
    } catch (err) {
      store.close();
      throw new CollabError('MEMORY_UNAVAILABLE', `embedded memory server did not start: ${firstLine(messageOf(err))}`, { cause: err });
    }
    return connectMemoryTransport(clientSide, {
      ...opts,
      describe: `embedded sqlite ${store.path}`,
      onClose: async () => {
        await server.close().catch(() => {});
        store.close();
      },
    });
  }

  if (opts.kind === 'http') return connectHttp(opts);

  const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
  const transport = new StdioClientTransport({
    command: opts.command,
    args: opts.args,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    // Piped, never inherited: the server's logs must not land in the user's terminal or in a
    // --json answer, but they are what explains a server that died.
    stderr: 'pipe',
  });
  const tail = captureTail(transport.stderr as Readable | null, opts.onServerLog);
  return connectMemoryTransport(transport, {
    ...opts,
    describe: `stdio ${[opts.command, ...opts.args].join(' ')}`,
    stderrTail: tail,
  });
}

// Streamable HTTP first; a server that answers its POST with 400/404/405 may be an old HTTP+SSE one.
async function connectHttp(opts: Extract<ConnectMemoryOptions, { kind: 'http' }>): Promise<MemoryClient> {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new CollabError('CONFIG_INVALID', `memory.url ${JSON.stringify(opts.url)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CollabError('CONFIG_INVALID', `memory.url must be http(s), got ${url.protocol}`);
  const headers = opts.headers ?? {};
  // One fetch for both transports: the headers also reach the SSE stream's GET, which requestInit does not.
  const fetchWithHeaders = (input: string | URL, init?: RequestInit): Promise<Response> => {
    const h = new Headers(init?.headers);
    for (const [k, v] of Object.entries(headers)) h.set(k, v);
    return fetch(input, { ...init, headers: h });
  };
  const shown = `${url.origin}${url.pathname}`;
  // Only a loopback URL keeps the text on this machine.
  const remote = !/^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i.test(url.hostname);
  const [{ StreamableHTTPClientTransport, StreamableHTTPError }] = await Promise.all([import('@modelcontextprotocol/sdk/client/streamableHttp.js')]);
  try {
    return await connectMemoryTransport(new StreamableHTTPClientTransport(url, { fetch: fetchWithHeaders }), { ...opts, describe: `http ${shown}`, remote });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    const status = cause instanceof StreamableHTTPError ? cause.code : undefined;
    if (opts.sseFallback === false || !(status === 400 || status === 404 || status === 405)) throw err;
  }
  const { SSEClientTransport } = await import('@modelcontextprotocol/sdk/client/sse.js');
  return connectMemoryTransport(new SSEClientTransport(url, { fetch: fetchWithHeaders }), { ...opts, describe: `http+sse ${shown}`, remote });
}

/**
 * Connects a client over any transport (in-memory, stdio, and later Streamable HTTP), runs
 * initialize and tools/list within the bound, and checks the server offers the memory tools.
 */
export async function connectMemoryTransport(transport: Transport, opts: TransportConnectOptions): Promise<MemoryClient> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const started = Date.now();
  const client = new Client({ name: 'collab', version: opts.clientVersion ?? '0.0.0' }, { capabilities: {}, jsonSchemaValidator: ACCEPT_ALL_VALIDATOR });
  let exited = false;
  // Set before connect: the SDK chains it, so we learn when a server dies before it answers.
  transport.onclose = () => {
    exited = true;
  };
  const fail = async (err: unknown, step: string): Promise<never> => {
    // Judged before our own close below, which also ends the transport.
    const reason = describeConnectFailure(err, step, exited, connectTimeoutMs);
    await client.close().catch(() => {});
    await opts.onClose?.();
    // The child's last stderr chunk can arrive just after its close event.
    await new Promise((r) => setImmediate(r));
    const tail = opts.stderrTail?.() ?? '';
    throw new CollabError('MEMORY_UNAVAILABLE', `memory server (${opts.describe}) ${reason}${tail ? ` — stderr: ${tail}` : ''}`, {
      hint: 'run `collab memory stats` to check the memory server, or pass another --db',
      cause: err,
    });
  };

  try {
    await client.connect(transport, { timeout: connectTimeoutMs });
  } catch (err) {
    return fail(err, 'initialize');
  }
  let listed: ListedTool[];
  try {
    const remaining = Math.max(1, connectTimeoutMs - (Date.now() - started));
    listed = (await client.listTools(undefined, { timeout: remaining })).tools as ListedTool[];
  } catch (err) {
    return fail(err, 'tools/list');
  }
  // Tools get renamed between server versions: refuse at connect, not on the first store.
  const problems = checkToolContract(listed, opts.tools ?? DEFAULT_TOOL_MAPPING);
  if (problems.length > 0) {
    await client.close().catch(() => {});
    await opts.onClose?.();
    throw new CollabError('MEMORY_UNAVAILABLE', `memory server (${opts.describe}) does not match the memory contract: ${problems.join('; ')}; it offers: ${describeTools(listed)}`, {
      hint: 'map the server\'s tool and argument names in memory.tools of .collab/config.json',
      details: { problems, offered: listed.map((t) => t.name) },
    });
  }
  return new MemoryClient(client, listed.map((t) => t.name), opts);
}

/** The MemoryPort over a connected MCP client. */
export class MemoryClient implements MemoryPort {
  /** Human description of the server. */
  readonly describe: string;
  /** Tool names the server offered at connect. */
  readonly toolNames: readonly string[];
  /** True when the server is reached over the network beyond loopback. */
  readonly remote: boolean;
  /** Present only when the server offers `collab-memory-stats` (MemoryPort's stats is optional). */
  readonly stats?: () => Promise<MemoryStats>;
  private readonly client: Client;
  private readonly opts: TransportConnectOptions;
  private readonly mapping: ToolMapping;
  private cleanup: Promise<void> | undefined;
  private foreign = 0;

  constructor(client: Client, tools: string[], opts: TransportConnectOptions) {
    this.client = client;
    this.toolNames = tools;
    this.opts = opts;
    this.describe = opts.describe;
    this.remote = opts.remote ?? false;
    this.mapping = opts.tools ?? DEFAULT_TOOL_MAPPING;
    if (tools.includes(MEMORY_TOOLS.stats)) this.stats = () => this.fetchStats();
    // A server that goes away later releases what it held (in-process: the store); calls then fail fast.
    client.onclose = () => void this.release();
  }

  /** Running total of results from other sessions (or none) that lookups ignored (for the engine's events). */
  get foreignIgnored(): number {
    return this.foreign;
  }

  /** Stores a text through the mapped store tool (default `byterover-store-knowledge {messages}`). */
  async store(text: string): Promise<StoreResult> {
    if (typeof text !== 'string' || text.trim() === '') throw new CollabError('USAGE', 'nothing to store: the text is empty');
    const res = await this.call(this.mapping.store.name, { [this.mapping.store.text]: text });
    const raw = textsOf(res).join('\n');
    const sc = res.structuredContent as { id?: unknown; duplicate?: unknown } | undefined;
    // Text answers: ours say "Stored memory 42 (…)"; an id must hold a digit so "Memory stored" is not one.
    const out: StoreResult = { raw };
    const id = sc && (typeof sc.id === 'number' || typeof sc.id === 'string') ? String(sc.id) : /\bmemory\s+(?:id\s*)?#?([A-Za-z0-9_-]*\d[A-Za-z0-9_-]*)/i.exec(raw)?.[1];
    if (id !== undefined) out.id = id;
    const duplicate = typeof sc?.duplicate === 'boolean' ? sc.duplicate : /\balready\s+(?:stored|exists)\b/i.test(raw);
    if (duplicate) out.duplicate = true;
    // Hosted stores answer "queued for processing. Estimated time: 25s" and index later.
    const q = parseQueued(raw);
    if (q.queued) out.queued = true;
    if (q.estimatedSeconds !== undefined) out.estimatedSeconds = q.estimatedSeconds;
    return out;
  }

  /** Searches through the mapped retrieve tool (default `byterover-retrieve-knowledge {query, limit}`); one record per memory. */
  async retrieve(query: string, limit: number = RETRIEVE_LIMIT.default): Promise<MemoryRecord[]> {
    if (!Number.isInteger(limit) || limit < RETRIEVE_LIMIT.min || limit > RETRIEVE_LIMIT.max) {
      throw new CollabError('USAGE', `limit must be a whole number from ${RETRIEVE_LIMIT.min} to ${RETRIEVE_LIMIT.max}, got ${JSON.stringify(limit)}`);
    }
    const r = this.mapping.retrieve;
    const res = await this.call(r.name, r.limit ? { [r.query]: query, [r.limit]: limit } : { [r.query]: query });
    return recordsOf(res);
  }

  /** Exact lookup through `collab-lookup-artifact`, or retrieve + filtering on servers without it. */
  async lookup(sessionId: string, phase?: Phase): Promise<MemoryRecord[]> {
    const id = assertSessionId(sessionId);
    if (phase !== undefined && !isPhase(phase)) throw new CollabError('USAGE', `unknown phase ${JSON.stringify(phase)}: expected one of ${PHASES.join(', ')}`);
    if (!this.toolNames.includes(MEMORY_TOOLS.lookup)) return (await this.lookupByRetrieve(id, phase)).records;
    const res = await this.call(MEMORY_TOOLS.lookup, phase ? { sessionId: id, phase } : { sessionId: id });
    const payload = (res.structuredContent ?? parseJson(textsOf(res).join(''))) as { records?: unknown } | undefined;
    if (!payload || !Array.isArray(payload.records)) throw new CollabError('MEMORY_UNAVAILABLE', `memory server (${this.describe}) answered ${MEMORY_TOOLS.lookup} without records`);
    return payload.records.map((r) => toMemoryRecord(r as Record<string, unknown>)).filter((r): r is MemoryRecord => r !== undefined);
  }

  /**
   * Finds the artifact of `phase` in `sessionId`: by content hash first; else (a server that rewrote
   * or summarised it) by session + phase and, when given, `marker` still present in the text.
   */
  async findArtifact(sessionId: string, phase: Phase, sha: string, marker?: string): Promise<FoundArtifact | undefined> {
    const id = assertSessionId(sessionId);
    if (!isPhase(phase)) throw new CollabError('USAGE', `unknown phase ${JSON.stringify(phase)}: expected one of ${PHASES.join(', ')}`);
    let records: MemoryRecord[];
    let foreignIgnored = 0;
    if (this.toolNames.includes(MEMORY_TOOLS.lookup)) records = await this.lookup(id, phase);
    else ({ records, foreignIgnored } = await this.lookupByRetrieve(id, phase));
    // The server's own hash is not trusted: the text is hashed here.
    const exact = records.find((r) => sha256(r.text) === sha);
    if (exact) return { record: exact, exact: true, foreignIgnored };
    const want = marker !== undefined && marker.trim() !== '' ? foldForMarker(marker) : undefined;
    const loose = records.filter((r) => want === undefined || foldForMarker(r.text).includes(want));
    // Newest last on the embedded server, best first elsewhere: both are fine for a rewrite of one artifact.
    const rec = loose[0];
    return rec ? { record: rec, exact: false, foreignIgnored } : undefined;
  }

  /** Tool names the server offered at connect (tools/list). */
  async tools(): Promise<string[]> {
    return [...this.toolNames];
  }

  /** Closes the connection (stdio: the server exits when its stdin closes). Safe to call twice. */
  async close(): Promise<void> {
    await this.client.close().catch(() => {});
    await this.release();
  }

  // Runs the owner's cleanup exactly once, whether close() or the transport's end comes first.
  private release(): Promise<void> {
    this.cleanup ??= Promise.resolve()
      .then(() => this.opts.onClose?.())
      .catch(() => {});
    return this.cleanup;
  }

  // Servers without an exact lookup rank semantically and mix sessions: retrieve by session id and
  // phase words, keep only what the text itself says is this session's (and phase's), count the rest.
  private async lookupByRetrieve(id: string, phase: Phase | undefined): Promise<{ records: MemoryRecord[]; foreignIgnored: number }> {
    const limit = Math.min(RETRIEVE_LIMIT.max, Math.max(RETRIEVE_LIMIT.min, this.opts.lookupLimit ?? 50));
    const found = await this.retrieve(phase ? `${id} ${PHASE_QUERY_WORDS[phase]}` : id, limit);
    const mine = found.filter((r) => r.sessionId === id);
    const foreignIgnored = found.length - mine.length;
    this.foreign += foreignIgnored;
    const seen = new Set<string>();
    const records = mine.filter((r) => {
      if (phase !== undefined && r.phase !== phase) return false;
      // A server that returns the same memory twice (several chunks of one document) counts once.
      const key = sha256(r.text);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return { records, foreignIgnored };
  }

  private async fetchStats(): Promise<MemoryStats> {
    const res = await this.call(MEMORY_TOOLS.stats, {});
    const s = (res.structuredContent ?? parseJson(textsOf(res).join(''))) as MemoryStats | undefined;
    if (!s || typeof s.records !== 'number') throw new CollabError('MEMORY_UNAVAILABLE', `memory server (${this.describe}) answered ${MEMORY_TOOLS.stats} without stats`);
    return s;
  }

  private async call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    let res: CallToolResult;
    try {
      res = (await this.client.callTool({ name, arguments: args }, undefined, {
        timeout: this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      })) as CallToolResult;
    } catch (err) {
      const tail = this.opts.stderrTail?.() ?? '';
      throw new CollabError('MEMORY_UNAVAILABLE', `memory server (${this.describe}) failed on ${name}: ${describeCallFailure(err, this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)}${tail ? ` — stderr: ${tail}` : ''}`, { cause: err });
    }
    if (res.isError) {
      const metaCode = (res._meta as Record<string, unknown> | undefined)?.[ERROR_META_KEY];
      const message = firstLine(textsOf(res).join(' ') || 'unknown error');
      // Our server names the CollabError code it refused with (INVALID_SESSION_ID, USAGE, ...): keep it.
      if (typeof metaCode === 'string' && KNOWN_CODES.has(metaCode) && metaCode !== 'INTERNAL') throw new CollabError(metaCode as ErrorCode, message);
      throw new CollabError('MEMORY_UNAVAILABLE', `memory server (${this.describe}) refused ${name}: ${message}`);
    }
    return res;
  }
}

/** The text blocks of a result, in order. */
function textsOf(res: CallToolResult): string[] {
  const out: string[] = [];
  for (const block of res.content ?? []) if (block.type === 'text') out.push(block.text);
  return out;
}

/**
 * One MemoryRecord per memory: the embedded server's `_meta` is used when present; otherwise each text
 * block is sniffed, and a single block holding several artifacts is split at their headers.
 */
export function recordsOf(res: CallToolResult): MemoryRecord[] {
  const blocks = (res.content ?? []).filter((b): b is Extract<typeof b, { type: 'text' }> => b.type === 'text');
  const anyMeta = blocks.some((b) => isObject(b._meta?.[RECORD_META_KEY]));
  if (!anyMeta && blocks.length === 1 && looksLikeNoMatch(blocks[0]?.text ?? '')) return [];
  const out: MemoryRecord[] = [];
  for (const b of blocks) {
    const meta = b._meta?.[RECORD_META_KEY];
    if (isObject(meta)) {
      const rec = toMemoryRecord({ ...meta, text: b.text });
      if (rec) out.push(rec);
      continue;
    }
    if (anyMeta) continue; // a block without metadata next to records is commentary, not a memory
    const parts = blocks.length === 1 ? splitCombinedText(b.text) : [b.text];
    for (const part of parts) out.push(sniffedRecord(part));
  }
  return out;
}

function sniffedRecord(text: string): MemoryRecord {
  const s = sniffArtifact(text);
  const rec: MemoryRecord = { text, sha256: sha256(text) };
  if (s.sessionId) rec.sessionId = s.sessionId;
  if (s.phase) rec.phase = s.phase;
  return rec;
}

function toMemoryRecord(r: Record<string, unknown>): MemoryRecord | undefined {
  if (typeof r.text !== 'string') return undefined;
  const rec: MemoryRecord = { text: r.text };
  if (typeof r.id === 'number' || typeof r.id === 'string') rec.id = String(r.id);
  if (typeof r.sessionId === 'string') rec.sessionId = r.sessionId;
  if (isPhase(r.phase)) rec.phase = r.phase;
  rec.sha256 = typeof r.sha256 === 'string' ? r.sha256 : sha256(r.text);
  if (typeof r.createdAt === 'string') rec.createdAt = r.createdAt;
  if (typeof r.score === 'number') rec.score = r.score;
  return rec;
}

function looksLikeNoMatch(text: string): boolean {
  return text.trim() === NO_MATCH_TEXT || (text.length < 200 && /^\s*no\s+(?:memories|memory|knowledge|results?|matches|matching|relevant)\b/i.test(text));
}

function describeConnectFailure(err: unknown, step: string, exited: boolean, timeoutMs: number): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return `could not start: ${firstLine(messageOf(err))}`;
  if (err instanceof McpError && err.code === McpErrorCode.RequestTimeout) return `did not answer ${step} within ${timeoutMs} ms`;
  if (exited || (err instanceof McpError && err.code === McpErrorCode.ConnectionClosed)) return `exited before answering ${step}`;
  return `failed during ${step}: ${firstLine(messageOf(err))}`;
}

function describeCallFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof McpError && err.code === McpErrorCode.RequestTimeout) return `no answer within ${timeoutMs} ms`;
  if (err instanceof McpError && err.code === McpErrorCode.ConnectionClosed) return 'the connection closed';
  return firstLine(messageOf(err));
}

// Keeps the last few KiB of the child's stderr; the child must never block on a full pipe.
function captureTail(stream: Readable | null, onLine?: (line: string) => void): () => string {
  let buf = '';
  let partial = '';
  stream?.on('data', (chunk: Buffer | string) => {
    const s = chunk.toString();
    buf = (buf + s).slice(-STDERR_TAIL_BYTES);
    if (onLine) {
      const lines = (partial + s).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.trim() !== '') onLine(l);
    }
  });
  return () => {
    const lines = buf.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
    const shown = lines.slice(-3).join(' | ');
    return shown.length > 400 ? `…${shown.slice(-399)}` : shown;
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
