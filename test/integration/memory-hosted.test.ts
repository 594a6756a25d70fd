import { createHash } from 'node:crypto';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { describe, expect, it } from 'vitest';
import { CollabError } from '../../src/core/errors.js';
import { connectMemoryTransport, type MemoryClient } from '../../src/memory/mcp-client.js';
import { createHostedMemoryDouble, type HostedMemoryOptions } from '../fixtures/hosted-memory/hosted-memory-double.js';

const A = 'SESSION-20251027-K9M2P7X4';
const B = 'SESSION-20251027-B2B2B2B2';
const C = 'SESSION-20251028-C3C3C3C3';
const plan = (id: string, title: string) => `**[${id}] CLAUDE PLAN: ${title}**\n\n## Approach\nToken bucket per user with a Redis store and a plan for tiers.\n\nSession ID: ${id}\n`;
const review = (id: string) => `**[${id}] CODEX REVIEW: Rate Limiting**\n\n## Verdict\nAPPROVED plan review\n\nSession ID: ${id}\n`;
const sha = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');
const PLAN_A = plan(A, 'Rate Limiting');
// Other sessions' plans share every word with ours: a semantic store ranks them next to it.
const FOREIGN = [plan(B, 'Rate Limiting'), plan(C, 'Rate Limiting v2'), review(B), 'A free note about the plan for session work'];

async function connectDouble(o: Partial<HostedMemoryOptions> & { now: () => number }, tools?: Parameters<typeof connectMemoryTransport>[1]['tools']): Promise<MemoryClient> {
  const { server } = createHostedMemoryDouble({ seed: FOREIGN, ...o });
  const [c, s] = InMemoryTransport.createLinkedPair();
  await server.connect(s);
  return connectMemoryTransport(c, { describe: 'hosted double', onClose: () => server.close(), ...(tools ? { tools } : {}) });
}

/** Polls findArtifact on the fake clock with backoff, the way the engine does, within `boundMs`. */
async function poll(memory: MemoryClient, clock: { t: number }, marker: string, boundMs: number) {
  let delay = 50;
  let attempts = 0;
  const start = clock.t;
  for (;;) {
    attempts++;
    const found = await memory.findArtifact(A, 'plan', sha(PLAN_A), marker);
    if (found) return { ...found, attempts, waitedMs: clock.t - start };
    if (clock.t - start + delay > boundMs) return undefined;
    clock.t += delay; // the fake sleep
    delay = Math.min(delay * 2, 5000);
  }
}

describe('hosted memory double: queued writes, rewritten content, mixed sessions', () => {
  for (const combined of [false, true]) {
    it(`finds the rewritten artifact by session + phase + marker and counts the foreign results (${combined ? 'one combined block' : 'one block per memory'})`, async () => {
      const clock = { t: 1_000_000 };
      const memory = await connectDouble({ now: () => clock.t, visibleAfterMs: 2500, combined });
      try {
        const stored = await memory.store(PLAN_A);
        expect(stored).toMatchObject({ queued: true, estimatedSeconds: 3 });
        // Right after the write: not visible yet, and the other sessions' plans are not taken for ours.
        expect(await memory.findArtifact(A, 'plan', sha(PLAN_A), 'Rate Limiting')).toBeUndefined();
        const found = await poll(memory, clock, 'CLAUDE PLAN: Rate Limiting', 90_000);
        expect(found).toBeDefined();
        expect(found!.exact).toBe(false); // the server summarised the body
        expect(found!.record.sessionId).toBe(A);
        expect(found!.record.phase).toBe('plan');
        expect(found!.record.text).toContain('Summary:');
        expect(found!.waitedMs).toBeGreaterThanOrEqual(2500);
        // B's plan + review, C's plan, the free note; in one combined block a memory without an
        // artifact header cannot be told apart from the artifact before it, so it rides along with that one.
        const foreign = combined ? 3 : 4;
        expect(found!.foreignIgnored).toBe(foreign);
        expect(memory.foreignIgnored).toBeGreaterThanOrEqual(foreign * found!.attempts);
        // A marker the text no longer has does not match.
        expect(await memory.findArtifact(A, 'plan', sha(PLAN_A), 'Leaky Bucket')).toBeUndefined();
        expect((await memory.lookup(A, 'plan')).length).toBe(1);
      } finally {
        await memory.close();
      }
    });
  }

  it('matches by hash (exact) when the server keeps the text verbatim', async () => {
    const clock = { t: 0 };
    const memory = await connectDouble({ now: () => clock.t, visibleAfterMs: 400, rewrite: false, combined: true });
    try {
      await memory.store(PLAN_A);
      const found = await poll(memory, clock, 'Rate Limiting', 90_000);
      expect(found?.exact).toBe(true);
      expect(sha(found!.record.text)).toBe(sha(PLAN_A));
    } finally {
      await memory.close();
    }
  });

  it('gives up within the bound when the write never becomes visible', async () => {
    const clock = { t: 0 };
    const memory = await connectDouble({ now: () => clock.t, visibleAfterMs: 10 * 60_000 });
    try {
      await memory.store(PLAN_A);
      expect(await poll(memory, clock, 'Rate Limiting', 90_000)).toBeUndefined();
      expect(clock.t).toBeLessThanOrEqual(90_000);
    } finally {
      await memory.close();
    }
  });

  it('refuses a renamed tool at connect, naming what is missing and what the server offers', async () => {
    let err: unknown;
    try {
      await connectDouble({ now: () => 0, storeToolName: 'byterover-store-knowledge-v2' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CollabError);
    expect((err as CollabError).code).toBe('MEMORY_UNAVAILABLE');
    expect((err as CollabError).message).toBe(
      'memory server (hosted double) does not match the memory contract: no tool byterover-store-knowledge; it offers: byterover-store-knowledge-v2{messages:string}, byterover-retrieve-knowledge{query:string, limit:number}',
    );
  });

  it('works with mapped tool and argument names', async () => {
    const clock = { t: 0 };
    const memory = await connectDouble(
      { now: () => clock.t, visibleAfterMs: 0, rewrite: false, storeToolName: 'store_v2', retrieveToolName: 'search_v2', queryArg: 'q' },
      { store: { name: 'store_v2', text: 'messages' }, retrieve: { name: 'search_v2', query: 'q', limit: 'limit' } },
    );
    try {
      await memory.store(PLAN_A);
      expect((await memory.findArtifact(A, 'plan', sha(PLAN_A)))?.exact).toBe(true);
    } finally {
      await memory.close();
    }
  });

  it('refuses a mapped argument the server does not have', async () => {
    let err: unknown;
    try {
      await connectDouble({ now: () => 0 }, { store: { name: 'byterover-store-knowledge', text: 'content' }, retrieve: { name: 'byterover-retrieve-knowledge', query: 'query', limit: null } });
    } catch (e) {
      err = e;
    }
    expect((err as CollabError).message).toContain('does not match the memory contract: byterover-store-knowledge has no argument content; byterover-store-knowledge requires argument messages that collab does not send; it offers:');
  });
});
