import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sniffArtifact } from '../../src/memory/sniff-artifact.js';
import { SqliteStore } from '../../src/memory/sqlite-store.js';

// The seed session's five stored artifacts, exactly as its tool calls pass them (garbled check marks included).
const seed = readFileSync(new URL('../fixtures/seed/example-session.md', import.meta.url), 'utf8');
const artifacts = [...seed.matchAll(/messages: `\n([\s\S]*?)\n`\n\}\)/g)].map((m) => (m[1] ?? '').replaceAll('\\`', '`'));
const queries = [...seed.matchAll(/query: "([^"]+)"/g)].map((m) => m[1] ?? '');
const ID = 'SESSION-20251027-K9M2P7X4';

describe('the seed session in memory', () => {
  it('finds all five artifacts and identifies each', () => {
    expect(artifacts).toHaveLength(5);
    expect(artifacts.map((a) => sniffArtifact(a))).toEqual([
      expect.objectContaining({ sessionId: ID, phase: 'plan', kind: 'CLAUDE PLAN', malformedIds: [] }),
      expect.objectContaining({ sessionId: ID, phase: 'review', kind: 'CODEX REVIEW', malformedIds: [] }),
      expect.objectContaining({ sessionId: ID, phase: 'implement', kind: 'IMPLEMENTATION COMPLETE', malformedIds: [] }),
      expect.objectContaining({ sessionId: ID, phase: 'validate', kind: 'CODEX VALIDATION', malformedIds: [] }),
      expect.objectContaining({ sessionId: ID, phase: 'pattern', kind: 'VALIDATED PATTERN', malformedIds: [] }),
    ]);
  });

  it("answers the seed's own queries with the artifact they were looking for first", () => {
    const store = new SqliteStore(':memory:');
    try {
      for (const a of artifacts) expect(store.store(a).duplicate).toBe(false);
      // Another session with the same words must not leak in.
      for (const a of artifacts) store.store(a.replaceAll(ID, 'SESSION-20251101-OTHER000'));
      expect(queries).toHaveLength(3);
      expect(queries.map((q) => store.search(q, 10)[0]?.phase)).toEqual(['plan', 'review', 'implement']);
      for (const q of queries) expect(store.search(q, 10).every((r) => r.sessionId === ID)).toBe(true);
      expect(store.search(ID, 10).map((r) => r.text)).toEqual(artifacts);
      expect(store.search('Express rate limiting Redis pattern', 3)[0]?.phase).toBe('pattern');
    } finally {
      store.close();
    }
  });
});
