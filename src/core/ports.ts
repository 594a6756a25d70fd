/**
 * Ports: the interfaces of everything with side effects. The engine talks only to these;
 * `src/cli` builds the real implementations, tests hand in fakes.
 */
import type { ArtifactStatus, Phase, Role, Verdict } from './phases.js';

// ---------------------------------------------------------------- memory

/** One record as a memory server gives it back. */
export interface MemoryRecord {
  /** Server-side id when the server reports one. */
  id?: string;
  text: string;
  /** Filled by the embedded server's exact lookup; for others, parsed from the text. */
  sessionId?: string;
  phase?: Phase;
  sha256?: string;
  createdAt?: string;
  score?: number;
}

export interface StoreResult {
  /** Server-side id when known. */
  id?: string;
  /** True when the server already had identical content. */
  duplicate?: boolean;
  /** True when the server said the write is queued (asynchronous store). */
  queued?: boolean;
  /** The server's estimate of when a queued write becomes readable ("Estimated time: 25s"), in seconds. */
  estimatedSeconds?: number;
  /** The server's answer, verbatim. */
  raw: string;
}

/** collab's view of a memory server (always reached over MCP). */
export interface MemoryPort {
  /** `byterover-store-knowledge {messages}`. */
  store(text: string): Promise<StoreResult>;
  /** `byterover-retrieve-knowledge {query, limit}`. */
  retrieve(query: string, limit?: number): Promise<MemoryRecord[]>;
  /** Exact lookup of a session's artifacts (optionally one phase); falls back to retrieve on servers without it. */
  lookup(sessionId: string, phase?: Phase): Promise<MemoryRecord[]>;
  /**
   * Finds the stored artifact of `phase` in `sessionId`: first by content hash (`exact: true`); on
   * servers that rewrite or summarise what they store, by session id + phase (+ `marker`, a text
   * such as the header's title that must still appear, compared case- and whitespace-insensitively)
   * with `exact: false`. `foreignIgnored` counts the other sessions' results this call dropped.
   */
  findArtifact?(sessionId: string, phase: Phase, sha256: string, marker?: string): Promise<FoundArtifact | undefined>;
  /** Running total of results from other sessions (or none) that lookups ignored. */
  readonly foreignIgnored?: number;
  /** Counts, sizes, dates. */
  stats?(): Promise<MemoryStats>;
  /** Tool names the server offers (tools/list). */
  tools?(): Promise<string[]>;
  close(): Promise<void>;
  /** Human description ("embedded sqlite /path/memory.db"). */
  readonly describe: string;
  /** True when the server is not on this machine (text stored there is redacted first). */
  readonly remote?: boolean;
}

/** What findArtifact found. */
export interface FoundArtifact {
  record: MemoryRecord;
  /** True when the record's text hashes to the sha256 asked for; false when matched by session + phase (+ marker). */
  exact: boolean;
  /** Results from other sessions (or without one) this call ignored. */
  foreignIgnored: number;
}

export interface MemoryStats {
  records: number;
  sessions: number;
  patterns: number;
  bytes: number;
  oldest?: string;
  newest?: string;
  byPhase: Record<string, number>;
  dbPath?: string;
}

/** How an agent reaches the memory server: a stdio command it starts itself, or (with `url`) a Streamable HTTP endpoint. */
export interface MemoryServerSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Set for http / byterover memory profiles: the agent connects here instead of starting `command`. */
  url?: string;
  /** Environment variable holding the bearer token for `url` (the token itself never goes on a command line). */
  bearerTokenEnv?: string;
}

// ---------------------------------------------------------------- agents

export type AgentKind = 'claude' | 'codex' | 'manual' | 'replay';
export type HandoffMode = 'direct' | 'memory';

/** Everything an adapter needs to run one phase. Built by the engine. */
export interface AgentRequest {
  sessionId: string;
  phase: Phase;
  role: Role;
  iteration: number;
  handoff: HandoffMode;
  /** The rendered prompt (goes to the agent's stdin for real agents). */
  prompt: string;
  /** The working directory the agent acts in (the user's project). */
  cwd: string;
  /** Where the adapter may write raw output (ledger `logs/`). */
  logDir: string;
  /** JSON schema of the structured answer wanted (review / validate), if any. */
  outputSchema?: Record<string, unknown>;
  /** The memory server the agent should be given. */
  memoryServer: MemoryServerSpec;
  /** Model and extra args from config for this role. */
  model?: string;
  extraArgs: string[];
  timeoutMs: number;
  idleTimeoutMs: number;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
}

/** Live progress from an agent (one line each in the CLI). */
export interface AgentProgress {
  kind: 'tool' | 'command' | 'message' | 'usage' | 'info' | 'warning';
  text: string;
}

export interface AgentUsage {
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  costUsd?: number;
}

