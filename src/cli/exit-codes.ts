import type { ErrorCode } from '../core/errors.js';

/** The one table from error code to exit code (documented in README "Exit codes"). */
export const EXIT_CODES: Record<ErrorCode | 'OK', number> = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  INVALID_SESSION_ID: 3,
  SESSION_NOT_FOUND: 3,
  NO_CURRENT_SESSION: 3,
  NOT_FOUND: 3,
  PHASE_ORDER: 4,
  ITERATION_LIMIT: 4,
  SESSION_LOCKED: 5,
  CORRUPT_SESSION: 6,
  CONFIG_INVALID: 6,
  LEDGER_UNWRITABLE: 6,
  TEMPLATE_ERROR: 6,
  MEMORY_UNAVAILABLE: 7,
  MEMORY_VERIFY_FAILED: 7,
  AGENT_FAILED: 8,
  AGENT_TIMEOUT: 8,
  ARTIFACT_INVALID: 8,
  VERDICT_REJECTED: 9,
  INTERRUPTED: 130,
};

/** Maps an error code to the process exit code. */
export function exitCodeFor(code: ErrorCode): number {
  return EXIT_CODES[code] ?? 1;
}
