/**
 * Shared pieces of the real-binary adapter tests: scratch directories, the memory servers the
 * agents spawn (the stub or collab's own), and the "nothing survives" check.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentProgress, AgentRequest, MemoryServerSpec } from '../../../src/core/ports.js';
import { makeRequest } from '../request-fixture.js';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The pinned binaries (devDependencies). */
export const CODEX_BIN = path.join(ROOT, 'node_modules', '.bin', 'codex');
export const CLAUDE_BIN = path.join(ROOT, 'node_modules', '.bin', 'claude');
const STUB_MCP = path.join(ROOT, 'test', 'fixtures', 'stub-mcp-server.mjs');
/** Variable that marks every process a test starts, so survivors can be found by environment. */
export const MARK_VAR = 'COLLAB_AGENT_TEST_MARK';

/** One test's throw-away world. */
export interface Scratch {
  dir: string;
  /** The project the agent works in. */
  cwd: string;
  logDir: string;
  /** Unique value of MARK_VAR for this test. */
  mark: string;
  cleanup(): void;
}

/** A fresh scratch directory with an empty project and a log dir. */
export function scratch(): Scratch {
  const dir = mkdtempSync(path.join(tmpdir(), 'collab-agent-test-'));
  const cwd = path.join(dir, 'project');
  const logDir = path.join(dir, 'logs');
  mkdirSync(cwd, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  return { dir, cwd, logDir, mark: randomUUID(), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The stub MCP memory server (test/fixtures/stub-mcp-server.mjs) and the calls it received. */
export function stubMemory(s: Scratch, mode: 'ok' | 'fail' | 'hang' | 'readonly' = 'ok', name = 'byterover-mcp'): { spec: MemoryServerSpec; calls(): { tool: string; args: Record<string, unknown> }[] } {
  const log = path.join(s.dir, 'stub-mcp-calls.jsonl');
  return {
    // The mark goes in the server's own env: codex hands MCP servers only a few inherited variables.
    spec: { name, command: process.execPath, args: [STUB_MCP], env: { STUB_MCP_MODE: mode, STUB_MCP_LOG: log, [MARK_VAR]: s.mark } },
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { tool: string; args: Record<string, unknown> }) : []),
  };
}

/** collab's own memory server, as the CLI hands it to agents (`node bin/collab.js memory serve --db`). */
export function realMemory(s: Scratch, name = 'byterover-mcp'): { spec: MemoryServerSpec; dbPath: string } {
  const dbPath = path.join(s.dir, 'memory.db');
  return { spec: { name, command: process.execPath, args: [path.join(ROOT, 'bin', 'collab.js'), 'memory', 'serve', '--db', dbPath], env: { [MARK_VAR]: s.mark } }, dbPath };
}

/** A request in the scratch world. */
export function request(s: Scratch, memoryServer: MemoryServerSpec, over: Partial<AgentRequest> = {}): AgentRequest {
  return makeRequest({ cwd: s.cwd, logDir: s.logDir, memoryServer, timeoutMs: 90_000, idleTimeoutMs: 60_000, ...over });
}

/** Live PIDs of processes carrying this test's mark (zombies have an empty environ and do not count). */
export function survivors(mark: string): number[] {
  const needle = `${MARK_VAR}=${mark}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(needle)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** True when no process is left in the group led by `pid`. */
export function groupGone(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Collects progress lines. */
export function progressSink(): { lines: AgentProgress[]; on: (p: AgentProgress) => void; text(): string } {
  const lines: AgentProgress[] = [];
  return { lines, on: (p) => lines.push(p), text: () => lines.map((l) => `${l.kind}: ${l.text}`).join('\n') };
}
