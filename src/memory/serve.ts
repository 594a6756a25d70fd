/**
 * `collab memory serve`: the embedded memory server on stdio. stdout carries the protocol and
 * nothing else; every log line goes through `log` (stderr). Resolves when the client goes away.
 */
import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMemoryServer } from './mcp-server.js';
import { SqliteStore } from './sqlite-store.js';

/** Options of the stdio server; the streams are injectable for tests. */
export interface StdioServerOptions {
  dbPath: string;
  /** One line at a time, never to stdout. */
  log: (line: string) => void;
  version?: string;
  stdin?: Readable;
  stdout?: Writable;
  /** Stops the server as if stdin had closed (Ctrl-C handling lives in the CLI). */
  signal?: AbortSignal;
}

/**
 * Serves until stdin ends (or `signal` aborts), then closes the server and the database and
 * resolves, leaving nothing that keeps the process alive. Throws MEMORY_UNAVAILABLE (one line)
 * when the database cannot be opened.
 */
export async function runStdioServer(opts: StdioServerOptions): Promise<void> {
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  const store = new SqliteStore(opts.dbPath);
  const server = createMemoryServer(store, { log: opts.log, ...(opts.version ? { version: opts.version } : {}) });
  const transport = new StdioServerTransport(stdin, stdout);

  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    stdin.off('end', onEnd);
    stdin.off('close', onEnd);
    stdout.off('error', onStdoutError);
    opts.signal?.removeEventListener('abort', onAbort);
    void server
      .close()
      .catch((err: unknown) => opts.log(`collab memory: closing the transport failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        store.close();
        opts.log(`collab memory: stopped (${why})`);
        finish();
      });
  };
  // The SDK's stdio transport does not watch for end of input; without this the server would
  // outlive its client (codex and claude end their MCP servers by closing stdin).
  const onEnd = (): void => stop('stdin closed');
  const onAbort = (): void => stop('aborted');
  // A client that vanished makes stdout fail with EPIPE: that is a goodbye, not a crash.
  const onStdoutError = (): void => stop('stdout closed');
  stdin.on('end', onEnd);
  stdin.on('close', onEnd);
  stdout.on('error', onStdoutError);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  transport.onerror = (err) => opts.log(`collab memory: ${err.message}`);

  await server.connect(transport);
  // The transport can also close itself (an oversized or broken message stream).
  server.server.onclose = () => stop('transport closed');
  opts.log(`collab memory: serving ${store.path} on stdio`);
  if (opts.signal?.aborted) stop('aborted');
  if (stdin.readableEnded) stop('stdin closed');
  await done;
}
