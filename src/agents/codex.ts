/**
 * The codex adapter: `codex exec` with the prompt on stdin, `--json` events on stdout, the final
 * message through `-o`, the verdict schema through `--output-schema`, a sandbox per phase and
 * collab's memory server injected with `-c mcp_servers.<name>.*` overrides (the user's own
 * config.toml, CODEX_HOME, model and profile stay in force). Pure buildArgs + parseEvents + a thin run.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Role } from '../core/phases.js';
import type { AgentAdapter, AgentProgress, AgentRequest, MemoryServerSpec, ProcessRunner } from '../core/ports.js';
import {
  type AgentOutcome,
  type OutcomeRules,
  type RunFacts,
  absoluteIn,
  firstLineOf,
  isEditingPhase,
  judgeFinalMessage,
  logName,
  num,
  obj,
  parseJsonLine,
  preview,
  processFailure,
  str,
  tomlInlineTable,
  tomlKey,
  tomlString,
} from './shared-outcome.js';
import { type AgentInvocation, definedEnv, rulesFor, runInvocation, toResult } from './shared-run.js';

export type { AgentInvocation } from './shared-run.js';

/** How the codex command line is built (besides the request). */
export interface CodexBuildOptions {
  /** Program to run; default `codex` from PATH. */
  binary?: string;
  /** `codex -p <profile>`: layers `$CODEX_HOME/<profile>.config.toml` on the user's config. */
  profile?: string;
  /** `startup_timeout_sec` of the injected memory server; default 30. */
  memoryStartupTimeoutSec?: number;
  /** Mark the memory server `required`, so codex refuses to run without it; default true. */
  requireMemory?: boolean;
  /** Extra environment for the child (undefined removes a variable). */
  env?: Record<string, string | undefined>;
}

/** The codex adapter's dependencies and settings. */
export interface CodexAdapterOptions extends CodexBuildOptions {
  runner: ProcessRunner;
  /** Extra check of a structured answer (e.g. parseVerdict); throws to reject it. */
  validate?: (value: unknown) => void;
  /** Grace between SIGTERM and SIGKILL when the group is ended. */
  killGraceMs?: number;
}

/** Sandbox per phase: only implement writes to the workspace. */
export function codexSandboxFor(phase: AgentRequest['phase']): 'read-only' | 'workspace-write' {
  return isEditingPhase(phase) ? 'workspace-write' : 'read-only';
}

/** Builds the exact `codex exec` invocation for a request. Pure. */
export function buildCodexArgs(req: AgentRequest, opts: CodexBuildOptions = {}): AgentInvocation {
  const log = (what: string) => path.join(req.logDir, logName(req.phase, req.iteration, 'codex', what));
  const lastMessageFile = log('last-message.txt');
  const files: AgentInvocation['files'] = [];
  const args = ['exec', '--json', '--color', 'never', '--skip-git-repo-check', '-C', req.cwd, '-s', codexSandboxFor(req.phase), '-o', lastMessageFile];
  if (req.outputSchema) {
    const schemaFile = log('output-schema.json');
    files.push({ path: schemaFile, content: `${JSON.stringify(req.outputSchema, null, 2)}\n` });
    args.push('--output-schema', schemaFile);
  }
  if (opts.profile) args.push('-p', opts.profile);
  if (req.model) args.push('-m', req.model);

  args.push(...codexMemoryOverrides(req.memoryServer, opts));

  args.push(...req.extraArgs);
  // `-`: the prompt comes from stdin (never argv: length limits, Windows shims, ps listings).
  args.push('-');
  return { command: opts.binary ?? 'codex', args, env: { ...(opts.env ?? {}) }, files, stdoutFile: log('stdout.jsonl'), stderrFile: log('stderr.log'), lastMessageFile };
}

/** The memory server as `-c` overrides: the user's config.toml needs no edit, and nothing of ours persists there. */
export function codexMemoryOverrides(s: MemoryServerSpec, opts: { memoryStartupTimeoutSec?: number; requireMemory?: boolean } = {}): string[] {
  const args: string[] = [];
  const key = `mcp_servers.${tomlKey(s.name)}`;
  const set = (k: string, v: string) => args.push('-c', `${key}.${k}=${v}`);
  if (s.url) {
    set('url', tomlString(s.url));
    if (s.bearerTokenEnv) set('bearer_token_env_var', tomlString(s.bearerTokenEnv));
  } else {
    set('command', tomlString(s.command));
    set('args', `[${s.args.map(tomlString).join(',')}]`);
    if (Object.keys(s.env).length) set('env', tomlInlineTable(s.env));
  }
  // `codex exec` runs with approval "never": without this every call to an unannotated tool is refused.
  set('default_tools_approval_mode', tomlString('approve'));
  set('startup_timeout_sec', String(opts.memoryStartupTimeoutSec ?? 30));
  // Without `required`, a memory server that fails to start is silently dropped and the run goes on without it.
  if (opts.requireMemory ?? true) set('required', 'true');
  return args;
}

