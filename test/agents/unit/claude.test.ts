import { describe, expect, it } from 'vitest';
import { buildClaudeArgs, claudePermissionsFor, claudeProgressFromEvent, memoryStatusFromInit, parseClaudeEvents, toolNeeded } from '../../../src/agents/claude.js';
import type { OutcomeRules, RunFacts } from '../../../src/agents/shared-outcome.js';
import { SMALL_SCHEMA, makeRequest } from '../request-fixture.js';

const ok: RunFacts = { exitCode: 0, timedOut: false, idledOut: false, interrupted: false, stderr: '' };
const rules = (over: Partial<OutcomeRules> = {}): OutcomeRules => ({ phase: 'plan', memoryServer: 'byterover-mcp', requireMemory: true, ...over });
const j = (v: unknown) => JSON.stringify(v);

// Event shapes as Claude Code 2.1.328 prints them under --output-format stream-json --verbose.
const init = (status = 'connected') => j({ type: 'system', subtype: 'init', cwd: '/w', tools: ['Read'], mcp_servers: [{ name: 'byterover-mcp', status, source: 'dynamic' }], model: 'claude-x', permissionMode: 'dontAsk', claude_code_version: '2.1.328' });
const assistant = (...content: unknown[]) => j({ type: 'assistant', message: { role: 'assistant', content } });
const toolResult = (id: string, isError: boolean) => j({ type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, is_error: isError, content: 'x' }] } });
const result = (over: Record<string, unknown> = {}) =>
  j({ type: 'result', subtype: 'success', is_error: false, result: 'the plan', structured_output: null, permission_denials: [], num_turns: 1, total_cost_usd: 0.0123, usage: { input_tokens: 100, output_tokens: 10, cache_read_input_tokens: 20 }, terminal_reason: 'completed', ...over });

describe('buildClaudeArgs', () => {
  it('builds the plan invocation: print mode, stream-json, strict MCP config, dontAsk with read tools', () => {
    const inv = buildClaudeArgs(makeRequest({ phase: 'plan', role: 'planner' }), { binary: '/bin/claude' });
    const logs = '/work/project/.collab/sessions/SESSION-20260101-ABCDEFGH/logs';
    expect(inv.command).toBe('/bin/claude');
    expect(inv.args).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--mcp-config',
      `${logs}/plan-iter1-claude.mcp.json`,
      '--strict-mcp-config',
      '--allowedTools',
      'mcp__byterover-mcp,Read,Glob,Grep',
      '--permission-mode',
      'dontAsk',
    ]);
    expect(JSON.parse(inv.files[0]!.content)).toEqual({
      mcpServers: { 'byterover-mcp': { type: 'stdio', command: '/usr/bin/node', args: ['/opt/collab/bin/collab.js', 'memory', 'serve', '--db', '/data/memory.db'], env: {} } },
    });
    expect(inv.env).toEqual({ MCP_TIMEOUT: '30000' });
    expect(inv.stdoutFile).toBe(`${logs}/plan-iter1-claude.stdout.jsonl`);
  });

  it('implement: acceptEdits with edit and shell tools', () => {
    const args = buildClaudeArgs(makeRequest({ phase: 'implement', role: 'implementer' })).args;
    expect(args[args.indexOf('--permission-mode') + 1]).toBe('acceptEdits');
    expect(args[args.indexOf('--allowedTools') + 1]).toBe('mcp__byterover-mcp,Read,Glob,Grep,Edit,MultiEdit,Write,NotebookEdit,Bash');
  });

  it('review with a schema, a model and extra args; the prompt never in argv', () => {
    const inv = buildClaudeArgs(makeRequest({ outputSchema: SMALL_SCHEMA, model: 'opus', extraArgs: ['--effort', 'high'], prompt: 'SECRET PROMPT' }), { memoryStartupTimeoutSec: 4, env: { HOME: '/h', X: undefined } });
    expect(inv.args.slice(-6)).toEqual(['--json-schema', JSON.stringify(SMALL_SCHEMA), '--model', 'opus', '--effort', 'high']);
    expect(inv.args.join(' ')).not.toContain('SECRET PROMPT');
    expect(inv.env).toEqual({ MCP_TIMEOUT: '4000', HOME: '/h', X: undefined });
  });

  it.each([
    ['plan', 'dontAsk'],
    ['review', 'dontAsk'],
    ['implement', 'acceptEdits'],
    ['validate', 'dontAsk'],
    ['pattern', 'dontAsk'],
  ] as const)('permission mode for %s is %s', (phase, mode) => {
    expect(claudePermissionsFor(phase, 'm').mode).toBe(mode);
  });
});

