import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FsLedger } from '../../src/ledger/fs-ledger.js';
import { isCollabError, type CollabError } from '../../src/core/errors.js';
import { acquireLock, isProcessAlive } from '../../src/ledger/lock.js';
import { sampleSession } from '../fixtures/ledger/sample-session.js';
import { bundleChild } from '../fixtures/ledger/bundle-child.js';

const ID = 'SESSION-20251027-K9M2P7X4';
let dir: string;
let root: string;
let lockFile: string;
const started: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'collab-lock-'));
  root = join(dir, '.collab');
  new FsLedger(root).create(sampleSession(ID));
  lockFile = join(root, 'sessions', ID, 'session.lock');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
afterAll(() => {
  // Only what this file started, by pid.
  for (const child of started) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
});

function lockError(fn: () => unknown): CollabError {
  try {
    fn();
  } catch (err) {
    if (isCollabError(err)) return err;
    throw err;
  }
  throw new Error('expected the lock to be refused');
}

function writeLock(info: Record<string, unknown>): void {
  writeFileSync(lockFile, JSON.stringify(info));
}

async function startIdleNode(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore' });
  started.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return child;
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise((r) => child.once('exit', r));
  return pid;
}

describe('session lock', () => {
  it('is taken, refused to a second holder, and free again after release', () => {
    const a = new FsLedger(root, { pid: 4001, isAlive: (pid) => pid === 4001 });
    const b = new FsLedger(root, { pid: 4002, isAlive: (pid) => pid === 4001 || pid === 4002 });
    const held = a.lock(ID, { command: 'collab review' });
    const info = JSON.parse(readFileSync(lockFile, 'utf8'));
    expect(info).toMatchObject({ pid: 4001, hostname: hostname(), command: 'collab review' });
    expect(typeof info.startedAt).toBe('string');
    const err = lockError(() => b.lock(ID));
    expect(err.code).toBe('SESSION_LOCKED');
    expect(err.message).toMatch(new RegExp(`^session ${ID} is in use by collab pid 4001 since \\S+ \\(collab review\\)$`));
    expect(err.hint).toMatch(/kill 4001/);
    held.release();
    held.release(); // idempotent
    expect(existsSync(lockFile)).toBe(false);
    b.lock(ID).release();
  });

  it('refuses a lock held by a live process (a real pid)', async () => {
    const holder = await startIdleNode();
    writeLock({ pid: holder.pid, hostname: hostname(), startedAt: '2025-10-27T10:00:00.000Z', token: 'aaaa', command: 'collab implement' });
    const before = readFileSync(lockFile);
    const err = lockError(() => new FsLedger(root).lock(ID));
    expect(err.code).toBe('SESSION_LOCKED');
    expect(err.message).toContain(`collab pid ${holder.pid} since 2025-10-27T10:00:00.000Z`);
    expect(readFileSync(lockFile).equals(before)).toBe(true);
    process.kill(holder.pid!, 'SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    // Now the holder is dead: its lock is stale and taken over.
    const handle = new FsLedger(root).lock(ID);
    expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
    handle.release();
  });

  it('takes over the lock of a dead pid', async () => {
    const pid = await deadPid();
    expect(isProcessAlive(pid)).toBe(false);
    writeLock({ pid, hostname: hostname(), startedAt: '2025-10-27T10:00:00.000Z', token: 'dead' });
    const handle = new FsLedger(root).lock(ID);
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: process.pid });
    handle.release();
    expect(existsSync(lockFile)).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['half-written', '{"pid":12'],
    ['not a lock', '{"hello":"world"}'],
  ])('takes over an %s lock file (a crash while writing it)', (_name, content) => {
    writeFileSync(lockFile, content);
    const handle = new FsLedger(root).lock(ID);
    expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
    handle.release();
  });

  it('takes over a lock naming our own pid that this process does not hold (pid reuse after a crash)', () => {
    writeLock({ pid: process.pid, hostname: hostname(), startedAt: '2025-10-27T10:00:00.000Z', token: 'earlier-run' });
    const handle = new FsLedger(root).lock(ID);
    expect(JSON.parse(readFileSync(lockFile, 'utf8')).token).not.toBe('earlier-run');
    // …but a lock this process does hold is refused, also through another ledger instance.
    expect(lockError(() => new FsLedger(root).lock(ID)).code).toBe('SESSION_LOCKED');
    handle.release();
  });

  it.runIf(process.platform === 'linux')('takes over a lock whose pid was recycled by another process (start time differs)', async () => {
    const other = await startIdleNode();
    writeLock({ pid: other.pid, hostname: hostname(), startedAt: '2025-10-27T10:00:00.000Z', token: 'old', procStart: '1' });
    const handle = new FsLedger(root).lock(ID);
    expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
    handle.release();
    process.kill(other.pid!, 'SIGKILL');
  });

  it('never takes over a lock from another host', () => {
    writeLock({ pid: 1, hostname: 'elsewhere.example', startedAt: '2025-10-27T10:00:00.000Z', token: 't' });
    const err = lockError(() => new FsLedger(root, { isAlive: () => false }).lock(ID));
    expect(err.code).toBe('SESSION_LOCKED');
    expect(err.message).toContain('on host elsewhere.example');
    expect(err.hint).toContain(lockFile);
  });

  it('release leaves a lock that is no longer ours', () => {
    const handle = new FsLedger(root).lock(ID);
    writeLock({ pid: 999_999, hostname: hostname(), startedAt: '2025-10-27T10:00:00.000Z', token: 'someone-else' });
    handle.release();
    expect(JSON.parse(readFileSync(lockFile, 'utf8')).token).toBe('someone-else');
  });

  it('locking a session that does not exist is SESSION_NOT_FOUND', () => {
    expect(lockError(() => new FsLedger(root).lock('SESSION-20251027-NOSUCH00')).code).toBe('SESSION_NOT_FOUND');
  });

  it('sweeps old temp files left by a crashed writer once the lock is held', () => {
    const leftover = join(root, 'sessions', ID, '.session.json.0123456789ab.tmp');
    const fresh = join(root, 'sessions', ID, '.01-plan.md.ba9876543210.tmp');
    writeFileSync(leftover, '{"half":');
    writeFileSync(fresh, 'being written');
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(leftover, old, old);
    new FsLedger(root).lock(ID).release();
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
  });
});

