/**
 * The claude adapter: `claude -p` with the prompt on stdin, `--output-format stream-json
 * --verbose`, collab's memory server through `--mcp-config` + `--strict-mcp-config`, explicit
 * allowed tools and a permission mode per phase, `--json-schema` for a structured answer. The
 * `system/init` event tells whether the memory server connected. Pure buildArgs + parseEvents + a thin run.
 */
import path from 'node:path';
import type { Role } from '../core/phases.js';
import type { AgentAdapter, AgentProgress, AgentRequest, MemoryServerSpec, ProcessRunner } from '../core/ports.js';
import { type AgentInvocation, definedEnv, rulesFor, runInvocation, toResult } from './shared-run.js';
import { type AgentOutcome, type OutcomeRules, type RunFacts, absoluteIn, isEditingPhase, judgeFinalMessage, logName, num, obj, parseJsonLine, preview, processFailure, str } from './shared-outcome.js';

/** How the claude command line is built (besides the request). */
export interface ClaudeBuildOptions {
  /** Program to run; default `claude` from PATH. */
  binary?: string;
  /** Bound on the memory server's start (claude's MCP_TIMEOUT); default 30. */
  memoryStartupTimeoutSec?: number;
  /** Extra environment for the child (undefined removes a variable). */
  env?: Record<string, string | undefined>;
}

/** The claude adapter's dependencies and settings. */
export interface ClaudeAdapterOptions extends ClaudeBuildOptions {
  runner: ProcessRunner;
  /** A memory server that did not connect fails the run (default true); otherwise it is a warning. */
  requireMemory?: boolean;
  /** Extra check of a structured answer (e.g. parseVerdict); throws to reject it. */
  validate?: (value: unknown) => void;
  killGraceMs?: number;
}

/** Read-only tools (claude also runs read-only shell commands such as `ls` or `grep` without a grant). */
const READ_TOOLS = ['Read', 'Glob', 'Grep'];
/** What implementing needs on top: edits and a shell (tests, installs). */
const EDIT_TOOLS = ['Edit', 'MultiEdit', 'Write', 'NotebookEdit', 'Bash'];

/** Permission mode and allowed tools per phase. */
export function claudePermissionsFor(phase: AgentRequest['phase'], memoryServer: string): { mode: 'dontAsk' | 'acceptEdits'; allowedTools: string[] } {
  // `mcp__<server>` grants every tool of collab's memory server. Plan mode is not used: it refuses MCP calls too.
  const memory = `mcp__${memoryServer}`;
  if (isEditingPhase(phase)) return { mode: 'acceptEdits', allowedTools: [memory, ...READ_TOOLS, ...EDIT_TOOLS] };
  // dontAsk: anything not granted is denied at once (never a prompt nobody can answer).
  return { mode: 'dontAsk', allowedTools: [memory, ...READ_TOOLS] };
}

/** The `--mcp-config` document for the memory server; an http memory gets its token through claude's own ${VAR} expansion, so the secret never lands in the file. */
export function claudeMcpConfig(s: MemoryServerSpec): { mcpServers: Record<string, unknown> } {
  const server = s.url
    ? { type: 'http', url: s.url, ...(s.bearerTokenEnv ? { headers: { Authorization: `Bearer \${${s.bearerTokenEnv}}` } } : {}) }
    : { type: 'stdio', command: s.command, args: s.args, env: s.env };
  return { mcpServers: { [s.name]: server } };
}

