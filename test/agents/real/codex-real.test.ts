/**
 * The codex adapter on the real `codex exec` (0.169.0) against the scripted model server, in a
 * loopback-only network namespace (see ../run-in-netns.sh).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCodexAdapter } from '../../../src/agents/codex.js';
import type { AgentRequest, MemoryServerSpec } from '../../../src/core/ports.js';
import { VERDICT_JSON_SCHEMA, parseVerdict } from '../../../src/core/verdict.js';
import { SqliteStore } from '../../../src/memory/sqlite-store.js';
import { createProcessRunner } from '../../../src/process/runner.js';
import { makeCodexHome } from '../../fixtures/model-server/agent-homes.js';
import { type ModelServer, type ModelTurn, codexMcpTool, startModelServer } from '../../fixtures/model-server/model-server.js';
import { requireLoopbackOnly } from '../netns.js';
import { CODEX_BIN, MARK_VAR, type Scratch, groupGone, progressSink, realMemory, request, scratch, stubMemory, survivors } from './harness.js';

const SCHEMA = VERDICT_JSON_SCHEMA as unknown as Record<string, unknown>;
const VERDICT = { verdict: 'APPROVED', score: 8, summary: 'Sound plan.', strengths: ['clear'], concerns: [], answers: [], filesReviewed: ['app.js'] };

let server: ModelServer | undefined;
let world: Scratch | undefined;

beforeAll(() => requireLoopbackOnly());
afterEach(async () => {
  await server?.close();
  world?.cleanup();
  server = undefined;
  world = undefined;
});

/** Starts a model server with a codex script and returns an adapter pointed at it. */
async function setup(turns: ModelTurn[], opts: { memoryStartupTimeoutSec?: number } = {}) {
  server = await startModelServer({ codex: turns });
  world = scratch();
  const env = { ...makeCodexHome(world.dir, server.url), [MARK_VAR]: world.mark };
  const adapter = createCodexAdapter({ runner: createProcessRunner(), binary: CODEX_BIN, env, validate: (v) => void parseVerdict(v), killGraceMs: 1000, ...opts });
  return { adapter, server, world };
}

async function run(adapter: ReturnType<typeof createCodexAdapter>, req: AgentRequest) {
  const progress = progressSink();
  const result = await adapter.run(req, progress.on);
  return { result, progress };
}

function userText(body: any): string {
  return (body.input as any[])
    .filter((i) => i.type === 'message' && i.role === 'user')
    .flatMap((i) => i.content.map((c: any) => c.text))
    .join('\n');
}

