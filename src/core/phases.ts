import { CollabError } from './errors.js';

/** The five phases, in workflow order. */
export const PHASES = ['plan', 'review', 'implement', 'validate', 'pattern'] as const;
export type Phase = (typeof PHASES)[number];

/** Words agents write for a phase (`Phase: implementation`), lower case. */
export const PHASE_WORDS: Readonly<Record<string, Phase>> = {
  plan: 'plan',
  planning: 'plan',
  review: 'review',
  implement: 'implement',
  implementation: 'implement',
  validate: 'validate',
  validation: 'validate',
  pattern: 'pattern',
};

/** Session states (DESIGN §3). `created` exists only between `collab start` and a plan that succeeded. */
export const STATES = ['created', 'planned', 'replan', 'reviewed', 'implemented', 'changes_requested', 'validated', 'pattern_extracted', 'aborted'] as const;
export type SessionState = (typeof STATES)[number];

/** Verdicts a review or validation can carry. */
export const VERDICTS = ['APPROVED', 'CONDITIONAL', 'CHANGES_REQUESTED', 'REJECTED'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** The seed's artifact statuses. */
export const STATUSES = [
  'AWAITING_CODEX_REVIEW',
  'FEEDBACK_PROVIDED',
  'READY_FOR_CODEX_VALIDATION',
  'VALIDATION_COMPLETE_APPROVED',
  'CHANGES_REQUESTED',
  'PATTERN_EXTRACTED',
] as const;
export type ArtifactStatus = (typeof STATUSES)[number];

/** Which role runs each phase. */
export const PHASE_ROLE = { plan: 'planner', review: 'reviewer', implement: 'implementer', validate: 'validator', pattern: 'planner' } as const;
export type Role = (typeof PHASE_ROLE)[Phase];
export const ROLES = ['planner', 'reviewer', 'implementer', 'validator'] as const;

/** The program that plays each role in the seed workflow (and so the vendor a manual or replayed role stands for). */
export const ROLE_VENDOR: Record<Role, 'claude' | 'codex'> = { planner: 'claude', reviewer: 'codex', implementer: 'claude', validator: 'codex' };

/** The CLI command that runs each phase. */
export const PHASE_COMMAND: Record<Phase, string> = {
  plan: 'collab plan',
  review: 'collab review',
  implement: 'collab implement',
  validate: 'collab validate',
  pattern: 'collab extract-pattern',
};

/** States from which each phase may run. */
const ALLOWED_FROM: Record<Phase, readonly SessionState[]> = {
  plan: ['created', 'replan'],
  review: ['planned'],
  implement: ['reviewed', 'changes_requested'],
  validate: ['implemented'],
  pattern: ['validated'],
};

/** The status an artifact of this phase carries, given its verdict. */
export function statusFor(phase: Phase, verdict?: Verdict): ArtifactStatus {
  switch (phase) {
    case 'plan':
      return 'AWAITING_CODEX_REVIEW';
    case 'review':
      return 'FEEDBACK_PROVIDED';
    case 'implement':
      return 'READY_FOR_CODEX_VALIDATION';
    case 'validate':
      return verdict === 'APPROVED' ? 'VALIDATION_COMPLETE_APPROVED' : 'CHANGES_REQUESTED';
    case 'pattern':
      return 'PATTERN_EXTRACTED';
  }
}

/** What the machine needs to know about a session to decide a transition. */
export interface MachineView {
  state: SessionState;
  /** Implementation round, 1-based (1 = first implement). */
  iteration: number;
  /** Review round, 1-based. */
  reviewRound: number;
  maxIterations: number;
}

/** The phase the session is ready for, or undefined when it is finished or aborted. */
export function nextPhase(state: SessionState): Phase | undefined {
  for (const p of PHASES) if (ALLOWED_FROM[p].includes(state)) return p;
  return undefined;
}

/** The command to run next, for messages ("run `collab review`"). */
export function nextCommand(state: SessionState): string | undefined {
  const p = nextPhase(state);
  return p ? PHASE_COMMAND[p] : undefined;
}

/** Throws PHASE_ORDER / ITERATION_LIMIT when `phase` may not run from this state, naming the command to run instead. */
export function assertCanRun(view: MachineView, phase: Phase): void {
  const err = checkRun(view, phase);
  if (err) throw err;
}

function checkRun(view: MachineView, phase: Phase): CollabError | undefined {
  const { state } = view;
  if (state === 'aborted') return new CollabError('PHASE_ORDER', `cannot ${phaseVerb(phase)}: the session was aborted`, { hint: 'start a new session with `collab start "<task>"`' });
  if (state === 'pattern_extracted') return new CollabError('PHASE_ORDER', `cannot ${phaseVerb(phase)}: the session is complete (pattern extracted)`, { hint: 'run `collab report` to see it, or `collab start "<task>"` for a new one' });
  if (!ALLOWED_FROM[phase].includes(state)) {
    const next = nextCommand(state);
    return new CollabError('PHASE_ORDER', `cannot ${phaseVerb(phase)} now: the session is ${state.replace('_', ' ')}; run \`${next}\` first`, { hint: `run \`${next}\``, details: { state, phase, next } });
  }
  if (phase === 'implement' && state === 'changes_requested' && view.iteration >= view.maxIterations) {
    return new CollabError('ITERATION_LIMIT', `validation asked for changes ${view.iteration} time(s), the limit is maxIterations=${view.maxIterations}`, {
      hint: 'raise it with `collab implement --max-iterations N`, or `collab abort`',
    });
  }
  if (phase === 'plan' && state === 'replan' && view.reviewRound >= view.maxIterations) {
    return new CollabError('ITERATION_LIMIT', `the plan was sent back ${view.reviewRound} time(s), the limit is maxIterations=${view.maxIterations}`, {
      hint: 'raise it with `collab plan --max-iterations N`, or `collab abort`',
    });
  }
  return undefined;
}

/** The state after a phase succeeded with the given verdict (review/validate) — pure. */
export function transition(view: MachineView, phase: Phase, verdict?: Verdict): { state: SessionState; iteration: number; reviewRound: number } {
  assertCanRun(view, phase);
  const { iteration, reviewRound } = view;
  switch (phase) {
    case 'plan':
      return { state: 'planned', iteration, reviewRound: view.state === 'replan' ? reviewRound + 1 : reviewRound };
    case 'review':
      if (verdict === undefined) throw new CollabError('ARTIFACT_INVALID', 'a review must carry a verdict');
      return { state: verdict === 'APPROVED' || verdict === 'CONDITIONAL' ? 'reviewed' : 'replan', iteration, reviewRound };
    case 'implement':
      return { state: 'implemented', iteration: view.state === 'changes_requested' ? iteration + 1 : iteration, reviewRound };
    case 'validate':
      if (verdict === undefined) throw new CollabError('ARTIFACT_INVALID', 'a validation must carry a verdict');
      return { state: verdict === 'APPROVED' ? 'validated' : 'changes_requested', iteration, reviewRound };
    case 'pattern':
      return { state: 'pattern_extracted', iteration, reviewRound };
  }
}

/** `abort` is allowed from anywhere except a finished session. */
export function canAbort(state: SessionState): boolean {
  return state !== 'aborted' && state !== 'pattern_extracted';
}

function phaseVerb(phase: Phase): string {
  return phase === 'pattern' ? 'extract a pattern' : phase;
}
