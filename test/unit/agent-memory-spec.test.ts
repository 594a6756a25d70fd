import { describe, expect, it } from 'vitest';
import { buildClaudeArgs } from '../../src/agents/claude.js';
import { buildCodexArgs } from '../../src/agents/codex.js';
import { manualCommand } from '../../src/agents/manual.js';
import { agentMemorySpec } from '../../src/cli/context.js';
import { parseConfig } from '../../src/core/config.js';
import { makeRequest } from '../agents/request-fixture.js';

const self = { command: '/usr/bin/node', args: ['/opt/collab/bin/collab.js'] };

describe('the memory server the agents are given, per memory profile', () => {
  it.each([
    [{}, { command: '/usr/bin/node', args: ['/opt/collab/bin/collab.js', 'memory', 'serve', '--db', '/data/m.db'] }],
    [{ memory: { profile: 'stdio', command: 'my-mem', args: ['--x'], env: { K: 'v' } } }, { command: 'my-mem', args: ['--x'], env: { K: 'v' } }],
    [{ memory: { profile: 'http', url: 'https://mem.example/mcp', authEnv: 'MEM_TOKEN' } }, { url: 'https://mem.example/mcp', bearerTokenEnv: 'MEM_TOKEN' }],
    [{ memory: { profile: 'byterover', url: 'https://byterover.example/mcp' } }, { url: 'https://byterover.example/mcp', bearerTokenEnv: 'BYTEROVER_API_KEY' }],
  ])('%j', (raw, expected) => {
    expect(agentMemorySpec(parseConfig(raw), self, '/data/m.db')).toMatchObject({ name: 'byterover-mcp', ...expected });
  });

  const remote = { name: 'byterover-mcp', command: '', args: [], env: {}, url: 'https://mem.example/mcp', bearerTokenEnv: 'MEM_TOKEN' };

  it('codex gets url + bearer_token_env_var overrides (the token itself never on the command line)', () => {
    const inv = buildCodexArgs(makeRequest({ memoryServer: remote }));
    const overrides = inv.args.filter((_a, i) => inv.args[i - 1] === '-c');
    expect(overrides).toContain('mcp_servers.byterover-mcp.url="https://mem.example/mcp"');
    expect(overrides).toContain('mcp_servers.byterover-mcp.bearer_token_env_var="MEM_TOKEN"');
    expect(overrides.some((o) => o.includes('.command='))).toBe(false);
  });

  it('claude gets an http server entry whose header expands the variable', () => {
    const inv = buildClaudeArgs(makeRequest({ phase: 'plan', role: 'planner', memoryServer: remote }));
    const cfg = JSON.parse(inv.files.find((f) => f.path.endsWith('mcp.json'))!.content) as { mcpServers: Record<string, unknown> };
    expect(cfg.mcpServers['byterover-mcp']).toEqual({ type: 'http', url: 'https://mem.example/mcp', headers: { Authorization: 'Bearer ${MEM_TOKEN}' } });
  });

  it('the manual command names the url too', () => {
    const line = manualCommand(makeRequest({ memoryServer: remote }), '/tmp/p.md');
    expect(line).toContain('mcp_servers.byterover-mcp.url=');
    expect(line).toContain('bearer_token_env_var');
  });
});
