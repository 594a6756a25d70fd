import { artifactFileName } from '../core/artifact-file-name.js';
import type { Phase, Role } from '../core/phases.js';
import type { AgentAdapter } from '../core/ports.js';
import type { Session } from '../core/session.js';

/** The round a phase run belongs to: review rounds for plan/review, implementation rounds for the rest. */
export function iterationFor(session: Session, phase: Phase): number {
  switch (phase) {
    case 'plan':
      return session.state === 'replan' ? session.reviewRound + 1 : session.reviewRound;
    case 'review':
      return session.reviewRound;
    case 'implement':
      return session.state === 'changes_requested' ? session.iteration + 1 : session.iteration;
    case 'validate':
      return session.iteration;
    case 'pattern':
      // One pattern per session, whatever the number of rounds before it.
      return 1;
  }
}

/** File name for the artifact this phase run will write. */
export function plannedFile(session: Session, phase: Phase, iteration: number): string {
  return artifactFileName(session.artifacts.length + 1, phase, iteration);
}

/** The vendor word in artifact headers (CLAUDE PLAN, CODEX REVIEW). */
export function headerAgentFor(adapter: Pick<AgentAdapter, 'kind' | 'headerAgentFor'>, role: Role): string {
  if (adapter.headerAgentFor) return adapter.headerAgentFor(role);
  return adapter.kind.toUpperCase();
}

/** Artifact titles in the seed's style. */
export function artifactTitle(session: Session, phase: Phase, iteration: number): string {
  const t = session.title;
  const round = iteration > 1 ? ` (iteration ${iteration})` : '';
  switch (phase) {
    case 'plan':
      return `${t}${round}`;
    case 'review':
      return `${t} Plan${round}`;
    case 'implement':
      return `${t}${round}`;
    case 'validate':
      return `Implementation Quality${round}`;
    case 'pattern':
      return t;
  }
}

/** A title from a task line: first letter up, trimmed to one line. */
export function titleFromTask(task: string): string {
  const one = task.replace(/\s+/g, ' ').trim();
  const short = one.length > 80 ? `${one.slice(0, 77)}…` : one;
  return short.charAt(0).toUpperCase() + short.slice(1);
}