/** Judges a finished `codex exec --json` run from its stdout lines and the `-o` file. Pure. */
export function parseCodexEvents(lines: string[], finalMessageFromFile: string | undefined, run: RunFacts, rules: OutcomeRules): AgentOutcome {
  const warnings: string[] = [];
  const errors: string[] = [];
  const refusedNeeded: string[] = [];
  const filesChanged = new Set<string>();
  let turnCompleted = false;
  let turnFailed: string | undefined;
  let lastAgentMessage: string | undefined;
  let usage: AgentOutcome['usage'];

  for (const line of lines) {
    const ev = parseJsonLine(line);
    if (!ev) continue;
    const type = str(ev.type);
    if (type === 'turn.completed') {
      turnCompleted = true;
      const u = obj(ev.usage);
      if (u) {
        // One turn per exec, but sum in case a version reports several.
        usage = {
          inputTokens: (usage?.inputTokens ?? 0) + (num(u.input_tokens) ?? 0),
          outputTokens: (usage?.outputTokens ?? 0) + (num(u.output_tokens) ?? 0),
          cachedInputTokens: (usage?.cachedInputTokens ?? 0) + (num(u.cached_input_tokens) ?? 0),
        };
      }
    } else if (type === 'turn.failed') {
      turnFailed = str(obj(ev.error)?.message) ?? 'no message';
    } else if (type === 'error') {
      // Top-level errors are also emitted for recovered reconnects; they fail a run only if no turn completes.
      errors.push(str(ev.message) ?? 'no message');
    } else if (type === 'item.completed') {
      const item = obj(ev.item) ?? {};
      const itemType = str(item.type);
      if (itemType === 'agent_message') lastAgentMessage = str(item.text) ?? '';
      else if (itemType === 'mcp_tool_call' && str(item.status) === 'failed') {
        const server = str(item.server) ?? '?';
        const tool = `${server}/${str(item.tool) ?? '?'}`;
        const msg = str(obj(item.error)?.message) ?? 'failed';
        if (/approv/i.test(msg)) {
          // The memory tools are what collab wired in; refusing them means the handoff cannot work as configured.
          if (server === rules.memoryServer) refusedNeeded.push(`${tool}: ${msg}`);
          else warnings.push(`refused tool ${tool}: ${msg}`);
        } else warnings.push(`tool ${tool} failed: ${msg}`);
      } else if (itemType === 'command_execution' && str(item.status) === 'declined') {
        const cmd = str(item.command) ?? '?';
        if (isEditingPhase(rules.phase)) refusedNeeded.push(`command ${preview(cmd, 80)}: declined`);
        else warnings.push(`command declined: ${preview(cmd, 80)}`);
      } else if (itemType === 'file_change' && str(item.status) !== 'failed') {
        for (const c of Array.isArray(item.changes) ? item.changes : []) {
          const p = str(obj(c)?.path);
          if (p) filesChanged.add(absoluteIn(rules.cwd, p));
        }
      } else if (itemType === 'error') warnings.push(str(item.message) ?? 'error item');
    }
  }

  const base = { finalMessage: finalMessageFromFile ?? lastAgentMessage ?? '', warnings, ...(usage ? { usage } : {}), ...(filesChanged.size ? { filesChanged: [...filesChanged] } : {}) };
  const fail = (reason: NonNullable<AgentOutcome['failure']>['reason'], detail: string): AgentOutcome => ({ ...base, ok: false, failure: { reason, detail } });

  const proc = processFailure(run, rules, 'codex');
  if (proc) return { ...base, ok: false, failure: proc };
  if (run.exitCode !== 0) {
    const memory = memoryStartFailure(run.stderr ?? '', rules.memoryServer);
    const why = memory ?? turnFailed ?? errors[errors.length - 1] ?? lastStderrLine(run.stderr);
    return fail('exit', `codex exited with ${run.exitCode === null ? `signal ${run.signal ?? '?'}` : `code ${run.exitCode}`}${why ? `: ${why}` : ''}`);
  }
  if (turnFailed !== undefined) return fail('turn', `the turn failed: ${turnFailed}`);
  if (!turnCompleted) {
    if (errors.length) return fail('error-event', `codex reported an error and no completed turn: ${errors[errors.length - 1]}`);
    return fail('turn', 'codex ended without a completed turn (no turn.completed event)');
  }
  if (errors.length) warnings.push(...errors.map((e) => `codex recovered from: ${e}`));
  if (refusedNeeded.length) return fail('refused-tool', `a tool call the phase needed was refused: ${refusedNeeded.join('; ')}`);
  const judged = judgeFinalMessage(base.finalMessage, rules);
  return { ...base, ...judged };
}

