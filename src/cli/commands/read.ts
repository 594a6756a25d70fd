import { hostname } from 'node:os';
import { CollabError, isCollabError } from '../../core/errors.js';
import { canAbort, nextCommand, PHASES, type Phase } from '../../core/phases.js';
import type { ArtifactEntry, Session } from '../../core/session.js';
import { sha256 } from '../../engine/hash.js';
import { buildReport, type Report } from '../../engine/report.js';
import { createContext, type CliContext } from '../context.js';
import type { Handler } from '../program.js';
import { resolveSession } from '../session-arg.js';

/** Whether an artifact file is still what collab wrote: `ok`, `modified` (hash differs) or `missing`. */
export type Integrity = 'ok' | 'modified' | 'missing';

/** Reads an artifact file and checks it against its recorded sha256. */
export function readChecked(ctx: CliContext, id: string, a: ArtifactEntry): { text: string | null; integrity: Integrity } {
  let text: string;
  try {
    text = ctx.ledger.readArtifact(id, a.file);
  } catch (err) {
    if (isCollabError(err) && err.code === 'NOT_FOUND') return { text: null, integrity: 'missing' };
    throw err;
  }
  return { text, integrity: sha256(text) === a.sha256 ? 'ok' : 'modified' };
}

/** The documented `status --json` shape (docs/json.md). */
export function statusJson(s: Session, integrity: (a: ArtifactEntry) => Integrity = () => 'ok') {
  return {
    id: s.id,
    task: s.task,
    title: s.title,
    state: s.state,
    status: s.status ?? null,
    next: nextCommand(s.state) ?? null,
    iteration: s.iteration,
    reviewRound: s.reviewRound,
    maxIterations: s.maxIterations,
    handoff: s.handoff,
    workDir: s.workDir,
    agents: s.agents,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    lastError: s.lastError ?? null,
    pending: s.pending ? { phase: s.pending.phase, file: s.pending.file } : null,
    outbox: s.artifacts.filter((a) => a.outbox).map((a) => a.file),
    artifacts: s.artifacts.map((a) => ({
      phase: a.phase,
      iteration: a.iteration,
      file: a.file,
      status: a.status,
      verdict: a.verdict ?? null,
      score: a.score ?? null,
      agent: a.agent,
      title: a.title,
      sha256: a.sha256,
      memoryId: a.memoryId ?? null,
      inMemory: !a.outbox,
      integrity: integrity(a),
      createdAt: a.createdAt,
    })),
  };
}

/** `collab status [session]`. */
export const statusCommand: Handler = async (cmd, g, out) => {
  const [arg] = cmd.processedArgs as [string | undefined];
  const ctx = createContext(g, out);
  const s = ctx.ledger.load(resolveSession(ctx.ledger, arg));
  const integrity = new Map(s.artifacts.map((a) => [a.file, readChecked(ctx, s.id, a).integrity]));
  if (g.json) {
    out.json(statusJson(s, (a) => integrity.get(a.file) ?? 'missing'));
    return 0;
  }
  const c = out.c;
  out.line(`${c.bold(s.id)}  ${s.title}`);
  out.line(`state      ${s.state}${s.status ? `  (${s.status})` : ''}`);
  out.line(`rounds     review ${s.reviewRound}, implementation ${s.iteration} of max ${s.maxIterations}`);
  out.line(`handoff    ${s.handoff}`);
  for (const a of s.artifacts) {
    const state = integrity.get(a.file);
    const mark = state === 'missing' ? c.red('✖') : state === 'modified' ? c.yellow('✎') : a.outbox ? c.yellow('↑') : c.green('✔');
    const note = state === 'missing' ? c.red('  file missing from the ledger') : state === 'modified' ? c.yellow('  file changed since collab wrote it') : '';
    out.line(`  ${mark} ${a.file.padEnd(22)} ${a.status}${a.verdict ? ` ${a.verdict}` : ''}${a.score !== undefined ? ` ${a.score}/10` : ''}  ${c.dim(a.agent)}${note}`);
  }
  const outbox = s.artifacts.filter((a) => a.outbox);
  if (outbox.length) out.line(c.yellow(`outbox     ${outbox.map((a) => a.file).join(', ')} not yet in memory — run \`collab memory sync\``));
  if (s.pending) out.line(`  ${c.yellow('…')} ${s.pending.file} written, not yet confirmed in memory (the next run continues from it)`);
  if (s.lastError) out.line(c.red(`last error (${s.lastError.phase}, ${s.lastError.code}): ${s.lastError.message}`));
  const next = nextCommand(s.state);
  out.line(next ? `next       ${next}` : s.state === 'pattern_extracted' ? 'complete   `collab report` for the summary' : `finished   ${s.state}`);
  return 0;
};

