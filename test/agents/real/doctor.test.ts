import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireLoopbackOnly } from '../netns.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'collab.js');

interface Doctor {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string; fix?: string }[];
}

function doctor(cwd: string, pathVar: string): { code: number | null; json: Doctor; stderr: string } {
  const home = mkdtempSync(path.join(tmpdir(), 'collab-doctor-home-'));
  const r = spawnSync(process.execPath, [BIN, 'doctor', '--json'], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: pathVar, HOME: home, CODEX_HOME: path.join(home, '.codex'), CLAUDE_CONFIG_DIR: path.join(home, '.claude'), XDG_DATA_HOME: path.join(home, 'data'), NO_COLOR: '1', DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
  });
  return { code: r.status, json: JSON.parse(r.stdout || '{}') as Doctor, stderr: r.stderr };
}

describe('collab doctor (real codex and claude binaries, loopback-only namespace)', () => {
  beforeAll(() => requireLoopbackOnly());
  const systemPath = `${path.dirname(process.execPath)}:/usr/bin:/bin`;

  it('finds both agents with their versions and checks that the memory server starts and lists the Byterover tools', () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'collab-doctor-'));
    const r = doctor(cwd, `${path.join(ROOT, 'node_modules', '.bin')}:${systemPath}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.ok).toBe(true);
    const by = Object.fromEntries(r.json.checks.map((c) => [c.name, c]));
    expect(by.codex).toMatchObject({ ok: true, detail: expect.stringMatching(/codex-cli \d+\.\d+\.\d+/) });
    expect(by.claude).toMatchObject({ ok: true, detail: expect.stringMatching(/\d+\.\d+\.\d+ \(Claude Code\)/) });
    expect(by.memory).toMatchObject({ ok: true, detail: expect.stringMatching(/byterover-store-knowledge.*byterover-retrieve-knowledge|byterover-retrieve-knowledge.*byterover-store-knowledge/) });
  });

  it('says what is missing and how to fix it, and fails only when a configured role needs it', () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'collab-doctor-'));
    const r = doctor(cwd, systemPath);
    expect(r.code).toBe(1);
    const by = Object.fromEntries(r.json.checks.map((c) => [c.name, c]));
    expect(by.codex).toMatchObject({ ok: false, fix: 'npm install -g @openai/codex' });
    expect(by.claude).toMatchObject({ ok: false, fix: 'npm install -g @anthropic-ai/claude-code' });
    expect(by.memory!.ok).toBe(true);

    mkdirSync(path.join(cwd, '.collab'));
    writeFileSync(path.join(cwd, '.collab', 'config.json'), JSON.stringify({ roles: { planner: { agent: 'replay' }, reviewer: { agent: 'replay' }, implementer: { agent: 'replay' }, validator: { agent: 'manual' } } }));
    const relaxed = doctor(cwd, systemPath);
    expect(relaxed.code).toBe(0);
    expect(relaxed.json.ok).toBe(true);
  });

  it('reports a memory database that cannot be opened', () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'collab-doctor-'));
    mkdirSync(path.join(cwd, '.collab'));
    writeFileSync(path.join(cwd, '.collab', 'config.json'), JSON.stringify({ memory: { db: path.join(cwd, '.collab', 'config.json', 'memory.db') } }));
    const r = doctor(cwd, `${path.join(ROOT, 'node_modules', '.bin')}:${systemPath}`);
    expect(r.code).toBe(1);
    const mem = r.json.checks.find((c) => c.name === 'memory')!;
    expect(mem.ok).toBe(false);
    expect(mem.detail).toMatch(/cannot open memory database/);
  });
});
