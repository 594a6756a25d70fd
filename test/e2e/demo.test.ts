import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { collab, tempDir, type CliRun } from '../helpers/cli.js';

const ARTIFACTS = ['01-plan.md', '02-review.md', '03-implement.md', '04-validate.md', '05-pattern.md'];

describe('collab demo (spawned bin/collab, real embedded MCP memory server)', () => {
  const dataHome = tempDir('collab-xdg-');
  const dir = path.join(tempDir('collab-demo-parent-'), 'demo');
  let demo: CliRun;
  let id: string;

  beforeAll(() => {
    demo = collab(['demo', '--dir', dir, '--no-checks'], { cwd: tempDir(), dataHome });
    id = /SESSION-\d{8}-[A-Z0-9]{8}/.exec(demo.stdout + demo.stderr)?.[0] ?? '';
  });

  it('exits 0 and names the session and the result directory', () => {
    expect(demo.stderr + demo.stdout).toContain('replay');
    expect(demo.code, demo.stderr).toBe(0);
    expect(id).not.toBe('');
    expect(demo.stdout).toContain(`result: ${dir}`);
    expect(demo.stdout).toContain('Session Summary');
  });

  it('leaves a ledger with the five artifacts, the event log and the current session', () => {
    const sdir = path.join(dir, '.collab', 'sessions', id);
    expect(readdirSync(sdir).filter((f) => f.endsWith('.md')).sort()).toEqual(ARTIFACTS);
    expect(readFileSync(path.join(dir, '.collab', 'current'), 'utf8').trim()).toBe(id);
    const events = readFileSync(path.join(sdir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(events.filter((e) => e.type === 'phase.finished')).toHaveLength(5);
    expect(readFileSync(path.join(sdir, '02-review.md'), 'utf8')).toMatch(new RegExp(`^\\*\\*\\[${id}\\] CODEX REVIEW: `));
  });

  it('applied the implementation to the copy of the app', () => {
    expect(existsSync(path.join(dir, 'package.json'))).toBe(true);
    expect(existsSync(path.join(dir, 'src', 'config.js'))).toBe(true);
  });

  it('status --json shows PATTERN_EXTRACTED', () => {
    const r = collab(['status', '--json'], { cwd: dir, dataHome });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { id: string; state: string; status: string; artifacts: unknown[]; next: unknown };
    expect(s).toMatchObject({ id, state: 'pattern_extracted', status: 'PATTERN_EXTRACTED', next: null });
    expect(s.artifacts).toHaveLength(5);
  });

  it('memory search <id> --json returns all five artifacts, and only this session\'s', () => {
    const r = collab(['memory', 'search', id, '--json'], { cwd: dir, dataHome });
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { count: number; results: { sessionId: string; phase: string; text: string }[] };
    expect(res.count).toBe(5);
    expect(res.results.map((x) => x.phase).sort()).toEqual(['implement', 'pattern', 'plan', 'review', 'validate']);
    expect(res.results.every((x) => x.sessionId === id)).toBe(true);
    for (const f of ARTIFACTS) {
      const text = readFileSync(path.join(dir, '.collab', 'sessions', id, f), 'utf8');
      expect(res.results.some((x) => x.text === text)).toBe(true);
    }
  });

  it('a second demo stores its own five without touching the first session', () => {
    const dir2 = path.join(tempDir(), 'd2');
    const r = collab(['demo', '--dir', dir2, '--no-checks'], { cwd: tempDir(), dataHome });
    expect(r.code, r.stderr).toBe(0);
    const again = JSON.parse(collab(['memory', 'search', id, '--json'], { cwd: dir, dataHome }).stdout) as { count: number };
    expect(again.count).toBe(5);
    const stats = JSON.parse(collab(['memory', 'stats', '--json'], { cwd: dir, dataHome }).stdout) as { records: number; patterns: number };
    expect(stats.records).toBe(10);
  });

  it('report, show and list read the finished session', () => {
    const rep = JSON.parse(collab(['report', '--json'], { cwd: dir, dataHome }).stdout) as { timeline: unknown[]; validation: { score: number } };
    expect(rep.timeline).toHaveLength(5);
    expect(rep.validation.score).toBeGreaterThan(0);
    const show = JSON.parse(collab(['show', '--phase', 'review', '--json'], { cwd: dir, dataHome }).stdout) as { artifacts: { text: string }[] };
    expect(show.artifacts[0]!.text).toContain('CODEX REVIEW');
    const list = JSON.parse(collab(['list', '--json'], { cwd: dir, dataHome }).stdout) as { sessions: { id: string }[] };
    expect(list.sessions.map((s) => s.id)).toEqual([id]);
  });

  it('refuses a --dir that is not empty, and changes nothing in it', () => {
    const busy = tempDir();
    writeFileSync(path.join(busy, 'keep.txt'), 'mine');
    const r = collab(['demo', '--dir', busy, '--no-checks'], { cwd: busy, dataHome });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(busy)).toEqual(['keep.txt']);
  });
});