describe('concurrent takeover of a stale lock', () => {
  it('a taker that judged the lock stale does not remove a rival that took it over meanwhile', () => {
    writeLock({ pid: 5000, hostname: hostname(), startedAt: '2025-10-27T10:00:00.000Z', token: 'stale' });
    const alive = (pid: number): boolean => pid === 5001 || pid === 5002; // 5000 is dead
    const common = { hostname: hostname(), isAlive: alive, label: `session ${ID}` };
    let rival: ReturnType<typeof acquireLock> | undefined;
    // A judges the lock stale; before it acts, B runs a whole takeover (the worst interleaving).
    const err = lockError(() =>
      acquireLock(lockFile, {
        ...common,
        pid: 5001,
        onStale: () => {
          rival ??= acquireLock(lockFile, { ...common, pid: 5002 });
        },
      }),
    );
    expect(err.code).toBe('SESSION_LOCKED');
    expect(err.message).toContain('collab pid 5002');
    expect(rival).toBeDefined();
    expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(5002);
    rival!.release();
  });

  let takerScript: string;
  beforeAll(async () => {
    takerScript = await bundleChild('./lock-taker.ts');
  });

  it('exactly one of many processes wins, every round', async () => {
    const rounds = 3;
    const takers = 8;
    for (let round = 0; round < rounds; round++) {
      writeLock({ pid: await deadPid(), hostname: hostname(), startedAt: '2025-10-27T10:00:00.000Z', token: `stale-${round}` });
      const goFile = join(dir, `go-${round}`);
      const children = Array.from({ length: takers }, () => {
        const child = spawn(process.execPath, [takerScript, root, ID, goFile], { stdio: ['pipe', 'pipe', 'inherit'] });
        started.push(child);
        return child;
      });
      const lines = children.map((child) => {
        const rl = createInterface({ input: child.stdout! });
        const queue: string[] = [];
        const waiters: ((l: string) => void)[] = [];
        rl.on('line', (l) => {
          const w = waiters.shift();
          if (w) w(l);
          else queue.push(l);
        });
        return (): Promise<string> => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r)));
      });
      expect(await Promise.all(lines.map((next) => next()))).toEqual(Array(takers).fill('ready'));
      writeFileSync(goFile, '');
      const outcomes = await Promise.all(lines.map((next) => next()));
      expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'lost SESSION_LOCKED')).toHaveLength(takers - 1);
      const winner = children[outcomes.indexOf('won')]!;
      expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(winner.pid);
      await Promise.all(
        children.map((child) => {
          const exited = new Promise((r) => child.once('exit', r));
          child.stdin!.end();
          return exited;
        }),
      );
      expect(existsSync(lockFile)).toBe(false); // the winner released it
      expect(existsSync(`${lockFile}.takeover`)).toBe(false);
    }
  });
});
