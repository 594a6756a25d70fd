import { describe, expect, it } from 'vitest';
import type { ArtifactEntry, Session } from '../../src/core/session.js';
import { sessionInconsistency } from '../../src/core/session-check.js';

const art = (file: string, phase: ArtifactEntry['phase'], status: ArtifactEntry['status'], verdict?: ArtifactEntry['verdict']): ArtifactEntry => ({
  phase,
  iteration: 1,
  file,
  sha256: 'a'.repeat(64),
  status,
  ...(verdict ? { verdict } : {}),
  agent: 'x',
  title: 't',
  createdAt: '2026-12-03T10:00:00Z',
});
const PLAN = art('01-plan.md', 'plan', 'AWAITING_CODEX_REVIEW');
const REVIEW_OK = art('02-review.md', 'review', 'FEEDBACK_PROVIDED', 'CONDITIONAL');
const REVIEW_NO = art('02-review.md', 'review', 'FEEDBACK_PROVIDED', 'REJECTED');
const IMPL = art('03-implement.md', 'implement', 'READY_FOR_CODEX_VALIDATION');
const VAL_OK = art('04-validate.md', 'validate', 'VALIDATION_COMPLETE_APPROVED', 'APPROVED');
const VAL_NO = art('04-validate.md', 'validate', 'CHANGES_REQUESTED', 'CHANGES_REQUESTED');
const PATTERN = art('05-pattern.md', 'pattern', 'PATTERN_EXTRACTED');

const session = (state: Session['state'], artifacts: ArtifactEntry[]): Session =>
  ({ version: 1, id: 'SESSION-20261203-AAAAAAAA', task: 't', title: 't', createdAt: '', updatedAt: '', state, status: artifacts.at(-1)?.status, iteration: 1, reviewRound: 1, maxIterations: 3, handoff: 'direct', workDir: '/w', agents: {}, artifacts, history: [], patternsUsed: [] }) as Session;

describe('a session state must be what its artifacts lead to', () => {
  it.each<[Session['state'], ArtifactEntry[], RegExp | undefined]>([
    ['created', [], undefined],
    ['planned', [PLAN], undefined],
    ['reviewed', [PLAN, REVIEW_OK], undefined],
    ['replan', [PLAN, REVIEW_NO], undefined],
    ['implemented', [PLAN, REVIEW_OK, IMPL], undefined],
    ['changes_requested', [PLAN, REVIEW_OK, IMPL, VAL_NO], undefined],
    ['validated', [PLAN, REVIEW_OK, IMPL, VAL_OK], undefined],
    ['pattern_extracted', [PLAN, REVIEW_OK, IMPL, VAL_OK, PATTERN], undefined],
    ['aborted', [PLAN], undefined],
    ['validated', [PLAN], /state is validated but its last artifact is 01-plan.md/],
    ['planned', [], /no artifacts/],
    ['created', [PLAN], /has artifacts/],
    ['reviewed', [PLAN, REVIEW_NO], /verdict REJECTED/],
    ['validated', [PLAN, REVIEW_OK, IMPL, VAL_NO], /verdict CHANGES_REQUESTED/],
    ['pattern_extracted', [PLAN, PATTERN], /no validate artifact before it/],
    ['aborted', [PATTERN], /no validate artifact before it/],
  ])('%s with %j', (state, artifacts, problem) => {
    const r = sessionInconsistency(session(state, artifacts));
    if (problem) expect(r).toMatch(problem);
    else expect(r).toBeUndefined();
  });

  it('the status must be the last artifact\'s', () => {
    expect(sessionInconsistency({ ...session('planned', [PLAN]), status: 'PATTERN_EXTRACTED' })).toMatch(/status PATTERN_EXTRACTED/);
  });
});
