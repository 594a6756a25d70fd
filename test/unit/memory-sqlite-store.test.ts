import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CollabError } from '../../src/core/errors.js';
import { SqliteStore } from '../../src/memory/sqlite-store.js';

const A = 'SESSION-20251027-K9M2P7X4';
const B = 'SESSION-20251028-ZZZZ0000';
const C = 'SESSION-20251029-CCCC1111';

function artifact(id: string, kind: string, title: string, body = 'body'): string {
  return `**[${id}] ${kind}: ${title}**\n\n${body}\n\nSession ID: ${id}\n`;
}

function plan(id: string, body = 'Use express-rate-limit with a Redis store.'): string {
  return artifact(id, 'CLAUDE PLAN', 'Rate Limiting for Express API', `## Proposed Solution\n${body}\n\n## Status\nAWAITING_CODEX_REVIEW`);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CollabError ? err.code : `not a CollabError: ${String(err)}`;
  }
  return undefined;
}

let dir: string;
let store: SqliteStore;
let tick = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'collab-store-'));
  tick = 0;
  // A clock that advances one second per record keeps created_at ordered and stable.
  store = new SqliteStore(join(dir, 'nested', 'memory.db'), { now: () => new Date(Date.UTC(2025, 9, 27, 10, 0, tick++)) });
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('store', () => {
  it('stores verbatim and reads session and phase from the header', () => {
    const text = plan(A);
    const r = store.store(text);
    expect(r).toMatchObject({ id: 1, duplicate: false, sessionId: A, phase: 'plan', kind: 'CLAUDE PLAN', title: 'Rate Limiting for Express API' });
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
    const [rec] = store.lookup(A, 'plan');
    expect(rec?.text).toBe(text);
    expect(rec?.createdAt).toBe('2025-10-27T10:00:00.000Z');
  });

  it('dedups identical content by sha256', () => {
    const first = store.store(plan(A));
    const again = store.store(plan(A));
    expect(again).toMatchObject({ id: first.id, duplicate: true, sha256: first.sha256, sessionId: A, phase: 'plan' });
    // One character of difference is a different memory.
    expect(store.store(`${plan(A)} `).duplicate).toBe(false);
    expect(store.stats().records).toBe(2);
  });

  it('stores free knowledge without a session', () => {
    const r = store.store('Prefer token buckets for bursty clients.');
    expect(r).toMatchObject({ sessionId: null, phase: null, kind: null, title: 'Prefer token buckets for bursty clients.' });
  });

  it.each([
    ['short id in the header', '**[SESSION-2025-XYZ] CLAUDE PLAN: x**\nbody'],
    ['lower-case id', `**[${A.toLowerCase()}] CLAUDE PLAN: x**`],
    ['impossible date', '**[SESSION-20251399-K9M2P7X4] CODEX REVIEW: x**'],
    ['broken trailer on a pattern', '**VALIDATED PATTERN: p**\n\nSession ID: SESSION-20251027-K9M2'],
  ])('rejects a malformed id: %s', (_name, text) => {
    expect(codeOf(() => store.store(text))).toBe('INVALID_SESSION_ID');
    expect(store.stats().records).toBe(0);
  });

  it('rejects empty text with USAGE', () => {
    expect(codeOf(() => store.store(''))).toBe('USAGE');
    expect(codeOf(() => store.store('  \n '))).toBe('USAGE');
  });
});

