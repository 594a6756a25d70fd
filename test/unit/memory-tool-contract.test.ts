import { describe, expect, it } from 'vitest';
import { DEFAULT_TOOL_MAPPING, checkToolContract, parseQueued, splitCombinedText } from '../../src/memory/tool-contract.js';

const A = 'SESSION-20251027-K9M2P7X4';
const B = 'SESSION-20251027-B2B2B2B2';
const ok = [
  { name: 'byterover-store-knowledge', inputSchema: { type: 'object', properties: { messages: { type: 'string' } }, required: ['messages'] } },
  { name: 'byterover-retrieve-knowledge', inputSchema: { type: 'object', properties: { query: { type: 'string' }, limit: { type: 'integer' } }, required: ['query'] } },
];

describe('checkToolContract', () => {
  it('accepts Byterover-shaped tools', () => expect(checkToolContract(ok, DEFAULT_TOOL_MAPPING)).toEqual([]));
  it('names a missing tool, a missing argument, a wrong type and an extra required argument', () => {
    const tools = [
      { name: 'byterover-retrieve-knowledge', inputSchema: { properties: { query: { type: 'number' }, limit: { type: 'string' }, sessionId: { type: 'string' } }, required: ['query', 'sessionId'] } },
    ];
    expect(checkToolContract(tools, DEFAULT_TOOL_MAPPING)).toEqual([
      'no tool byterover-store-knowledge',
      'byterover-retrieve-knowledge argument query is not string',
      'byterover-retrieve-knowledge argument limit is not number',
      'byterover-retrieve-knowledge requires argument sessionId that collab does not send',
    ]);
  });
  it('skips the limit when it is mapped to null, accepts union and untyped properties', () => {
    const tools = [
      { name: 's', inputSchema: { properties: { text: {} } } },
      { name: 'r', inputSchema: { properties: { q: { anyOf: [{ type: 'string' }, { type: 'null' }] } } } },
    ];
    expect(checkToolContract(tools, { store: { name: 's', text: 'text' }, retrieve: { name: 'r', query: 'q', limit: null } })).toEqual([]);
  });
});

describe('parseQueued', () => {
  it.each([
    ['Memory queued for processing. Estimated time: 25s', { queued: true, estimatedSeconds: 25 }],
    ['Queued. Estimated time: 2 minutes', { queued: true, estimatedSeconds: 120 }],
    ['queued for processing', { queued: true }],
    ['Stored memory 42 (session X).', { queued: false }],
  ])('%s', (raw, want) => expect(parseQueued(raw)).toEqual(want));
});

describe('splitCombinedText', () => {
  it('splits one block of several memories at artifact headers, dropping preamble, numbering and separators', () => {
    const text = `Found 2 memories:\n\n1. **[${A}] CLAUDE PLAN: X**\nbody a\n\n---\n\n2. **[${B}] CODEX REVIEW: X**\nbody b\n`;
    expect(splitCombinedText(text)).toEqual([`**[${A}] CLAUDE PLAN: X**\nbody a\n`, `**[${B}] CODEX REVIEW: X**\nbody b\n`]);
  });
  it('keeps a single artifact whole, and ignores headers quoted in code fences', () => {
    const one = `**[${A}] CLAUDE PLAN: X**\nbody\n\`\`\`\n**[${B}] CLAUDE PLAN: quoted**\n\`\`\`\n`;
    expect(splitCombinedText(one)).toEqual([one]);
  });
});
