import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/memory/sqlite-store.js';

const id = (n: number) => `SESSION-20251027-${n.toString(36).toUpperCase().padStart(8, '0')}`;
const plan = (n: number) => `**[${id(n)}] CLAUDE PLAN: Feature ${n}**\n\nbody ${n} token bucket\n\nSession ID: ${id(n)}\n`;

describe('session-scoped reads at scale', () => {
  it('go through the session/phase index, never a table scan', () => {
    const store = new SqliteStore(':memory:');
    try {
      store.storeMany(Array.from({ length: 2000 }, (_, i) => plan(i)));
      const plans = store.sessionQueryPlans();
      for (const p of Object.values(plans)) {
        expect(p).toContain('USING INDEX records_session_phase');
        expect(p).toMatch(/^SEARCH records USING INDEX records_session_phase/);
        expect(p).not.toContain('SCAN');
      }
      expect(store.search(`${id(1234)} plan`, 1)[0]?.text).toBe(plan(1234));
      expect(store.storeMany([plan(5)])[0]?.duplicate).toBe(true);
    } finally {
      store.close();
    }
  });
});
