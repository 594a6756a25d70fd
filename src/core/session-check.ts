import type { Phase, SessionState, Verdict } from './phases.js';
import type { Session } from './session.js';

/** What the last artifact must be for each state (undefined: no artifact yet). */
const LAST_ARTIFACT: Record<Exclude<SessionState, 'aborted'>, { phase: Phase | undefined; verdicts?: readonly Verdict[] }> = {
  created: { phase: undefined },
  planned: { phase: 'plan' },
  replan: { phase: 'review', verdicts: ['CHANGES_REQUESTED', 'REJECTED'] },
  reviewed: { phase: 'review', verdicts: ['APPROVED', 'CONDITIONAL'] },
  implemented: { phase: 'implement' },
  changes_requested: { phase: 'validate', verdicts: ['CONDITIONAL', 'CHANGES_REQUESTED', 'REJECTED'] },
  validated: { phase: 'validate', verdicts: ['APPROVED'] },
  pattern_extracted: { phase: 'pattern' },
};

/**
 * Checks that a session's state is the one its artifacts lead to, so a hand-edited state can't skip
 * a review or a validation (a "validated pattern" nobody validated would reach every later project).
 * Returns the problem in words, or undefined.
 */
export function sessionInconsistency(s: Session): string | undefined {
  const arts = s.artifacts;
  const last = arts[arts.length - 1];
  // Phases must come in an order the machine allows: a plan first, and each later phase after its inputs.
  const order: Record<Phase, Phase[]> = { plan: [], review: ['plan'], implement: ['review'], validate: ['implement'], pattern: ['validate'] };
  for (let i = 0; i < arts.length; i++) {
    const a = arts[i]!;
    const before = arts.slice(0, i).map((x) => x.phase);
    const missing = order[a.phase].find((p) => !before.includes(p));
    if (missing) return `its ${a.file} (${a.phase}) has no ${missing} artifact before it`;
  }
  if (s.state === 'aborted') return undefined;
  const want = LAST_ARTIFACT[s.state];
  if (want.phase === undefined) return last ? `its state is ${s.state} but it has artifacts (last ${last.file})` : undefined;
  if (!last) return `its state is ${s.state} but it has no artifacts`;
  if (last.phase !== want.phase) return `its state is ${s.state} but its last artifact is ${last.file} (${last.phase})`;
  if (want.verdicts && (!last.verdict || !want.verdicts.includes(last.verdict))) return `its state is ${s.state} but ${last.file} carries the verdict ${last.verdict ?? 'none'}`;
  if (s.status !== undefined && s.status !== last.status) return `its status ${s.status} is not the status of ${last.file} (${last.status})`;
  return undefined;
}
