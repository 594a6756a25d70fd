import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { collab, tempDir } from '../helpers/cli.js';

const BIN = fileURLToPath(new URL('../../bin/collab.js', import.meta.url));
const TOKEN = 'test-token-not-a-secret';
const started: ChildProcess[] = [];

/** Starts `collab memory serve --http` on loopback and resolves with its URL. */
function serveHttp(db: string, port = 0): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'memory', 'serve', '--http', '--port', String(port), '--db', db], { env: { ...process.env, COLLAB_MEMORY_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] });
  started.push(child);
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(err);
      if (m) resolve({ url: m[1]!, child });
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

afterEach(async () => {
  for (const c of started.splice(0)) await stop(c);
});

function project(url: string) {
  const cwd = tempDir('collab-remote-');
  mkdirSync(path.join(cwd, '.collab'));
  const replay = { agent: 'replay' };
  writeFileSync(path.join(cwd, '.collab', 'config.json'), JSON.stringify({ roles: { planner: replay, reviewer: replay, implementer: replay, validator: replay }, memory: { profile: 'http', url, authEnv: 'MEM_TOKEN', verifyTimeoutSec: 5 } }));
  return cwd;
}

describe('a shared memory over Streamable HTTP (collab memory serve --http)', () => {
  it('a whole session stores and verifies every artifact in the remote store', async () => {
    const db = path.join(tempDir('collab-remote-db-'), 'memory.db');
    const { url } = await serveHttp(db);
    const cwd = project(url);
    const env = { MEM_TOKEN: TOKEN };
    const dataHome = tempDir('collab-xdg-');
    const r = collab(['run', 'rate limiting'], { cwd, dataHome, env });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(collab(['status', '--json'], { cwd, dataHome, env }).stdout) as { id: string; state: string; outbox: string[] };
    expect(s).toMatchObject({ state: 'pattern_extracted', outbox: [] });
    const found = JSON.parse(collab(['memory', 'search', s.id, '--json'], { cwd, dataHome, env }).stdout) as { count: number };
    expect(found.count).toBe(5);
    // the remote store really holds them (read its file through collab's own embedded server)
    const stats = JSON.parse(collab(['memory', 'stats', '--json', '--db', db], { cwd: tempDir(), dataHome }).stdout) as { records: number };
    expect(stats.records).toBe(5);
    // a wrong token is refused with one line
    const bad = collab(['memory', 'search', s.id], { cwd, dataHome, env: { MEM_TOKEN: 'wrong' } });
    expect(bad.code).toBe(7);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('server down in the middle of a session → outbox → memory sync → everything present once', async () => {
    const db = path.join(tempDir('collab-remote-db-'), 'memory.db');
    const first = await serveHttp(db);
    const port = new URL(first.url).port;
    const cwd = project(first.url);
    const env = { MEM_TOKEN: TOKEN };
    const dataHome = tempDir('collab-xdg-');
    expect(collab(['start', 'rate limiting'], { cwd, dataHome, env }).code).toBe(0);
    await stop(first.child);

    const review = collab(['review'], { cwd, dataHome, env });
    expect(review.code, review.stderr).toBe(0);
    expect(review.stderr).toMatch(/outbox/);
    expect(collab(['implement'], { cwd, dataHome, env }).code).toBe(0);
    const s = JSON.parse(collab(['status', '--json'], { cwd, dataHome, env }).stdout) as { id: string; state: string; outbox: string[] };
    expect(s).toMatchObject({ state: 'implemented', outbox: ['02-review.md', '03-implement.md'] });
    const sync0 = collab(['memory', 'sync'], { cwd, dataHome, env });
    expect(sync0.code).toBe(7); // still down: nothing lost, still pending
    expect(JSON.parse(collab(['status', '--json'], { cwd, dataHome, env }).stdout).outbox).toHaveLength(2);

    await serveHttp(db, Number(port));
    const sync = collab(['memory', 'sync', '--json'], { cwd, dataHome, env });
    expect(sync.code, sync.stderr).toBe(0);
    expect((JSON.parse(sync.stdout) as { synced: unknown[] }).synced).toHaveLength(2);
    expect(JSON.parse(collab(['status', '--json'], { cwd, dataHome, env }).stdout).outbox).toEqual([]);
    for (const cmd of ['validate', 'extract-pattern']) expect(collab([cmd], { cwd, dataHome, env }).code).toBe(0);
    const found = JSON.parse(collab(['memory', 'search', s.id, '--json'], { cwd, dataHome, env }).stdout) as { results: { phase: string }[] };
    expect(found.results.map((x) => x.phase).sort()).toEqual(['implement', 'pattern', 'plan', 'review', 'validate']);
    const again = collab(['memory', 'sync'], { cwd, dataHome, env });
    expect(again.stdout).toContain('the outbox is empty');
  });
});
