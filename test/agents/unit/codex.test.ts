import { describe, expect, it } from 'vitest';
import { buildCodexArgs, codexProgressFromEvent, codexSandboxFor, parseCodexEvents } from '../../../src/agents/codex.js';
import type { OutcomeRules, RunFacts } from '../../../src/agents/shared-outcome.js';
import { SMALL_SCHEMA, makeRequest } from '../request-fixture.js';

const ok: RunFacts = { exitCode: 0, timedOut: false, idledOut: false, interrupted: false, stderr: '' };
const rules = (over: Partial<OutcomeRules> = {}): OutcomeRules => ({ phase: 'review', memoryServer: 'byterover-mcp', requireMemory: true, ...over });
const j = (v: unknown) => JSON.stringify(v);

// Event lines as codex-cli 0.169.0 prints them under --json (measured against the scripted model server).
const THREAD = j({ type: 'thread.started', thread_id: 't-1' });
const TURN = j({ type: 'turn.started' });
const DONE = j({ type: 'turn.completed', usage: { input_tokens: 200, cached_input_tokens: 40, cache_write_input_tokens: 0, output_tokens: 20, reasoning_output_tokens: 0 } });
const msg = (text: string) => j({ type: 'item.completed', item: { id: 'item_2', type: 'agent_message', text } });
const mcpCall = (status: string, error: string | null) =>
  j({ type: 'item.completed', item: { id: 'item_1', type: 'mcp_tool_call', server: 'byterover-mcp', tool: 'byterover-store-knowledge', arguments: { messages: 'm' }, result: null, error: error ? { message: error } : null, status } });
const FAILED = [j({ type: 'error', message: 'We’re currently experiencing high demand, which may cause temporary errors.' }), j({ type: 'turn.failed', error: { message: 'We’re currently experiencing high demand, which may cause temporary errors.' } })];

describe('buildCodexArgs', () => {
  it('builds the review invocation: stdin prompt, json, -o, schema, read-only, memory overrides', () => {
    const inv = buildCodexArgs(makeRequest({ outputSchema: SMALL_SCHEMA }), { binary: '/bin/codex' });
    const logs = '/work/project/.collab/sessions/SESSION-20260101-ABCDEFGH/logs';
    expect(inv.command).toBe('/bin/codex');
    expect(inv.args).toEqual([
      'exec',
      '--json',
      '--color',
      'never',
      '--skip-git-repo-check',
      '-C',
      '/work/project',
      '-s',
      'read-only',
      '-o',
      `${logs}/review-iter1-codex.last-message.txt`,
      '--output-schema',
      `${logs}/review-iter1-codex.output-schema.json`,
      '-c',
      'mcp_servers.byterover-mcp.command="/usr/bin/node"',
      '-c',
      'mcp_servers.byterover-mcp.args=["/opt/collab/bin/collab.js","memory","serve","--db","/data/memory.db"]',
      '-c',
      'mcp_servers.byterover-mcp.default_tools_approval_mode="approve"',
      '-c',
      'mcp_servers.byterover-mcp.startup_timeout_sec=30',
      '-c',
      'mcp_servers.byterover-mcp.required=true',
      '-',
    ]);
    expect(inv.files).toEqual([{ path: `${logs}/review-iter1-codex.output-schema.json`, content: `${JSON.stringify(SMALL_SCHEMA, null, 2)}\n` }]);
    expect(inv.stdoutFile).toBe(`${logs}/review-iter1-codex.stdout.jsonl`);
    expect(inv.stderrFile).toBe(`${logs}/review-iter1-codex.stderr.log`);
    expect(inv.lastMessageFile).toBe(`${logs}/review-iter1-codex.last-message.txt`);
    expect(inv.env).toEqual({});
  });

  it('never puts the prompt in argv', () => {
    const inv = buildCodexArgs(makeRequest({ prompt: 'SECRET PROMPT TEXT' }));
    expect(inv.args.join(' ')).not.toContain('SECRET PROMPT TEXT');
    expect(inv.args[inv.args.length - 1]).toBe('-');
  });

  it.each([
    ['plan', 'read-only'],
    ['review', 'read-only'],
    ['implement', 'workspace-write'],
    ['validate', 'read-only'],
    ['pattern', 'read-only'],
  ] as const)('sandbox for %s is %s', (phase, sandbox) => {
    expect(codexSandboxFor(phase)).toBe(sandbox);
    const args = buildCodexArgs(makeRequest({ phase })).args;
    expect(args[args.indexOf('-s') + 1]).toBe(sandbox);
  });

  it('adds model, profile, memory env, extra args (before "-") and no schema without one', () => {
    const req = makeRequest({ phase: 'implement', iteration: 2, model: 'gpt-x', extraArgs: ['--add-dir', '/extra'], memoryServer: { name: 'mem', command: 'node', args: ['s.js'], env: { A_B: 'x"y', 'we ird': 'v' } } });
    const inv = buildCodexArgs(req, { profile: 'work', memoryStartupTimeoutSec: 5, requireMemory: false, env: { CODEX_HOME: '/h' } });
    expect(inv.args).toContain('-p');
    expect(inv.args[inv.args.indexOf('-p') + 1]).toBe('work');
    expect(inv.args[inv.args.indexOf('-m') + 1]).toBe('gpt-x');
    expect(inv.args).toContain('mcp_servers.mem.env={A_B="x\\"y","we ird"="v"}');
    expect(inv.args).toContain('mcp_servers.mem.startup_timeout_sec=5');
    expect(inv.args.some((a) => a.includes('.required='))).toBe(false);
    expect(inv.args).not.toContain('--output-schema');
    expect(inv.args.slice(-3)).toEqual(['--add-dir', '/extra', '-']);
    expect(inv.stdoutFile.endsWith('implement-iter2-codex.stdout.jsonl')).toBe(true);
    expect(inv.env).toEqual({ CODEX_HOME: '/h' });
  });
});