describe('search scoped to a session', () => {
  beforeEach(() => {
    // Session A's artifacts, with other sessions' look-alike artifacts around them.
    store.store(plan(A));
    store.store(artifact(A, 'CODEX REVIEW', 'Rate Limiting Plan', 'IP-only limits break NAT users; the plan needs hybrid keys. Feedback on the plan.'));
    store.store(artifact(A, 'IMPLEMENTATION COMPLETE', 'Rate Limiting', 'Files changed: src/middleware/rateLimiter.ts'));
    store.store(artifact(A, 'CODEX VALIDATION', 'Implementation Quality', 'Score: 9.5/10'));
    store.store(`**VALIDATED PATTERN: Express Rate Limiting**\n\nSource: Claude-Codex Collaboration ${A}\n`);
    for (const other of [B, C]) {
      store.store(plan(other, 'Rate limiting rate limiting rate limiting Express API plan plan plan.'));
      store.store(artifact(other, 'CODEX REVIEW', 'Rate Limiting Plan', 'review review review'));
    }
    store.store('Rate limiting Express API plan review: free knowledge that mentions no session.');
  });

  it('returns only that session, in phase order, without other words', () => {
    const recs = store.search(A, 10);
    expect(recs.map((r) => r.sessionId)).toEqual([A, A, A, A, A]);
    expect(recs.map((r) => r.phase)).toEqual(['plan', 'review', 'implement', 'validate', 'pattern']);
  });

  it.each([
    [`${A} Claude plan rate limiting Express API`, 'plan'],
    [`${A} Codex review feedback rate limiting`, 'review'],
    [`${A} implementation complete rate limiting`, 'implement'],
    [`Retrieve the validation of ${A}`, 'validate'],
    [`${A} validated pattern`, 'pattern'],
  ])('ranks by the remaining words: %s', (query, phase) => {
    const recs = store.search(query, 10);
    expect(recs[0]?.phase).toBe(phase);
    expect(recs.every((r) => r.sessionId === A)).toBe(true);
    expect(recs).toHaveLength(5);
  });

  it('puts the newest iteration of a phase first', () => {
    const second = store.store(artifact(A, 'IMPLEMENTATION COMPLETE', 'Rate Limiting (iteration 2)', 'second round'));
    const first = store.lookup(A, 'implement')[0]!;
    expect(store.search(`${A} implementation`, 2).map((r) => r.id)).toEqual([second.id, first.id]);
    expect(store.search(A, 10).filter((r) => r.phase === 'implement').map((r) => r.id)).toEqual([second.id, first.id]);
  });

  it('takes several sessions in one query and honours the limit', () => {
    const recs = store.search(`${A} ${B}`, 100);
    expect(new Set(recs.map((r) => r.sessionId))).toEqual(new Set([A, B]));
    expect(recs).toHaveLength(7);
    expect(store.search(A, 2)).toHaveLength(2);
  });

  it('returns nothing for a valid session with no records', () => {
    expect(store.search('SESSION-20250101-AAAAAAAA plan', 10)).toEqual([]);
  });

  it.each(['SESSION-2025-XYZ plan', 'session-20251027-k9m2p7x4', `${A.slice(0, -1)} review`])('rejects a malformed id in the query: %s', (q) => {
    expect(codeOf(() => store.search(q, 10))).toBe('INVALID_SESSION_ID');
  });
});

describe('free-text search', () => {
  beforeEach(() => {
    store.store(`**VALIDATED PATTERN: Express Rate Limiting with Redis**\n\nSource: Claude-Codex Collaboration ${A}\nRedis store, hybrid keys.`);
    store.store(`**VALIDATED PATTERN: Retry with jitter**\n\nSource: ${B}\nExponential backoff for flaky HTTP calls.`);
    store.store('A note on Redis eviction policies: allkeys-lru for caches.');
    store.store('Unrelated: how to bake bread. Flour, water, salt.');
  });

  it('ranks by BM25, title words first', () => {
    const recs = store.search('redis rate limiting', 10);
    expect(recs[0]?.title).toBe('Express Rate Limiting with Redis');
    expect(recs.map((r) => r.title)).toContain('A note on Redis eviction policies: allkeys-lru for caches.');
    expect(recs.some((r) => r.text.includes('bread'))).toBe(false);
    expect(recs[0]!.score!).toBeGreaterThan(recs[1]!.score!);
  });

  it('matches any of the words (OR), folding case and diacritics', () => {
    expect(store.search('JITTER', 10)).toHaveLength(1);
    expect(store.search('brëad nonexistentword', 10)).toHaveLength(1);
  });

  it.each([
    ['only punctuation', '!!! ... ??? ---', 0],
    ['empty', '', 0],
    ['FTS operators as words', 'redis OR NOT bread', 3],
    ['column filter attempt', 'text: bread', 1],
    ['NEAR / prefix / quotes', 'NEAR(redis bread) "unbalanced redi*', 3],
    ['parentheses and carets', '((( ^redis )))', 2],
    ['SQL-ish', "'; DROP TABLE records; --", 0],
  ])('never lets query text act as FTS syntax: %s', (_name, q, n) => {
    expect(store.search(q, 10)).toHaveLength(n);
    expect(store.stats().records).toBe(4);
  });

  it('clamps the limit', () => {
    expect(store.search('redis flour backoff', 1)).toHaveLength(1);
    expect(store.search('redis flour backoff', 0)).toHaveLength(1);
    expect(store.search('redis flour backoff', 1000).length).toBeLessThanOrEqual(100);
  });
});

