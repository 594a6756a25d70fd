import { extractBody, formatArtifact, formatHeader, parseArtifact } from '../core/artifact.js';
import { CollabError, isCollabError, toCollabError } from '../core/errors.js';
import { assertCanRun, PHASE_ROLE, statusFor, transition, type Phase, type Role, type Verdict } from '../core/phases.js';
import type { AgentAdapter, AgentKind, AgentRequest, AgentResult, HandoffMode, ParsedArtifact } from '../core/ports.js';
import type { ArtifactEntry, Session } from '../core/session.js';
import { redactSecrets } from '../core/redact.js';
import { sanitizeAgentText } from '../core/sanitize.js';
import { renderTemplate } from '../core/template.js';
import { crossCheckVerdict, parseVerdict, renderVerdictBody, VERDICT_JSON_SCHEMA, type VerdictJson } from '../core/verdict.js';
import type { EngineDeps } from './deps.js';
import { fenceUntrusted } from './fence.js';
import { sha256 } from './hash.js';
import { markerOf, pollFor, retrieveEarlier, storeAndVerify } from './memory-io.js';
import { artifactTitle, headerAgentFor, iterationFor, plannedFile } from './naming.js';
import { findPatterns, renderPatterns } from './patterns.js';

/** Options of one phase run (CLI flags). */
export interface PhaseOptions {
  agent?: AgentKind;
  handoff?: HandoffMode;
  maxIterations?: number;
  dryRun?: boolean;
  /** A ready artifact to use instead of running an agent (`--plan-file`, `collab submit`). */
  provided?: { text: string; source: string };
}

/** What a finished phase produced. */
export interface PhaseOutcome {
  session: Session;
  entry: ArtifactEntry;
  text: string;
  verdict?: Verdict;
  score?: number;
  flags: string[];
  recovered: boolean;
  agent: AgentResult | undefined;
}

/** What --dry-run shows. */
export interface DryRun {
  dryRun: true;
  phase: Phase;
  agent: AgentKind;
  command: string[];
  env: Record<string, string>;
  prompt: string;
}

/** Runs one phase of a session: lock → load → retrieve earlier artifacts → prompt → agent → parse → store → verify → persist. */
export async function runPhase(deps: EngineDeps, sessionId: string, phase: Phase, opts: PhaseOptions = {}): Promise<PhaseOutcome | DryRun> {
  if (opts.dryRun) return dryRun(deps, sessionId, phase, opts);
  const lock = deps.ledger.lock(sessionId);
  try {
    return await runLocked(deps, sessionId, phase, opts);
  } finally {
    lock.release();
  }
}

