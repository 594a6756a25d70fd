import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { memoryConnectOptions } from '../../src/memory/connect-options.js';

const inputs = (env: Record<string, string> = {}) => ({ dbPath: '/d/m.db', env, selfServer: { command: 'node', args: ['collab.js', 'memory', 'serve', '--db', '/d/m.db'], env: {} } });
const mem = (m: unknown) => parseConfig({ memory: m }).memory;

describe('memoryConnectOptions', () => {
  it('local: in-process by default, spawned with transport stdio', () => {
    expect(memoryConnectOptions(mem({}), inputs())).toMatchObject({ kind: 'in-process', dbPath: '/d/m.db', connectTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
    expect(memoryConnectOptions(mem({ transport: 'stdio' }), inputs())).toMatchObject({ kind: 'stdio', command: 'node' });
  });
  it('byterover: bearer header from BYTEROVER_API_KEY; one line when it is missing', () => {
    const m = mem({ profile: 'byterover', url: 'https://memory.example/mcp' });
    expect(memoryConnectOptions(m, inputs({ BYTEROVER_API_KEY: 'k' }))).toMatchObject({ kind: 'http', url: 'https://memory.example/mcp', headers: { Authorization: 'Bearer k' }, sseFallback: true });
    expect(() => memoryConnectOptions(m, inputs())).toThrow('memory server https://memory.example/mcp needs a token in $BYTEROVER_API_KEY, which is not set');
  });
  it('http and stdio: any URL / command, tool names mapped', () => {
    const h = mem({ profile: 'http', url: 'http://127.0.0.1:7847/mcp', authEnv: 'COLLAB_MEMORY_TOKEN', authHeader: 'X-Api-Key', authScheme: '', tools: { store: { name: 'save' } } });
    expect(memoryConnectOptions(h, inputs({ COLLAB_MEMORY_TOKEN: 't' }))).toMatchObject({ headers: { 'X-Api-Key': 't' }, tools: { store: { name: 'save', text: 'messages' } } });
    expect(memoryConnectOptions(mem({ profile: 'stdio', command: 'srv', args: ['-x'], env: { A: '1' } }), inputs())).toMatchObject({ kind: 'stdio', command: 'srv', args: ['-x'], env: { A: '1' } });
  });
  it('config: missing url / command, bad names are CONFIG_INVALID all at once', () => {
    expect(() => parseConfig({ memory: { profile: 'http', tools: { store: { name: 'bad name' } } } })).toThrow(/memory.tools.store.name: .*; memory.url: profile http needs memory.url/);
    expect(() => parseConfig({ memory: { profile: 'stdio' } })).toThrow('memory.command: profile stdio needs memory.command');
  });
});