/** One progress line for a codex `--json` event, or undefined for events not worth a line. Pure. */
export function codexProgressFromEvent(ev: Record<string, unknown>): AgentProgress | undefined {
  const type = str(ev.type);
  if (type === 'thread.started') return { kind: 'info', text: `codex thread ${str(ev.thread_id) ?? '?'}` };
  if (type === 'turn.completed') {
    const u = obj(ev.usage) ?? {};
    return { kind: 'usage', text: `tokens: ${num(u.input_tokens) ?? 0} in (${num(u.cached_input_tokens) ?? 0} cached), ${num(u.output_tokens) ?? 0} out` };
  }
  if (type === 'turn.failed') return { kind: 'warning', text: `turn failed: ${str(obj(ev.error)?.message) ?? '?'}` };
  if (type === 'error') return { kind: 'warning', text: preview(str(ev.message) ?? 'error') };
  const item = obj(ev.item);
  if (!item || (type !== 'item.started' && type !== 'item.completed')) return undefined;
  const itemType = str(item.type);
  const started = type === 'item.started';
  switch (itemType) {
    case 'mcp_tool_call': {
      const name = `${str(item.server) ?? '?'}/${str(item.tool) ?? '?'}`;
      if (started) return { kind: 'tool', text: `${name} ${preview(JSON.stringify(item.arguments ?? {}), 80)}` };
      if (str(item.status) === 'failed') return { kind: 'warning', text: `${name} failed: ${str(obj(item.error)?.message) ?? '?'}` };
      return undefined;
    }
    case 'command_execution': {
      const cmd = preview(str(item.command) ?? '?', 100);
      if (started) return { kind: 'command', text: `$ ${cmd}` };
      const code = num(item.exit_code);
      if (str(item.status) === 'declined') return { kind: 'warning', text: `declined: ${cmd}` };
      return code !== undefined && code !== 0 ? { kind: 'command', text: `exit ${code}: ${cmd}` } : undefined;
    }
    case 'agent_message':
      return started ? undefined : { kind: 'message', text: preview(str(item.text) ?? '') };
    case 'file_change': {
      if (started) return undefined;
      const paths = (Array.isArray(item.changes) ? item.changes : []).map((c) => `${str(obj(c)?.kind) ?? 'edit'} ${str(obj(c)?.path) ?? '?'}`);
      return { kind: 'tool', text: `files: ${preview(paths.join(', '), 100)}` };
    }
    case 'web_search':
      return started ? { kind: 'tool', text: `web search ${preview(str(item.query) ?? '', 80)}` } : undefined;
    case 'error':
      return { kind: 'warning', text: preview(str(item.message) ?? 'error') };
    default:
      return undefined;
  }
}

/** The codex adapter (reviewer and validator by default; any role works). */
export function createCodexAdapter(opts: CodexAdapterOptions): AgentAdapter {
  return {
    kind: 'codex',
    displayName: 'Codex CLI',
    headerAgentFor: (_role: Role) => 'CODEX',
    describe(req) {
      const inv = buildCodexArgs(req, opts);
      return { command: [inv.command, ...inv.args], env: definedEnv(inv.env) };
    },
    async run(req, onProgress) {
      const inv = buildCodexArgs(req, opts);
      const { result, lines, pids } = await runInvocation(opts.runner, inv, req, {
        ...(opts.killGraceMs !== undefined ? { killGraceMs: opts.killGraceMs } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
        onLine: (line) => {
          const ev = parseJsonLine(line);
          const p = ev && codexProgressFromEvent(ev);
          if (p) onProgress(p);
        },
      });
      const finalFromFile = inv.lastMessageFile && existsSync(inv.lastMessageFile) ? readFileSync(inv.lastMessageFile, 'utf8') : undefined;
      const outcome = parseCodexEvents(lines, finalFromFile, result, rulesFor(req, opts, opts.requireMemory ?? true));
      for (const w of outcome.warnings.filter((w) => w.startsWith('refused') || w.startsWith('codex recovered'))) onProgress({ kind: 'warning', text: w });
      return toResult(outcome, inv, pids, result.pid, result.durationMs);
    },
  };
}

/** codex's message when a `required` MCP server did not start, rephrased to name the memory server. */
function memoryStartFailure(stderr: string, server: string): string | undefined {
  const m = /required MCP servers failed to initialize: (.*)/.exec(stderr);
  if (!m?.[1]) return undefined;
  const detail = m[1].replace(/\s*\(code -?\d+\)\s*$/, '');
  return `the memory server "${server}" did not start in codex: ${firstLineOf(detail)}`;
}

function lastStderrLine(stderr: string | undefined): string | undefined {
  const lines = (stderr ?? '').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !/^WARNING: proceeding/.test(l));
  const l = lines.find((x) => /^Error:/.test(x)) ?? lines[lines.length - 1];
  return l ? preview(l, 200) : undefined;
}
