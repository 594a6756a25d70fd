import { describe, expect, it } from 'vitest';
import { assertCanRun, canAbort, nextCommand, nextPhase, PHASES, STATES, statusFor, transition, VERDICTS, type MachineView, type Phase, type SessionState } from '../../src/core/phases.js';

const view = (state: SessionState, over: Partial<MachineView> = {}): MachineView => ({ state, iteration: 1, reviewRound: 1, maxIterations: 3, ...over });

/** The whole legal table: every other (state, phase) pair must be refused. */
const LEGAL: Record<SessionState, Phase[]> = {
  created: ['plan'],
  planned: ['review'],
  replan: ['plan'],
  reviewed: ['implement'],
  implemented: ['validate'],
  changes_requested: ['implement'],
  validated: ['pattern'],
  pattern_extracted: [],
  aborted: [],
};

describe('phase machine', () => {
  for (const state of STATES) {
    for (const phase of PHASES) {
      const legal = LEGAL[state].includes(phase);
      it(`${state} + ${phase} → ${legal ? 'allowed' : 'refused'}`, () => {
        if (legal) expect(() => assertCanRun(view(state), phase)).not.toThrow();
        else {
          let err: unknown;
          try {
            assertCanRun(view(state), phase);
          } catch (e) {
            err = e;
          }
          expect(err).toMatchObject({ code: 'PHASE_ORDER' });
          const next = nextCommand(state);
          if (next) expect((err as Error).message).toContain(`run \`${next}\``);
        }
      });
    }
  }

  it.each<[SessionState, Phase, string | undefined, SessionState]>([
    ['created', 'plan', undefined, 'planned'],
    ['planned', 'review', 'APPROVED', 'reviewed'],
    ['planned', 'review', 'CONDITIONAL', 'reviewed'],
    ['planned', 'review', 'CHANGES_REQUESTED', 'replan'],
    ['planned', 'review', 'REJECTED', 'replan'],
    ['replan', 'plan', undefined, 'planned'],
    ['reviewed', 'implement', undefined, 'implemented'],
    ['implemented', 'validate', 'APPROVED', 'validated'],
    ['implemented', 'validate', 'CONDITIONAL', 'changes_requested'],
    ['implemented', 'validate', 'CHANGES_REQUESTED', 'changes_requested'],
    ['implemented', 'validate', 'REJECTED', 'changes_requested'],
    ['changes_requested', 'implement', undefined, 'implemented'],
    ['validated', 'pattern', undefined, 'pattern_extracted'],
  ])('%s + %s (%s) → %s', (state, phase, verdict, to) => {
    expect(transition(view(state), phase, verdict as never).state).toBe(to);
  });

  it('counts rounds: re-plan bumps the review round, re-implement the iteration', () => {
    expect(transition(view('replan'), 'plan')).toMatchObject({ reviewRound: 2, iteration: 1 });
    expect(transition(view('changes_requested'), 'implement')).toMatchObject({ iteration: 2 });
    expect(transition(view('reviewed'), 'implement')).toMatchObject({ iteration: 1 });
  });

  it('caps the validate → implement loop at maxIterations', () => {
    expect(() => assertCanRun(view('changes_requested', { iteration: 2 }), 'implement')).not.toThrow();
    expect(() => assertCanRun(view('changes_requested', { iteration: 3 }), 'implement')).toThrow(expect.objectContaining({ code: 'ITERATION_LIMIT' }));
    expect(() => assertCanRun(view('changes_requested', { iteration: 3, maxIterations: 4 }), 'implement')).not.toThrow();
    expect(() => assertCanRun(view('replan', { reviewRound: 3 }), 'plan')).toThrow(expect.objectContaining({ code: 'ITERATION_LIMIT' }));
  });

  it('review and validate need a verdict', () => {
    expect(() => transition(view('planned'), 'review')).toThrow(/verdict/);
    expect(() => transition(view('implemented'), 'validate')).toThrow(/verdict/);
  });

  it('statuses are the seed\'s', () => {
    expect(PHASES.map((p) => statusFor(p, 'APPROVED'))).toEqual(['AWAITING_CODEX_REVIEW', 'FEEDBACK_PROVIDED', 'READY_FOR_CODEX_VALIDATION', 'VALIDATION_COMPLETE_APPROVED', 'PATTERN_EXTRACTED']);
    for (const v of VERDICTS.filter((v) => v !== 'APPROVED')) expect(statusFor('validate', v)).toBe('CHANGES_REQUESTED');
  });

  it('next phase / command and abort', () => {
    expect(nextPhase('created')).toBe('plan');
    expect(nextCommand('validated')).toBe('collab extract-pattern');
    expect(nextPhase('pattern_extracted')).toBeUndefined();
    expect(canAbort('planned')).toBe(true);
    expect(canAbort('aborted')).toBe(false);
    expect(canAbort('pattern_extracted')).toBe(false);
  });
});
