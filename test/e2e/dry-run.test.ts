import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collab, tempDir } from '../helpers/cli.js';

describe('--dry-run prints the exact command, environment and prompt, and runs nothing', () => {
  it('start --dry-run creates no session and shows the claude command with the prompt on stdin', () => {
    const cwd = tempDir('collab-dry-');
    const dataHome = tempDir('collab-xdg-');
    const r = collab(['start', '--dry-run', 'rate limiting'], { cwd, dataHome });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^dry run: plan with claude — nothing is started/);
    expect(r.stdout).toMatch(/claude -p --output-format stream-json --verbose --mcp-config \S+ --strict-mcp-config --allowedTools mcp__byterover-mcp,/);
    expect(r.stdout).toContain('prompt (on stdin):');
    expect(r.stdout).toContain('rate limiting');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('review --dry-run shows codex exec with the memory server injected and the read-only sandbox; the session is unchanged', () => {
    const cwd = tempDir('collab-dry-');
    const dataHome = tempDir('collab-xdg-');
    mkdirSync(path.join(cwd, '.collab'));
    writeFileSync(path.join(cwd, '.collab', 'config.json'), JSON.stringify({ roles: { planner: { agent: 'replay' } } }));
    expect(collab(['start', 'rate limiting'], { cwd, dataHome }).code).toBe(0);
    const id = readFileSync(path.join(cwd, '.collab', 'current'), 'utf8').trim();
    const before = readFileSync(path.join(cwd, '.collab', 'sessions', id, 'session.json'), 'utf8');
    const r = collab(['review', '--dry-run'], { cwd, dataHome });
    expect(r.code, r.stderr).toBe(0);
    const cmd = r.stdout.split('\n').find((l) => l.trim().startsWith('codex exec'))!;
    expect(cmd).toContain('-s read-only');
    expect(cmd).toContain('--output-schema');
    expect(cmd).toMatch(/-c 'mcp_servers\.byterover-mcp\.command=/);
    expect(cmd).toContain('default_tools_approval_mode="approve"');
    expect(cmd.trim().endsWith(' -')).toBe(true); // prompt on stdin, never in argv
    expect(r.stdout).toContain(`**[${id}] CLAUDE PLAN:`); // direct handoff: the plan is in the prompt
    expect(readFileSync(path.join(cwd, '.collab', 'sessions', id, 'session.json'), 'utf8')).toBe(before);
    expect(existsSync(path.join(cwd, '.collab', 'sessions', id, 'logs', 'review-iter1-codex.stdout.jsonl'))).toBe(false);
    const implement = collab(['implement', '--dry-run'], { cwd, dataHome });
    expect(implement.code).toBe(4);
  });
});