describe('parseClaudeEvents', () => {
  const schemaRules = rules({ phase: 'review', schema: SMALL_SCHEMA });
  const VALID = { verdict: 'APPROVED', score: 8 };

  it.each<[string, string[], RunFacts, OutcomeRules, { ok: boolean; reason?: string; detail?: RegExp; final?: string }]>([
    ['success', [init(), assistant({ type: 'text', text: 'the plan' }), result()], ok, rules(), { ok: true, final: 'the plan' }],
    ['structured output under a schema', [init(), result({ result: j(VALID), structured_output: VALID })], ok, schemaRules, { ok: true }],
    ['prose under a schema (claude gave up on StructuredOutput)', [init(), result({ result: 'still prose' })], ok, schemaRules, { ok: false, reason: 'unparseable', detail: /not JSON.*still prose/ }],
    ['structured output that breaks the schema', [init(), result({ result: '{}', structured_output: { verdict: 'NO' } })], ok, schemaRules, { ok: false, reason: 'unparseable', detail: /missing required key "score"/ }],
    ['exit 1 API error with is_error', [init(), result({ is_error: true, result: 'API Error: 500 boom.', terminal_reason: 'api_error', api_error_status: 500 })], { ...ok, exitCode: 1 }, rules(), { ok: false, reason: 'exit', detail: /code 1: API Error: 500 boom/ }],
    ['exit 0 but is_error', [init(), result({ is_error: true, result: 'API Error: overloaded' })], ok, rules(), { ok: false, reason: 'turn', detail: /turn failed \(success, completed\): API Error: overloaded/ }],
    ['exit 0 with an error subtype', [init(), result({ subtype: 'error_max_turns', result: undefined, errors: ['max turns'] })], ok, rules(), { ok: false, reason: 'turn', detail: /error_max_turns.*max turns/ }],
    ['no result event', [init(), assistant({ type: 'text', text: 'x' })], ok, rules(), { ok: false, reason: 'turn', detail: /without a result/ }],
    ['empty final message', [init(), result({ result: '' })], ok, rules(), { ok: false, reason: 'empty' }],
    ['memory server failed at init', [init('failed'), result()], ok, rules(), { ok: false, reason: 'error-event', detail: /"byterover-mcp" did not connect in claude \(init status: failed\)/ }],
    ['memory server still pending at init (stopped by run)', [init('pending')], { ...ok, exitCode: null, signal: 'SIGTERM' }, rules(), { ok: false, reason: 'error-event', detail: /pending/ }],
    ['memory server absent', [j({ type: 'system', subtype: 'init', mcp_servers: [] }), result()], ok, rules(), { ok: false, reason: 'error-event', detail: /absent/ }],
    ['memory not required: only a warning', [init('failed'), result()], ok, rules({ requireMemory: false }), { ok: true }],
    ['denied memory tool', [init(), result({ permission_denials: [{ tool_name: 'mcp__byterover-mcp__byterover-store-knowledge', tool_use_id: 't1', tool_input: { messages: 'm' } }] })], ok, rules(), { ok: false, reason: 'refused-tool', detail: /mcp__byterover-mcp__byterover-store-knowledge/ }],
    ['denied Write in implement', [init(), result({ permission_denials: [{ tool_name: 'Write', tool_use_id: 't1', tool_input: { file_path: '/w/a.ts' } }] })], ok, rules({ phase: 'implement' }), { ok: false, reason: 'refused-tool', detail: /Write \/w\/a.ts/ }],
    ['denied Write in plan is only a warning', [init(), result({ permission_denials: [{ tool_name: 'Write', tool_use_id: 't1', tool_input: { file_path: '/w/a.ts' } }] })], ok, rules(), { ok: true }],
    ['timeout', [init()], { ...ok, exitCode: null, timedOut: true }, rules({ timeoutMs: 2000 }), { ok: false, reason: 'timeout', detail: /2s/ }],
    ['spawn error', [], { ...ok, exitCode: null, spawnError: 'cannot start claude: not found [ENOENT]' }, rules(), { ok: false, reason: 'spawn' }],
  ])('%s', (_n, lines, run, r, want) => {
    const out = parseClaudeEvents(lines, run, r);
    expect(out.ok).toBe(want.ok);
    if (want.reason) expect(out.failure?.reason).toBe(want.reason);
    if (want.detail) expect(out.failure?.detail).toMatch(want.detail);
    if (want.final !== undefined) expect(out.finalMessage).toBe(want.final);
  });

  it('collects usage with cost, files changed by edits that succeeded, and the structured value', () => {
    const lines = [
      init(),
      assistant({ type: 'tool_use', id: 'a', name: 'Write', input: { file_path: '/w/new.ts', content: 'x' } }),
      toolResult('a', false),
      assistant({ type: 'tool_use', id: 'b', name: 'Edit', input: { file_path: '/w/denied.ts' } }),
      toolResult('b', true),
      result({ result: j(VALID), structured_output: VALID }),
    ];
    const out = parseClaudeEvents(lines, ok, rules({ phase: 'implement', schema: SMALL_SCHEMA }));
    expect(out).toMatchObject({ ok: true, structured: VALID, filesChanged: ['/w/new.ts'], usage: { inputTokens: 100, outputTokens: 10, cachedInputTokens: 20, costUsd: 0.0123 } });
  });

  it('resolves relative edit paths against the working directory', () => {
    const lines = [init(), assistant({ type: 'tool_use', id: 'a', name: 'Write', input: { file_path: 'src/x.ts', content: '' } }), toolResult('a', false), result()];
    expect(parseClaudeEvents(lines, ok, rules({ phase: 'implement', cwd: '/w/project' })).filesChanged).toEqual(['/w/project/src/x.ts']);
  });

  it('memoryStatusFromInit reads only init events', () => {
    expect(memoryStatusFromInit(JSON.parse(init('connected')), 'byterover-mcp')).toBe('connected');
    expect(memoryStatusFromInit(JSON.parse(result()), 'byterover-mcp')).toBeUndefined();
  });

  it('toolNeeded: memory tools always, edit tools in implement', () => {
    expect(toolNeeded('mcp__byterover-mcp__byterover-retrieve-knowledge', { phase: 'review', memoryServer: 'byterover-mcp' })).toBe(true);
    expect(toolNeeded('mcp__other__x', { phase: 'review', memoryServer: 'byterover-mcp' })).toBe(false);
    expect(toolNeeded('Bash', { phase: 'implement', memoryServer: 'm' })).toBe(true);
    expect(toolNeeded('Bash', { phase: 'plan', memoryServer: 'm' })).toBe(false);
    expect(toolNeeded('WebFetch', { phase: 'implement', memoryServer: 'm' })).toBe(false);
  });
});

