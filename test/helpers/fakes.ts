import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArtifact } from '../../src/core/artifact.js';
import { parseConfig } from '../../src/core/config.js';
import type { AgentAdapter, AgentProgress, AgentRequest, AgentResult, EngineEvent, MemoryPort, MemoryRecord, StoreResult } from '../../src/core/ports.js';
import type { Phase, Role } from '../../src/core/phases.js';
import { findSessionIds } from '../../src/core/session-id.js';
import type { EngineDeps } from '../../src/engine/deps.js';
import { sha256 } from '../../src/engine/hash.js';
import { FsLedger } from '../../src/ledger/fs-ledger.js';
import { tempDir } from './cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** An in-memory MemoryPort with knobs for the ways real servers misbehave. */
export class FakeMemory implements MemoryPort {
  readonly describe = 'fake memory';
  records: { id: string; text: string; visibleAfter: number }[] = [];
  lookups = 0;
  stores = 0;
  /** Lookups needed before a new write becomes visible (asynchronous stores). */
  delayLookups = 0;
  /** Drop writes entirely. */
  blackhole = false;
  /** Rewrite text on store (a server that summarises). */
  rewrite?: (text: string) => string;

  async store(text: string): Promise<StoreResult> {
    this.stores++;
    const stored = this.rewrite ? this.rewrite(text) : text;
    const existing = this.records.find((r) => r.text === stored);
    if (existing) return { id: existing.id, duplicate: true, raw: 'duplicate' };
    if (this.blackhole) return { raw: 'queued', queued: true };
    const id = String(this.records.length + 1);
    this.records.push({ id, text: stored, visibleAfter: this.lookups + this.delayLookups });
    return { id, raw: `stored ${id}` };
  }

  private visible(): MemoryRecord[] {
    return this.records.filter((r) => this.lookups > r.visibleAfter || this.delayLookups === 0).map((r) => ({ id: r.id, text: r.text, sessionId: findSessionIds(r.text)[0], phase: phaseOf(r.text), sha256: sha256(r.text) }));
  }

  async retrieve(query: string, limit = 10): Promise<MemoryRecord[]> {
    this.lookups++;
    const ids = findSessionIds(query);
    const words = query.toLowerCase().split(/\W+/).filter((w) => w.length > 2);
    return this.visible()
      .filter((r) => (ids.length ? ids.includes(r.sessionId ?? '') : words.some((w) => r.text.toLowerCase().includes(w))))
      .slice(0, limit);
  }

  async lookup(sessionId: string, phase?: Phase): Promise<MemoryRecord[]> {
    this.lookups++;
    return this.visible().filter((r) => r.sessionId === sessionId && (!phase || r.phase === phase));
  }

  async close(): Promise<void> {}
}

function phaseOf(text: string): Phase | undefined {
  try {
    return parseArtifact(text).phase;
  } catch {
    return undefined;
  }
}

/** A scripted agent: answers per phase (and iteration) from a table; records the requests it got. */
export class ScriptedAgent implements AgentAdapter {
  readonly requests: AgentRequest[] = [];
  constructor(
    readonly kind: 'claude' | 'codex',
    readonly script: Partial<Record<Phase, ((req: AgentRequest) => AgentResult | Promise<AgentResult>)[]>>,
  ) {}
  get displayName() {
    return this.kind === 'codex' ? 'Codex CLI' : 'Claude Code';
  }
  async run(req: AgentRequest, onProgress: (p: AgentProgress) => void): Promise<AgentResult> {
    this.requests.push(req);
    onProgress({ kind: 'message', text: `scripted ${req.phase}` });
    const steps = this.script[req.phase] ?? [];
    const step = steps[Math.min(req.iteration, steps.length) - 1];
    if (!step) return { ok: false, finalMessage: '', failure: { reason: 'empty', detail: `no scripted answer for ${req.phase}` } };
    return step(req);
  }
}

/** A verdict answer as a real agent gives it (structured output). */
export function verdictAnswer(verdict: string, score: number, concerns: { severity: string; title: string }[] = []): AgentResult {
  return {
    ok: true,
    finalMessage: '',
    structured: {
      verdict,
      score,
      summary: `Summary: ${verdict}`,
      strengths: ['clear plan'],
      concerns: concerns.map((c) => ({ ...c, detail: `${c.title} detail`, recommendation: `fix ${c.title}` })),
      answers: [{ question: 'Is IP-based identification enough?', answer: 'No: use a hybrid key.' }],
      filesReviewed: ['src/app.js'],
    },
  };
}

/** A markdown answer. */
export function textAnswer(body: string): AgentResult {
  return { ok: true, finalMessage: body };
}

export const PLAN_BODY = '## Proposed Solution\n\nUse express-rate-limit with a Redis store.\n\n## Open Questions for Codex Review\n\n1. **IP-based identification**: Is this sufficient?\n2. **Redis failure handling**: Fail open or closed?\n';

/** Engine deps over a temp ledger, a FakeMemory and scripted agents; events are collected. */
export function fakeDeps(opts: { planner: ScriptedAgent; reviewer: ScriptedAgent; config?: Record<string, unknown>; memory?: FakeMemory }) {
  const dir = tempDir('collab-engine-');
  const ledger = new FsLedger(path.join(dir, '.collab'));
  const memory = opts.memory ?? new FakeMemory();
  const events: EngineEvent[] = [];
  let now = Date.parse('2026-12-03T10:00:00Z');
  const config = parseConfig({ ...opts.config });
  const deps: EngineDeps = {
    ledger,
    memory,
    clock: { now: () => new Date((now += 1000)) },
    config,
    memoryServer: { name: 'byterover-mcp', command: 'node', args: ['collab', 'memory', 'serve'], env: {} },
    sleep: async (ms) => {
      now += ms;
    },
    emit: (e) => events.push(e),
    loadTemplate: (phase, handoff) => readFileSync(path.join(ROOT, 'templates', 'prompts', `${phase}.${handoff}.md`), 'utf8'),
    agentFor: async (role: Role) => (role === 'planner' || role === 'implementer' ? opts.planner : opts.reviewer),
  };
  return { deps, dir, ledger, memory, events };
}
