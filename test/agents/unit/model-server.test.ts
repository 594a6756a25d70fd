import { afterEach, describe, expect, it } from 'vitest';
import { type ModelServer, codexMcpTool, startModelServer } from '../../fixtures/model-server/model-server.js';

let server: ModelServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const sseEvents = (text: string) =>
  text
    .split('\n\n')
    .filter(Boolean)
    .map((chunk) => JSON.parse(chunk.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as { type: string; [k: string]: any });

describe('scripted model server', () => {
  it('codex side: one output_item.done per item, then response.completed; logs the request', async () => {
    server = await startModelServer({ codex: [codexMcpTool('byterover-mcp', 'byterover-store-knowledge', { messages: 'm' })] });
    const res = await fetch(`${server.url}/v1/responses`, { method: 'POST', body: JSON.stringify({ model: 'x', input: [], stream: true }) });
    const events = sseEvents(await res.text());
    expect(events.map((e) => e.type)).toEqual(['response.created', 'response.output_item.done', 'response.completed']);
    expect(events[1]!.item).toMatchObject({ type: 'function_call', namespace: 'mcp__byterover_mcp', name: 'byterover_store_knowledge', arguments: '{"messages":"m"}' });
    expect(server.scripted('codex')[0]!.body).toEqual({ model: 'x', input: [], stream: true });
  });

  it('claude side: SSE when asked to stream, plain JSON otherwise', async () => {
    server = await startModelServer({ claude: [{ type: 'text', text: 'hi' }, { type: 'json', value: { a: 1 } }] });
    const streamed = sseEvents(await (await fetch(`${server.url}/v1/messages?beta=true`, { method: 'POST', body: JSON.stringify({ stream: true }) })).text());
    expect(streamed.map((e) => e.type)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(streamed[2]!.delta).toEqual({ type: 'text_delta', text: 'hi' });
    const plain = (await (await fetch(`${server.url}/v1/messages`, { method: 'POST', body: JSON.stringify({}) })).json()) as any;
    expect(plain).toMatchObject({ type: 'message', stop_reason: 'tool_use', content: [{ type: 'tool_use', name: 'StructuredOutput', input: { a: 1 } }] });
  });

  it('an exhausted script answers 500, and close() ends hanging requests', async () => {
    server = await startModelServer({ codex: [{ type: 'hang' }] });
    const hanging = fetch(`${server.url}/v1/responses`, { method: 'POST', body: '{}' }).then(
      () => 'answered',
      () => 'dropped',
    );
    await server.waitForRequests('codex', 1);
    const res = await fetch(`${server.url}/v1/responses`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('script is exhausted');
    await server.close();
    server = undefined;
    expect(await hanging).toBe('dropped');
  });
});
