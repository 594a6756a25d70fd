import { closeSync, fsyncSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { CollabError } from '../core/errors.js';
import { writeFileAtomic } from './atomic-write.js';

/** What a lock file holds. */
export interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
  command?: string;
  /** Random per acquisition, so release() and takeover can tell this lock from a later one. */
  token: string;
  /** The holder's kernel start time (Linux), so a recycled pid is not mistaken for the holder. */
  procStart?: string;
}

/** How to identify ourselves and judge other holders. */
export interface LockOptions {
  pid: number;
  hostname: string;
  isAlive: (pid: number) => boolean;
  /** Shown to whoever finds the lock taken ("collab review"). */
  command?: string;
  /** What the lock protects, for messages ("session SESSION-…"). */
  label: string;
  now?: () => Date;
  /** Start time of a pid, or undefined when unknown; defaults to /proc on Linux when `isAlive` is the default. */
  startTimeOf?: (pid: number) => string | undefined;
  /** Test seam: called after a lock was judged stale and before the takeover, to interleave a rival taker. */
  onStale?: () => void;
}

/** A held lock. */
export interface LockHandle {
  readonly path: string;
  readonly info: LockInfo;
  /** Removes the lock file if it is still ours; idempotent, never throws. */
  release(): void;
}

/** Lock files this process holds (path -> token): a lock naming our own pid is stale unless listed here. */
const heldHere = new Map<string, string>();

/** A lock file without parseable content is only trusted as "being written" this long (wx fallback only). */
const INCOMPLETE_GRACE_MS = 2_000;
/** A takeover mutex older than this belongs to a taker that crashed or hung. */
const MUTEX_STALE_MS = 10_000;
const MAX_ATTEMPTS = 200;

/** Whether link() works here; learnt on first use. Linked lock files are never seen half-written. */
let linkWorks: boolean | undefined;

/**
 * Takes the lock at `path`: created exclusively, holding {pid, hostname, startedAt, command}.
 * A lock of a live process gives SESSION_LOCKED; a stale one (dead pid on this host, recycled pid,
 * our own pid from an earlier run, unparseable content) is taken over under a short-lived takeover
 * mutex, so two processes finding the same stale lock cannot both win.
 */
export function acquireLock(path: string, opts: LockOptions): LockHandle {
  const now = opts.now ?? (() => new Date());
  const startTimeOf = opts.startTimeOf ?? (opts.isAlive === isProcessAlive ? processStartTime : () => undefined);
  const info: LockInfo = {
    pid: opts.pid,
    hostname: opts.hostname,
    startedAt: now().toISOString(),
    ...(opts.command === undefined ? {} : { command: opts.command }),
    token: randomBytes(8).toString('hex'),
  };
  const procStart = startTimeOf(opts.pid);
  if (procStart !== undefined) info.procStart = procStart;
  const content = `${JSON.stringify(info)}\n`;
  const judge = { ...opts, startTimeOf, now };

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (createExclusive(path, content)) {
      heldHere.set(path, info.token);
      return makeHandle(path, info);
    }
    const seen = inspect(path, judge);
    if (seen.kind === 'gone') continue;
    if (seen.kind === 'held') throw lockedError(path, seen.info, opts);
    opts.onStale?.();
    takeOver(path, judge);
  }
  throw new CollabError('SESSION_LOCKED', `${opts.label} is locked and could not be taken over (too much contention on ${path})`, {
    hint: 'another collab is starting on the same session; retry in a moment',
  });
}