/** `collab list`. */
export const listCommand: Handler = async (_cmd, g, out) => {
  const ctx = createContext(g, out);
  const current = ctx.ledger.current();
  const rows: ReturnType<typeof listRow>[] = [];
  for (const id of ctx.ledger.list()) rows.push(listRow(ctx, id, current));
  if (g.json) {
    out.json({ current: current ?? null, sessions: rows });
    return 0;
  }
  if (rows.length === 0) out.line('no sessions here yet: `collab start "<task>"` or `collab demo`');
  for (const r of rows) out.line(`${r.current ? '*' : ' '} ${r.id}  ${(r.state ?? 'corrupt').padEnd(17)} ${r.title ?? r.error ?? ''}`);
  return 0;
};

function listRow(ctx: CliContext, id: string, current: string | undefined) {
  try {
    const s = ctx.ledger.load(id);
    return { id, current: id === current, state: s.state as string | null, status: s.status ?? null, title: s.title as string | null, task: s.task as string | null, createdAt: s.createdAt as string | null, updatedAt: s.updatedAt as string | null, error: null as string | null };
  } catch (err) {
    return { id, current: id === current, state: null, status: null, title: null, task: null, createdAt: null, updatedAt: null, error: (err as Error).message };
  }
}

/** `collab show [session] [--phase P]`. */
export const showCommand: Handler = async (cmd, g, out) => {
  const [arg] = cmd.processedArgs as [string | undefined];
  const { phase } = cmd.opts<{ phase?: string }>();
  if (phase !== undefined && !(PHASES as readonly string[]).includes(phase)) throw new CollabError('USAGE', `unknown phase "${phase}": use one of ${PHASES.join(', ')}`);
  const ctx = createContext(g, out);
  const s = ctx.ledger.load(resolveSession(ctx.ledger, arg));
  const entries = s.artifacts.filter((a) => !phase || a.phase === (phase as Phase));
  if (phase && entries.length === 0) throw new CollabError('NOT_FOUND', `${s.id} has no ${phase} artifact yet`, { hint: nextCommand(s.state) ? `run \`${nextCommand(s.state)}\`` : undefined });
  const docs = entries.map((a) => ({ phase: a.phase, iteration: a.iteration, file: a.file, status: a.status, verdict: a.verdict ?? null, score: a.score ?? null, sha256: a.sha256, ...readChecked(ctx, s.id, a) }));
  if (g.json) {
    out.json({ id: s.id, artifacts: docs });
    return 0;
  }
  for (const d of docs) {
    if (d.text === null) {
      out.line(out.c.red(`── ${d.file}: missing from the ledger — memory may still hold it: collab memory search ${s.id} ──`));
      out.line();
      continue;
    }
    out.line(out.c.dim(`── ${d.file}${d.integrity === 'modified' ? ' (changed since collab wrote it: sha256 differs)' : ''} ──`));
    out.line(d.text.trimEnd());
    out.line();
  }
  if (docs.length === 0) out.line(`${s.id} has no artifacts yet`);
  return 0;
};