describe('codex adapter on the real codex exec', () => {
  it('review: the prompt goes by stdin, schema and memory tools are sent, the verdict JSON validates', async () => {
    const { adapter, server, world } = await setup([{ type: 'json', value: VERDICT }]);
    const mem = stubMemory(world);
    const prompt = `Review plan of SESSION-20260101-ABCDEFGH.\n${'long line '.repeat(2000)}`;
    const { result, progress } = await run(adapter, request(world, mem.spec, { phase: 'review', outputSchema: SCHEMA, prompt }));
    expect(result.failure).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.structured).toEqual(VERDICT);
    expect(JSON.parse(result.finalMessage)).toEqual(VERDICT);
    expect(result.usage).toEqual({ inputTokens: 100, outputTokens: 10, cachedInputTokens: 20 });
    expect(result.pids?.length).toBe(1);
    expect(result.command?.slice(0, 2)).toEqual([CODEX_BIN, 'exec']);
    expect(result.command?.join(' ')).not.toContain('long line');
    expect(existsSync(result.rawLogPath!)).toBe(true);
    expect(readFileSync(result.rawLogPath!, 'utf8')).toContain('"turn.completed"');
    expect(progress.lines.some((p) => p.kind === 'usage')).toBe(true);

    const [req] = server.scripted('codex');
    expect(userText(req!.body)).toContain(prompt);
    // --output-schema arrives as a strict json_schema text format.
    expect(req!.body.text.format).toMatchObject({ type: 'json_schema', strict: true, schema: SCHEMA });
    const ns = (req!.body.tools as any[]).find((t) => t.type === 'namespace' && t.name === 'mcp__byterover_mcp');
    expect(ns.tools.map((t: any) => t.name).sort()).toEqual(['byterover_retrieve_knowledge', 'byterover_store_knowledge']);
  });

  it('implement: commands and patches write in the workspace (workspace-write sandbox), files changed are reported', async () => {
    const patch = ['*** Begin Patch', '*** Add File: src/limiter.js', '+export const limit = 100;', '*** End Patch', ''].join('\n');
    const { adapter, world } = await setup([
      { type: 'tool', name: 'exec_command', args: { cmd: 'mkdir -p src && echo hello > notes.txt' } },
      { type: 'custom-tool', name: 'apply_patch', input: patch },
      { type: 'text', text: 'Implemented the limiter.' },
    ]);
    const mem = stubMemory(world);
    const { result, progress } = await run(adapter, request(world, mem.spec, { phase: 'implement', role: 'implementer' }));
    expect(result.failure).toBeUndefined();
    expect(result.finalMessage).toBe('Implemented the limiter.');
    expect(readFileSync(path.join(world.cwd, 'notes.txt'), 'utf8')).toBe('hello\n');
    expect(readFileSync(path.join(world.cwd, 'src', 'limiter.js'), 'utf8')).toBe('export const limit = 100;\n');
    expect(result.filesChanged).toEqual([path.join(world.cwd, 'src', 'limiter.js')]);
    expect(progress.lines.some((p) => p.kind === 'command' && p.text.includes('echo hello'))).toBe(true);
    expect(result.command).toContain('workspace-write');
  });

  it.each(['plan', 'review', 'implement', 'validate', 'pattern'] as const)('every phase runs: %s, with its sandbox as codex reports it to the model', async (phase) => {
    const structured = phase === 'review' || phase === 'validate';
    const { adapter, server, world } = await setup([structured ? { type: 'json', value: VERDICT } : { type: 'text', text: `the ${phase} artifact` }]);
    const role = ({ plan: 'planner', review: 'reviewer', implement: 'implementer', validate: 'validator', pattern: 'planner' } as const)[phase];
    const { result } = await run(adapter, request(world, stubMemory(world).spec, { phase, role, ...(structured ? { outputSchema: SCHEMA } : {}) }));
    expect(result.failure).toBeUndefined();
    expect(result.ok).toBe(true);
    const context = userText(server.scripted('codex')[0]!.body);
    // codex describes its sandbox in the environment context: a write entry only when implementing.
    expect(/access="write"/.test(context)).toBe(phase === 'implement');
  });

  it("review cannot write: the read-only sandbox stops the agent's command", async () => {
    const { adapter, world } = await setup([{ type: 'tool', name: 'exec_command', args: { cmd: 'echo x > written.txt' } }, { type: 'json', value: VERDICT }]);
    const { result, progress } = await run(adapter, request(world, stubMemory(world).spec, { outputSchema: SCHEMA }));
    expect(result.ok).toBe(true);
    expect(existsSync(path.join(world.cwd, 'written.txt'))).toBe(false);
    // Measured: a command the sandbox denied emits no command_execution item under --json; only the model sees it.
    expect(progress.lines.some((p) => p.kind === 'command')).toBe(false);
    const output = (server!.scripted('codex')[1]!.body.input as any[]).find((i) => i.type === 'function_call_output');
    expect(JSON.stringify(output)).toContain('Read-only file system');
  });

  it("the agent's own memory tool call reaches collab's memory server", async () => {
    const artifact = '**[SESSION-20260101-ABCDEFGH] CODEX REVIEW: rate limiting**\n\n## Verdict\nAPPROVED';
    const { adapter, world } = await setup([
      codexMcpTool('byterover-mcp', 'byterover-store-knowledge', { messages: artifact }),
      codexMcpTool('byterover-mcp', 'byterover-retrieve-knowledge', { query: 'SESSION-20260101-ABCDEFGH', limit: 3 }),
      { type: 'json', value: VERDICT },
    ]);
    const mem = realMemory(world);
    const { result, progress } = await run(adapter, request(world, mem.spec, { outputSchema: SCHEMA, handoff: 'memory' }));
    expect(result.failure).toBeUndefined();
    expect(progress.lines.filter((p) => p.kind === 'tool').map((p) => p.text.split(' ')[0])).toEqual(['byterover-mcp/byterover-store-knowledge', 'byterover-mcp/byterover-retrieve-knowledge']);
    const store = new SqliteStore(mem.dbPath);
    try {
      expect(store.lookup('SESSION-20260101-ABCDEFGH').map((r) => r.text)).toContain(artifact);
    } finally {
      store.close();
    }
    // The retrieve result went back to the model as the function call's output.
    const last = server!.scripted('codex').at(-1)!.body.input as any[];
    expect(JSON.stringify(last.filter((i) => i.type === 'function_call_output'))).toContain('CODEX REVIEW');
  });

  it.each<[string, ModelTurn, RegExp]>([
    ['an HTTP 500', { type: 'http-error', status: 500, message: 'boom' }, /codex exited with code 1: We’re currently experiencing high demand/],
    ['a cut stream', { type: 'cut' }, /code 1: stream disconnected before completion/],
    ['an error event in the stream', { type: 'error-event', message: 'scripted failure event' }, /code 1: stream disconnected before completion: scripted failure event/],
  ])('exit 1 on %s', async (_n, turn, detail) => {
    const { adapter, world } = await setup([turn]);
    const { result } = await run(adapter, request(world, stubMemory(world).spec));
    expect(result.ok).toBe(false);
    expect(result.failure?.reason).toBe('exit');
    expect(result.failure?.detail).toMatch(detail);
    expect(result.finalMessage).toBe('');
  });

  it('exit 0 with an empty final message', async () => {
    const { adapter, world } = await setup([{ type: 'text', text: '' }]);
    const { result } = await run(adapter, request(world, stubMemory(world).spec, { phase: 'plan', role: 'planner' }));
    expect(result.failure).toEqual({ reason: 'empty', detail: 'the agent finished without a final message' });
  });

  it('a non-JSON answer under the schema', async () => {
    const { adapter, world } = await setup([{ type: 'text', text: 'Looks fine to me, ship it.' }]);
    const { result } = await run(adapter, request(world, stubMemory(world).spec, { outputSchema: SCHEMA }));
    expect(result.failure?.reason).toBe('unparseable');
    expect(result.failure?.detail).toMatch(/not JSON.*Looks fine to me/);
  });

  it('JSON that breaks the schema (codex does not enforce it)', async () => {
    const { adapter, world } = await setup([{ type: 'json', value: { ...VERDICT, verdict: 'LGTM' } }]);
    const { result } = await run(adapter, request(world, stubMemory(world).spec, { outputSchema: SCHEMA }));
    expect(result.failure?.reason).toBe('unparseable');
    expect(result.failure?.detail).toMatch(/\$\.verdict: "LGTM" is not one of/);
  });

  it('a model that never answers: the timeout fires and the whole process group is gone', async () => {
    const { adapter, server, world } = await setup([{ type: 'hang' }]);
    const started = Date.now();
    const pending = run(adapter, request(world, stubMemory(world).spec, { timeoutMs: 4000 }));
    await server.waitForRequests('codex', 1);
    // While it waits, codex and its memory server carry the mark.
    expect(survivors(world.mark).length).toBeGreaterThanOrEqual(2);
    const { result } = await pending;
    expect(result.failure?.reason).toBe('timeout');
    expect(result.failure?.detail).toMatch(/4s/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(groupGone(result.pids![0]!)).toBe(true);
    expect(survivors(world.mark)).toEqual([]);
  });

  it('an MCP tool refused for approval fails the phase although codex exits 0', async () => {
    const { adapter, world } = await setup([codexMcpTool('byterover-mcp', 'byterover-store-knowledge', { messages: 'x' }), { type: 'json', value: VERDICT }]);
    // A user config that wants approval for the server: a later -c wins over collab's "approve".
    const req = request(world, stubMemory(world).spec, { outputSchema: SCHEMA, extraArgs: ['-c', 'mcp_servers.byterover-mcp.default_tools_approval_mode="prompt"'] });
    const { result } = await run(adapter, req);
    expect(result.failure?.reason).toBe('refused-tool');
    expect(result.failure?.detail).toMatch(/byterover-mcp\/byterover-store-knowledge: MCP tool call requires approval, but approval policy is never/);
  });

  it.each<[string, 'fail' | 'hang', RegExp]>([
    ['exits at once', 'fail', /memory server "byterover-mcp" did not start in codex: byterover-mcp: handshaking with MCP server failed/],
    ['never finishes its handshake', 'hang', /memory server "byterover-mcp" did not start in codex: byterover-mcp: timed out handshaking/],
  ])('a memory server that %s fails the phase before the model is asked', async (_n, mode, detail) => {
    const { adapter, server, world } = await setup([{ type: 'json', value: VERDICT }], { memoryStartupTimeoutSec: 2 });
    const { result } = await run(adapter, request(world, stubMemory(world, mode).spec, { outputSchema: SCHEMA }));
    expect(result.failure?.reason).toBe('exit');
    expect(result.failure?.detail).toMatch(detail);
    expect(server.scripted('codex')).toHaveLength(0);
    expect(survivors(world.mark)).toEqual([]);
  });

  it('a missing binary is a spawn failure, not an exception', async () => {
    world = scratch();
    const adapter = createCodexAdapter({ runner: createProcessRunner(), binary: path.join(world.dir, 'no-such-codex') });
    const { result } = await run(adapter, request(world, stubMemory(world).spec));
    expect(result.failure?.reason).toBe('spawn');
    expect(result.failure?.detail).toMatch(/no-such-codex/);
  });

  it('Ctrl-C (the abort signal) ends the run and its group', async () => {
    const { adapter, server, world } = await setup([{ type: 'hang' }]);
    const ac = new AbortController();
    const pending = run(adapter, request(world, stubMemory(world).spec, { signal: ac.signal }));
    await server.waitForRequests('codex', 1);
    ac.abort();
    const { result } = await pending;
    expect(result.failure?.reason).toBe('interrupted');
    expect(survivors(world.mark)).toEqual([]);
  });

  it('describe() gives the exact command and env overrides without running anything', async () => {
    const { adapter, server, world } = await setup([]);
    const spec: MemoryServerSpec = stubMemory(world).spec;
    const d = adapter.describe!(request(world, spec, { outputSchema: SCHEMA }));
    expect(d.command[0]).toBe(CODEX_BIN);
    expect(d.command).toContain('--output-schema');
    expect(d.env.CODEX_HOME).toBe(path.join(world.dir, 'codex-home'));
    expect(server.requests).toHaveLength(0);
  });
});
