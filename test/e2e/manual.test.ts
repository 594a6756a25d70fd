import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collab, tempDir } from '../helpers/cli.js';

const BIN = fileURLToPath(new URL('../../bin/collab.js', import.meta.url));

const verdict = {
  verdict: 'CONDITIONAL',
  score: 7.5,
  summary: 'Sound approach; key by user when authenticated.',
  strengths: ['express-rate-limit with a Redis store'],
  concerns: [{ severity: 'high', title: 'Shared IPs behind NAT', detail: 'One office shares a bucket.', recommendation: 'Hybrid user/IP key.' }],
  answers: [{ question: 'Is IP-based identification sufficient?', answer: 'No: hybrid.' }],
  filesReviewed: [],
};

function project(config: Record<string, unknown>) {
  const dataHome = tempDir('collab-xdg-');
  const cwd = tempDir('collab-manual-');
  mkdirSync(path.join(cwd, '.collab'));
  writeFileSync(path.join(cwd, '.collab', 'config.json'), JSON.stringify(config));
  return { cwd, dataHome };
}

describe('manual agent: the seed workflow by hand', () => {
  it('prints the exact codex exec command, waits, and picks up what `collab submit` hands in from another terminal', async () => {
    const { cwd, dataHome } = project({ roles: { planner: { agent: 'replay' }, reviewer: { agent: 'manual' } }, manual: { waitSec: 60 } });
    expect(collab(['start', 'rate limiting'], { cwd, dataHome }).code).toBe(0);
    const id = readFileSync(path.join(cwd, '.collab', 'current'), 'utf8').trim();
    writeFileSync(path.join(cwd, 'verdict.json'), JSON.stringify(verdict));

    const child = spawn(process.execPath, [BIN, 'review'], { cwd, env: { ...process.env, XDG_DATA_HOME: dataHome, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const waiting = new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('waiting up to')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waiting;
    expect(stderr).toMatch(/codex exec .*-c 'mcp_servers\.byterover-mcp\.command=/);
    expect(stderr).toContain("mcp_servers.byterover-mcp.default_tools_approval_mode=\"approve\"");
    expect(stderr).toMatch(/-s read-only/);
    expect(stderr).toContain(`collab submit review ${id} --file`);

    const sub = collab(['submit', 'review', '--file', 'verdict.json'], { cwd, dataHome });
    expect(sub.code, sub.stderr).toBe(0);
    expect(sub.stdout).toContain('the waiting collab picks it up');
    expect(await exited).toBe(0);
    expect(stdout).toContain('FEEDBACK_PROVIDED (CONDITIONAL, 7.5/10)');
    const s = JSON.parse(collab(['status', '--json'], { cwd, dataHome }).stdout) as { state: string; artifacts: { phase: string }[] };
    expect(s.state).toBe('reviewed');
    const mem = JSON.parse(collab(['memory', 'search', id, '--json'], { cwd, dataHome }).stdout) as { results: { phase: string; text: string }[] };
    expect(mem.results.map((r) => r.phase).sort()).toEqual(['plan', 'review']);
    expect(mem.results.find((r) => r.phase === 'review')!.text).toContain('Shared IPs behind NAT');
  });

  it('submit with nobody waiting runs the phase itself; a wrong-phase or garbage submission changes nothing', () => {
    const { cwd, dataHome } = project({ roles: { planner: { agent: 'replay' }, reviewer: { agent: 'manual' } } });
    expect(collab(['start', 'rate limiting'], { cwd, dataHome }).code).toBe(0);
    writeFileSync(path.join(cwd, 'garbage.md'), 'looks good to me');
    const bad = collab(['submit', 'review', '--file', 'garbage.md'], { cwd, dataHome });
    expect(bad.code).toBe(8);
    // progress lines may precede it, but the error itself is one line
    expect(bad.stderr.trim().split('\n').filter((l) => l.startsWith('collab:'))).toHaveLength(1);
    expect(bad.stderr.trim().split('\n').at(-1)).toMatch(/^collab: the answer carries no verdict/);
    const early = collab(['submit', 'validate', '--file', 'garbage.md'], { cwd, dataHome });
    expect(early.code).toBe(4);
    writeFileSync(path.join(cwd, 'verdict.json'), JSON.stringify(verdict));
    const ok = collab(['submit', 'review', '--file', 'verdict.json'], { cwd, dataHome });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('FEEDBACK_PROVIDED');
  });

  it('abort while a manual phase waits: refused with the way out, and --force interrupts the waiter first', async () => {
    const { cwd, dataHome } = project({ roles: { planner: { agent: 'replay' }, reviewer: { agent: 'manual', retries: 0 } }, manual: { waitSec: 60 } });
    expect(collab(['start', 'rate limiting'], { cwd, dataHome }).code).toBe(0);
    const child = spawn(process.execPath, [BIN, 'review'], { cwd, env: { ...process.env, XDG_DATA_HOME: dataHome, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const waiting = new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('waiting up to')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waiting;
    const refused = collab(['abort'], { cwd, dataHome });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/collab abort --force/);
    const forced = collab(['abort', '--force'], { cwd, dataHome });
    expect(forced.code, forced.stderr).toBe(0);
    expect(await exited).toBe(130);
    const s = JSON.parse(collab(['status', '--json'], { cwd, dataHome }).stdout) as { state: string };
    expect(s.state).toBe('aborted');
  });

  it('gives up after waitSec with the command to hand the answer in, leaving the session as it was', () => {
    const { cwd, dataHome } = project({ roles: { planner: { agent: 'replay' }, reviewer: { agent: 'manual', retries: 0 } }, manual: { waitSec: 1 } });
    expect(collab(['start', 'rate limiting'], { cwd, dataHome }).code).toBe(0);
    const r = collab(['review'], { cwd, dataHome });
    expect(r.code).toBe(8);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/collab submit review --file/);
    const s = JSON.parse(collab(['status', '--json'], { cwd, dataHome }).stdout) as { state: string; lastError: { code: string } };
    expect(s).toMatchObject({ state: 'planned', lastError: { code: 'AGENT_TIMEOUT' } });
  });
});