describe('parseCodexEvents', () => {
  const schemaRules = rules({ schema: SMALL_SCHEMA });
  const VALID = j({ verdict: 'APPROVED', score: 9 });

  it.each<[string, string[], string | undefined, RunFacts, OutcomeRules, { ok: boolean; reason?: string; detail?: RegExp }]>([
    ['success with a valid JSON answer', [THREAD, TURN, msg(VALID), DONE], VALID, ok, schemaRules, { ok: true }],
    ['falls back to the last agent_message when -o is missing', [TURN, msg('plan text'), DONE], undefined, ok, rules(), { ok: true }],
    ['exit 1 on an API error, naming the error', [THREAD, TURN, ...FAILED], '', { ...ok, exitCode: 1 }, rules(), { ok: false, reason: 'exit', detail: /code 1: We’re currently experiencing high demand/ }],
    ['exit 0 with a failed turn', [TURN, ...FAILED], '', ok, rules(), { ok: false, reason: 'turn', detail: /the turn failed: We’re/ }],
    ['exit 0 without turn.completed', [THREAD, TURN, msg('x')], 'x', ok, rules(), { ok: false, reason: 'turn', detail: /no turn.completed/ }],
    ['exit 0, error event and no completed turn', [TURN, j({ type: 'error', message: 'stream broke' })], '', ok, rules(), { ok: false, reason: 'error-event', detail: /stream broke/ }],
    ['a recovered reconnect is not a failure', [TURN, j({ type: 'error', message: 'Reconnecting... 1/5' }), msg('fine'), DONE], 'fine', ok, rules(), { ok: true }],
    ['exit 0 with an empty final message', [TURN, msg(''), DONE], '', ok, rules(), { ok: false, reason: 'empty' }],
    ['whitespace is empty too', [TURN, msg('  \n'), DONE], '  \n', ok, rules(), { ok: false, reason: 'empty' }],
    ['non-JSON answer under the schema', [TURN, msg('Looks good to me'), DONE], 'Looks good to me', ok, schemaRules, { ok: false, reason: 'unparseable', detail: /not JSON/ }],
    ['JSON that breaks the schema', [TURN, DONE], j({ verdict: 'MAYBE', score: 11, extra: 1 }), ok, schemaRules, { ok: false, reason: 'unparseable', detail: /verdict: "MAYBE" is not one of.*maximum 10.*unexpected key "extra"/ }],
    ['a fenced JSON answer is accepted', [TURN, DONE], '```json\n' + VALID + '\n```', ok, schemaRules, { ok: true }],
    ['memory tool refused for approval (codex still exits 0)', [TURN, mcpCall('failed', 'MCP tool call requires approval, but approval policy is never'), msg('done'), DONE], 'done', ok, rules(), { ok: false, reason: 'refused-tool', detail: /byterover-mcp\/byterover-store-knowledge: MCP tool call requires approval/ }],
    ['a memory tool that errored (not refused) is only a warning', [TURN, mcpCall('failed', 'db locked'), msg('done'), DONE], 'done', ok, rules(), { ok: true }],
    ['declined command in implement', [TURN, j({ type: 'item.completed', item: { type: 'command_execution', command: 'rm -rf /', status: 'declined' } }), msg('done'), DONE], 'done', ok, rules({ phase: 'implement' }), { ok: false, reason: 'refused-tool', detail: /declined/ }],
    ['the memory server did not start (required)', [], undefined, { ...ok, exitCode: 1, stderr: 'Error: thread/start: thread/start failed: error creating thread: Fatal error: Failed to initialize session: required MCP servers failed to initialize: byterover-mcp: handshaking with MCP server failed: connection closed: initialize response (code -32603)\n' }, rules(), { ok: false, reason: 'exit', detail: /memory server "byterover-mcp" did not start in codex: byterover-mcp: handshaking/ }],
    ['timeout wins over everything after it', [TURN], undefined, { ...ok, exitCode: null, signal: 'SIGTERM', timedOut: true }, rules({ timeoutMs: 1500 }), { ok: false, reason: 'timeout', detail: /1.5s/ }],
    ['idle watchdog', [TURN], undefined, { ...ok, exitCode: null, idledOut: true }, rules({ idleTimeoutMs: 600_000 }), { ok: false, reason: 'idle', detail: /10 min/ }],
    ['interrupted', [TURN], undefined, { ...ok, exitCode: null, interrupted: true }, rules(), { ok: false, reason: 'interrupted' }],
    ['could not start', [], undefined, { ...ok, exitCode: null, spawnError: 'cannot start codex: not found [ENOENT]' }, rules(), { ok: false, reason: 'spawn', detail: /ENOENT/ }],
  ])('%s', (_name, lines, fromFile, run, r, want) => {
    const out = parseCodexEvents(lines, fromFile, run, r);
    expect(out.ok).toBe(want.ok);
    if (want.reason) expect(out.failure?.reason).toBe(want.reason);
    if (want.detail) expect(out.failure?.detail).toMatch(want.detail);
    if (want.ok) expect(out.failure).toBeUndefined();
  });

  it('returns usage, structured value, files changed and warnings', () => {
    const lines = [
      TURN,
      j({ type: 'item.completed', item: { type: 'error', message: 'Model metadata for `x` not found.' } }),
      j({ type: 'item.completed', item: { type: 'file_change', status: 'completed', changes: [{ path: '/w/a.ts', kind: 'update' }, { path: '/w/b.ts', kind: 'add' }] } }),
      msg(VALID),
      DONE,
    ];
    const out = parseCodexEvents(lines, VALID, ok, schemaRules);
    expect(out).toMatchObject({ ok: true, structured: { verdict: 'APPROVED', score: 9 }, usage: { inputTokens: 200, cachedInputTokens: 40, outputTokens: 20 }, filesChanged: ['/w/a.ts', '/w/b.ts'] });
    expect(out.warnings).toContain('Model metadata for `x` not found.');
  });

  it('runs the extra validate hook and reports what it said', () => {
    const out = parseCodexEvents([TURN, DONE], VALID, ok, rules({ schema: SMALL_SCHEMA, validate: () => { throw new Error('approved with a critical concern\nmore'); } }));
    expect(out.failure).toEqual({ reason: 'unparseable', detail: 'the JSON answer was rejected: approved with a critical concern' });
  });

  it('ignores non-JSON lines', () => {
    expect(parseCodexEvents(['Reading prompt from stdin...', TURN, msg('x'), DONE], 'x', ok, rules()).ok).toBe(true);
  });
});

