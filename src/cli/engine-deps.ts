import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CollabError } from '../core/errors.js';
import { parseVerdict } from '../core/verdict.js';
import type { Phase, Role } from '../core/phases.js';
import type { AgentAdapter, AgentKind, EngineEvent, HandoffMode, MemoryPort } from '../core/ports.js';
import type { EngineDeps } from '../engine/deps.js';
import type { CliContext } from './context.js';
import { createEventRenderer } from './render-events.js';

/** Default replay cassette: the reference workload's. */
export function defaultCassette(packageRoot: string): string {
  return path.join(packageRoot, 'templates', 'workloads', 'rate-limiting', 'cassette');
}

/** Builds the engine's dependencies for a command (memory already connected). */
export function buildEngineDeps(ctx: CliContext, memory: MemoryPort, opts: { cassette?: string; signal?: AbortSignal } = {}): EngineDeps {
  const render = createEventRenderer(ctx.out);
  const killAt = ctx.env.COLLAB_TEST_KILL_AT;
  const adapters = new Map<string, Promise<AgentAdapter>>();
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  const deps: EngineDeps = {
    ledger: ctx.ledger,
    memory,
    clock: ctx.clock,
    config: ctx.config,
    memoryServer: ctx.memoryServerSpec(),
    sleep,
    ...(opts.signal ? { signal: opts.signal } : {}),
    emit: (e: EngineEvent) => {
      // Crash-test hook: die like `kill -9` at a named point, so tests can prove resume without timing games.
      if (killAt && 'phase' in e && killAt === `${e.phase}:${e.type === 'phase.step' ? e.step : e.type}`) process.kill(process.pid, 'SIGKILL');
      if (e.type !== 'agent.progress') {
        try {
          ctx.ledger.appendEvent(e.sessionId, e as unknown as Record<string, unknown>);
        } catch {
          // the event log is best effort; the session file is the record
        }
      }
      render(e);
    },
    loadTemplate: (phase: Phase, handoff: HandoffMode) => loadTemplate(ctx, phase, handoff),
    workloadChecklist: (workDir: string, task: string) => workloadChecklist(ctx.packageRoot, workDir, task),
    agentFor: (role: Role, kind?: AgentKind) => {
      const k = kind ?? (ctx.config.roles[role].agent as AgentKind);
      const key = `${role}:${k}`;
      let a = adapters.get(key);
      if (!a) {
        a = makeAdapter(ctx, memory, role, k, opts.cassette, sleep);
        adapters.set(key, a);
      }
      return a;
    },
  };
  return deps;
}

async function makeAdapter(ctx: CliContext, memory: MemoryPort, role: Role, kind: AgentKind, cassette: string | undefined, sleep: (ms: number) => Promise<void>): Promise<AgentAdapter> {
  // Each adapter module loads only when a role uses it.
  switch (kind) {
    case 'replay': {
      const dir = path.resolve(ctx.cwd, cassette ?? ctx.config.replay.cassette ?? defaultCassette(ctx.packageRoot));
      return (await import('../agents/replay.js')).createReplayAdapter({ cassetteDir: dir, role });
    }
    case 'manual':
      return (await import('../agents/manual.js')).createManualAdapter({ role, memory, clock: ctx.clock, sleep, waitSec: ctx.config.manual.waitSec });
    case 'codex': {
      const { createCodexAdapter } = await import('../agents/codex.js');
      const { createProcessRunner } = await import('../process/runner.js');
      return createCodexAdapter({ runner: createProcessRunner(), validate: validateVerdict });
    }
    case 'claude': {
      const { createClaudeAdapter } = await import('../agents/claude.js');
      const { createProcessRunner } = await import('../process/runner.js');
      return createClaudeAdapter({ runner: createProcessRunner(), validate: validateVerdict });
    }
    default:
      throw new CollabError('USAGE', `unknown agent "${String(kind)}": use claude, codex, manual or replay`);
  }
}

/** Structured answers (review / validate) must satisfy the verdict contract, not only the JSON schema. */
function validateVerdict(value: unknown): void {
  parseVerdict(value);
}

/** Prompt template: `.collab/templates/<phase>.<mode>.md` overrides the packaged one. */
export function loadTemplate(ctx: CliContext, phase: Phase, handoff: HandoffMode): string {
  const name = `${phase}.${handoff}.md`;
  const override = path.join(ctx.cwd, '.collab', 'templates', name);
  const file = existsSync(override) ? override : path.join(ctx.packageRoot, 'templates', 'prompts', name);
  if (!existsSync(file)) throw new CollabError('TEMPLATE_ERROR', `prompt template ${name} not found (looked in .collab/templates/ and ${path.dirname(file)})`);
  return readFileSync(file, 'utf8');
}

/** The rate-limiting checklist, filled from the app's package.json, when the task or the app is about rate limiting. */
export function workloadChecklist(packageRoot: string, workDir: string, task: string): string {
  const file = path.join(packageRoot, 'templates', 'workloads', 'rate-limiting', 'checklist.md');
  if (!existsSync(file)) return '';
  let deps: Record<string, string> = {};
  try {
    const pkg = JSON.parse(readFileSync(path.join(workDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    deps = { ...pkg.devDependencies, ...pkg.dependencies };
  } catch {
    // no package.json: versions are unknown
  }
  if (!/rate.?limit/i.test(task) && !deps['express-rate-limit']) return '';
  const v = (name: string) => deps[name] ?? 'not installed';
  return readFileSync(file, 'utf8').replace(/\{\{\s*(\w+)Version\s*\}\}/g, (_m, n: string) => {
    const names: Record<string, string> = { express: 'express', expressRateLimit: 'express-rate-limit', rateLimitRedis: 'rate-limit-redis', redis: 'redis' };
    return v(names[n] ?? n);
  });
}
