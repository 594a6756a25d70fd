/** The closed set of failure codes; `src/cli/exit-codes.ts` maps each to exactly one exit code. */
export const ERROR_CODES = [
  'USAGE', // bad arguments, empty task, unknown option
  'INVALID_SESSION_ID', // anything that is not SESSION-YYYYMMDD-XXXXXXXX
  'SESSION_NOT_FOUND', // a well-formed id with no ledger entry
  'NO_CURRENT_SESSION', // no id given and .collab/current names none
  'PHASE_ORDER', // a phase asked for out of order
  'ITERATION_LIMIT', // validate -> implement loop exhausted
  'SESSION_LOCKED', // another collab holds the session
  'CORRUPT_SESSION', // session.json or an artifact file unreadable / fails its schema
  'CONFIG_INVALID', // .collab/config.json fails the config schema
  'LEDGER_UNWRITABLE', // .collab/ cannot be written (permissions, read-only file system, disk full)
  'TEMPLATE_ERROR', // unknown / missing template variable, missing template
  'ARTIFACT_INVALID', // an agent's output that does not parse as the phase's artifact
  'MEMORY_UNAVAILABLE', // memory server cannot start / connect / answer
  'MEMORY_VERIFY_FAILED', // artifact not found on read-back, or found with the wrong hash
  'AGENT_FAILED', // agent process failed (exit, failed turn, no final message)
  'AGENT_TIMEOUT', // agent exceeded its time bound
  'VERDICT_REJECTED', // review/validate said no: the phase ran, the session needs another round
  'INTERRUPTED', // Ctrl-C / SIGTERM
  'NOT_FOUND', // a file or record asked for by the user does not exist
  'INTERNAL', // a bug
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The only error type collab throws on purpose; `message` is one line meant for the user. */
export class CollabError extends Error {
  readonly code: ErrorCode;
  /** One line telling the user what to do next (e.g. the command to run). */
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CollabError';
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
  }
}

/** True for a CollabError (also across bundle chunks, where instanceof may not hold). */
export function isCollabError(err: unknown): err is CollabError {
  return err instanceof CollabError || (typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'CollabError' && typeof (err as { code?: unknown }).code === 'string');
}

/** Wraps anything thrown into a CollabError, keeping CollabErrors as they are. */
export function toCollabError(err: unknown, fallback: ErrorCode = 'INTERNAL'): CollabError {
  if (isCollabError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CollabError(fallback, firstLine(message), { cause: err });
}

/** First non-empty line of a message, so errors stay one line. */
export function firstLine(text: string): string {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '');
  return (line ?? text).trim();
}