/** The outcome of one agent run; failure is data, not an exception. */
export interface AgentResult {
  ok: boolean;
  /** The agent's final message (the artifact body, or the whole artifact). */
  finalMessage: string;
  /** Structured answer (verdict JSON) when the agent produced one. */
  structured?: unknown;
  /** Set when ok is false: which success condition broke. */
  failure?: { reason: 'exit' | 'turn' | 'error-event' | 'refused-tool' | 'empty' | 'unparseable' | 'timeout' | 'idle' | 'interrupted' | 'spawn'; detail: string };
  usage?: AgentUsage;
  pids?: number[];
  /** The command line that ran (for events and --dry-run). */
  command?: string[];
  rawLogPath?: string;
  /** Files the agent wrote (implement). */
  filesChanged?: string[];
  /** True when this was not a real model (replay), so the CLI can say so. */
  replay?: boolean;
  /** Set by `manual` when the artifact came through memory: the agent already stored it. */
  storedByAgent?: boolean;
  durationMs?: number;
}

/** One agent implementation. */
export interface AgentAdapter {
  readonly kind: AgentKind;
  /** Display name used in artifact trailers ("Claude Code", "Codex CLI"). */
  readonly displayName: string;
  run(req: AgentRequest, onProgress: (p: AgentProgress) => void): Promise<AgentResult>;
  /** The exact command line and environment that `run` would use (for --dry-run). */
  describe?(req: AgentRequest): { command: string[]; env: Record<string, string> };
  /** The vendor word for artifact headers ("CLAUDE", "CODEX") when it is not simply the adapter's kind (replay, manual). */
  headerAgentFor?(role: Role): string;
}

// ---------------------------------------------------------------- parsed artifacts

/** What the one parser extracts from an artifact. */
export interface ParsedArtifact {
  sessionId: string;
  phase: Phase;
  /** Header kind as written ("CLAUDE PLAN", "CODEX REVIEW", "IMPLEMENTATION COMPLETE", ...). */
  kind: string;
  title: string;
  status?: ArtifactStatus;
  verdict?: Verdict;
  score?: number;
  agent?: string;
  iteration?: number;
  timestamp?: string;
  /** Open questions found in a plan ("## Open Questions ..." numbered items). */
  openQuestions: string[];
}

// ---------------------------------------------------------------- misc

export interface Clock {
  now(): Date;
}

/** Typed events the engine emits; the CLI renders them, the ledger appends them. */
export type EngineEvent =
  | { type: 'phase.started'; sessionId: string; phase: Phase; iteration: number; agent: AgentKind; at: string }
  | { type: 'phase.step'; sessionId: string; phase: Phase; step: string; detail?: string; at: string }
  | { type: 'agent.progress'; sessionId: string; phase: Phase; progress: AgentProgress; at: string }
  | { type: 'phase.finished'; sessionId: string; phase: Phase; iteration: number; status: ArtifactStatus; verdict?: Verdict; score?: number; durationMs: number; usage?: AgentUsage; command?: string[]; pids?: number[]; at: string }
  | { type: 'agent.finished'; sessionId: string; phase: Phase; attempt: number; ok: boolean; reason?: string; detail?: string; durationMs?: number; pids?: number[]; command?: string[]; usage?: AgentUsage; rawLogPath?: string; at: string }
  | { type: 'phase.failed'; sessionId: string; phase: Phase; code: string; message: string; durationMs: number; at: string }
  | { type: 'memory.stored'; sessionId: string; phase: Phase; memoryId?: string; duplicate: boolean; sha256: string; at: string }
  | { type: 'memory.verified'; sessionId: string; phase: Phase; attempts: number; exact: boolean; foreignIgnored: number; at: string }
  | { type: 'redacted'; sessionId: string; phase: Phase; target: 'prompt' | 'memory'; counts: Record<string, number>; total: number; at: string }
  | { type: 'warning'; sessionId: string; phase?: Phase; message: string; at: string };

export type EmitFn = (event: EngineEvent) => void;

// ---------------------------------------------------------------- processes

/** One child process to run. Output is streamed line by line and also kept whole. */
export interface RunOptions {
  command: string;
  args: string[];
  cwd: string;
  /** Variables added to (or, with value undefined, removed from) the inherited environment. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed. Without it stdin is closed at once (never left open). */
  input?: string;
  /** Hard bound; the whole process group is ended (SIGTERM, then SIGKILL after `killGraceMs`). */
  timeoutMs?: number;
  /** Ended when no output line arrives for this long. */
  idleTimeoutMs?: number;
  killGraceMs?: number;
  /** Ending the process group on abort (Ctrl-C). */
  signal?: AbortSignal;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  onSpawn?: (pid: number) => void;
  /** Also write raw stdout / stderr to these files (ledger logs). */
  stdoutFile?: string;
  stderrFile?: string;
}

/** What happened; a non-zero exit is data, never an exception. */
export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  idledOut: boolean;
  interrupted: boolean;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  spawnError?: string;
  pid?: number;
  durationMs: number;
}

/** The one way collab starts child processes (src/process implements it with execa). */
export interface ProcessRunner {
  run(opts: RunOptions): Promise<RunResult>;
}