async function runLocked(deps: EngineDeps, sessionId: string, phase: Phase, opts: PhaseOptions): Promise<PhaseOutcome> {
  let session = closeOrphans(deps.ledger.load(sessionId));
  if (opts.maxIterations !== undefined) session = { ...session, maxIterations: opts.maxIterations };
  if (opts.handoff) session = { ...session, handoff: opts.handoff };
  assertCanRun(session, phase);
  const role = PHASE_ROLE[phase];
  const iteration = iterationFor(session, phase);
  const started = deps.clock.now();
  const at = () => deps.clock.now().toISOString();
  const kind = opts.agent ?? (deps.config.roles[role].agent as AgentKind);

  // A pending artifact means an earlier run wrote it but did not finish: continue from it, never run the agent again.
  const pending = session.pending && session.pending.phase === phase && session.pending.iteration === iteration ? session.pending : undefined;
  session = pushHistory(session, { phase, iteration, startedAt: started.toISOString(), agent: pending ? 'recovered' : opts.provided ? 'provided' : kind });
  session = save(deps, session);
  deps.emit({ type: 'phase.started', sessionId, phase, iteration, agent: kind, at: at() });

  let agentResult: AgentResult | undefined;
  try {
    let text: string;
    let parsed: ParsedArtifact;
    let flags: string[] = [];
    let verdict: Verdict | undefined;
    let storedByAgent = false;
    let entry: ArtifactEntry;

    if (pending) {
      text = deps.ledger.readArtifact(sessionId, pending.file);
      if (sha256(text) !== pending.sha256) throw new CollabError('CORRUPT_SESSION', `${pending.file} changed since it was written (sha256 mismatch)`, { hint: 'delete the "pending" entry of session.json to run the phase again' });
      parsed = parseArtifact(text, { expectSessionId: sessionId, expectPhase: phase });
      verdict = pending.verdict;
      entry = pending;
      deps.emit({ type: 'phase.step', sessionId, phase, step: 'recovered', detail: `continuing from ${pending.file} written by an interrupted run`, at: at() });
    } else {
      const adapter = await deps.agentFor(role, kind);
      const known = new Set(session.artifacts.map((a) => a.sha256));
      if (opts.provided) {
        agentResult = { ok: true, finalMessage: opts.provided.text };
      } else {
        let patternsUsed: string[] = [];
        const req = await buildRequest(deps, session, phase, iteration, adapter, (p) => (patternsUsed = p));
        if (patternsUsed.length) {
          session = save(deps, { ...session, patternsUsed });
          deps.emit({ type: 'phase.step', sessionId, phase, step: 'patterns', detail: `${patternsUsed.length} validated pattern(s) handed to the planner: ${patternsUsed.join('; ')}`, at: at() });
        }
        agentResult = await runAgent(deps, adapter, req);
      }
      // Memory handoff: the agent stores its own artifact; use it verbatim when it arrived.
      const own = agentResult.storedByAgent
        ? { text: agentResult.finalMessage }
        : session.handoff === 'memory' && !opts.provided
          ? await findAgentStored(deps, sessionId, phase, known)
          : undefined;
      const composed = composeArtifact(deps, session, phase, iteration, adapter, agentResult, own?.text);
      text = composed.text;
      parsed = composed.parsed;
      flags = composed.flags;
      verdict = composed.verdict;
      storedByAgent = composed.usedStored;
      if (session.handoff === 'memory' && !opts.provided && !own) {
        deps.emit({ type: 'warning', sessionId, phase, message: `the agent did not store its ${phase} artifact in memory; collab stored its final message instead`, at: at() });
      }
      const file = plannedFile(session, phase, iteration);
      entry = {
        phase,
        iteration,
        file,
        sha256: sha256(text),
        // The effective verdict (after the cross-check) decides a validation's status, whatever the prose claims.
        status: phase === 'validate' ? statusFor(phase, verdict) : parsed.status ?? statusFor(phase, verdict),
        ...(verdict ? { verdict } : {}),
        ...(parsed.score !== undefined ? { score: parsed.score } : {}),
        agent: opts.provided ? `provided (${opts.provided.source})` : adapter.displayName,
        title: parsed.title,
        createdAt: at(),
      };
      deps.ledger.writeArtifact(sessionId, file, text);
      session = save(deps, { ...session, pending: entry });
    }

    // Store through memory and read it back (the agent's own store is verified the same way).
    deps.emit({ type: 'phase.step', sessionId, phase, step: 'store', detail: deps.memory.describe, at: at() });
    let memoryId: string | undefined;
    let outbox = false;
    try {
      if (storedByAgent) {
        const found = await pollFor(deps, sessionId, phase, entry.sha256, markerOf(text));
        memoryId = found.record.id;
      } else {
        memoryId = (await storeAndVerify(deps, sessionId, phase, text)).memoryId;
      }
    } catch (err) {
      // The ledger is the source of truth: a memory that is down or never shows the artifact does not lose the phase.
      if (!isOutboxError(err)) throw err;
      outbox = true;
      deps.emit({ type: 'warning', sessionId, phase, message: `${(err as Error).message}; the artifact is kept in the outbox (${entry.file}) — run \`collab memory sync\` when memory is back`, at: at() });
    }
    const finalEntry: ArtifactEntry = outbox ? { ...entry, outbox: true } : { ...entry, ...(memoryId ? { memoryId } : {}), storedAt: entry.storedAt ?? at(), verifiedAt: at() };

    const next = transition(session, phase, verdict);
    session = finishHistory(session, at(), 'ok');
    session = save(deps, {
      ...session,
      state: next.state,
      iteration: next.iteration,
      reviewRound: next.reviewRound,
      status: finalEntry.status,
      artifacts: [...session.artifacts, finalEntry],
      pending: undefined,
      lastError: undefined,
    });
    const durationMs = deps.clock.now().getTime() - started.getTime();
    deps.emit({
      type: 'phase.finished',
      sessionId,
      phase,
      iteration,
      status: finalEntry.status,
      ...(verdict ? { verdict } : {}),
      ...(finalEntry.score !== undefined ? { score: finalEntry.score } : {}),
      durationMs,
      ...(agentResult?.usage ? { usage: agentResult.usage } : {}),
      ...(agentResult?.command ? { command: agentResult.command } : {}),
      ...(agentResult?.pids ? { pids: agentResult.pids } : {}),
      at: at(),
    });
    for (const f of flags) deps.emit({ type: 'warning', sessionId, phase, message: f, at: at() });
    return { session, entry: finalEntry, text, verdict, score: finalEntry.score, flags, recovered: Boolean(pending), agent: agentResult };
  } catch (err) {
    const e = toCollabError(err);
    // The state stays as it was; record the error so `status` shows it and the phase can be retried.
    // A session file that no longer loads is left exactly as it is.
    const fresh = safeLoad(deps, sessionId);
    if (fresh) {
      const failed = finishHistory({ ...fresh, ...(fresh.history.length < session.history.length ? { history: session.history } : {}) }, at(), e.code === 'INTERRUPTED' ? 'interrupted' : 'failed', e.message);
      save(deps, { ...failed, lastError: { phase, code: e.code, message: e.message, at: at() } });
    }
    deps.emit({ type: 'phase.failed', sessionId, phase, code: e.code, message: e.message, durationMs: deps.clock.now().getTime() - started.getTime(), at: at() });
    throw e;
  }
}

