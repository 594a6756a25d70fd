import { nextPhase } from '../core/phases.js';
import type { EngineDeps } from './deps.js';
import { runPhase, type PhaseOptions, type PhaseOutcome } from './run-phase.js';

/** Runs phases until the session is finished (pattern extracted); loops are capped by the phase machine. */
export async function runSession(deps: EngineDeps, sessionId: string, opts: Omit<PhaseOptions, 'dryRun' | 'provided'> & { onPhase?: (o: PhaseOutcome) => void; firstPlan?: PhaseOptions['provided'] } = {}): Promise<PhaseOutcome[]> {
  const outcomes: PhaseOutcome[] = [];
  let first = true;
  for (;;) {
    const session = deps.ledger.load(sessionId);
    const phase = nextPhase(session.state);
    if (!phase) return outcomes;
    const provided = first && phase === 'plan' ? opts.firstPlan : undefined;
    first = false;
    const outcome = (await runPhase(deps, sessionId, phase, { ...opts, ...(provided ? { provided } : {}) })) as PhaseOutcome;
    outcomes.push(outcome);
    opts.onPhase?.(outcome);
  }
}