describe('codexProgressFromEvent', () => {
  it.each<[string, Record<string, unknown>, { kind: string; text: RegExp } | undefined]>([
    ['thread', { type: 'thread.started', thread_id: 'abc' }, { kind: 'info', text: /thread abc/ }],
    ['mcp call started', JSON.parse(mcpCall('in_progress', null).replace('item.completed', 'item.started')), { kind: 'tool', text: /^byterover-mcp\/byterover-store-knowledge \{"messages":"m"\}$/ }],
    ['mcp call failed', JSON.parse(mcpCall('failed', 'requires approval')), { kind: 'warning', text: /failed: requires approval/ }],
    ['mcp call completed', JSON.parse(mcpCall('completed', null)), undefined],
    ['command started', { type: 'item.started', item: { type: 'command_execution', command: "/bin/bash -lc 'npm test'", status: 'in_progress' } }, { kind: 'command', text: /^\$ \/bin\/bash -lc 'npm test'$/ }],
    ['command failed', { type: 'item.completed', item: { type: 'command_execution', command: 'false', exit_code: 1, status: 'failed' } }, { kind: 'command', text: /^exit 1: false$/ }],
    ['command ok', { type: 'item.completed', item: { type: 'command_execution', command: 'true', exit_code: 0, status: 'completed' } }, undefined],
    ['message', JSON.parse(msg('Hello\nworld')), { kind: 'message', text: /^Hello world$/ }],
    ['files', { type: 'item.completed', item: { type: 'file_change', changes: [{ path: 'a.ts', kind: 'add' }] } }, { kind: 'tool', text: /files: add a.ts/ }],
    ['usage', JSON.parse(DONE), { kind: 'usage', text: /200 in \(40 cached\), 20 out/ }],
    ['turn failed', JSON.parse(FAILED[1]!), { kind: 'warning', text: /turn failed/ }],
    ['turn started', { type: 'turn.started' }, undefined],
  ])('%s', (_n, ev, want) => {
    const p = codexProgressFromEvent(ev);
    if (!want) return expect(p).toBeUndefined();
    expect(p?.kind).toBe(want.kind);
    expect(p?.text).toMatch(want.text);
  });
});