/** Builds the agent request: earlier artifacts (verified), patterns, the rendered prompt. */
async function buildRequest(deps: EngineDeps, session: Session, phase: Phase, iteration: number, adapter: AgentAdapter, onPatterns?: (titles: string[]) => void, logDir?: string): Promise<AgentRequest> {
  const role = PHASE_ROLE[phase];
  const { prompt, patterns } = await renderPrompt(deps, session, phase, iteration, adapter);
  onPatterns?.(patterns);
  const roleCfg = deps.config.roles[role];
  return {
    sessionId: session.id,
    phase,
    role,
    iteration,
    handoff: session.handoff,
    prompt,
    cwd: session.workDir,
    logDir: logDir ?? deps.ledger.logDir(session.id),
    ...(phase === 'review' || phase === 'validate' ? { outputSchema: VERDICT_JSON_SCHEMA as Record<string, unknown> } : {}),
    memoryServer: deps.memoryServer,
    ...(roleCfg.model ? { model: roleCfg.model } : {}),
    extraArgs: roleCfg.args,
    timeoutMs: roleCfg.timeoutSec * 1000,
    idleTimeoutMs: roleCfg.idleTimeoutSec * 1000,
    ...(deps.signal ? { signal: deps.signal } : {}),
  };
}

/** Which earlier phases a phase reads. */
function inputsFor(session: Session, phase: Phase): ArtifactEntry[] {
  const latest = (p: Phase) => [...session.artifacts].reverse().find((a) => a.phase === p);
  const pick = (...ps: Phase[]) => ps.map(latest).filter((a): a is ArtifactEntry => a !== undefined);
  switch (phase) {
    case 'plan':
      return session.state === 'replan' ? pick('plan', 'review') : [];
    case 'review':
      return pick('plan');
    case 'implement':
      return session.state === 'changes_requested' ? pick('plan', 'review', 'implement', 'validate') : pick('plan', 'review');
    case 'validate':
      return pick('plan', 'review', 'implement');
    case 'pattern':
      return pick('plan', 'review', 'implement', 'validate');
  }
}

