/**
 * The claude adapter on the real `claude -p` (Claude Code 2.1.328) against the scripted model
 * server, in a loopback-only network namespace (see ../run-in-netns.sh).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClaudeAdapter } from '../../../src/agents/claude.js';
import type { AgentRequest } from '../../../src/core/ports.js';
import { VERDICT_JSON_SCHEMA, parseVerdict } from '../../../src/core/verdict.js';
import { SqliteStore } from '../../../src/memory/sqlite-store.js';
import { createProcessRunner } from '../../../src/process/runner.js';
import { makeClaudeEnv } from '../../fixtures/model-server/agent-homes.js';
import { type ModelServer, type ModelTurn, claudeMcpTool, startModelServer } from '../../fixtures/model-server/model-server.js';
import { requireLoopbackOnly } from '../netns.js';
import { CLAUDE_BIN, MARK_VAR, type Scratch, groupGone, progressSink, realMemory, request, scratch, stubMemory, survivors } from './harness.js';

const SCHEMA = VERDICT_JSON_SCHEMA as unknown as Record<string, unknown>;
const VERDICT = { verdict: 'CONDITIONAL', score: 7, summary: 'Good, with fixes.', strengths: [], concerns: [{ severity: 'medium', title: 'No Redis fallback', detail: 'd', recommendation: 'r' }], answers: [], filesReviewed: [] };

let server: ModelServer | undefined;
let world: Scratch | undefined;

beforeAll(() => requireLoopbackOnly());
afterEach(async () => {
  await server?.close();
  world?.cleanup();
  server = undefined;
  world = undefined;
});

async function setup(turns: ModelTurn[], opts: { memoryStartupTimeoutSec?: number; env?: Record<string, string | undefined> } = {}) {
  server = await startModelServer({ claude: turns });
  world = scratch();
  const env = { ...makeClaudeEnv(world.dir, server.url), [MARK_VAR]: world.mark, ...opts.env };
  const adapter = createClaudeAdapter({ runner: createProcessRunner(), binary: CLAUDE_BIN, env, validate: (v) => void parseVerdict(v), killGraceMs: 1000, ...(opts.memoryStartupTimeoutSec ? { memoryStartupTimeoutSec: opts.memoryStartupTimeoutSec } : {}) });
  return { adapter, server, world };
}

async function run(adapter: ReturnType<typeof createClaudeAdapter>, req: AgentRequest) {
  const progress = progressSink();
  const result = await adapter.run(req, progress.on);
  return { result, progress };
}

function userTexts(body: any): string {
  return (body.messages as any[])
    .filter((m) => m.role === 'user')
    .flatMap((m) => (typeof m.content === 'string' ? [m.content] : m.content.map((c: any) => c.text ?? '')))
    .join('\n');
}

const toolNames = (body: any): string[] => (body.tools as any[]).map((t) => t.name);

describe('claude adapter on the real claude -p', () => {
  it('review: prompt by stdin, StructuredOutput carries the verdict, memory tools offered, usage with cost', async () => {
    const { adapter, server, world } = await setup([{ type: 'json', value: VERDICT }]);
    const prompt = `Review plan of SESSION-20260101-ABCDEFGH.\n${'long line '.repeat(2000)}`;
    const { result, progress } = await run(adapter, request(world, stubMemory(world).spec, { outputSchema: SCHEMA, prompt }));
    expect(result.failure).toBeUndefined();
    expect(result.structured).toEqual(VERDICT);
    expect(JSON.parse(result.finalMessage)).toEqual(VERDICT);
    expect(result.usage).toMatchObject({ inputTokens: 100, outputTokens: 10, cachedInputTokens: 20 });
    expect(result.usage?.costUsd).toBeGreaterThan(0);
    expect(result.pids?.length).toBe(1);
    expect(result.command?.join(' ')).not.toContain('long line');
    expect(readFileSync(result.rawLogPath!, 'utf8')).toContain('"type":"result"');
    expect(progress.lines[0]).toMatchObject({ kind: 'info', text: expect.stringContaining('MCP byterover-mcp: connected') });

    const [req] = server.scripted('claude');
    expect(userTexts(req!.body)).toContain(prompt);
    expect(toolNames(req!.body)).toEqual(expect.arrayContaining(['StructuredOutput', 'mcp__byterover-mcp__byterover-store-knowledge', 'mcp__byterover-mcp__byterover-retrieve-knowledge']));
    const so = (req!.body.tools as any[]).find((t) => t.name === 'StructuredOutput');
    expect(so.input_schema.required).toEqual(SCHEMA.required);
    expect(result.command).toContain('dontAsk');
  });

  it('implement: Write and Bash run in the project (acceptEdits + granted shell), files changed are reported', async () => {
    const { adapter, world } = await setup([]);
    const file = path.join(world.cwd, 'src', 'limiter.js');
    server!.push(
      'claude',
      { type: 'tool', name: 'Bash', args: { command: 'mkdir -p src && echo ok > bash-ran.txt', description: 'prepare' } },
      { type: 'tool', name: 'Write', args: { file_path: file, content: 'export const limit = 100;\n' } },
      { type: 'text', text: 'Implemented the limiter.' },
    );
    const { result, progress } = await run(adapter, request(world, stubMemory(world).spec, { phase: 'implement', role: 'implementer' }));
    expect(result.failure).toBeUndefined();
    expect(result.finalMessage).toBe('Implemented the limiter.');
    expect(readFileSync(file, 'utf8')).toBe('export const limit = 100;\n');
    expect(readFileSync(path.join(world.cwd, 'bash-ran.txt'), 'utf8')).toBe('ok\n');
    expect(result.filesChanged).toEqual([file]);
    expect(progress.lines).toContainEqual({ kind: 'command', text: '$ mkdir -p src && echo ok > bash-ran.txt' });
  });

  it.each(['plan', 'review', 'implement', 'validate', 'pattern'] as const)('every phase runs: %s, in the permission mode claude reports at init', async (phase) => {
    const structured = phase === 'review' || phase === 'validate';
    const { adapter, world } = await setup([structured ? { type: 'json', value: VERDICT } : { type: 'text', text: `the ${phase} artifact` }]);
    const role = ({ plan: 'planner', review: 'reviewer', implement: 'implementer', validate: 'validator', pattern: 'planner' } as const)[phase];
    const { result, progress } = await run(adapter, request(world, stubMemory(world).spec, { phase, role, ...(structured ? { outputSchema: SCHEMA } : {}) }));
    expect(result.failure).toBeUndefined();
    expect(progress.lines[0]?.text).toContain(phase === 'implement' ? 'acceptEdits mode' : 'dontAsk mode');
  });

  it("the agent's own memory tool calls reach collab's memory server", async () => {
    const artifact = '**[SESSION-20260101-ABCDEFGH] CLAUDE PLAN: rate limiting**\n\n## Proposed Solution\nexpress-rate-limit';
    const { adapter, server, world } = await setup([
      claudeMcpTool('byterover-mcp', 'byterover-store-knowledge', { messages: artifact }),
      claudeMcpTool('byterover-mcp', 'byterover-retrieve-knowledge', { query: 'SESSION-20260101-ABCDEFGH' }),
      { type: 'text', text: 'Stored the plan.' },
    ]);
    const mem = realMemory(world);
    const { result } = await run(adapter, request(world, mem.spec, { phase: 'plan', role: 'planner', handoff: 'memory' }));
    expect(result.failure).toBeUndefined();
    const store = new SqliteStore(mem.dbPath);
    try {
      expect(store.lookup('SESSION-20260101-ABCDEFGH').map((r) => r.text)).toContain(artifact);
    } finally {
      store.close();
    }
    expect(JSON.stringify(server.scripted('claude').at(-1)!.body.messages)).toContain('CLAUDE PLAN: rate limiting');
  });

  it('with tool search on (claude default), the memory tools are found through ToolSearch and still granted', async () => {
    const { adapter, world } = await setup(
      [
        { type: 'tool', name: 'ToolSearch', args: { query: 'select:mcp__byterover-mcp__byterover-store-knowledge', max_results: 5 } },
        claudeMcpTool('byterover-mcp', 'byterover-store-knowledge', { messages: 'via tool search' }),
        { type: 'text', text: 'done' },
      ],
      { env: { ENABLE_TOOL_SEARCH: undefined } },
    );
    const mem = stubMemory(world);
    const { result } = await run(adapter, request(world, mem.spec, { phase: 'plan', role: 'planner' }));
    expect(result.failure).toBeUndefined();
    expect(mem.calls()).toEqual([expect.objectContaining({ tool: 'byterover-store-knowledge', args: { messages: 'via tool search' } })]);
  });

  it('exit 1 on an API error (HTTP 500), with is_error in the result', async () => {
    const { adapter, world } = await setup([{ type: 'http-error', status: 500, message: 'boom' }]);
    const { result } = await run(adapter, request(world, stubMemory(world).spec, { phase: 'plan', role: 'planner' }));
    expect(result.failure?.reason).toBe('exit');
    expect(result.failure?.detail).toMatch(/claude exited with code 1: API Error: 500 boom/);
  });

  it('exit 1 on a cut stream (no non-streaming retry after a dropped connection)', async () => {
    const { adapter, server, world } = await setup([{ type: 'cut' }, { type: 'text', text: 'should not be asked' }]);
    const { result } = await run(adapter, request(world, stubMemory(world).spec, { phase: 'plan', role: 'planner' }));
    expect(result.failure?.reason).toBe('exit');
    expect(result.failure?.detail).toMatch(/Connection dropped|ECONNRESET/);
    expect(server.remaining('claude')).toBe(1);
  });

  it('an error event in the stream is retried once without streaming, and then succeeds', async () => {
    const { adapter, server, world } = await setup([{ type: 'error-event', message: 'overloaded' }, { type: 'text', text: 'the plan' }]);
    const { result } = await run(adapter, request(world, stubMemory(world).spec, { phase: 'plan', role: 'planner' }));
    expect(result.failure).toBeUndefined();
    expect(result.finalMessage).toBe('the plan');
    expect(server.scripted('claude').map((r) => r.stream)).toEqual([true, false]);
  });

  it('exit 0 with an empty final message (claude asks once more, then gives up)', async () => {
    const { adapter, server, world } = await setup([{ type: 'text', text: '' }, { type: 'text', text: '' }]);
    const { result } = await run(adapter, request(world, stubMemory(world).spec, { phase: 'plan', role: 'planner' }));
    expect(result.failure).toEqual({ reason: 'empty', detail: 'the agent finished without a final message' });
    expect(server.scripted('claude')).toHaveLength(2);
  });

  it('a non-JSON answer under the schema (claude nudges once, then accepts prose with exit 0)', async () => {
    const { adapter, server, world } = await setup([{ type: 'text', text: 'I think it is fine.' }, { type: 'text', text: 'Still fine, really.' }]);
    const { result } = await run(adapter, request(world, stubMemory(world).spec, { outputSchema: SCHEMA }));
    expect(result.failure?.reason).toBe('unparseable');
    expect(result.failure?.detail).toMatch(/not JSON.*Still fine, really/);
    expect(userTexts(server.scripted('claude')[1]!.body)).toMatch(/StructuredOutput/);
  });

  it('a model that never answers: the timeout fires and the whole process group is gone', async () => {
    const { adapter, server, world } = await setup([{ type: 'hang' }]);
    const pending = run(adapter, request(world, stubMemory(world).spec, { phase: 'plan', role: 'planner', timeoutMs: 5000 }));
    await server.waitForRequests('claude', 1);
    expect(survivors(world.mark).length).toBeGreaterThanOrEqual(2); // claude and its memory server
    const { result } = await pending;
    expect(result.failure?.reason).toBe('timeout');
    expect(groupGone(result.pids![0]!)).toBe(true);
    expect(survivors(world.mark)).toEqual([]);
  });

  it.each<[string, AgentRequest['phase'], string, ModelTurn, RegExp]>([
    ['the memory store tool in plan', 'plan', 'mcp__byterover-mcp__byterover-store-knowledge', claudeMcpTool('byterover-mcp', 'byterover-store-knowledge', { messages: 'x' }), /phase needed: mcp__byterover-mcp__byterover-store-knowledge \{"messages":"x"\}/],
    ['Write in implement', 'implement', 'Write', { type: 'tool', name: 'Write', args: { file_path: 'src/a.js', content: 'x' } }, /phase needed: Write \S*project\/src\/a\.js/],
  ])('permission denials of a tool the phase needs (%s) fail it although claude exits 0', async (_n, phase, tool, call, detail) => {
    const { adapter, world } = await setup([call, { type: 'text', text: 'done anyway' }]);
    // The user's own settings ask before this tool; in print mode nobody can answer, so claude denies it.
    writeFileSync(path.join(world.dir, 'claude-home', '.claude', 'settings.json'), JSON.stringify({ permissions: { ask: [tool] } }));
    const { result, progress } = await run(adapter, request(world, stubMemory(world).spec, { phase, role: phase === 'plan' ? 'planner' : 'implementer' }));
    expect(result.failure?.reason).toBe('refused-tool');
    expect(result.failure?.detail).toMatch(detail);
    expect(progress.lines.some((p) => p.kind === 'warning' && p.text.startsWith('permission denied'))).toBe(true);
  });

  it('a denied write in a read-only phase is a warning, and nothing is written', async () => {
    const { adapter, world } = await setup([{ type: 'tool', name: 'Write', args: { file_path: path.join('/tmp', 'never-written.txt'), content: 'x' } }, { type: 'tool', name: 'Bash', args: { command: 'touch touched.txt', description: 't' } }, { type: 'text', text: 'the plan' }]);
    const { result, progress } = await run(adapter, request(world, stubMemory(world).spec, { phase: 'plan', role: 'planner' }));
    expect(result.failure).toBeUndefined();
    expect(existsSync(path.join(world.cwd, 'touched.txt'))).toBe(false);
    expect(progress.lines.filter((p) => p.kind === 'warning').map((p) => p.text)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^refused tool Write .*not needed by the plan phase/), expect.stringMatching(/^refused tool Bash touch touched.txt/)]),
    );
  });

  it.each<[string, 'fail' | 'hang', RegExp]>([
    ['exits at once', 'fail', /"byterover-mcp" did not connect in claude \(init status: failed\)/],
    ['never finishes its handshake', 'hang', /"byterover-mcp" did not connect in claude \(init status: (pending|failed)\)/],
  ])('a memory server that %s: stopped at init, before the model is paid for', async (_n, mode, detail) => {
    const { adapter, server, world } = await setup([{ type: 'hang' }], { memoryStartupTimeoutSec: 2 });
    const { result } = await run(adapter, request(world, stubMemory(world, mode).spec, { phase: 'plan', role: 'planner' }));
    expect(result.failure?.reason).toBe('error-event');
    expect(result.failure?.detail).toMatch(detail);
    expect(survivors(world.mark)).toEqual([]);
    // Stopped at init: at most the request already in flight, never an answer waited for.
    expect(server.scripted('claude').length).toBeLessThanOrEqual(1);
  });
});
