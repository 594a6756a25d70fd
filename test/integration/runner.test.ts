import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProcessRunner, buildChildEnv } from '../../src/process/runner.js';
import { livingMembers } from '../../src/process/process-group.js';
import { isProcessAlive } from '../../src/ledger/lock.js';
import type { RunOptions } from '../../src/core/ports.js';

const runner = createProcessRunner();
let dir: string;
/** Every pid a test saw, so teardown can end exactly those (and nothing else) if an assertion failed early. */
const seenPids = new Set<number>();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'collab-runner-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
afterAll(() => {
  for (const pid of seenPids) {
    if (!isProcessAlive(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

function run(opts: Partial<RunOptions> & { command: string }) {
  return runner.run({
    args: [],
    cwd: dir,
    ...opts,
    onSpawn: (pid) => {
      seenPids.add(pid);
      opts.onSpawn?.(pid);
    },
  });
}

/** A shell that prints the pid of a background `sleep 100`, then waits on a foreground one. */
const SLEEPERS = 'sleep 100 & echo $!; sleep 100';

function pidLines(stdout: string): number[] {
  const pids = stdout.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
  for (const p of pids) seenPids.add(p);
  return pids;
}

describe('process runner: results are data', () => {
  it('reports exit codes without throwing', async () => {
    const ok = await run({ command: 'sh', args: ['-c', 'echo out; echo err >&2; exit 0'] });
    expect(ok).toMatchObject({ exitCode: 0, signal: null, stdout: 'out\n', stderr: 'err\n', timedOut: false, idledOut: false, interrupted: false });
    expect(ok.spawnError).toBeUndefined();
    expect(ok.durationMs).toBeGreaterThanOrEqual(0);
    const bad = await run({ command: 'sh', args: ['-c', 'exit 3'] });
    expect(bad.exitCode).toBe(3);
  });

  it('reports death by signal', async () => {
    const r = await run({ command: 'sh', args: ['-c', 'kill -TERM $$'] });
    expect(r).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: false });
  });

  it('reports a program that does not exist as spawnError (ENOENT)', async () => {
    let spawned = false;
    const r = await run({ command: 'collab-no-such-program-xyz', onSpawn: () => (spawned = true) });
    expect(r.spawnError).toMatch(/collab-no-such-program-xyz.*ENOENT/);
    expect(r.exitCode).toBeNull();
    expect(r.pid).toBeUndefined();
    expect(spawned).toBe(false);
  });

  it('reports a file that is not executable as spawnError (EACCES)', async () => {
    const file = join(dir, 'not-exec.sh');
    writeFileSync(file, '#!/bin/sh\necho hi\n');
    chmodSync(file, 0o644);
    const r = await run({ command: file });
    expect(r.spawnError).toMatch(/EACCES/);
  });

  it('reports a missing working directory as spawnError', async () => {
    const r = await run({ command: 'sh', args: ['-c', 'true'], cwd: join(dir, 'missing') });
    expect(r.spawnError).toBeDefined();
    expect(r.exitCode).toBeNull();
  });

  it('calls onSpawn with the pid it reports', async () => {
    let pid: number | undefined;
    const r = await run({ command: 'sh', args: ['-c', 'echo $$'], onSpawn: (p) => (pid = p) });
    expect(pid).toBe(r.pid);
    expect(r.stdout).toBe(`${pid}\n`);
  });
});

describe('process runner: stdin', () => {
  it('closes stdin at once when there is no input (cat ends)', async () => {
    const r = await run({ command: 'cat', timeoutMs: 10_000 });
    expect(r).toMatchObject({ exitCode: 0, stdout: '', timedOut: false });
  });

  it('writes the input and then closes stdin (cat echoes it and ends)', async () => {
    const lines: string[] = [];
    const r = await run({ command: 'cat', input: 'hello\nwörld', timeoutMs: 10_000, onStdoutLine: (l) => lines.push(l) });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'hello\nwörld', timedOut: false });
    expect(lines).toEqual(['hello', 'wörld']);
  });

  it('survives a child that exits without reading a large input', async () => {
    const r = await run({ command: 'true', input: 'x'.repeat(5_000_000) });
    expect(r.exitCode).toBe(0);
    expect(r.spawnError).toBeUndefined();
  });
});

describe('process runner: output', () => {
  it('streams stdout and stderr line by line, CRLF and a partial last line included', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const script = "process.stdout.write('a\\nb\\r\\n'); process.stderr.write('e1\\ne2'); process.stdout.write(Buffer.from([0xe2, 0x82])); setTimeout(() => process.stdout.write(Buffer.from([0xac, 0x0a, 0x6c, 0x61, 0x73, 0x74])), 20);";
    const r = await run({ command: process.execPath, args: ['-e', script], onStdoutLine: (l) => out.push(l), onStderrLine: (l) => err.push(l) });
    expect(out).toEqual(['a', 'b', '€', 'last']);
    expect(err).toEqual(['e1', 'e2']);
    expect(r.stdout).toBe('a\nb\r\n€\nlast');
    expect(r.stderr).toBe('e1\ne2');
  });

  it('keeps many lines in order', async () => {
    const out: string[] = [];
    const r = await run({ command: process.execPath, args: ['-e', 'for (let i = 0; i < 20000; i++) console.log("line " + i)'], onStdoutLine: (l) => out.push(l) });
    expect(r.exitCode).toBe(0);
    expect(out).toHaveLength(20000);
    expect(out[0]).toBe('line 0');
    expect(out[19999]).toBe('line 19999');
  });

  it('tees raw output to files (appending) and creates their folder', async () => {
    const stdoutFile = join(dir, 'logs', 'out.log');
    const stderrFile = join(dir, 'logs', 'err.log');
    await run({ command: 'sh', args: ['-c', 'printf "one\\r\\ntwo"; printf "bad" >&2'], stdoutFile, stderrFile });
    await run({ command: 'sh', args: ['-c', 'echo again'], stdoutFile, stderrFile });
    expect(readFileSync(stdoutFile, 'utf8')).toBe('one\r\ntwoagain\n');
    expect(readFileSync(stderrFile, 'utf8')).toBe('bad');
  });

  it('a callback that throws does not break the run', async () => {
    const r = await run({
      command: 'sh',
      args: ['-c', 'echo 1; echo 2'],
      onStdoutLine: () => {
        throw new Error('consumer bug');
      },
    });
    expect(r).toMatchObject({ exitCode: 0, stdout: '1\n2\n' });
  });
});

