import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CollabError, isCollabError } from '../../core/errors.js';
import { nextCommand, PHASES, type Phase } from '../../core/phases.js';
import type { AgentKind, HandoffMode, MemoryPort } from '../../core/ports.js';
import { createSession, draftSession } from '../../engine/create-session.js';
import type { EngineDeps } from '../../engine/deps.js';
import { dryRunSession, runPhase, type DryRun, type PhaseOptions, type PhaseOutcome } from '../../engine/run-phase.js';
import { runSession } from '../../engine/run-session.js';
import { shellLine } from '../../agents/shell-quote.js';
import { createContext, type CliContext } from '../context.js';
import { buildEngineDeps } from '../engine-deps.js';
import type { Output } from '../output.js';
import type { Handler } from '../program.js';
import { resolveSession } from '../session-arg.js';

interface PhaseFlags {
  agent?: string;
  cassette?: string;
  handoff?: string;
  maxIterations?: string;
  dryRun?: boolean;
  planFile?: string;
}

/** Validates the phase flags into engine options. */
export function phaseOptions(f: PhaseFlags): PhaseOptions {
  const o: PhaseOptions = {};
  if (f.agent !== undefined) {
    if (!['claude', 'codex', 'manual', 'replay'].includes(f.agent)) throw new CollabError('USAGE', `--agent must be claude, codex, manual or replay, got "${f.agent}"`);
    o.agent = f.agent as AgentKind;
  }
  if (f.handoff !== undefined) {
    if (f.handoff !== 'direct' && f.handoff !== 'memory') throw new CollabError('USAGE', `--handoff must be direct or memory, got "${f.handoff}"`);
    o.handoff = f.handoff as HandoffMode;
  }
  if (f.maxIterations !== undefined) {
    const n = Number(f.maxIterations);
    if (!Number.isInteger(n) || n < 1 || n > 20) throw new CollabError('USAGE', `--max-iterations must be a whole number from 1 to 20, got "${f.maxIterations}"`);
    o.maxIterations = n;
  }
  if (f.dryRun) o.dryRun = true;
  return o;
}

/** Reads a user-given file (plan, submission) with one-line errors. */
export function readUserFile(file: string, cwd: string): { text: string; source: string } {
  const p = path.resolve(cwd, file);
  if (!existsSync(p)) throw new CollabError('NOT_FOUND', `${file}: no such file`);
  if (!statSync(p).isFile()) throw new CollabError('USAGE', `${file}: not a file`);
  const text = readFileSync(p, 'utf8');
  if (!text.trim()) throw new CollabError('USAGE', `${file} is empty`);
  return { text, source: path.basename(p) };
}

