/**
 * `collab memory serve --http`: the embedded memory server over Streamable HTTP (stateless: one
 * transport and one MCP server object per request, all over one store), so several agents and
 * machines share one SQLite file. Every request passes the guard (Host/Origin, bearer token) first.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { networkInterfaces } from 'node:os';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CollabError, firstLine } from '../core/errors.js';
import { allowedHostnames, assertServeSecure, guardRequest, resolveServeToken } from './http-guard.js';
import { createMemoryServer } from './mcp-server.js';
import { SqliteStore } from './sqlite-store.js';

/** Default port of `collab memory serve --http`. */
export const DEFAULT_HTTP_PORT = 7847;
/** The MCP endpoint's path. */
export const MCP_PATH = '/mcp';
const GRACE_MS = 2000;

/** Options of the HTTP server. */
export interface HttpServerOptions {
  dbPath: string;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 7847; 0 picks a free one). */
  port?: number;
  /** Required bearer token; undefined accepts requests without one (loopback only, checked). */
  token?: string;
  /** Hostnames accepted in Host/Origin besides loopback and the bound address. */
  allowedHosts?: string[];
  log: (line: string) => void;
  version?: string;
}

/** A listening server. */
export interface RunningHttpServer {
  /** `http://host:port/mcp`. */
  url: string;
  host: string;
  port: number;
  /** Stops accepting, lets requests in flight finish (bounded), closes the store. Safe to call twice. */
  close(): Promise<void>;
}

/** Generates a bearer token (32 random bytes, base64url). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Opens the store and listens; MEMORY_UNAVAILABLE (one line) when the port or the file is unusable. */
export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const host = opts.host ?? '127.0.0.1';
  try {
    assertServeSecure(host, opts.token);
  } catch (err) {
    throw new CollabError('USAGE', (err as Error).message);
  }
  const store = new SqliteStore(opts.dbPath);
  const ifaces = Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((i) => i.address));
  const allowed = allowedHostnames(host, opts.allowedHosts ?? [], ifaces);
  const token = opts.token;

  const http = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.log(`collab memory: ${firstLine(err instanceof Error ? err.message : String(err))}`);
      if (!res.headersSent) reply(res, 500, 'internal error');
      else res.end();
    });
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const verdict = guardRequest({ host: req.headers.host, origin: one(req.headers.origin), authorization: one(req.headers.authorization) }, allowed, token);
    if (!verdict.ok) {
      reply(res, verdict.status, verdict.reason, verdict.status === 401 ? { 'www-authenticate': 'Bearer realm="collab-memory"' } : {});
      return;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== MCP_PATH) return reply(res, 404, `not found: the MCP endpoint is ${MCP_PATH}`);
    // Stateless: no server-initiated stream (GET) and no session to end (DELETE).
    if (req.method !== 'POST') return reply(res, 405, 'method not allowed: POST only (stateless server)', { allow: 'POST' });
    const server = createMemoryServer(store, { log: opts.log, ...(opts.version ? { version: opts.version } : {}) });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close().catch(() => {});
      void server.close().catch(() => {});
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  };

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      store.close();
      reject(new CollabError('MEMORY_UNAVAILABLE', `cannot listen on ${host}:${opts.port ?? DEFAULT_HTTP_PORT}: ${err.code ?? firstLine(err.message)}`, { hint: 'pass another --port (0 picks a free one)' }));
    };
    http.once('error', onError);
    http.listen(opts.port ?? DEFAULT_HTTP_PORT, host, () => {
      http.off('error', onError);
      resolve();
    });
  });
  http.on('error', (err) => opts.log(`collab memory: ${firstLine(err.message)}`));
  const addr = http.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? DEFAULT_HTTP_PORT);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${port}${MCP_PATH}`,
    host,
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => http.closeAllConnections(), GRACE_MS);
        timer.unref();
        http.close(() => {
          clearTimeout(timer);
          store.close();
          resolve();
        });
        http.closeIdleConnections();
      })),
  };
}

/** Options of `collab memory serve --http` as the CLI passes them. */
export interface RunHttpOptions extends Omit<HttpServerOptions, 'token'> {
  /** COLLAB_MEMORY_TOKEN, when set. */
  envToken?: string;
  signal: AbortSignal;
}

/** Serves until `signal` aborts (SIGINT/SIGTERM in the CLI), then stops gracefully. */
export async function runHttpServer(opts: RunHttpOptions): Promise<void> {
  const host = opts.host ?? '127.0.0.1';
  const { token, generated } = resolveServeToken(host, opts.envToken, generateToken);
  const running = await startHttpServer({ ...opts, host, ...(token ? { token } : {}) });
  opts.log(`collab memory: serving ${opts.dbPath} on ${running.url}${token ? ' (bearer token required)' : ' (loopback, no token)'}`);
  if (generated) opts.log(`collab memory: bearer token (set COLLAB_MEMORY_TOKEN to choose your own): ${token}`);
  await new Promise<void>((resolve) => {
    if (opts.signal.aborted) resolve();
    else opts.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await running.close();
  opts.log('collab memory: stopped');
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}
