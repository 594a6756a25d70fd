import type { Session } from '../core/session.js';

/** The seed's Session Summary as data (`collab report --json`, docs/json.md). */
export interface Report {
  id: string;
  title: string;
  task: string;
  state: string;
  status: string | null;
  totalMs: number | null;
  iterations: number;
  reviewRounds: number;
  timeline: { phase: string; iteration: number; agent: string | null; startedAt: string; finishedAt: string | null; durationMs: number | null; outcome: string | null; status: string | null; verdict: string | null; score: number | null; error: string | null }[];
  review: { verdict: string | null; score: number | null; concerns: string[] } | null;
  validation: { verdict: string | null; score: number | null } | null;
  changesFromPlan: string[];
  filesChanged: string[];
  usage: { inputTokens: number; outputTokens: number; costUsd: number } | null;
  /** Validated patterns of earlier sessions that the planner was given. */
  patternsUsed: string[];
  artifacts: { phase: string; iteration: number; file: string; status: string; sha256: string; memoryId: string | null }[];
}

/** Lines of the first section whose heading matches `re`. */
function section(text: string, re: RegExp): string[] {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => /^#{1,4}\s/.test(l) && re.test(l));
  if (start < 0) return [];
  const level = /^(#+)/.exec(lines[start]!)![1]!.length;
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    const h = /^(#+)\s/.exec(l);
    if (h && h[1]!.length <= level) break;
    out.push(l);
  }
  return out;
}

/** Builds the report from the session, its artifact files and its event log. */
export function buildReport(s: Session, read: (file: string) => string, events: Record<string, unknown>[]): Report {
  const byAttempt = new Map<string, Session['artifacts'][number]>();
  for (const a of s.artifacts) byAttempt.set(`${a.phase}:${a.iteration}`, a);
  const timeline = s.history.map((h) => {
    const a = h.outcome === 'ok' ? byAttempt.get(`${h.phase}:${h.iteration}`) : undefined;
    const durationMs = h.finishedAt ? Date.parse(h.finishedAt) - Date.parse(h.startedAt) : null;
    return { phase: h.phase, iteration: h.iteration, agent: a?.agent ?? h.agent ?? null, startedAt: h.startedAt, finishedAt: h.finishedAt ?? null, durationMs, outcome: h.outcome ?? null, status: a?.status ?? null, verdict: a?.verdict ?? null, score: a?.score ?? null, error: h.error ?? null };
  });
  const first = s.history[0];
  const last = s.history[s.history.length - 1];
  const totalMs = first && last?.finishedAt ? Date.parse(last.finishedAt) - Date.parse(first.startedAt) : null;
  const latest = (p: string) => [...s.artifacts].reverse().find((a) => a.phase === p);
  const rev = latest('review');
  const val = latest('validate');
  const impl = latest('implement');
  const concerns = rev ? section(read(rev.file), /concern/i).filter((l) => /^###\s/.test(l)).map((l) => l.replace(/^###\s*(\d+\.\s*)?/, '').trim()) : [];
  const implText = impl ? read(impl.file) : '';
  const changesFromPlan = section(implText, /deviation|changes? from the plan|changed from the plan/i)
    .map((l) => l.trim())
    .filter((l) => /^([-*]|\d+\.)\s/.test(l))
    .map((l) => l.replace(/^([-*]|\d+\.)\s+/, '').replace(/\*\*/g, ''));
  const filesChanged = section(implText, /files? (changed|created|modified)/i)
    .map((l) => /`([^`]+)`/.exec(l)?.[1])
    .filter((f): f is string => Boolean(f));
  let usage: Report['usage'] = null;
  for (const e of events) {
    if (e.type !== 'phase.finished' || typeof e.usage !== 'object' || e.usage === null) continue;
    const u = e.usage as { inputTokens?: number; outputTokens?: number; costUsd?: number };
    usage ??= { inputTokens: 0, outputTokens: 0, costUsd: 0 };
    usage.inputTokens += u.inputTokens ?? 0;
    usage.outputTokens += u.outputTokens ?? 0;
    usage.costUsd += u.costUsd ?? 0;
  }
  return {
    id: s.id,
    title: s.title,
    task: s.task,
    state: s.state,
    status: s.status ?? null,
    totalMs,
    iterations: s.iteration,
    reviewRounds: s.reviewRound,
    timeline,
    review: rev ? { verdict: rev.verdict ?? null, score: rev.score ?? null, concerns } : null,
    validation: val ? { verdict: val.verdict ?? null, score: val.score ?? null } : null,
    changesFromPlan,
    filesChanged: [...new Set(filesChanged)],
    usage,
    patternsUsed: s.patternsUsed,
    artifacts: s.artifacts.map((a) => ({ phase: a.phase, iteration: a.iteration, file: a.file, status: a.status, sha256: a.sha256, memoryId: a.memoryId ?? null })),
  };
}