/** Prints a report as the seed's Session Summary. */
export function printReport(ctx: CliContext, r: Report): void {
  const { out } = ctx;
  const c = out.c;
  out.line(c.bold(`Session Summary — ${r.id}: ${r.title}`));
  out.line(`state ${r.state}${r.status ? ` (${r.status})` : ''}; total ${fmtMs(r.totalMs)}; implementation rounds ${r.iterations}; review rounds ${r.reviewRounds}`);
  out.line();
  out.line(c.bold('Timeline'));
  for (const t of r.timeline) {
    out.line(`  ${t.startedAt.slice(11, 19)}  ${t.phase.padEnd(9)} ${t.outcome === 'ok' ? c.green('ok') : t.outcome === 'failed' ? c.red('failed') : c.yellow(t.outcome ?? 'running')}  ${fmtMs(t.durationMs).padStart(7)}  ${t.agent ?? ''}${t.status ? `  ${t.status}` : ''}${t.verdict ? ` ${t.verdict}` : ''}${t.score !== null && t.score !== undefined ? ` ${t.score}/10` : ''}${t.error ? c.red(`  ${t.error}`) : ''}`);
  }
  out.line();
  if (r.review) out.line(`Review      ${r.review.verdict ?? '-'}${r.review.concerns.length ? `; concerns: ${r.review.concerns.join('; ')}` : ''}`);
  if (r.validation) out.line(`Validation  ${r.validation.verdict ?? '-'}${r.validation.score !== null ? `, score ${r.validation.score}/10` : ''}`);
  if (r.changesFromPlan.length) {
    out.line(c.bold('What changed from the plan'));
    for (const l of r.changesFromPlan) out.line(`  - ${l}`);
  }
  if (r.filesChanged.length) out.line(`Files       ${r.filesChanged.join(', ')}`);
  if (r.patternsUsed.length) out.line(`Patterns    the planner was given ${r.patternsUsed.join('; ')}`);
  if (r.usage) out.line(`Usage       ${r.usage.inputTokens} input + ${r.usage.outputTokens} output tokens${r.usage.costUsd ? `, $${r.usage.costUsd.toFixed(4)}` : ''}`);
  out.line(`Memory      ${r.artifacts.length} artifacts stored and verified (${r.artifacts.map((a) => a.file).join(', ')})`);
}

function fmtMs(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.round(ms / 60000)}min`;
}

/** `collab report [session]`. */
export const reportCommand: Handler = async (cmd, g, out) => {
  const [arg] = cmd.processedArgs as [string | undefined];
  const ctx = createContext(g, out);
  const id = resolveSession(ctx.ledger, arg);
  const s = ctx.ledger.load(id);
  // A missing or edited file only thins the summary; the report still shows the timeline.
  const byFile = new Map(s.artifacts.map((a) => [a.file, a]));
  const r = buildReport(s, (f) => readChecked(ctx, id, byFile.get(f)!).text ?? '', ctx.ledger.readEvents(id));
  if (g.json) out.json(r);
  else printReport(ctx, r);
  return 0;
};

/** Takes the session lock; with `force`, first interrupts the collab on this host that holds it (e.g. a manual phase waiting for an answer). */
async function lockForAbort(ctx: CliContext, id: string, force: boolean): Promise<{ release(): void }> {
  try {
    return ctx.ledger.lock(id);
  } catch (err) {
    if (!isCollabError(err) || err.code !== 'SESSION_LOCKED') throw err;
    // Only a collab on this machine can be interrupted; one elsewhere keeps its lock.
    const pid = err.details?.hostname === hostname() ? (err.details?.pid as number | undefined) : undefined;
    if (pid === undefined) throw err;
    if (!force) throw new CollabError('SESSION_LOCKED', err.message, { hint: '`collab abort --force` interrupts it, then aborts' });
    ctx.out.info(`interrupting collab pid ${pid}, which holds ${id}…`);
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // it ended on its own in the meantime
    }
    for (let waited = 0; waited < 15_000; waited += 200) {
      await new Promise((r) => setTimeout(r, 200));
      try {
        return ctx.ledger.lock(id);
      } catch (again) {
        if (!isCollabError(again) || again.code !== 'SESSION_LOCKED') throw again;
      }
    }
    throw new CollabError('SESSION_LOCKED', `collab pid ${pid} did not release ${id} within 15s of an interrupt`, { hint: `stop it yourself (kill ${pid}) and run collab abort again` });
  }
}

/** `collab abort [session] [--force]`. */
export const abortCommand: Handler = async (cmd, g, out) => {
  const [arg] = cmd.processedArgs as [string | undefined];
  const ctx = createContext(g, out);
  const id = resolveSession(ctx.ledger, arg);
  const lock = await lockForAbort(ctx, id, Boolean(cmd.opts<{ force?: boolean }>().force));
  try {
    const s = ctx.ledger.load(id);
    if (!canAbort(s.state)) throw new CollabError('PHASE_ORDER', `${id} is ${s.state.replace('_', ' ')}; there is nothing to abort`);
    const at = ctx.clock.now().toISOString();
    ctx.ledger.save({ ...s, state: 'aborted', updatedAt: at });
    ctx.ledger.appendEvent(id, { type: 'session.aborted', sessionId: id, from: s.state, at });
    out.line(`${id} aborted (was ${s.state}); its artifacts stay in the ledger and in memory`);
    return 0;
  } finally {
    lock.release();
  }
};
