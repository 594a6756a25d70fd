import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { collab, tempDir } from '../helpers/cli.js';

/** Every file under `dir` with its bytes, to prove nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = readFileSync(p, 'latin1');
    }
  };
  walk(dir);
  return out;
}

const replayConfig = { roles: { planner: { agent: 'replay' }, reviewer: { agent: 'replay' }, implementer: { agent: 'replay' }, validator: { agent: 'replay' } } };

describe('bad input: one line on stderr, a non-zero exit, nothing stored changes', () => {
  const dataHome = tempDir('collab-xdg-');
  const cwd = tempDir('collab-bad-');
  let id = '';

  beforeAll(() => {
    mkdirSync(path.join(cwd, '.collab'), { recursive: true });
    writeFileSync(path.join(cwd, '.collab', 'config.json'), JSON.stringify(replayConfig));
    const r = collab(['start', 'rate limiting'], { cwd, dataHome });
    expect(r.code, r.stderr).toBe(0);
    id = readFileSync(path.join(cwd, '.collab', 'current'), 'utf8').trim();
  });

  const cases: [string, string[], number, RegExp][] = [
    ['malformed session id', ['status', 'SESSION-2025-XYZ'], 3, /invalid session id/],
    ['lower-case id', ['review', 'session-20251027-k9m2p7x4'], 3, /invalid session id/],
    ['unknown session id', ['status', 'SESSION-20251027-K9M2P7X4'], 3, /no session SESSION-20251027-K9M2P7X4/],
    ['a path in place of an id', ['show', '../../etc/passwd'], 3, /invalid session id/],
    ['an impossible date', ['status', 'SESSION-20251399-K9M2P7X4'], 3, /invalid session id/],
    ['validate before review', ['validate'], 4, /run `collab review`/],
    ['extract-pattern before validate', ['extract-pattern'], 4, /run `collab review`/],
    ['start with an empty task', ['start', ''], 2, /task is empty/],
    ['start with a blank task', ['start', '   '], 2, /task is empty/],
    ['unknown command', ['frobnicate'], 2, /unknown command/],
    ['unknown flag', ['status', '--frob'], 2, /unknown option/],
    ['bad --max-iterations', ['review', '--max-iterations', 'zero'], 2, /--max-iterations/],
    ['bad --agent', ['review', '--agent', 'gpt'], 2, /--agent must be/],
    ['show an unknown phase', ['show', '--phase', 'deploy'], 2, /unknown phase/],
    ['submit a missing file', ['submit', 'review', '--file', 'nope.md'], 3, /no such file/],
    ['memory search with an empty query', ['memory', 'search', ''], 2, /query is empty/],
    ['a memory server that cannot start', ['memory', 'stats', '--db', '.collab/config.json/memory.db'], 7, /cannot open memory database/],
    ['a memory database that is a directory', ['memory', 'search', 'x', '--db', '.'], 7, /cannot open memory database/],
  ];

  it.each(cases)('%s', (_name, args, code, message) => {
    const before = snapshot(path.join(cwd, '.collab'));
    const r = collab(args, { cwd, dataHome });
    expect(r.code, r.stdout + r.stderr).toBe(code);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^collab: /);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(snapshot(path.join(cwd, '.collab'))).toEqual(before);
  });

  it('a corrupt session.json is reported, not overwritten', () => {
    const other = tempDir('collab-corrupt-');
    mkdirSync(path.join(other, '.collab'), { recursive: true });
    writeFileSync(path.join(other, '.collab', 'config.json'), JSON.stringify(replayConfig));
    expect(collab(['start', 'rate limiting'], { cwd: other, dataHome }).code).toBe(0);
    const sid = readFileSync(path.join(other, '.collab', 'current'), 'utf8').trim();
    const file = path.join(other, '.collab', 'sessions', sid, 'session.json');
    writeFileSync(file, '{"version": 1, "id": ');
    const before = snapshot(path.join(other, '.collab'));
    for (const args of [['status'], ['review'], ['report', sid]]) {
      const r = collab(args, { cwd: other, dataHome });
      expect(r.code, r.stderr).toBe(6);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/session\.json/);
    }
    expect(snapshot(path.join(other, '.collab'))).toEqual(before);
  });

  it('a ledger that cannot be written is a one-line LEDGER_UNWRITABLE (exit 6), not a crash', () => {
    const other = tempDir('collab-unwritable-');
    writeFileSync(path.join(other, '.collab'), 'not a directory');
    const r = collab(['start', 'rate limiting'], { cwd: other, dataHome });
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not a directory/);
    expect(readFileSync(path.join(other, '.collab'), 'utf8')).toBe('not a directory');
  });

  it('a database path the system cannot create under fails at once', () => {
    const r = collab(['memory', 'stats', '--db', '/proc/collab-nope/x.db'], { cwd, dataHome, timeoutMs: 20_000 });
    expect(r.code).toBe(7);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('demo --dir naming a file is a usage error', () => {
    const file = path.join(tempDir(), 'f');
    writeFileSync(file, 'x');
    const r = collab(['demo', '--dir', file, '--no-checks'], { cwd, dataHome });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a directory/);
  });

  it('a hand-edited state that its artifacts do not back is refused, and the file is left as it is', () => {
    const other = tempDir('collab-edit-');
    mkdirSync(path.join(other, '.collab'), { recursive: true });
    writeFileSync(path.join(other, '.collab', 'config.json'), JSON.stringify(replayConfig));
    expect(collab(['start', 'rate limiting'], { cwd: other, dataHome }).code).toBe(0);
    const sid = readFileSync(path.join(other, '.collab', 'current'), 'utf8').trim();
    const file = path.join(other, '.collab', 'sessions', sid, 'session.json');
    const s = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...s, state: 'validated' }));
    const before = readFileSync(file, 'utf8');
    const r = collab(['extract-pattern'], { cwd: other, dataHome });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/does not add up: its state is validated but its last artifact is 01-plan\.md/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    const patterns = JSON.parse(collab(['patterns', '--json'], { cwd: other, dataHome }).stdout) as { count: number };
    expect(patterns.count).toBe(0);
  });

  it('terminal escapes in a task never reach the ledger, the terminal or the prompt', () => {
    const other = tempDir('collab-esc-');
    mkdirSync(path.join(other, '.collab'), { recursive: true });
    writeFileSync(path.join(other, '.collab', 'config.json'), JSON.stringify(replayConfig));
    expect(collab(['start', 'rate \x1b[31mlimiting\x1b]0;pwned\x07 now'], { cwd: other, dataHome }).code).toBe(0);
    const st = collab(['status', '--json'], { cwd: other, dataHome });
    const s = JSON.parse(st.stdout) as { task: string; title: string };
    expect(s.task).toBe('rate limiting now');
    expect(collab(['list'], { cwd: other, dataHome }).stdout).not.toContain('\x1b');
  });

  it('status and show tell an edited or deleted artifact file apart, and show goes on', () => {
    const other = tempDir('collab-integrity-');
    mkdirSync(path.join(other, '.collab'), { recursive: true });
    writeFileSync(path.join(other, '.collab', 'config.json'), JSON.stringify(replayConfig));
    expect(collab(['start', 'rate limiting'], { cwd: other, dataHome }).code).toBe(0);
    expect(collab(['review'], { cwd: other, dataHome }).code).toBe(0);
    const sid = readFileSync(path.join(other, '.collab', 'current'), 'utf8').trim();
    const dir = path.join(other, '.collab', 'sessions', sid);
    writeFileSync(path.join(dir, '01-plan.md'), `${readFileSync(path.join(dir, '01-plan.md'), 'utf8')}\nHAND EDIT\n`);
    const st = JSON.parse(collab(['status', '--json'], { cwd: other, dataHome }).stdout) as { artifacts: { integrity: string }[] };
    expect(st.artifacts.map((a) => a.integrity)).toEqual(['modified', 'ok']);
    const review = readFileSync(path.join(dir, '02-review.md'), 'utf8');
    rmSync(path.join(dir, '02-review.md'));
    const show = collab(['show'], { cwd: other, dataHome });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/01-plan\.md \(changed since collab wrote it/);
    expect(show.stdout).toMatch(/02-review\.md: missing from the ledger/);
    expect(collab(['status'], { cwd: other, dataHome }).stdout).toMatch(/02-review\.md.*file missing from the ledger/);
    // the phase after it still works: direct handoff reads the review back from memory (hash-checked)
    const impl = collab(['implement'], { cwd: other, dataHome });
    expect(impl.code, impl.stderr).toBe(0);
    expect(review.length).toBeGreaterThan(0);
  });

  it('an invalid config is reported with every problem in one line', () => {
    const other = tempDir('collab-cfg-');
    mkdirSync(path.join(other, '.collab'), { recursive: true });
    writeFileSync(path.join(other, '.collab', 'config.json'), JSON.stringify({ maxIterations: 0, roles: { planner: { agent: 'gpt' } } }));
    const r = collab(['list'], { cwd: other, dataHome });
    expect(r.code).toBe(6);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/maxIterations/);
    expect(r.stderr).toMatch(/roles\.planner\.agent/);
  });

  it('the session is still usable after all of that', () => {
    const r = collab(['review', id], { cwd, dataHome });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('FEEDBACK_PROVIDED');
  });
});

describe('kill -9 in the middle of a phase, then the same command again', () => {
  for (const point of ['review:agent', 'review:store', 'review:memory.stored', 'review:memory.verified']) {
    it(`killed at ${point}: the session goes on, nothing lost, nothing stored twice`, () => {
      const dataHome = tempDir('collab-xdg-');
      const cwd = tempDir('collab-kill-');
      mkdirSync(path.join(cwd, '.collab'), { recursive: true });
      writeFileSync(path.join(cwd, '.collab', 'config.json'), JSON.stringify(replayConfig));
      expect(collab(['start', 'rate limiting'], { cwd, dataHome }).code).toBe(0);
      const killed = collab(['review'], { cwd, dataHome, env: { COLLAB_TEST_KILL_AT: point } });
      expect(killed.code).toBeNull(); // died by SIGKILL
      const again = collab(['review'], { cwd, dataHome });
      expect(again.code, again.stderr).toBe(0);
      const s = JSON.parse(collab(['status', '--json'], { cwd, dataHome }).stdout) as { id: string; state: string; artifacts: { phase: string }[]; pending: unknown };
      expect(s.state).toBe('reviewed');
      expect(s.pending).toBeNull();
      expect(s.artifacts.map((a) => a.phase)).toEqual(['plan', 'review']);
      const mem = JSON.parse(collab(['memory', 'search', s.id, '--json'], { cwd, dataHome }).stdout) as { results: { phase: string }[] };
      expect(mem.results.map((r) => r.phase).sort()).toEqual(['plan', 'review']);
      const files = readdirSync(path.join(cwd, '.collab', 'sessions', s.id)).filter((f) => f.endsWith('.md'));
      expect(files.sort()).toEqual(['01-plan.md', '02-review.md']);
      // and it carries on to the end
      for (const cmd of ['implement', 'validate', 'extract-pattern']) expect(collab([cmd], { cwd, dataHome }).code).toBe(0);
    });
  }
});