/** Renders the phase's template with the full variable set; also returns the validated patterns it carries ("title (session)"). */
async function renderPrompt(deps: EngineDeps, session: Session, phase: Phase, iteration: number, adapter: Pick<AgentAdapter, 'displayName' | 'kind' | 'headerAgentFor'>): Promise<{ prompt: string; patterns: string[] }> {
  const inputs = inputsFor(session, phase);
  let previous: string;
  let openQuestions = 'none';
  if (session.handoff === 'direct') {
    const parts: string[] = [];
    const receiver = vendorOfAdapter(adapter, PHASE_ROLE[phase]);
    for (const entry of inputs) {
      const { text } = await retrieveEarlier(deps, session.id, entry);
      if (entry.phase === 'plan') openQuestions = listQuestions(parseArtifact(text).openQuestions);
      // Text written by one vendor's agent is redacted before it goes to the other vendor's.
      const shown = receiver && vendorOfEntry(entry) !== receiver ? redactFor(deps, session.id, phase, 'prompt', text) : text;
      parts.push(fenceUntrusted(`${entry.file} — ${entry.phase} artifact of ${session.id}, iteration ${entry.iteration}, sha256 ${entry.sha256.slice(0, 12)}`, shown));
    }
    previous = parts.length ? parts.join('\n\n') : 'none';
  } else {
    previous = inputs.length
      ? inputs.map((e) => `- the ${e.phase} artifact (iteration ${e.iteration}): search for "${session.id} ${e.phase}"`).join('\n')
      : 'none';
    const plan = inputs.find((e) => e.phase === 'plan');
    if (plan) openQuestions = listQuestions(parseArtifact(deps.ledger.readArtifact(session.id, plan.file)).openQuestions);
  }
  let patterns = 'none';
  let used: string[] = [];
  if (phase === 'plan' && deps.config.patterns.limit > 0) {
    const found = await findPatterns(deps.memory, session.task, deps.config.patterns.limit).catch((err: unknown) => {
      // Patterns are a help, not a requirement: a memory that is down must not stop the plan.
      if (!isOutboxError(err)) throw err;
      deps.emit({ type: 'warning', sessionId: session.id, phase, message: `no validated patterns: ${(err as Error).message}`, at: deps.clock.now().toISOString() });
      return [];
    });
    if (found.length) patterns = vendorOfAdapter(adapter, PHASE_ROLE[phase]) ? redactFor(deps, session.id, phase, 'prompt', renderPatterns(found)) : renderPatterns(found);
    used = found.map((p) => `${p.title} (${p.sessionId})`);
  }
  const headerAgent = headerAgentFor(adapter, PHASE_ROLE[phase]);
  const title = artifactTitle(session, phase, iteration);
  const header = formatHeader({ sessionId: session.id, phase, headerAgent, title });
  const vars: Record<string, string> = {
    sessionId: session.id,
    task: session.task,
    title: session.title,
    phase,
    iteration: String(iteration),
    maxIterations: String(session.maxIterations),
    workDir: session.workDir,
    memoryServer: deps.memoryServer.name,
    storeTool: deps.config.memory.tools.store.name,
    retrieveTool: deps.config.memory.tools.retrieve.name,
    artifactHeader: header,
    status: phase === 'validate' ? 'VALIDATION_COMPLETE_APPROVED or CHANGES_REQUESTED' : statusFor(phase),
    retrieveQuery: retrieveQueryFor(session, phase),
    previousArtifacts: previous,
    patterns,
    workloadChecklist: deps.workloadChecklist?.(session.workDir, session.task) ?? '',
    openQuestions,
  };
  const template = deps.loadTemplate(phase, session.handoff);
  return { prompt: renderTemplate(template, vars, `${phase}.${session.handoff}.md`), patterns: used };
}

function listQuestions(qs: string[]): string {
  return qs.length ? qs.map((q, i) => `${i + 1}. ${q}`).join('\n') : 'none';
}

function retrieveQueryFor(session: Session, phase: Phase): string {
  const what: Record<Phase, string> = { plan: 'validated pattern', review: 'plan', implement: 'review feedback', validate: 'implementation complete', pattern: 'validation' };
  return `${session.id} ${what[phase]} ${session.task}`;
}