describe('claudeProgressFromEvent', () => {
  it.each<[string, string, { kind: string; text: RegExp } | undefined]>([
    ['init', init(), { kind: 'info', text: /^claude 2.1.328 model claude-x, dontAsk mode, MCP byterover-mcp: connected$/ }],
    ['tool call', assistant({ type: 'tool_use', id: 'x', name: 'mcp__byterover-mcp__byterover-store-knowledge', input: { messages: 'abc' } }), { kind: 'tool', text: /^mcp__byterover-mcp__byterover-store-knowledge \{"messages":"abc"\}$/ }],
    ['bash', assistant({ type: 'text', text: 'running' }, { type: 'tool_use', id: 'x', name: 'Bash', input: { command: 'npm test' } }), { kind: 'command', text: /^\$ npm test$/ }],
    ['read', assistant({ type: 'tool_use', id: 'x', name: 'Read', input: { file_path: '/w/a.ts' } }), { kind: 'tool', text: /^Read \/w\/a.ts$/ }],
    ['text', assistant({ type: 'text', text: 'Here is\nthe plan' }), { kind: 'message', text: /^Here is the plan$/ }],
    ['denied', j({ type: 'system', subtype: 'permission_denied', content: 'Cannot call Write' }), { kind: 'warning', text: /permission denied: "Cannot call Write"/ }],
    ['usage', result(), { kind: 'usage', text: /^\$0.0123, tokens: 100 in \(20 cached\), 10 out, 1 turns$/ }],
    ['user', toolResult('x', false), undefined],
  ])('%s', (_n, line, want) => {
    const p = claudeProgressFromEvent(JSON.parse(line));
    if (!want) return expect(p).toBeUndefined();
    expect(p?.kind).toBe(want.kind);
    expect(p?.text).toMatch(want.text);
  });
});