/** Builds the exact `claude -p` invocation for a request. Pure. */
export function buildClaudeArgs(req: AgentRequest, opts: ClaudeBuildOptions = {}): AgentInvocation {
  const log = (what: string) => path.join(req.logDir, logName(req.phase, req.iteration, 'claude', what));
  const mcpFile = log('mcp.json');
  const s = req.memoryServer;
  const mcpConfig = claudeMcpConfig(s);
  const perms = claudePermissionsFor(req.phase, s.name);
  const args = [
    '-p',
    '--output-format',
    'stream-json',
    '--verbose',
    // Variadic options take one value each here: a comma list for the tools, so nothing after them is swallowed.
    '--mcp-config',
    mcpFile,
    '--strict-mcp-config',
    '--allowedTools',
    perms.allowedTools.join(','),
    '--permission-mode',
    perms.mode,
  ];
  if (req.outputSchema) args.push('--json-schema', JSON.stringify(req.outputSchema));
  if (req.model) args.push('--model', req.model);
  args.push(...req.extraArgs);
  const env: Record<string, string | undefined> = { MCP_TIMEOUT: String((opts.memoryStartupTimeoutSec ?? 30) * 1000), ...(opts.env ?? {}) };
  return {
    command: opts.binary ?? 'claude',
    args,
    env,
    files: [{ path: mcpFile, content: `${JSON.stringify(mcpConfig, null, 2)}\n` }],
    stdoutFile: log('stdout.jsonl'),
    stderrFile: log('stderr.log'),
  };
}

/** The memory server's status in a `system/init` event (undefined when the event is something else). */
export function memoryStatusFromInit(ev: Record<string, unknown>, server: string): string | undefined {
  if (str(ev.type) !== 'system' || str(ev.subtype) !== 'init') return undefined;
  const servers = Array.isArray(ev.mcp_servers) ? ev.mcp_servers : [];
  const entry = servers.map(obj).find((x) => x && str(x.name) === server);
  return entry ? (str(entry.status) ?? 'unknown') : 'absent';
}

/** Judges a finished `claude -p --output-format stream-json` run from its stdout lines. Pure. */
export function parseClaudeEvents(lines: string[], run: RunFacts, rules: OutcomeRules): AgentOutcome {
  const warnings: string[] = [];
  let memoryStatus: string | undefined;
  let result: Record<string, unknown> | undefined;
  let lastText: string | undefined;
  const edits = new Map<string, string>(); // tool_use id -> file path
  const failedIds = new Set<string>();

  for (const line of lines) {
    const ev = parseJsonLine(line);
    if (!ev) continue;
    const type = str(ev.type);
    const status = memoryStatusFromInit(ev, rules.memoryServer);
    if (status !== undefined) memoryStatus ??= status;
    if (type === 'result') result = ev;
    const message = obj(ev.message);
    const content = Array.isArray(message?.content) ? message.content.map(obj) : [];
    if (type === 'assistant') {
      for (const block of content) {
        if (!block) continue;
        if (str(block.type) === 'text') lastText = str(block.text) ?? '';
        if (str(block.type) === 'tool_use' && /^(Edit|MultiEdit|Write|NotebookEdit)$/.test(str(block.name) ?? '')) {
          const input = obj(block.input) ?? {};
          const file = str(input.file_path) ?? str(input.notebook_path);
          const id = str(block.id);
          if (file && id) edits.set(id, file);
        }
      }
    }
    if (type === 'user') {
      for (const block of content) if (block && str(block.type) === 'tool_result' && block.is_error === true && str(block.tool_use_id)) failedIds.add(str(block.tool_use_id)!);
    }
  }

  const filesChanged = [...new Set([...edits].filter(([id]) => !failedIds.has(id)).map(([, f]) => absoluteIn(rules.cwd, f)))];
  const usage = result ? usageOf(result) : undefined;
  const finalMessage = result ? (str(result.result) ?? lastText ?? '') : (lastText ?? '');
  const base = { finalMessage, warnings, ...(usage ? { usage } : {}), ...(filesChanged.length ? { filesChanged } : {}) };
  const fail = (reason: NonNullable<AgentOutcome['failure']>['reason'], detail: string): AgentOutcome => ({ ...base, ok: false, failure: { reason, detail } });

  if (run.spawnError) return fail('spawn', run.spawnError);
  // Checked before "interrupted": run() stops claude itself as soon as init shows no memory server.
  if (memoryStatus !== undefined && memoryStatus !== 'connected') {
    const detail = `the memory server "${rules.memoryServer}" did not connect in claude (init status: ${memoryStatus})`;
    if (rules.requireMemory) return fail('error-event', detail);
    warnings.push(`${detail}; the run had no memory tools`);
  }
  const proc = processFailure(run, rules, 'claude');
  if (proc) return { ...base, ok: false, failure: proc };
  if (run.exitCode !== 0) {
    const why = (result && (str(result.result) ?? errorsOf(result))) ?? lastStderrLine(run.stderr);
    return fail('exit', `claude exited with ${run.exitCode === null ? `signal ${run.signal ?? '?'}` : `code ${run.exitCode}`}${why ? `: ${preview(why, 300)}` : ''}`);
  }
  if (!result) return fail('turn', 'claude ended without a result event');
  if (result.is_error === true || (str(result.subtype) ?? 'success') !== 'success') {
    return fail('turn', `the turn failed (${str(result.subtype) ?? '?'}${str(result.terminal_reason) ? `, ${str(result.terminal_reason)}` : ''}): ${preview(str(result.result) ?? errorsOf(result) ?? 'no message', 300)}`);
  }
  const denials = (Array.isArray(result.permission_denials) ? result.permission_denials : []).map(obj).filter((d): d is Record<string, unknown> => d !== undefined);
  const needed: string[] = [];
  for (const d of denials) {
    const tool = str(d.tool_name) ?? '?';
    const what = `${tool}${describeInput(obj(d.tool_input))}`;
    if (toolNeeded(tool, rules)) needed.push(what);
    else warnings.push(`refused tool ${what} (not needed by the ${rules.phase} phase)`);
  }
  if (needed.length) return fail('refused-tool', `claude was denied tool calls the phase needed: ${needed.join('; ')}`);
  const structured = result.structured_output ?? undefined;
  const judged = judgeFinalMessage(finalMessage, rules, structured);
  return { ...base, ...judged };
}

