import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CollabError } from '../../src/core/errors.js';
import { startHttpServer, type RunningHttpServer } from '../../src/memory/http-serve.js';
import { connectMemory } from '../../src/memory/mcp-client.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'collab.js');
const A = 'SESSION-20251027-K9M2P7X4';
const PLAN = `**[${A}] CLAUDE PLAN: Rate Limiting**\n\nplan body\n\nSession ID: ${A}\n`;
const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });

let dir: string;
let running: RunningHttpServer | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'collab-http-'));
});
afterEach(async () => {
  await running?.close();
  running = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** One raw POST to the server, with the headers given (Host included), over 127.0.0.1. */
function post(port: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(INIT);
  });
}

async function rejection(p: Promise<unknown>): Promise<CollabError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CollabError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('collab memory serve --http (in-process)', () => {
  it('serves store, retrieve, lookup and stats over Streamable HTTP on loopback without a token', async () => {
    running = await startHttpServer({ dbPath: join(dir, 'm.db'), port: 0, log: () => {} });
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const memory = await connectMemory({ kind: 'http', url: running.url });
    try {
      expect(memory.describe).toBe(`http ${running.url}`);
      const s = await memory.store(PLAN);
      expect(s.duplicate).toBeUndefined();
      expect((await memory.lookup(A, 'plan')).map((r) => r.text)).toEqual([PLAN]);
      expect((await memory.retrieve(`${A} plan`))[0]?.text).toBe(PLAN);
      expect((await memory.stats!()).records).toBe(1);
      const found = await memory.findArtifact(A, 'plan', (await memory.lookup(A, 'plan'))[0]!.sha256!);
      expect(found?.exact).toBe(true);
    } finally {
      await memory.close();
    }
  });

  it('with a token configured, refuses a missing or wrong bearer token (401) and accepts the right one', async () => {
    running = await startHttpServer({ dbPath: join(dir, 'm.db'), port: 0, token: 'sekrit-token', log: () => {} });
    const host = `127.0.0.1:${running.port}`;
    expect((await post(running.port, { host })).status).toBe(401);
    expect((await post(running.port, { host, authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(running.port, { host, authorization: 'Bearer sekrit-token' })).status).toBe(200);
    const err = await rejection(connectMemory({ kind: 'http', url: running.url, sseFallback: false }));
    expect(err.code).toBe('MEMORY_UNAVAILABLE');
    expect(err.message).not.toContain('\n');
    const memory = await connectMemory({ kind: 'http', url: running.url, headers: { Authorization: 'Bearer sekrit-token' } });
    await memory.store(PLAN);
    await memory.close();
  });

  it('refuses a foreign Host or Origin header (403), the DNS-rebinding case', async () => {
    running = await startHttpServer({ dbPath: join(dir, 'm.db'), port: 0, log: () => {} });
    const foreign = await post(running.port, { host: `evil.example:${running.port}` });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toContain('evil.example');
    expect((await post(running.port, { host: `localhost:${running.port}`, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(running.port, { host: `localhost:${running.port}`, origin: `http://localhost:${running.port}` })).status).toBe(200);
  });

  it('refuses to listen beyond loopback without a token', async () => {
    const err = await rejection(startHttpServer({ dbPath: join(dir, 'm.db'), host: '0.0.0.0', port: 0, log: () => {} }));
    expect(err.code).toBe('USAGE');
    expect(err.message).toBe('refusing to listen on 0.0.0.0 without a bearer token (set COLLAB_MEMORY_TOKEN)');
  });
});

describe('collab memory serve --http (spawned bin)', () => {
  it('prints its URL on stderr, serves, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'memory', 'serve', '--http', '--port', '0', '--db', join(dir, 'm.db')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, COLLAB_MEMORY_TOKEN: 'tok-123' } });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL on stderr: ${stderr}`)), 15_000);
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        const m = /on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', () => reject(new Error(`exited: ${stderr}`)));
    });
    expect(stderr).toContain('bearer token required');
    expect(stderr).not.toContain('tok-123');
    const memory = await connectMemory({ kind: 'http', url, headers: { Authorization: 'Bearer tok-123' } });
    await memory.store(PLAN);
    expect((await memory.lookup(A)).length).toBe(1);
    await memory.close();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('collab memory: stopped');
  });
});
