import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import type { ProcessRunner, RunOptions, RunResult } from '../core/ports.js';
import { LineSplitter } from './line-splitter.js';
import { groupAlive, RUN_TAG_VAR, signalGroup, taggedProcesses } from './process-group.js';

const DEFAULT_KILL_GRACE_MS = 3_000;
/** After SIGKILL the kernel needs a moment; past this we stop waiting rather than hang the CLI. */
const AFTER_KILL_WAIT_MS = 2_000;
/** Once the group is gone, a pipe still open belongs to a process that left the group (setsid); stop reading it. */
const STREAM_DRAIN_MS = 1_000;
const POLL_MS = 20;

/** The one process runner (DESIGN rule 2): execa underneath, whole process groups, failures as data. */
export function createProcessRunner(): ProcessRunner {
  return { run: runProcess };
}

/** Builds a child's environment: inherited, then `overrides` (undefined deletes), then colour off. */
export function buildChildEnv(base: NodeJS.ProcessEnv, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  // Agents' output is parsed and logged, never shown raw on a terminal: escape codes would only garble it.
  env.NO_COLOR = '1';
  env.FORCE_COLOR = '0';
  return env;
}

async function runProcess(opts: RunOptions): Promise<RunResult> {
  const startedAt = performance.now();
  const elapsed = (): number => Math.round(performance.now() - startedAt);
  const base = { stdout: '', stderr: '', timedOut: false, idledOut: false, interrupted: false };
  if (opts.signal?.aborted) return { ...base, exitCode: null, signal: null, interrupted: true, durationMs: 0 };

  // Opened before spawning: a bad log path is the caller's bug and should surface before anything runs.
  const teeOut = openTee(opts.stdoutFile);
  const teeErr = openTee(opts.stderrFile);

  const tag = randomUUID();
  let subprocess: ReturnType<typeof spawn>;
  try {
    subprocess = spawn(opts, tag);
  } catch (err) {
    // execa validates options synchronously (e.g. a non-string argument).
    teeOut.close();
    teeErr.close();
    return { ...base, exitCode: null, signal: null, spawnError: (err as Error).message.split('\n')[0] ?? String(err), durationMs: elapsed() };
  }
  const pid = subprocess.pid;

  let cause: 'timeout' | 'idle' | 'abort' | undefined;
  let leaderExited = false;
  let termination: Promise<void> | undefined;
  const timers = new Set<NodeJS.Timeout>();
  let idleTimer: NodeJS.Timeout | undefined;

  /** SIGTERM to the whole group, SIGKILL to whatever is left after the grace period. */
  const endGroup = (): Promise<void> => {
    if (pid === undefined) return Promise.resolve();
    termination ??= (async () => {
      if (!signalGroup(pid, 'SIGTERM')) return;
      if (await waitUntil(() => !groupAlive(pid), opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS)) return;
      signalGroup(pid, 'SIGKILL');
      await waitUntil(() => !groupAlive(pid), AFTER_KILL_WAIT_MS);
    })();
    return termination;
  };
  const stop = (why: 'timeout' | 'idle' | 'abort'): void => {
    // The first reason is the one reported; after a normal exit a late timer or abort is not a cause.
    if (cause !== undefined || leaderExited) return;
    cause = why;
    void endGroup();
  };

  const onAbort = (): void => stop('abort');
  const armIdle = (): void => {
    if (opts.idleTimeoutMs === undefined || cause !== undefined || leaderExited) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => stop('idle'), opts.idleTimeoutMs);
  };

  const out = new LineSplitter((line) => safeCall(opts.onStdoutLine, line));
  const err = new LineSplitter((line) => safeCall(opts.onStderrLine, line));
  const streamsDone: Promise<void>[] = [];
  if (pid !== undefined) {
    safeCall(opts.onSpawn, pid);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.timeoutMs !== undefined) timers.add(setTimeout(() => stop('timeout'), opts.timeoutMs));
    armIdle();
    streamsDone.push(pump(subprocess.stdout, out, teeOut, armIdle), pump(subprocess.stderr, err, teeErr, armIdle));
    // The leader's exit is not the end: children it left in the group (or a grandchild holding the
    // pipes) must go too, or "nothing is left running" would not hold.
    subprocess.once('exit', () => {
      leaderExited = true;
      for (const t of timers) clearTimeout(t);
      if (idleTimer) clearTimeout(idleTimer);
      if (groupAlive(pid)) void endGroup();
    });
  }

  const drained = Promise.all(streamsDone);
  const settled = subprocess.then(
    (r) => r,
    (e: unknown) => e as Awaited<typeof subprocess>,
  );
  const exited = new Promise<void>((resolve) => {
    if (pid === undefined) resolve();
    else if (subprocess.exitCode !== null || subprocess.signalCode !== null) resolve();
    else subprocess.once('exit', () => resolve());
  });
  await exited;
  if (termination) await termination;
  // Stream ends can lag the exit; a pipe held by a process that escaped the group would never end.
  if (!(await raceTimeout(drained, STREAM_DRAIN_MS))) {
    subprocess.stdout?.destroy();
    subprocess.stderr?.destroy();
  }
  const result = await settled;
  if (termination) await termination;
  // "Nothing is left running" also covers descendants that left the group: they still carry the tag.
  await endTagged(tag, opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS);

  for (const t of timers) clearTimeout(t);
  if (idleTimer) clearTimeout(idleTimer);
  opts.signal?.removeEventListener('abort', onAbort);
  out.end();
  err.end();
  teeOut.close();
  teeErr.close();

  const spawnError = pid === undefined ? describeSpawnError(opts.command, result) : undefined;
  return {
    exitCode: typeof result.exitCode === 'number' ? result.exitCode : null,
    signal: typeof result.signal === 'string' ? result.signal : null,
    stdout: out.text,
    stderr: err.text,
    timedOut: cause === 'timeout',
    idledOut: cause === 'idle',
    interrupted: cause === 'abort',
    ...(spawnError === undefined ? {} : { spawnError }),
    ...(pid === undefined ? {} : { pid }),
    durationMs: elapsed(),
  };
}