/** True when a denied call of `tool` means the phase could not do its work. */
export function toolNeeded(tool: string, rules: Pick<OutcomeRules, 'phase' | 'memoryServer'>): boolean {
  if (tool.startsWith(`mcp__${rules.memoryServer}__`)) return true;
  return isEditingPhase(rules.phase) && EDIT_TOOLS.includes(tool);
}

/** One progress line for a claude stream-json event, or undefined. Pure. */
export function claudeProgressFromEvent(ev: Record<string, unknown>): AgentProgress | undefined {
  const type = str(ev.type);
  if (type === 'system') {
    const sub = str(ev.subtype);
    if (sub === 'init') {
      const servers = (Array.isArray(ev.mcp_servers) ? ev.mcp_servers : []).map(obj).map((x) => `${str(x?.name) ?? '?'}: ${str(x?.status) ?? '?'}`);
      return { kind: 'info', text: `claude ${str(ev.claude_code_version) ?? ''} model ${str(ev.model) ?? '?'}, ${str(ev.permissionMode) ?? '?'} mode${servers.length ? `, MCP ${servers.join(', ')}` : ''}`.replace('claude  ', 'claude ') };
    }
    if (sub === 'permission_denied') return { kind: 'warning', text: `permission denied: ${preview(JSON.stringify(ev.content ?? ev.message ?? ''), 120)}` };
    if (sub === 'api_retry' || sub === 'informational') return { kind: 'info', text: preview(str(ev.content) ?? sub) };
    return undefined;
  }
  if (type === 'assistant') {
    const content = obj(ev.message)?.content;
    const blocks = (Array.isArray(content) ? content : []).map(obj);
    // One line per event: a tool call says more than the text that precedes it.
    const tool = blocks.find((b) => b && str(b.type) === 'tool_use');
    if (tool) {
      const name = str(tool.name) ?? '?';
      const input = obj(tool.input) ?? {};
      if (name === 'Bash') return { kind: 'command', text: `$ ${preview(str(input.command) ?? '', 100)}` };
      return { kind: 'tool', text: `${name}${describeInput(input)}` };
    }
    const text = blocks.find((b) => b && str(b.type) === 'text');
    if (text && str(text.text)?.trim()) return { kind: 'message', text: preview(str(text.text) ?? '') };
    return undefined;
  }
  if (type === 'result') {
    const u = usageOf(ev);
    const cost = u?.costUsd !== undefined ? `$${u.costUsd.toFixed(4)}, ` : '';
    return { kind: 'usage', text: `${cost}tokens: ${u?.inputTokens ?? 0} in (${u?.cachedInputTokens ?? 0} cached), ${u?.outputTokens ?? 0} out, ${num(ev.num_turns) ?? '?'} turns` };
  }
  return undefined;
}