/** Reads a lock file; undefined when absent or unparseable. */
export function readLockInfo(path: string): LockInfo | undefined {
  try {
    return parseLock(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** True when `pid` names a running (non-zombie) process we can see. */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else — still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed but not yet reaped process answers signal 0; it holds nothing any more.
  return procState(pid) !== 'Z';
}

/** Kernel start time of `pid` from /proc (Linux), undefined elsewhere or when it is gone. */
export function processStartTime(pid: number): string | undefined {
  return procStatFields(pid)?.[19];
}

// ---------------------------------------------------------------- internals

type Judge = LockOptions & { startTimeOf: (pid: number) => string | undefined; now: () => Date };
type Seen = { kind: 'gone' } | { kind: 'held'; info: LockInfo | undefined } | { kind: 'stale' };

function makeHandle(path: string, info: LockInfo): LockHandle {
  let released = false;
  return {
    path,
    info,
    release() {
      if (released) return;
      released = true;
      if (heldHere.get(path) === info.token) heldHere.delete(path);
      try {
        // Only our own token: a lock someone took over after judging us dead is theirs now.
        if (readLockInfo(path)?.token === info.token) unlinkSync(path);
      } catch {
        /* best effort: a leftover lock of a dead pid is taken over next time */
      }
    },
  };
}

/** Creates `path` with `content` unless it exists; true when created. */
function createExclusive(path: string, content: string): boolean {
  if (linkWorks !== false) {
    try {
      writeFileAtomic(path, content, { exclusive: true });
      linkWorks = true;
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      linkWorks = false; // file systems without hard links: plain O_EXCL below
    }
  }
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

function inspect(path: string, judge: Judge): Seen {
  let raw: string;
  let mtimeMs: number;
  try {
    raw = readFileSync(path, 'utf8');
    mtimeMs = statSync(path).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw err;
  }
  const info = parseLock(raw);
  if (info === undefined) {
    // With link() a lock file is complete the moment it exists, so garbage is a crash leftover.
    // With the O_EXCL fallback it may be a lock being written right now: trust it briefly.
    if (linkWorks === false && judge.now().getTime() - mtimeMs < INCOMPLETE_GRACE_MS) return { kind: 'held', info: undefined };
    return { kind: 'stale' };
  }
  return isStale(info, judge) ? { kind: 'stale' } : { kind: 'held', info };
}

function isStale(info: LockInfo, judge: Judge): boolean {
  // Another host's pid means nothing here; only a human can say it is gone.
  if (info.hostname !== judge.hostname) return false;
  // Our own pid but not a lock this process holds: an earlier run whose pid came round again (containers).
  if (info.pid === judge.pid) return !isHeldHereByToken(info.token);
  if (!judge.isAlive(info.pid)) return true;
  if (info.procStart !== undefined) {
    const current = judge.startTimeOf(info.pid);
    if (current !== undefined && current !== info.procStart) return true; // the pid was recycled
  }
  return false;
}

function isHeldHereByToken(token: string): boolean {
  for (const t of heldHere.values()) if (t === token) return true;
  return false;
}

/** Removes a stale lock at `path` while holding `<path>.takeover`; the caller then retries creating it. */
function takeOver(path: string, judge: Judge): void {
  const mutex = `${path}.takeover`;
  const mutexInfo: LockInfo = { pid: judge.pid, hostname: judge.hostname, startedAt: judge.now().toISOString(), token: randomBytes(8).toString('hex') };
  if (!createExclusive(mutex, `${JSON.stringify(mutexInfo)}\n`)) {
    clearStaleMutex(mutex, judge);
    pause(2);
    return;
  }
  try {
    // Judge again under the mutex: another taker may already have replaced the stale lock with a live one.
    if (inspect(path, judge).kind === 'stale') unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  } finally {
    if (readLockInfo(mutex)?.token === mutexInfo.token) unlinkSync(mutex);
  }
}

/**
 * A takeover mutex is held for microseconds; one that lingers belongs to a taker that died in that
 * window. Removing it is the one unguarded step (two processes could both judge it stale), which needs
 * a crash inside the window plus two concurrent takers — accepted.
 */
function clearStaleMutex(mutex: string, judge: Judge): void {
  try {
    const info = readLockInfo(mutex);
    const age = judge.now().getTime() - statSync(mutex).mtimeMs;
    const dead = info !== undefined && info.hostname === judge.hostname && info.pid !== judge.pid && !judge.isAlive(info.pid);
    const orphan = info !== undefined && info.hostname === judge.hostname && info.pid === judge.pid && !isHeldHereByToken(info.token);
    if (dead || orphan || age > MUTEX_STALE_MS || (info === undefined && age > INCOMPLETE_GRACE_MS)) unlinkSync(mutex);
  } catch {
    /* gone already */
  }
}

function lockedError(path: string, info: LockInfo | undefined, opts: LockOptions): CollabError {
  if (info === undefined) {
    return new CollabError('SESSION_LOCKED', `${opts.label} is being locked by another collab right now (${path} is still being written)`, {
      hint: 'retry in a moment',
      details: { lockFile: path },
    });
  }
  const by = `collab pid ${info.pid}${info.hostname === opts.hostname ? '' : ` on host ${info.hostname}`}`;
  const cmd = info.command ? ` (${info.command})` : '';
  const hint =
    info.hostname === opts.hostname
      ? `wait for it to finish or stop it (kill ${info.pid}); a lock left by a process that died is taken over automatically`
      : `if no collab runs on ${info.hostname} any more, delete ${path}`;
  return new CollabError('SESSION_LOCKED', `${opts.label} is in use by ${by} since ${info.startedAt}${cmd}`, {
    hint,
    details: { lockFile: path, pid: info.pid, hostname: info.hostname, startedAt: info.startedAt, command: info.command },
  });
}

function parseLock(raw: string): LockInfo | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!Number.isInteger(v.pid) || typeof v.hostname !== 'string' || typeof v.startedAt !== 'string' || typeof v.token !== 'string') return undefined;
  const info: LockInfo = { pid: v.pid as number, hostname: v.hostname, startedAt: v.startedAt, token: v.token };
  if (typeof v.command === 'string') info.command = v.command;
  if (typeof v.procStart === 'string') info.procStart = v.procStart;
  return info;
}

function procStatFields(pid: number): string[] | undefined {
  if (process.platform !== 'linux' || !Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is parenthesised and may hold spaces; fields after it split cleanly.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function procState(pid: number): string | undefined {
  return procStatFields(pid)?.[0];
}

/** Synchronous short wait: lock() is synchronous and contention lasts microseconds. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
