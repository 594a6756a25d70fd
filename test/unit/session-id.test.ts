import { describe, expect, it } from 'vitest';
import { assertSessionId, findMalformedSessionIds, findSessionIds, generateSessionId, isSessionId, SESSION_ID_ALPHABET } from '../../src/core/session-id.js';
import { customAlphabet } from 'nanoid';

describe('session ids', () => {
  it.each([
    ['SESSION-20251027-K9M2P7X4', true],
    ['SESSION-20240229-AAAAAAAA', true],
    ['SESSION-20230229-AAAAAAAA', false], // not a leap year
    ['SESSION-20251327-K9M2P7X4', false],
    ['SESSION-20251000-K9M2P7X4', false],
    ['SESSION-20251027-K9M2P7X', false],
    ['SESSION-20251027-K9M2P7X45', false],
    ['SESSION-20251027-k9m2p7x4', false],
    ['session-20251027-K9M2P7X4', false],
    ['SESSION-2025-1027-K9M2P7X4', false],
    [' SESSION-20251027-K9M2P7X4', false],
    ['SESSION-20251027-K9M2P7X4\n', false],
    ['../SESSION-20251027-K9M2P7X4', false],
    ['SESSION-20251027-K9M2P7_4', false],
    ['', false],
  ])('%j valid: %s', (id, ok) => {
    expect(isSessionId(id)).toBe(ok);
    if (ok) expect(assertSessionId(id)).toBe(id);
    else expect(() => assertSessionId(id)).toThrow(/invalid session id/);
  });

  it('rejects non-strings', () => {
    for (const v of [undefined, null, 42, {}, ['SESSION-20251027-K9M2P7X4']]) expect(isSessionId(v)).toBe(false);
  });

  it('finds ids in text, word-bounded, without duplicates', () => {
    const t = '**[SESSION-20251027-K9M2P7X4] CLAUDE PLAN** and SESSION-20251027-K9M2P7X4 again, not XSESSION-20251027-AAAAAAAA nor SESSION-20251027-AAAAAAAAB';
    expect(findSessionIds(t)).toEqual(['SESSION-20251027-K9M2P7X4']);
    expect(findMalformedSessionIds('see [SESSION-2025-XYZ] and SESSION-20251027-K9M2P7X4')).toEqual(['SESSION-2025-XYZ']);
  });

  it('generates UTC-dated ids from the alphabet and retries on collisions', () => {
    const taken = new Set<string>();
    const rnd = customAlphabet(SESSION_ID_ALPHABET, 8);
    const now = new Date('2026-12-03T23:59:59-05:00'); // already Dec 4 in UTC
    for (let i = 0; i < 500; i++) {
      const id = generateSessionId({ now, random: rnd, isTaken: (x) => taken.has(x) });
      expect(id).toMatch(/^SESSION-20261204-[A-Z0-9]{8}$/);
      expect(taken.has(id)).toBe(false);
      taken.add(id);
    }
    const seq = ['AAAAAAAA', 'AAAAAAAA', 'BBBBBBBB'];
    const fixed = new Set(['SESSION-20261204-AAAAAAAA']);
    expect(generateSessionId({ now, random: () => seq.shift()!, isTaken: (x) => fixed.has(x) })).toBe('SESSION-20261204-BBBBBBBB');
    expect(() => generateSessionId({ now, random: () => 'AAAAAAAA', isTaken: () => true, maxAttempts: 3 })).toThrow(/free session id/);
    expect(() => generateSessionId({ now, random: () => 'aaaa', isTaken: () => false })).toThrow();
  });
});
