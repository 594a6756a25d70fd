/**
 * What the real-agent adapters (codex, claude) share: the facts of a finished run, the rules a
 * run is judged by, and the last steps of judging it (final message, structured answer). Pure.
 */
import path from 'node:path';
import type { Phase } from '../core/phases.js';
import type { AgentResult, AgentUsage, RunResult } from '../core/ports.js';
import { checkJsonSchema } from './shared-json-schema.js';

/** The failure reasons of AgentResult. */
export type FailureReason = NonNullable<AgentResult['failure']>['reason'];

/** How the process ended (the subset of RunResult the judgement needs). */
export type RunFacts = Pick<RunResult, 'exitCode' | 'timedOut' | 'idledOut' | 'interrupted'> & Partial<Pick<RunResult, 'signal' | 'spawnError' | 'stderr' | 'durationMs'>>;

/** What a run is judged against. */
export interface OutcomeRules {
  phase: Phase;
  /** The schema the final message must satisfy (review / validate). */
  schema?: Record<string, unknown>;
  /** Extra check of the structured answer (e.g. parseVerdict); throws to reject. */
  validate?: (value: unknown) => void;
  /** Name the memory server was given to the agent under. */
  memoryServer: string;
  /** A memory server that did not start fails the run (else it is a warning). */
  requireMemory: boolean;
  /** The agent's working directory: relative paths it reports are resolved against it. */
  cwd?: string;
  /** The bounds the runner had, for messages. */
  timeoutMs?: number;
  idleTimeoutMs?: number;
}

/** What parsing a run's events yields: AgentResult's judgement fields plus warnings. */
export interface AgentOutcome {
  ok: boolean;
  finalMessage: string;
  structured?: unknown;
  failure?: { reason: FailureReason; detail: string };
  usage?: AgentUsage;
  filesChanged?: string[];
  /** Things that did not fail the run but should be shown (a refused tool the phase did not need, ...). */
  warnings: string[];
}

/** A path the agent reported, made absolute against its working directory (pure: no file system access). */
export function absoluteIn(cwd: string | undefined, p: string): string {
  return cwd && !path.isAbsolute(p) ? path.resolve(cwd, p) : p;
}

/** Phases whose work is editing files and running commands. */
export function isEditingPhase(phase: Phase): boolean {
  return phase === 'implement';
}

/** The failure a run ended in before its events matter (could not start, was stopped), if any. */
export function processFailure(run: RunFacts, rules: Pick<OutcomeRules, 'timeoutMs' | 'idleTimeoutMs'>, agent: string): AgentOutcome['failure'] | undefined {
  if (run.spawnError) return { reason: 'spawn', detail: run.spawnError };
  if (run.interrupted) return { reason: 'interrupted', detail: `${agent} was interrupted; its process group was ended` };
  if (run.timedOut) return { reason: 'timeout', detail: `${agent} ran past the phase timeout${rules.timeoutMs ? ` of ${formatMs(rules.timeoutMs)}` : ''}; its process group was ended` };
  if (run.idledOut) return { reason: 'idle', detail: `${agent} reported nothing for ${rules.idleTimeoutMs ? formatMs(rules.idleTimeoutMs) : 'too long'}; its process group was ended` };
  return undefined;
}

/**
 * The last two conditions of success: a non-empty final message and, with a schema, a structured
 * answer that parses and satisfies it. `structured` is the agent's own structured value when it
 * has one (claude's `structured_output`); otherwise the final message is parsed as JSON.
 */
export function judgeFinalMessage(finalMessage: string, rules: OutcomeRules, structured?: unknown): Pick<AgentOutcome, 'ok' | 'failure' | 'structured'> {
  if (!rules.schema) {
    if (!finalMessage.trim()) return { ok: false, failure: { reason: 'empty', detail: 'the agent finished without a final message' } };
    return { ok: true };
  }
  let value = structured;
  if (value === undefined || value === null) {
    if (!finalMessage.trim()) return { ok: false, failure: { reason: 'empty', detail: 'the agent finished without a final message (a JSON answer was required)' } };
    const parsed = parseJsonAnswer(finalMessage);
    if (!parsed.ok) return { ok: false, failure: { reason: 'unparseable', detail: `the final message is not JSON (${parsed.error}): ${preview(finalMessage)}` } };
    value = parsed.value;
  }
  const problems = checkJsonSchema(value, rules.schema);
  if (problems.length) return { ok: false, structured: value, failure: { reason: 'unparseable', detail: `the JSON answer does not match the output schema: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}` } };
  if (rules.validate) {
    try {
      rules.validate(value);
    } catch (err) {
      return { ok: false, structured: value, failure: { reason: 'unparseable', detail: `the JSON answer was rejected: ${firstLineOf(err instanceof Error ? err.message : String(err))}` } };
    }
  }
  return { ok: true, structured: value };
}

/** Parses a JSON answer; tolerates one surrounding markdown fence, which models add despite instructions. */
export function parseJsonAnswer(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  let t = text.trim();
  const fence = /^```[a-zA-Z]*\s*\n([\s\S]*?)\n?```$/.exec(t);
  if (fence?.[1] !== undefined) t = fence[1].trim();
  try {
    return { ok: true, value: JSON.parse(t) as unknown };
  } catch (err) {
    return { ok: false, error: firstLineOf(err instanceof Error ? err.message : String(err)) };
  }
}

/** One line, at most `max` characters, for progress lines and failure details. */
export function preview(text: string, max = 120): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** A JSON object parsed from one output line, or undefined for anything else (banners, partial lines). */
export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Encodes a string as a TOML basic string (JSON's escapes are a subset TOML accepts). */
export function tomlString(s: string): string {
  return JSON.stringify(s);
}

/** A TOML key: bare when it may be, quoted otherwise. */
export function tomlKey(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k);
}

/** A flat string map as a TOML inline table. */
export function tomlInlineTable(map: Record<string, string>): string {
  return `{${Object.entries(map)
    .map(([k, v]) => `${tomlKey(k)}=${tomlString(v)}`)
    .join(',')}}`;
}

/** Log file names for one attempt of a phase: `<phase>-iter<N>-<agent>.<what>`. */
export function logName(phase: Phase, iteration: number, agent: string, what: string): string {
  return `${phase}-iter${iteration}-${agent}.${what}`;
}

/** A duration for messages ("90s", "30 min"). */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10}s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** The first non-empty line of a message. */
export function firstLineOf(text: string): string {
  return (text.split(/\r?\n/).find((l) => l.trim() !== '') ?? text).trim();
}

/** Numbers only (event payloads are untyped). */
export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Strings only. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Objects only. */
export function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
