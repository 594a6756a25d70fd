import { CollabError } from './errors.js';
import { PHASES, type Phase } from './phases.js';

/** Artifact file names inside a session directory: `NN-<phase>[-iterK].md` (same rule as sessionSchema). */
export const ARTIFACT_FILE_PATTERN = /^(\d{2})-(plan|review|implement|validate|pattern)(?:-iter(\d+))?\.md$/;

/** The ledger file name of the `index`-th artifact (1-based): `01-plan.md`, `05-implement-iter2.md`. */
export function artifactFileName(index: number, phase: Phase, iteration: number): string {
  if (!Number.isInteger(index) || index < 1 || index > 99) throw new CollabError('INTERNAL', `artifact index ${index} is outside 1..99`);
  if (!Number.isInteger(iteration) || iteration < 1) throw new CollabError('INTERNAL', `artifact iteration ${iteration} is not a positive integer`);
  if (!PHASES.includes(phase)) throw new CollabError('INTERNAL', `unknown phase ${JSON.stringify(phase)}`);
  // Iteration 1 carries no suffix so a session without loops reads like the seed (01-plan, 02-review, …).
  return `${String(index).padStart(2, '0')}-${phase}${iteration === 1 ? '' : `-iter${iteration}`}.md`;
}

/** True when `name` is a valid artifact file name (and so cannot point outside the session directory). */
export function isArtifactFileName(name: unknown): name is string {
  return typeof name === 'string' && ARTIFACT_FILE_PATTERN.test(name);
}

/** Splits an artifact file name into its parts; undefined when it is not one. */
export function parseArtifactFileName(name: string): { index: number; phase: Phase; iteration: number } | undefined {
  const m = ARTIFACT_FILE_PATTERN.exec(name);
  if (!m) return undefined;
  return { index: Number(m[1]), phase: m[2] as Phase, iteration: m[3] === undefined ? 1 : Number(m[3]) };
}