function spawn(opts: RunOptions, tag: string) {
  return execa(opts.command, opts.args, {
    cwd: opts.cwd,
    // The tag follows descendants that leave the process group (codex starts MCP servers in sessions of their own).
    env: buildChildEnv(process.env, { ...opts.env, [RUN_TAG_VAR]: tag }),
    extendEnv: false, // the env above is complete, so "undefined deletes" holds
    // Own process group: one kill(-pid) reaches grandchildren (shells, MCP servers the agent started).
    detached: true,
    reject: false,
    // Without input stdin is /dev/null: a reader sees end-of-file at once instead of waiting on a pipe.
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    stdout: 'pipe',
    stderr: 'pipe',
    // Read by us, chunk by chunk (lines, tee, idle watchdog); execa buffering would duplicate it.
    buffer: false,
    stripFinalNewline: false,
    windowsHide: true,
  });
}

type Tee = { write(chunk: Buffer): void; close(): void };

function openTee(path: string | undefined): Tee {
  if (path === undefined) return { write() {}, close() {} };
  mkdirSync(dirname(path), { recursive: true });
  // Appending keeps the raw output of earlier attempts of a phase that is retried.
  let fd: number | undefined = openSync(path, 'a');
  return {
    write(chunk) {
      if (fd === undefined) return;
      try {
        writeSync(fd, chunk);
      } catch {
        // A full disk must not kill the agent run; the log simply stops.
        closeQuietly(fd);
        fd = undefined;
      }
    },
    close() {
      if (fd !== undefined) closeQuietly(fd);
      fd = undefined;
    },
  };
}

function pump(stream: NodeJS.ReadableStream | null, lines: LineSplitter, tee: Tee, onActivity: () => void): Promise<void> {
  if (!stream) return Promise.resolve();
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      tee.write(chunk);
      lines.push(chunk);
      // Any output counts as activity: a partial line is an event being written.
      onActivity();
    });
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

function describeSpawnError(command: string, result: { code?: unknown; originalMessage?: unknown; shortMessage?: unknown }): string {
  const code = typeof result.code === 'string' ? result.code : undefined;
  const reason =
    code === 'ENOENT' ? 'not found (or the working directory does not exist)' : code === 'EACCES' ? 'permission denied (not executable?)' : typeof result.originalMessage === 'string' ? result.originalMessage : String(result.shortMessage ?? 'unknown error');
  return `cannot start ${command}: ${reason}${code ? ` [${code}]` : ''}`;
}

function safeCall<T>(fn: ((arg: T) => void) | undefined, arg: T): void {
  if (!fn) return;
  try {
    fn(arg);
  } catch {
    // A consumer's bug must not leave a child running or the run unresolved.
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}

/** SIGTERM to every process still carrying the run's tag, SIGKILL to whatever is left after the grace period. */
async function endTagged(tag: string, graceMs: number): Promise<void> {
  const signalAll = (sig: NodeJS.Signals): boolean => {
    const pids = taggedProcesses(tag);
    for (const p of pids) {
      try {
        process.kill(p, sig);
      } catch {
        // gone meanwhile
      }
    }
    return pids.length > 0;
  };
  if (!signalAll('SIGTERM')) return;
  if (await waitUntil(() => taggedProcesses(tag).length === 0, graceMs)) return;
  signalAll('SIGKILL');
  await waitUntil(() => taggedProcesses(tag).length === 0, AFTER_KILL_WAIT_MS);
}

async function waitUntil(done: () => boolean, boundMs: number): Promise<boolean> {
  const deadline = performance.now() + boundMs;
  while (!done()) {
    if (performance.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return true;
}

async function raceTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
