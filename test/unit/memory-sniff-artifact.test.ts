import { describe, expect, it } from 'vitest';
import { phaseOfKind, sniffArtifact } from '../../src/memory/sniff-artifact.js';

const ID = 'SESSION-20251027-K9M2P7X4';

describe('sniffArtifact', () => {
  it.each([
    ['bold plan header', `**[${ID}] CLAUDE PLAN: Rate Limiting for Express API**\n\n## Status\nAWAITING_CODEX_REVIEW`, 'plan', 'CLAUDE PLAN', 'Rate Limiting for Express API'],
    ['review header after blank lines', `\n\n**[${ID}] CODEX REVIEW: Rate Limiting Plan**\n`, 'review', 'CODEX REVIEW', 'Rate Limiting Plan'],
    ['implementation', `**[${ID}] IMPLEMENTATION COMPLETE: Rate Limiting**`, 'implement', 'IMPLEMENTATION COMPLETE', 'Rate Limiting'],
    ['validation', `**[${ID}] CODEX VALIDATION: Implementation Quality**`, 'validate', 'CODEX VALIDATION', 'Implementation Quality'],
    ['markdown heading, lower case', `# [${ID}] claude plan: lower case`, 'plan', 'CLAUDE PLAN', 'lower case'],
    ['heading + bold', `## **[${ID}] Codex   Review: spaced**`, 'review', 'CODEX REVIEW', 'spaced'],
    ['sentence before header', `Here is my review.\n\n**[${ID}] CODEX REVIEW: x**`, 'review', 'CODEX REVIEW', 'x'],
    ['bracket without kind', `**[${ID}] Some notes**`, null, null, 'Some notes'],
    ['unknown kind', `**[${ID}] RANDOM THING: y**`, null, 'RANDOM THING', 'y'],
  ])('%s', (_name, text, phase, kind, title) => {
    const s = sniffArtifact(text);
    expect(s.sessionId).toBe(ID);
    expect(s.phase).toBe(phase);
    expect(s.kind).toBe(kind);
    expect(s.title).toBe(title);
    expect(s.malformedIds).toEqual([]);
  });

  it('reads a pattern with its session on the Source line', () => {
    const s = sniffArtifact(`\n**VALIDATED PATTERN: Express Rate Limiting with Redis**\n\nSource: Claude-Codex Collaboration ${ID}\nValidated by: Codex (Score: 9.5/10)\n`);
    expect(s).toMatchObject({ sessionId: ID, phase: 'pattern', kind: 'VALIDATED PATTERN', title: 'Express Rate Limiting with Redis' });
  });

  it('reads a pattern with its session in a Session ID trailer', () => {
    const s = sniffArtifact(`# Validated pattern: Retry with jitter\n\nbody\n\nSession ID: ${ID}\n`);
    expect(s).toMatchObject({ sessionId: ID, phase: 'pattern' });
  });

  it('lets a Phase trailer win over the header kind', () => {
    const s = sniffArtifact(`**[${ID}] CLAUDE PLAN: revised after review**\n\nSession ID: ${ID}\nPhase: review\n`);
    expect(s.phase).toBe('review');
    expect(sniffArtifact(`**[${ID}] CODEX REVIEW: x**\nPhase: Implementation`).phase).toBe('implement');
    expect(sniffArtifact(`**[${ID}] CODEX REVIEW: x**\nPhase: lunch`).phase).toBe('review');
    expect(sniffArtifact(`**[${ID}] CLAUDE PLAN: x**\n- Phase: implementation of the middleware\n`).phase).toBe('plan');
    expect(sniffArtifact(`**[${ID}] CLAUDE PLAN: x**\n\nAgent: Claude Code\n**Phase:** validate\n`).phase).toBe('validate');
  });

  it('treats text without a session as free knowledge', () => {
    expect(sniffArtifact('Redis failure policy: fail open for reads.\nMore text.')).toEqual({
      sessionId: null,
      phase: null,
      kind: null,
      title: 'Redis failure policy: fail open for reads.',
      malformedIds: [],
    });
    expect(sniffArtifact('Session-based auth: notes about cookies').malformedIds).toEqual([]);
    expect(sniffArtifact('Source: src/session-store.ts').malformedIds).toEqual([]);
  });

  it('files a loose note under the first session it names', () => {
    expect(sniffArtifact(`notes for ${ID}: remember the allowlist`)).toMatchObject({ sessionId: ID, phase: null });
  });

  it.each([
    ['short id in header', '**[SESSION-2025-XYZ] CLAUDE PLAN: x**', 'SESSION-2025-XYZ'],
    ['lower-case id in header', `**[${ID.toLowerCase()}] CLAUDE PLAN: x**`, ID.toLowerCase()],
    ['impossible date', '**[SESSION-20251345-K9M2P7X4] CLAUDE PLAN: x**', 'SESSION-20251345-K9M2P7X4'],
    ['bare header with short id', '# SESSION-20251027-K9M2 CODEX REVIEW: x', 'SESSION-20251027-K9M2'],
    ['broken trailer', '**VALIDATED PATTERN: p**\n\nSession ID: SESSION-20251027-K9M2P7X', 'SESSION-20251027-K9M2P7X'],
    ['broken source', '**VALIDATED PATTERN: p**\n\nSource: session SESSION-20251027-ABC', 'SESSION-20251027-ABC'],
  ])('reports a malformed id: %s', (_name, text, bad) => {
    expect(sniffArtifact(text).malformedIds).toContain(bad);
  });

  it('maps header kinds to phases', () => {
    expect(phaseOfKind('CODEX PLAN REVIEW')).toBe('review');
    expect(phaseOfKind('revised plan')).toBe('plan');
    expect(phaseOfKind('IMPLEMENTATION')).toBe('implement');
    expect(phaseOfKind('FINAL VALIDATION')).toBe('validate');
    expect(phaseOfKind('VALIDATED PATTERN')).toBe('pattern');
    expect(phaseOfKind('SUMMARY')).toBeNull();
  });
});