describe('process runner: environment', () => {
  it('merges env, deletes undefined keys, and always turns colour off', async () => {
    process.env.COLLAB_TEST_DELETE_ME = 'present';
    process.env.COLLAB_TEST_KEEP_ME = 'kept';
    try {
      const r = await run({
        command: process.execPath,
        args: ['-e', 'console.log(JSON.stringify(process.env))'],
        env: { COLLAB_TEST_DELETE_ME: undefined, COLLAB_TEST_ADDED: 'added', NO_COLOR: undefined, FORCE_COLOR: '1' },
      });
      const env = JSON.parse(r.stdout) as Record<string, string>;
      expect(env.COLLAB_TEST_DELETE_ME).toBeUndefined();
      expect('COLLAB_TEST_DELETE_ME' in env).toBe(false);
      expect(env.COLLAB_TEST_KEEP_ME).toBe('kept');
      expect(env.COLLAB_TEST_ADDED).toBe('added');
      expect(env.NO_COLOR).toBe('1');
      expect(env.FORCE_COLOR).toBe('0');
    } finally {
      delete process.env.COLLAB_TEST_DELETE_ME;
      delete process.env.COLLAB_TEST_KEEP_ME;
    }
  });

  it('buildChildEnv does not modify its input', () => {
    const base = { A: '1', B: '2' };
    expect(buildChildEnv(base, { A: undefined, C: '3' })).toEqual({ B: '2', C: '3', NO_COLOR: '1', FORCE_COLOR: '0' });
    expect(base).toEqual({ A: '1', B: '2' });
  });
});

