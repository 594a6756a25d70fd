import { z } from 'zod';
import { PHASES, STATES, STATUSES, VERDICTS } from './phases.js';
import { SESSION_ID_PATTERN } from './session-id.js';

const sessionIdSchema = z.string().regex(new RegExp(`^${SESSION_ID_PATTERN}$`), 'invalid session id');

/** One artifact the session produced, as recorded in session.json. */
export const artifactEntrySchema = z.object({
  phase: z.enum(PHASES),
  iteration: z.number().int().min(1),
  /** File name inside the session directory, e.g. `03-implement.md`, `05-implement-iter2.md`. */
  file: z.string().regex(/^\d{2}-(plan|review|implement|validate|pattern)(-iter\d+)?\.md$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  status: z.enum(STATUSES),
  verdict: z.enum(VERDICTS).optional(),
  score: z.number().optional(),
  agent: z.string(),
  title: z.string(),
  memoryId: z.string().optional(),
  storedAt: z.string().optional(),
  verifiedAt: z.string().optional(),
  /** True while the artifact is only in the ledger: memory was down or never showed it (`collab memory sync` replays it). */
  outbox: z.boolean().optional(),
  createdAt: z.string(),
});
export type ArtifactEntry = z.infer<typeof artifactEntrySchema>;

/** One attempt at a phase, kept for the report's timeline. */
export const historyEntrySchema = z.object({
  phase: z.enum(PHASES),
  iteration: z.number().int().min(1),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  outcome: z.enum(['ok', 'failed', 'interrupted']).optional(),
  error: z.string().optional(),
  agent: z.string().optional(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

/** session.json: the whole persistent state of one session. */
export const sessionSchema = z.object({
  version: z.literal(1),
  id: sessionIdSchema,
  task: z.string().min(1),
  title: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  state: z.enum(STATES),
  status: z.enum(STATUSES).optional(),
  /** Implementation round, 1-based. */
  iteration: z.number().int().min(1),
  /** Review round, 1-based. */
  reviewRound: z.number().int().min(1),
  maxIterations: z.number().int().min(1),
  handoff: z.enum(['direct', 'memory']),
  /** Directory the agents work in. */
  workDir: z.string(),
  /** Agent kind per role at creation (config may change later ones). */
  agents: z.record(z.string(), z.string()),
  artifacts: z.array(artifactEntrySchema),
  history: z.array(historyEntrySchema),
  /** An artifact written to the ledger but not yet confirmed in memory / in state (crash recovery). */
  pending: artifactEntrySchema.optional(),
  lastError: z
    .object({ phase: z.enum(PHASES), code: z.string(), message: z.string(), at: z.string() })
    .optional(),
  /** Pattern records the planner was given at start (memory ids or titles). */
  patternsUsed: z.array(z.string()).default([]),
});
export type Session = z.infer<typeof sessionSchema>;

/** The local ledger `.collab/` (src/ledger implements it). */
export interface LedgerPort {
  /** Absolute path of `.collab/`. */
  readonly root: string;
  exists(id: string): boolean;
  /** Reads and validates session.json; CORRUPT_SESSION / SESSION_NOT_FOUND otherwise. */
  load(id: string): Session;
  /** Creates the session directory and session.json; fails if it exists. */
  create(session: Session): void;
  /** Atomic replace of session.json. */
  save(session: Session): void;
  /** Writes an artifact file atomically; returns its path. */
  writeArtifact(id: string, file: string, text: string): string;
  readArtifact(id: string, file: string): string;
  artifactPath(id: string, file: string): string;
  /** Appends one JSON line to events.jsonl. */
  appendEvent(id: string, event: Record<string, unknown>): void;
  /** Reads events.jsonl (a truncated last line from a crash is skipped). */
  readEvents(id: string): Record<string, unknown>[];
  logDir(id: string): string;
  /** Takes the session lock (stale locks of dead processes are taken over); SESSION_LOCKED otherwise. */
  lock(id: string): { release(): void };
  /** Ids of all sessions, oldest first. */
  list(): string[];
  current(): string | undefined;
  setCurrent(id: string): void;
}