/** Turns the agent's answer into the seed-format artifact text, and parses it back as a self-check. */
export function composeArtifact(
  deps: EngineDeps,
  session: Session,
  phase: Phase,
  iteration: number,
  adapter: Pick<AgentAdapter, 'displayName' | 'kind' | 'headerAgentFor'>,
  result: AgentResult,
  agentStored: string | undefined,
): { text: string; parsed: ParsedArtifact; flags: string[]; usedStored: boolean; verdict?: Verdict } {
  const flags: string[] = [];
  let verdict: Verdict | undefined;
  let body: string;
  let score: number | undefined;
  const needsVerdict = phase === 'review' || phase === 'validate';
  if (needsVerdict) {
    const v = readVerdict(result, agentStored);
    if (v.json) {
      const check = crossCheckVerdict(v.json);
      verdict = check.effective;
      flags.push(...check.flags);
      score = v.json.score;
      body = renderVerdictBody(phase, v.json);
    } else {
      verdict = v.markdownVerdict;
      score = v.markdownScore;
      body = extractBody(agentStored ?? result.finalMessage);
    }
  } else {
    body = extractBody(agentStored ?? result.finalMessage);
  }
  const clean = sanitizeAgentText(body);
  body = clean.text;
  for (const w of clean.warnings) flags.push(`agent output: ${w}`);
  if (!body.trim()) throw new CollabError('ARTIFACT_INVALID', `the agent's ${phase} answer is empty`);

  if (agentStored !== undefined) {
    const parsed = parseArtifact(agentStored, { expectSessionId: session.id, expectPhase: phase });
    const effective = verdict ?? parsed.verdict;
    // The agent's own artifact is kept verbatim unless it claims another verdict than the checked one.
    if (!needsVerdict || parsed.verdict === effective) return { text: agentStored, parsed, flags, usedStored: true, ...(effective ? { verdict: effective } : {}) };
    flags.push(`the ${phase} artifact the agent stored says ${parsed.verdict ?? 'no verdict'}, the checked verdict is ${effective}; collab stored its own artifact with the checked verdict`);
  }
  if (deps.memory.remote) body = redactFor(deps, session.id, phase, 'memory', body);
  const text = formatArtifact({
    sessionId: session.id,
    phase,
    headerAgent: headerAgentFor(adapter, PHASE_ROLE[phase]),
    agentName: adapter.displayName,
    title: artifactTitle(session, phase, iteration),
    body,
    status: statusFor(phase, verdict),
    iteration,
    timestamp: deps.clock.now().toISOString(),
    ...(verdict ? { verdict } : {}),
    ...(score !== undefined ? { score } : {}),
  });
  const parsed = parseArtifact(text, { expectSessionId: session.id, expectPhase: phase });
  return { text, parsed, flags, usedStored: false, ...(verdict ? { verdict } : {}) };
}

/** A verdict from structured output, a JSON final message, or (hand-written) markdown with a verdict. */
function readVerdict(result: AgentResult, agentStored: string | undefined): { json?: VerdictJson; markdownVerdict?: Verdict; markdownScore?: number } {
  if (result.structured !== undefined) return { json: parseVerdict(result.structured) };
  const msg = result.finalMessage.trim();
  let jsonError: unknown;
  if (msg.startsWith('{') || msg.startsWith('```')) {
    try {
      return { json: parseVerdict(msg) };
    } catch (err) {
      jsonError = err;
    }
  }
  for (const candidate of [agentStored, msg]) {
    if (!candidate) continue;
    const verdict = sniffVerdict(candidate);
    if (verdict) return verdict;
  }
  if (jsonError) throw jsonError;
  throw new CollabError('ARTIFACT_INVALID', 'the answer carries no verdict: expected the verdict JSON (see the prompt) or a markdown review with a "## Verdict" section');
}