describe('process runner: ending the whole process group', () => {
  it('timeout ends the shell and its background grandchild', async () => {
    let leader = 0;
    const r = await run({ command: 'sh', args: ['-c', SLEEPERS], timeoutMs: 300, onSpawn: (p) => (leader = p) });
    const [grandchild] = pidLines(r.stdout);
    expect(r.timedOut).toBe(true);
    expect(r.idledOut || r.interrupted).toBe(false);
    expect(r.signal).toBe('SIGTERM');
    expect(grandchild).toBeGreaterThan(0);
    expect(isProcessAlive(leader)).toBe(false);
    expect(isProcessAlive(grandchild!)).toBe(false);
    expect(livingMembers(leader)).toEqual([]);
    expect(r.durationMs).toBeLessThan(5_000);
  });

  it('SIGKILLs what ignores SIGTERM after the grace period', async () => {
    let leader = 0;
    // Ignored signals stay ignored across exec, so both the shell and its sleeps ignore SIGTERM.
    const r = await run({ command: 'sh', args: ['-c', `trap '' TERM; ${SLEEPERS}`], timeoutMs: 200, killGraceMs: 300, onSpawn: (p) => (leader = p) });
    const [grandchild] = pidLines(r.stdout);
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    expect(r.durationMs).toBeGreaterThanOrEqual(450);
    expect(isProcessAlive(leader)).toBe(false);
    expect(isProcessAlive(grandchild!)).toBe(false);
  });

  it('idle timeout ends a process that stops talking', async () => {
    let leader = 0;
    const r = await run({ command: 'sh', args: ['-c', SLEEPERS], idleTimeoutMs: 300, onSpawn: (p) => (leader = p) });
    const [grandchild] = pidLines(r.stdout);
    expect(r.idledOut).toBe(true);
    expect(r.timedOut).toBe(false);
    expect(isProcessAlive(leader)).toBe(false);
    expect(isProcessAlive(grandchild!)).toBe(false);
  });

  it('idle timeout is reset by every line', async () => {
    // 8 lines 150 ms apart: 1.2 s in all, never 1 s without output.
    const r = await run({ command: 'sh', args: ['-c', 'for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.15; done'], idleTimeoutMs: 1_000 });
    expect(r).toMatchObject({ exitCode: 0, idledOut: false });
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(8);
  });

  it('abort ends the group and sets interrupted', async () => {
    const ac = new AbortController();
    let leader = 0;
    const r = await run({
      command: 'sh',
      args: ['-c', SLEEPERS],
      signal: ac.signal,
      onSpawn: (p) => (leader = p),
      onStdoutLine: () => ac.abort(), // the grandchild's pid is printed: everything is running
    });
    const [grandchild] = pidLines(r.stdout);
    expect(r.interrupted).toBe(true);
    expect(r.timedOut || r.idledOut).toBe(false);
    expect(isProcessAlive(leader)).toBe(false);
    expect(isProcessAlive(grandchild!)).toBe(false);
  });

  it('an already aborted signal starts nothing', async () => {
    let spawned = false;
    const r = await run({ command: 'sh', args: ['-c', 'echo never'], signal: AbortSignal.abort(), onSpawn: () => (spawned = true) });
    expect(r).toMatchObject({ interrupted: true, stdout: '', exitCode: null });
    expect(spawned).toBe(false);
  });

  it('after a normal exit, children left in the group are ended too', async () => {
    let leader = 0;
    // The background sleep does not hold our pipes: only the group tells us it is there.
    const r = await run({ command: 'sh', args: ['-c', 'sleep 100 >/dev/null 2>&1 & echo $!'], onSpawn: (p) => (leader = p) });
    const [grandchild] = pidLines(r.stdout);
    expect(r).toMatchObject({ exitCode: 0, timedOut: false, idledOut: false, interrupted: false });
    expect(isProcessAlive(grandchild!)).toBe(false);
    expect(livingMembers(leader)).toEqual([]);
  });

  it('a grandchild holding the pipes after the leader exited does not hang the run', async () => {
    const r = await run({ command: 'sh', args: ['-c', 'sleep 100 & echo $!'], timeoutMs: 30_000 });
    const [grandchild] = pidLines(r.stdout);
    expect(r.exitCode).toBe(0);
    expect(r.durationMs).toBeLessThan(5_000);
    expect(isProcessAlive(grandchild!)).toBe(false);
  });

  it.runIf(process.platform === 'linux')('a process that left the group (setsid) and holds the pipes does not hang the run', async () => {
    const r = await run({ command: 'sh', args: ['-c', 'setsid sleep 100 & sleep 0.2; echo $!'], timeoutMs: 30_000 });
    const escaped = pidLines(r.stdout);
    expect(r.exitCode).toBe(0);
    expect(r.durationMs).toBeLessThan(5_000);
    // Outside the group, but it carries the run's tag: the runner ended it too.
    expect(escaped).toHaveLength(1);
    const alive = escaped.filter((pid) => isProcessAlive(pid));
    for (const pid of alive) process.kill(pid, 'SIGKILL');
    expect(alive).toEqual([]);
  });

  it.runIf(process.platform === 'linux')('a timeout also ends descendants that left the group (an MCP server in a session of its own)', async () => {
    const r = await run({ command: 'sh', args: ['-c', 'setsid sh -c "sleep 100" </dev/null >/dev/null 2>&1 & echo $!; sleep 100'], timeoutMs: 500 });
    const escaped = pidLines(r.stdout);
    expect(r.timedOut).toBe(true);
    expect(escaped).toHaveLength(1);
    const alive = escaped.filter((pid) => isProcessAlive(pid));
    for (const pid of alive) process.kill(pid, 'SIGKILL');
    expect(alive).toEqual([]);
  });
});
