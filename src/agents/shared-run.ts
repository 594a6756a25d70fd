/**
 * The run side shared by the real-agent adapters: the invocation shape their pure builders return,
 * writing its files, and turning a judged outcome into an AgentResult.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AgentRequest, AgentResult, ProcessRunner, RunResult } from '../core/ports.js';
import type { AgentOutcome, OutcomeRules } from './shared-outcome.js';

/** Everything `run` needs to start one agent process; pure data. */
export interface AgentInvocation {
  command: string;
  args: string[];
  /** Overrides of the inherited environment (what --dry-run shows). */
  env: Record<string, string | undefined>;
  /** Files to write before starting (output schema, MCP config), all under the request's logDir. */
  files: { path: string; content: string }[];
  stdoutFile: string;
  stderrFile: string;
  /** codex `-o`: where the final message lands. */
  lastMessageFile?: string;
}

/** The rules a request is judged by. */
export function rulesFor(req: AgentRequest, opts: { validate?: (v: unknown) => void }, requireMemory: boolean): OutcomeRules {
  return {
    phase: req.phase,
    ...(req.outputSchema ? { schema: req.outputSchema } : {}),
    ...(opts.validate ? { validate: opts.validate } : {}),
    memoryServer: req.memoryServer.name,
    requireMemory,
    cwd: req.cwd,
    timeoutMs: req.timeoutMs,
    idleTimeoutMs: req.idleTimeoutMs,
  };
}

/** Writes the invocation's files and removes a stale final message a previous attempt left. */
export function prepareFiles(inv: AgentInvocation): void {
  for (const f of [...inv.files.map((f) => f.path), inv.stdoutFile, inv.stderrFile]) mkdirSync(path.dirname(f), { recursive: true });
  for (const f of inv.files) writeFileSync(f.path, f.content);
  // A failed attempt writes nothing to -o; an old success must not be read as this attempt's answer.
  if (inv.lastMessageFile) rmSync(inv.lastMessageFile, { force: true });
}

/** AgentResult from an outcome and the run's bookkeeping. */
export function toResult(outcome: AgentOutcome, inv: AgentInvocation, pids: number[], pid: number | undefined, durationMs: number): AgentResult {
  const allPids = pid !== undefined && !pids.includes(pid) ? [...pids, pid] : pids;
  return {
    ok: outcome.ok,
    finalMessage: outcome.finalMessage,
    ...(outcome.structured !== undefined ? { structured: outcome.structured } : {}),
    ...(outcome.failure ? { failure: outcome.failure } : {}),
    ...(outcome.usage ? { usage: outcome.usage } : {}),
    ...(outcome.filesChanged ? { filesChanged: outcome.filesChanged } : {}),
    pids: allPids,
    command: [inv.command, ...inv.args],
    rawLogPath: inv.stdoutFile,
    durationMs,
  };
}

/** The env overrides as shown to a user (removals as empty strings would mislead; they are left out). */
export function definedEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}


/** Starts the agent process of an invocation (prompt on stdin), collecting stdout lines and the pids it spawned. */
export async function runInvocation(
  runner: ProcessRunner,
  inv: AgentInvocation,
  req: AgentRequest,
  opts: { killGraceMs?: number; signal?: AbortSignal; onLine: (line: string) => void },
): Promise<{ result: RunResult; lines: string[]; pids: number[] }> {
  prepareFiles(inv);
  const lines: string[] = [];
  const pids: number[] = [];
  const result = await runner.run({
    command: inv.command,
    args: inv.args,
    cwd: req.cwd,
    env: inv.env,
    input: req.prompt,
    timeoutMs: req.timeoutMs,
    idleTimeoutMs: req.idleTimeoutMs,
    ...(opts.killGraceMs !== undefined ? { killGraceMs: opts.killGraceMs } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    stdoutFile: inv.stdoutFile,
    stderrFile: inv.stderrFile,
    onSpawn: (pid) => pids.push(pid),
    onStdoutLine: (line) => {
      lines.push(line);
      opts.onLine(line);
    },
  });
  return { result, lines, pids };
}
