/** Builds AgentRequests for the adapter tests. */
import type { AgentRequest, MemoryServerSpec } from '../../src/core/ports.js';

/** The memory server spec the pure tests use. */
export const MEMORY: MemoryServerSpec = { name: 'byterover-mcp', command: '/usr/bin/node', args: ['/opt/collab/bin/collab.js', 'memory', 'serve', '--db', '/data/memory.db'], env: {} };

/** A tiny strict schema in the verdict's form. */
export const SMALL_SCHEMA: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['verdict', 'score'],
  properties: { verdict: { type: 'string', enum: ['APPROVED', 'REJECTED'] }, score: { type: 'number', minimum: 0, maximum: 10 } },
};

/** A request with sensible defaults; `over` wins. */
export function makeRequest(over: Partial<AgentRequest> = {}): AgentRequest {
  return {
    sessionId: 'SESSION-20260101-ABCDEFGH',
    phase: 'review',
    role: 'reviewer',
    iteration: 1,
    handoff: 'direct',
    prompt: 'Review the plan.',
    cwd: '/work/project',
    logDir: '/work/project/.collab/sessions/SESSION-20260101-ABCDEFGH/logs',
    memoryServer: MEMORY,
    extraArgs: [],
    timeoutMs: 60_000,
    idleTimeoutMs: 30_000,
    ...over,
  };
}