function sniffVerdict(text: string): { markdownVerdict: Verdict; markdownScore?: number } | undefined {
  try {
    const p = parseArtifact(text);
    if (p.verdict) return { markdownVerdict: p.verdict, ...(p.score !== undefined ? { markdownScore: p.score } : {}) };
  } catch {
    // not a full artifact: fall through to a bare verdict line
  }
  const m = /(?:^|\n)\s*(?:#+\s*)?\**verdict\**\s*[:\n]\s*\**\s*(APPROVED|CONDITIONAL|CHANGES[ _]REQUESTED|REJECTED)/i.exec(text);
  if (!m || !m[1]) return undefined;
  return { markdownVerdict: m[1].toUpperCase().replace(' ', '_') as Verdict };
}

/** In memory handoff: the artifact the agent stored itself (new since the phase started), if any. */
async function findAgentStored(deps: EngineDeps, sessionId: string, phase: Phase, known: Set<string>): Promise<{ text: string } | undefined> {
  let records;
  try {
    records = await deps.memory.lookup(sessionId, phase);
  } catch (err) {
    if (isOutboxError(err)) return undefined;
    throw err;
  }
  for (const r of [...records].reverse()) {
    if (known.has(sha256(r.text))) continue;
    try {
      parseArtifact(r.text, { expectSessionId: sessionId, expectPhase: phase });
      return { text: r.text };
    } catch {
      // something else under this session: not the artifact
    }
  }
  return undefined;
}

/** The vendor whose program receives a prompt (undefined for replay: nothing leaves the machine). */
function vendorOfAdapter(adapter: Pick<AgentAdapter, 'kind' | 'headerAgentFor'>, role: Role): 'claude' | 'codex' | undefined {
  if (adapter.kind === 'claude' || adapter.kind === 'codex') return adapter.kind;
  if (adapter.kind === 'replay') return undefined;
  return headerAgentFor(adapter, role) === 'CODEX' ? 'codex' : 'claude';
}

/** The vendor that wrote an artifact, from the agent recorded for it (unknown counts as "other"). */
function vendorOfEntry(entry: ArtifactEntry): 'claude' | 'codex' | undefined {
  if (/codex/i.test(entry.agent)) return 'codex';
  if (/claude/i.test(entry.agent)) return 'claude';
  return undefined;
}

/** Redacts secrets (unless disabled) and records how many of which kind were replaced. */
function redactFor(deps: EngineDeps, sessionId: string, phase: Phase, target: 'prompt' | 'memory', text: string): string {
  if (!deps.config.redaction.enabled) return text;
  const r = redactSecrets(text, { allow: deps.config.redaction.allow });
  if (r.total > 0) deps.emit({ type: 'redacted', sessionId, phase, target, counts: r.counts as Record<string, number>, total: r.total, at: deps.clock.now().toISOString() });
  return r.text;
}

/** Memory failures that put an artifact in the outbox instead of failing the phase. */
function isOutboxError(err: unknown): boolean {
  return isCollabError(err) && (err.code === 'MEMORY_UNAVAILABLE' || err.code === 'MEMORY_VERIFY_FAILED');
}

/** Failures a re-run will not fix: the user stopped it, a needed tool is refused by configuration, the program is missing. */
const FINAL_FAILURES = new Set(['interrupted', 'refused-tool', 'spawn']);

/** Runs the agent, re-running after infrastructure failures up to the role's `retries` (these never use up a review round). */
async function runAgent(deps: EngineDeps, adapter: AgentAdapter, req: AgentRequest): Promise<AgentResult> {
  const { sessionId, phase } = req;
  const at = () => deps.clock.now().toISOString();
  const retries = deps.config.roles[req.role].retries;
  for (let attempt = 1; ; attempt++) {
    deps.emit({ type: 'phase.step', sessionId, phase, step: 'agent', detail: `${adapter.displayName} (${adapter.kind})${attempt > 1 ? `, attempt ${attempt}` : ''}`, at: at() });
    const r = await adapter.run(req, (progress) => deps.emit({ type: 'agent.progress', sessionId, phase, progress, at: at() }));
    deps.emit({
      type: 'agent.finished',
      sessionId,
      phase,
      attempt,
      ok: r.ok,
      ...(r.failure ? { reason: r.failure.reason, detail: r.failure.detail } : {}),
      ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
      ...(r.pids ? { pids: r.pids } : {}),
      ...(r.command ? { command: r.command } : {}),
      ...(r.usage ? { usage: r.usage } : {}),
      ...(r.rawLogPath ? { rawLogPath: r.rawLogPath } : {}),
      at: at(),
    });
    if (r.ok) return r;
    const reason = r.failure?.reason ?? 'exit';
    if (FINAL_FAILURES.has(reason) || attempt > retries || deps.signal?.aborted) throw agentFailure(phase, adapter, r, attempt);
    deps.emit({ type: 'warning', sessionId, phase, message: `${adapter.displayName} failed (${reason}: ${r.failure?.detail ?? 'no detail'}); retrying (${attempt} of ${retries} infrastructure retries; a failed run is not a verdict)`, at: at() });
  }
}

function agentFailure(phase: Phase, adapter: AgentAdapter, r: AgentResult, attempts = 1): CollabError {
  const reason = r.failure?.reason ?? 'exit';
  const detail = r.failure?.detail ?? 'the agent failed';
  const code = reason === 'timeout' || reason === 'idle' ? 'AGENT_TIMEOUT' : reason === 'interrupted' ? 'INTERRUPTED' : 'AGENT_FAILED';
  return new CollabError(code, `${phase}: ${adapter.displayName} failed (${reason}): ${detail}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`, {
    hint: `${r.rawLogPath ? `raw output in ${r.rawLogPath}; ` : ''}the session is unchanged, run the command again to retry`,
  });
}

/** Attempts left open by a process that died (we hold the lock, so nobody else is running them). */
function closeOrphans(session: Session): Session {
  if (session.history.every((h) => h.finishedAt)) return session;
  return { ...session, history: session.history.map((h) => (h.finishedAt ? h : { ...h, finishedAt: h.startedAt, outcome: 'interrupted' as const, error: 'the collab process ended before the phase finished' })) };
}

function pushHistory(session: Session, h: Session['history'][number]): Session {
  return { ...session, history: [...session.history, h] };
}

function finishHistory(session: Session, finishedAt: string, outcome: 'ok' | 'failed' | 'interrupted', error?: string): Session {
  const history = [...session.history];
  const last = history[history.length - 1];
  if (last && !last.finishedAt) history[history.length - 1] = { ...last, finishedAt, outcome, ...(error ? { error } : {}) };
  return { ...session, history };
}

function save(deps: EngineDeps, session: Session): Session {
  const s = { ...session, updatedAt: deps.clock.now().toISOString() };
  deps.ledger.save(s);
  return s;
}

function safeLoad(deps: EngineDeps, id: string): Session | undefined {
  try {
    return deps.ledger.load(id);
  } catch (err) {
    if (isCollabError(err)) return undefined;
    throw err;
  }
}

async function dryRun(deps: EngineDeps, sessionId: string, phase: Phase, opts: PhaseOptions): Promise<DryRun> {
  return dryRunSession(deps, deps.ledger.load(sessionId), phase, opts);
}

/** What running `phase` on `session` would do (the session may be a draft that is not in the ledger). */
export async function dryRunSession(deps: EngineDeps, session: Session, phase: Phase, opts: PhaseOptions): Promise<DryRun> {
  if (opts.handoff) session = { ...session, handoff: opts.handoff };
  if (opts.maxIterations !== undefined) session = { ...session, maxIterations: opts.maxIterations };
  assertCanRun(session, phase);
  const role = PHASE_ROLE[phase];
  const kind = opts.agent ?? (deps.config.roles[role].agent as AgentKind);
  const adapter = await deps.agentFor(role, kind);
  const iteration = iterationFor(session, phase);
  // A draft session (start --dry-run) has no directory yet: show where its logs would go, create nothing.
  const logDir = deps.ledger.exists(session.id) ? undefined : `${deps.ledger.root}/sessions/${session.id}/logs`;
  const req = await buildRequest(deps, session, phase, iteration, adapter, undefined, logDir);
  const d = adapter.describe?.(req) ?? { command: [`(${kind}: no external command)`], env: {} };
  return { dryRun: true, phase, agent: kind, command: d.command, env: d.env, prompt: req.prompt };
}

