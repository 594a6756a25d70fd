import type { CollabConfig } from '../core/config.js';
import type { HandoffMode } from '../core/ports.js';
import type { AgentAdapter, AgentKind, Clock, EmitFn, MemoryPort, MemoryServerSpec } from '../core/ports.js';
import type { Phase, Role } from '../core/phases.js';
import type { LedgerPort } from '../core/session.js';

/** Everything the engine talks to; built in src/cli, faked in tests. */
export interface EngineDeps {
  ledger: LedgerPort;
  memory: MemoryPort;
  /** The adapter for a role (`kind` overrides the configured one). */
  agentFor(role: Role, kind?: AgentKind): Promise<AgentAdapter>;
  /** Template text for a phase and handoff mode (user overrides already applied). */
  loadTemplate(phase: Phase, handoff: HandoffMode): string;
  clock: Clock;
  emit: EmitFn;
  config: CollabConfig;
  memoryServer: MemoryServerSpec;
  /** Waits between read-back polls; injected so tests need no real sleeps. */
  sleep(ms: number): Promise<void>;
  /** Workload checklist text for the prompts ('' when none applies). */
  workloadChecklist?(workDir: string, task: string): string;
  signal?: AbortSignal;
}
