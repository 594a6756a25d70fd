import { parseArtifact } from '../core/artifact.js';
import { assertCanRun, PHASE_ROLE, ROLE_VENDOR, type Phase } from '../core/phases.js';
import type { EngineDeps } from './deps.js';
import { iterationFor } from './naming.js';
import { composeArtifact } from './run-phase.js';

/** Turns a hand-made answer (full artifact, bare body or verdict JSON) into the artifact a waiting manual run will accept. */
export async function composeSubmission(deps: EngineDeps, sessionId: string, phase: Phase, text: string): Promise<string> {
  const session = deps.ledger.load(sessionId);
  assertCanRun(session, phase);
  try {
    parseArtifact(text, { expectSessionId: sessionId, expectPhase: phase });
    return text;
  } catch {
    // not a whole artifact: wrap it like an agent's answer
  }
  const role = PHASE_ROLE[phase];
  const vendor = ROLE_VENDOR[role].toUpperCase();
  const label = { kind: 'manual' as const, displayName: vendor === 'CODEX' ? 'Codex CLI (manual)' : 'Claude Code (manual)', headerAgentFor: () => vendor };
  return composeArtifact(deps, session, phase, iterationFor(session, phase), label, { ok: true, finalMessage: text }, undefined).text;
}
