import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CollabError } from '../../src/core/errors.js';
import { connectMemory } from '../../src/memory/mcp-client.js';
import { runStdioServer } from '../../src/memory/serve.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'collab.js');
const A = 'SESSION-20251027-K9M2P7X4';
const PLAN = `**[${A}] CLAUDE PLAN: Rate Limiting**\n\nplan body\n\nSession ID: ${A}\n`;
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } };

async function rejection(p: Promise<unknown>): Promise<CollabError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CollabError) return err;
    throw new Error(`expected a CollabError, got ${String(err)}`);
  }
  throw new Error('expected a rejection');
}

/** Resolves with the first stdout line that parses as JSON, bounded. */
function firstJsonLine(stream: NodeJS.ReadableStream, boundMs = 10_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no JSON line on stdout within ${boundMs} ms (got ${JSON.stringify(buf)})`)), boundMs);
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      }
    });
  });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'collab-stdio-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('runStdioServer (streams handed in)', () => {
  it('answers on stdout, logs only through log, and resolves when stdin ends', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const logs: string[] = [];
    const done = runStdioServer({ dbPath: join(dir, 'memory.db'), log: (l) => logs.push(l), stdin, stdout });
    const answer = firstJsonLine(stdout);
    stdin.write(`${JSON.stringify(INIT)}\n`);
    expect(await answer).toMatchObject({ id: 1, result: { serverInfo: { name: 'collab-memory' } } });
    stdin.end();
    await done;
    expect(logs[0]).toContain('serving');
    expect(logs.at(-1)).toContain('stopped (stdin closed)');
  });

  it('stops on abort', async () => {
    const ac = new AbortController();
    const done = runStdioServer({ dbPath: join(dir, 'memory.db'), log: () => {}, stdin: new PassThrough(), stdout: new PassThrough(), signal: ac.signal });
    ac.abort();
    await done;
  });

  it('refuses an unopenable database before serving', async () => {
    const err = await rejection(runStdioServer({ dbPath: dir, log: () => {}, stdin: new PassThrough(), stdout: new PassThrough() }));
    expect(err.code).toBe('MEMORY_UNAVAILABLE');
  });
});

describe('client-side failures over stdio', () => {
  it('spawn failure is MEMORY_UNAVAILABLE in one line', async () => {
    const err = await rejection(connectMemory({ kind: 'stdio', command: join(dir, 'no-such-server'), args: [] }));
    expect(err.code).toBe('MEMORY_UNAVAILABLE');
    expect(err.message).toMatch(/could not start: .*ENOENT/);
    expect(err.message).not.toContain('\n');
  });

  it('a server that exits early: the message ends with its stderr', async () => {
    const script = "process.stderr.write('line one\\ncollab: cannot open memory database /x/memory.db: disk on fire\\n'); process.exit(3)";
    const err = await rejection(connectMemory({ kind: 'stdio', command: process.execPath, args: ['-e', script] }));
    expect(err.code).toBe('MEMORY_UNAVAILABLE');
    expect(err.message).toMatch(/exited before answering initialize — stderr: line one \| collab: cannot open memory database \/x\/memory\.db: disk on fire$/);
    expect(err.message).not.toContain('\n');
  });

  it('a server that never answers: bounded by connectTimeoutMs', async () => {
    // Reads stdin (so it exits when we close it) but never writes a byte.
    const script = "process.stdin.resume(); process.stdin.on('end', () => process.exit(0))";
    const started = Date.now();
    const err = await rejection(connectMemory({ kind: 'stdio', command: process.execPath, args: ['-e', script], connectTimeoutMs: 300 }));
    expect(err.code).toBe('MEMORY_UNAVAILABLE');
    expect(err.message).toContain('did not answer initialize within 300 ms');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

// The real thing: `collab memory serve` from the built bundle (test/global-setup.ts builds dist/ first).
describe('collab memory serve over stdio (bin/collab.js)', () => {
  const built = existsSync(join(ROOT, 'dist', 'cli.js'));
  it.runIf(!built)('needs dist/ (run `npm run build`, or let test/global-setup.ts do it)', () => {
    expect.fail('dist/cli.js is missing: run `npm run build` first');
  });

  it.runIf(built)('serves all tools to a MemoryPort client and stops when the client closes', async () => {
    const db = join(dir, 'memory.db');
    const started = performance.now();
    const memory = await connectMemory({ kind: 'stdio', command: process.execPath, args: [BIN, 'memory', 'serve', '--db', db], env: { NO_COLOR: '1' } });
    const connectMs = performance.now() - started;
    try {
      expect(await memory.tools()).toEqual(expect.arrayContaining(['byterover-store-knowledge', 'byterover-retrieve-knowledge', 'collab-lookup-artifact', 'collab-memory-stats']));
      expect(await memory.store(PLAN)).toMatchObject({ id: '1' });
      expect(await memory.store(PLAN)).toMatchObject({ id: '1', duplicate: true });
      expect((await memory.retrieve(`${A} plan`)).map((r) => r.text)).toEqual([PLAN]);
      expect((await memory.lookup(A, 'plan'))[0]).toMatchObject({ sessionId: A, phase: 'plan', text: PLAN });
      expect((await rejection(memory.retrieve('SESSION-2025-XYZ'))).code).toBe('INVALID_SESSION_ID');
      expect(await memory.stats!()).toMatchObject({ records: 1, dbPath: db });
    } finally {
      await memory.close();
    }
    // Generous bound for a loaded CI machine; the bench measures the real figure.
    expect(connectMs).toBeLessThan(5000);
  });

  it.runIf(built)('writes only protocol to stdout and exits 0 when stdin closes', async () => {
    const child = spawn(process.execPath, [BIN, 'memory', 'serve', '--db', join(dir, 'memory.db')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const answer = firstJsonLine(child.stdout);
    child.stdin.write(`${JSON.stringify(INIT)}\n`);
    expect(await answer).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'collab-memory' } } });
    child.stdin.end();
    const bound = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref());
    const code = await Promise.race([exited, bound]);
    if (code === 'timeout') child.kill('SIGKILL');
    expect(code).toBe(0);
    for (const line of stdout.split('\n').filter(Boolean)) expect(JSON.parse(line)).toHaveProperty('jsonrpc', '2.0');
    expect(stderr).toContain('serving');
  });

  it.runIf(built)('a database that cannot be opened: MEMORY_UNAVAILABLE naming the path, from the server\'s stderr', async () => {
    const err = await rejection(connectMemory({ kind: 'stdio', command: process.execPath, args: [BIN, 'memory', 'serve', '--db', dir] }));
    expect(err.code).toBe('MEMORY_UNAVAILABLE');
    expect(err.message).toContain(dir);
    expect(err.message).not.toContain('\n');
  });
});