/** Runs `fn` with connected memory and engine deps, Ctrl-C wired to abort the agent. */
async function withEngine<T>(ctx: CliContext, flags: PhaseFlags, fn: (deps: EngineDeps, memory: MemoryPort) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let interrupts = 0;
  const onSig = () => {
    interrupts++;
    ctx.out.stopLive();
    if (interrupts > 1) process.exit(130);
    ctx.out.info('interrupt: stopping the agent (Ctrl-C again to quit at once)');
    ac.abort();
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  const memory = await ctx.connectMemory({ allowOffline: true });
  try {
    const deps = buildEngineDeps(ctx, memory, { ...(flags.cassette ? { cassette: flags.cassette } : {}), signal: ac.signal });
    return await fn(deps, memory);
  } finally {
    ctx.out.stopLive();
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    await memory.close();
  }
}

function printDryRun(out: Output, d: DryRun): void {
  out.line(out.c.bold(`dry run: ${d.phase} with ${d.agent} — nothing is started`));
  out.line(out.c.bold('command:'));
  // Adapters that start no program describe themselves in parenthesised lines; real ones give an argv.
  if (d.command[0]?.startsWith('(')) for (const l of d.command) out.line(`  ${l}`);
  else out.line(`  ${shellLine(d.command)}`);
  out.line(out.c.bold('environment overrides:'));
  const env = Object.entries(d.env);
  if (env.length === 0) out.line('  (none)');
  for (const [k, v] of env) out.line(`  ${k}=${v}`);
  out.line(out.c.bold('prompt (on stdin):'));
  out.line(d.prompt);
}

/** One line after a phase: what happened and what to run next. */
export function printOutcome(ctx: CliContext, o: PhaseOutcome): void {
  const next = nextCommand(o.session.state);
  const file = path.relative(ctx.cwd, ctx.ledger.artifactPath(o.session.id, o.entry.file)) || o.entry.file;
  ctx.out.line(`${o.session.id} ${o.entry.phase}: ${o.entry.status}${o.verdict ? ` (${o.verdict}${o.score !== undefined ? `, ${o.score}/10` : ''})` : ''} → ${file}`);
  if (o.session.state === 'replan') ctx.out.line(`the review sent the plan back; next: ${next}`);
  else if (o.session.state === 'changes_requested') ctx.out.line(`validation asked for changes (round ${o.session.iteration} of ${o.session.maxIterations}); next: ${next}`);
  else if (next) ctx.out.line(`next: ${next}`);
  else if (o.session.state === 'pattern_extracted') ctx.out.line('session complete: `collab report` shows the summary');
}

/** `collab start "<task>"`: new session + plan. */
export const startCommand: Handler = async (cmd, g, out) => {
  const [task] = cmd.processedArgs as [string];
  const flags = cmd.opts<PhaseFlags>();
  const opts = phaseOptions(flags);
  if (!task || !task.trim()) throw new CollabError('USAGE', 'the task is empty: say what to build, e.g. collab start "rate limiting"');
  const plan = flags.planFile ? readUserFile(flags.planFile, process.cwd()) : undefined;
  const ctx = createContext(g, out);
  const sessionOpts = { task, workDir: ctx.cwd, now: ctx.clock.now(), ...(opts.handoff ? { handoff: opts.handoff } : {}), ...(opts.maxIterations ? { maxIterations: opts.maxIterations } : {}), ...(opts.agent ? { agents: { planner: opts.agent } } : {}) };
  if (opts.dryRun) {
    // Nothing is written: the session is a draft, shown with the id it would get.
    return withEngine(ctx, flags, async (deps) => {
      printDryRun(out, await dryRunSession(deps, draftSession(ctx.ledger, ctx.config, sessionOpts), 'plan', opts));
      return 0;
    });
  }
  return withEngine(ctx, flags, async (deps) => {
    const session = createSession(ctx.ledger, ctx.config, sessionOpts);
    out.info(`session ${out.c.bold(session.id)} created for "${session.task}"`);
    const o = (await runPhase(deps, session.id, 'plan', { ...opts, ...(plan ? { provided: plan } : {}) })) as PhaseOutcome;
    printOutcome(ctx, o);
    return 0;
  });
};

/** `collab review|implement|validate|extract-pattern|plan [session]`. */
export function phaseCommand(phase: Phase): Handler {
  return async (cmd, g, out) => {
    const [arg] = cmd.processedArgs as [string | undefined];
    const flags = cmd.opts<PhaseFlags>();
    const opts = phaseOptions(flags);
    const ctx = createContext(g, out);
    const id = resolveSession(ctx.ledger, arg);
    return withEngine(ctx, flags, async (deps) => {
      const res = await runPhase(deps, id, phase, opts);
      if ('dryRun' in res) printDryRun(out, res);
      else printOutcome(ctx, res);
      return 0;
    });
  };
}

/** `collab run "<task>"`: every phase, validate -> implement loop capped. */
export const runCommand: Handler = async (cmd, g, out) => {
  const [task] = cmd.processedArgs as [string];
  const flags = cmd.opts<PhaseFlags>();
  const opts = phaseOptions(flags);
  if (opts.dryRun) throw new CollabError('USAGE', '--dry-run shows one phase: use `collab start --dry-run "<task>"` for the first one');
  if (!task || !task.trim()) throw new CollabError('USAGE', 'the task is empty: say what to build, e.g. collab run "rate limiting"');
  const plan = flags.planFile ? readUserFile(flags.planFile, process.cwd()) : undefined;
  const ctx = createContext(g, out);
  return withEngine(ctx, flags, async (deps) => {
    const agents = opts.agent ? { planner: opts.agent, reviewer: opts.agent, implementer: opts.agent, validator: opts.agent } : undefined;
    const session = createSession(ctx.ledger, ctx.config, { task, workDir: ctx.cwd, now: ctx.clock.now(), ...(opts.handoff ? { handoff: opts.handoff } : {}), ...(opts.maxIterations ? { maxIterations: opts.maxIterations } : {}), ...(agents ? { agents } : {}) });
    out.info(`session ${out.c.bold(session.id)} created for "${session.task}"`);
    await runSession(deps, session.id, { ...opts, ...(plan ? { firstPlan: plan } : {}), onPhase: (o) => printOutcome(ctx, o) });
    return 0;
  });
};

/** `collab submit <phase> [session] --file F`: hand in an artifact produced by hand. */
export const submitCommand: Handler = async (cmd, g, out) => {
  const [phaseArg, arg] = cmd.processedArgs as [string, string | undefined];
  if (!(PHASES as readonly string[]).includes(phaseArg)) throw new CollabError('USAGE', `unknown phase "${phaseArg}": use one of ${PHASES.join(', ')}`);
  const phase = phaseArg as Phase;
  const flags = cmd.opts<PhaseFlags & { file: string }>();
  const provided = readUserFile(flags.file, process.cwd());
  const ctx = createContext(g, out);
  const id = resolveSession(ctx.ledger, arg);
  return withEngine(ctx, flags, async (deps, memory) => {
    try {
      const o = (await runPhase(deps, id, phase, { provided })) as PhaseOutcome;
      printOutcome(ctx, o);
      return 0;
    } catch (err) {
      // A `collab <phase>` with the manual agent is waiting and holds the lock: hand the artifact over through memory.
      if (!isCollabError(err) || err.code !== 'SESSION_LOCKED') throw err;
      const { composeSubmission } = await import('../../engine/submit.js');
      const text = await composeSubmission(deps, id, phase, provided.text);
      const res = await memory.store(text);
      out.line(`stored the ${phase} artifact in memory${res.id ? ` as ${res.id}` : ''}; the waiting collab picks it up`);
      return 0;
    }
  });
};