describe('lookup', () => {
  it('is exact, oldest first, and validates its arguments', () => {
    store.store(plan(A));
    const r1 = store.store(artifact(A, 'IMPLEMENTATION COMPLETE', 'one', 'first'));
    const r2 = store.store(artifact(A, 'IMPLEMENTATION COMPLETE', 'two', 'second'));
    store.store(artifact(B, 'IMPLEMENTATION COMPLETE', 'other', 'other session'));
    expect(store.lookup(A, 'implement').map((r) => r.id)).toEqual([r1.id, r2.id]);
    expect(store.lookup(A).map((r) => r.phase)).toEqual(['plan', 'implement', 'implement']);
    expect(store.lookup(A, 'validate')).toEqual([]);
    expect(codeOf(() => store.lookup('SESSION-2025-XYZ'))).toBe('INVALID_SESSION_ID');
    expect(codeOf(() => store.lookup('../../etc/passwd'))).toBe('INVALID_SESSION_ID');
    expect(codeOf(() => store.lookup(A, 'lunch' as never))).toBe('USAGE');
  });
});

describe('stats', () => {
  it('counts records, sessions, patterns and phases', () => {
    expect(store.stats()).toMatchObject({ records: 0, sessions: 0, patterns: 0, byPhase: {} });
    expect(store.stats().oldest).toBeUndefined();
    store.store(plan(A));
    store.store(artifact(A, 'CODEX REVIEW', 'r'));
    store.store(plan(B));
    store.store(`**VALIDATED PATTERN: p**\n\nSource: ${A}`);
    store.store('free note');
    const s = store.stats();
    expect(s).toMatchObject({ records: 5, sessions: 2, patterns: 1, byPhase: { plan: 2, review: 1, pattern: 1, none: 1 } });
    expect(s.oldest).toBe('2025-10-27T10:00:00.000Z');
    expect(s.newest).toBe('2025-10-27T10:00:04.000Z');
    expect(s.bytes).toBeGreaterThan(0);
    expect(s.dbPath).toBe(join(dir, 'nested', 'memory.db'));
  });
});

describe('opening', () => {
  it('reopens an existing file with its records', () => {
    store.store(plan(A));
    store.close();
    store = new SqliteStore(join(dir, 'nested', 'memory.db'));
    expect(store.lookup(A)).toHaveLength(1);
  });

  it.each([
    ['a parent that is a file', (d: string) => {
      writeFileSync(join(d, 'file'), 'x');
      return join(d, 'file', 'memory.db');
    }],
    ['a directory', (d: string) => d],
    ['a file that is not a database', (d: string) => {
      writeFileSync(join(d, 'junk.db'), 'this is not sqlite '.repeat(100));
      return join(d, 'junk.db');
    }],
  ])('refuses %s with one line naming the path', (_name, make) => {
    const path = make(dir);
    let err: unknown;
    try {
      new SqliteStore(path).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CollabError);
    expect((err as CollabError).code).toBe('MEMORY_UNAVAILABLE');
    expect((err as CollabError).message).toContain(path);
    expect((err as CollabError).message).not.toContain('\n');
  });

  it('refuses a directory it may not write (when not root)', () => {
    if (process.getuid?.() === 0) return; // root writes anywhere; the other cases cover the error path
    const locked = join(dir, 'locked');
    chmodSync(dir, 0o500);
    try {
      expect(codeOf(() => new SqliteStore(join(locked, 'memory.db')))).toBe('MEMORY_UNAVAILABLE');
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  it('shares one file between two stores (agents run their own server beside collab)', () => {
    const path = join(dir, 'nested', 'memory.db');
    const other = new SqliteStore(path);
    try {
      const mine = store.store(plan(A));
      expect(other.lookup(A)[0]?.id).toBe(mine.id);
      expect(other.store(plan(A))).toMatchObject({ id: mine.id, duplicate: true });
      other.store(plan(B));
      expect(store.search(B, 10)).toHaveLength(1);
    } finally {
      other.close();
    }
  });

  it('fails cleanly after close', () => {
    store.close();
    expect(codeOf(() => store.search('x', 1))).toBe('MEMORY_UNAVAILABLE');
    store.close();
  });
});