/** The claude adapter (planner and implementer by default; any role works). */
export function createClaudeAdapter(opts: ClaudeAdapterOptions): AgentAdapter {
  const requireMemory = opts.requireMemory ?? true;
  return {
    kind: 'claude',
    displayName: 'Claude Code',
    headerAgentFor: (_role: Role) => 'CLAUDE',
    describe(req) {
      const inv = buildClaudeArgs(req, opts);
      return { command: [inv.command, ...inv.args], env: definedEnv(inv.env) };
    },
    async run(req, onProgress) {
      const inv = buildClaudeArgs(req, opts);
      // claude goes on without a server that failed; stop it at init rather than pay for a run that cannot hand off.
      const stopForMemory = new AbortController();
      const signal = req.signal ? AbortSignal.any([req.signal, stopForMemory.signal]) : stopForMemory.signal;
      const { result, lines, pids } = await runInvocation(opts.runner, inv, req, {
        ...(opts.killGraceMs !== undefined ? { killGraceMs: opts.killGraceMs } : {}),
        signal,
        onLine: (line) => {
          const ev = parseJsonLine(line);
          if (!ev) return;
          const p = claudeProgressFromEvent(ev);
          if (p) onProgress(p);
          const status = memoryStatusFromInit(ev, req.memoryServer.name);
          if (requireMemory && status !== undefined && status !== 'connected') stopForMemory.abort();
        },
      });
      // Our own stop is not the user's Ctrl-C: the init event then explains the failure.
      const facts = stopForMemory.signal.aborted && !req.signal?.aborted ? { ...result, interrupted: false } : result;
      const outcome = parseClaudeEvents(lines, facts, rulesFor(req, opts, requireMemory));
      for (const w of outcome.warnings) onProgress({ kind: 'warning', text: w });
      return toResult(outcome, inv, pids, result.pid, result.durationMs);
    },
  };
}

function usageOf(result: Record<string, unknown>): AgentOutcome['usage'] {
  const u = obj(result.usage);
  const cost = num(result.total_cost_usd);
  if (!u && cost === undefined) return undefined;
  return {
    ...(u ? { inputTokens: num(u.input_tokens) ?? 0, outputTokens: num(u.output_tokens) ?? 0, cachedInputTokens: num(u.cache_read_input_tokens) ?? 0 } : {}),
    ...(cost !== undefined ? { costUsd: cost } : {}),
  };
}

function errorsOf(result: Record<string, unknown>): string | undefined {
  const errs = Array.isArray(result.errors) ? result.errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))) : [];
  return errs.length ? errs.join('; ') : undefined;
}

function describeInput(input: Record<string, unknown> | undefined): string {
  if (!input) return '';
  const hint = str(input.file_path) ?? str(input.notebook_path) ?? str(input.command) ?? str(input.query) ?? str(input.pattern) ?? str(input.url);
  if (hint !== undefined) return ` ${preview(hint, 80)}`;
  const json = JSON.stringify(input);
  return json === '{}' ? '' : ` ${preview(json, 80)}`;
}

function lastStderrLine(stderr: string | undefined): string | undefined {
  const lines = (stderr ?? '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1];
}
