import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeAgentBytes, sanitizeAgentText } from '../../src/core/sanitize.js';

const seed = readFileSync(new URL('../fixtures/seed/example-session.md', import.meta.url), 'utf8');
const seedLine = (needle: string) => seed.split('\n').find((l) => l.includes(needle))!;

/** What a cp1252 decoder makes of UTF-8 text (undefined bytes dropped, as the seed's tool did). */
function asCp1252(s: string): string {
  const high = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';
  return [...new TextEncoder().encode(s)].map((b) => (b < 0x80 ? String.fromCharCode(b) : b < 0xa0 ? high[b - 0x80]!.replace(/[\u0080-\u009f]/, '') : String.fromCharCode(b))).join('');
}

describe('sanitizeAgentText: terminal output', () => {
  it.each([
    ['SGR colours', 'a \x1b[1;31mred\x1b[0m b', 'a red b'],
    ['cursor movement and erase', '\x1b[2K\x1b[1Gdone\x1b[?25h', 'done'],
    ['OSC 8 hyperlink (BEL)', 'see \x1b]8;;https://example.com\x07the docs\x1b]8;;\x07.', 'see the docs.'],
    ['OSC title (ST)', '\x1b]0;codex\x1b\\ok', 'ok'],
    ['other ESC sequences', '\x1b(B\x1b=text\x1b7', 'text'],
    ['stray C0 controls kept: \\n \\t', 'a\x00b\x07c\x08d\te\nf', 'abcd\te\nf'],
    ['CRLF normalised', 'one\r\ntwo\r\n', 'one\ntwo\n'],
    ['lone CR becomes a line break', '50%\r100%', '50%\n100%'],
    ['truncated escape at the end', 'tail\x1b[3', 'tail'],
  ])('%s', (_name, input, expected) => {
    const r = sanitizeAgentText(input);
    expect(r.text).toBe(expected);
    // Newline normalisation is silent; everything else removed something and says so.
    if (input.replace(/\r\n/g, '\n') !== expected) expect(r.warnings.length).toBeGreaterThan(0);
  });

  it('leaves clean text alone, with no warnings', () => {
    const clean = '## Status\n\nAPPROVED ✅ — naïve café, Über “quotes”, 日本語, 🚀\n\tindented\n';
    expect(sanitizeAgentText(clean)).toEqual({ text: clean, warnings: [], repaired: false });
  });

  it('is idempotent on the seed', () => {
    const once = sanitizeAgentText(seed).text;
    expect(sanitizeAgentText(once).text).toBe(once);
  });
});

describe('sanitizeAgentText: mojibake', () => {
  it.each([
    ['✅ (cp1252)', seedLine('Plan created and stored'), '✅ Plan created and stored in Byterover'],
    ['⚠️ (cp1252, 0x8F of U+FE0F dropped)', seedLine('CONDITIONAL APPROVAL'), '**⚠️ CONDITIONAL APPROVAL**'],
    ['❌ (cp1252, 0x9D dropped)', seedLine('Single-instance apps'), '❌ Single-instance apps (memory store sufficient)'],
    ['→ (cp1252)', seedLine('Would have shipped IP-only'), '- ❌ Would have shipped IP-only rate limiting → production incidents'],
    ['🚀 (cp1254)', seedLine('Ready to deploy'), 'Ready to deploy! 🚀'],
  ])('repairs the seed line with %s', (_name, line, expected) => {
    const r = sanitizeAgentText(line);
    expect(r.text).toBe(expected);
    expect(r.repaired).toBe(true);
    expect(r.warnings.join('\n')).toMatch(/mojibake/);
  });

  it.each([
    ['’ and é', 'it’s a café résumé'],
    ['emoji and arrows', 'done ✅ → next 🚀'],
    ['CJK', '日本語'],
  ])('round-trips generated cp1252 mojibake: %s', (_name, s) => {
    const r = sanitizeAgentText(asCp1252(s));
    expect(r.text).toBe(s);
    expect(r.repaired).toBe(true);
  });

  it('does not guess a dropped byte that yields no emoji (限 = E9 99 90, 0x90 undefined in cp1252)', () => {
    const r = sanitizeAgentText(asCp1252('限'));
    expect(r.text).toBe(asCp1252('限'));
    expect(r.repaired).toBe(false);
  });

  it('repairs latin-1 mojibake (C1 controls kept by the decoder)', () => {
    const latin1 = [...new TextEncoder().encode('✅ ok')].map((b) => String.fromCharCode(b)).join('');
    expect(sanitizeAgentText(latin1).text).toBe('✅ ok');
  });

  it('warns but does not guess when a dropped byte has several emoji readings (🎉 via cp1254)', () => {
    const line = seedLine('shared memory! ');
    const r = sanitizeAgentText(line);
    expect(r.text).toBe(line);
    expect(r.repaired).toBe(false);
    expect(r.warnings.join('\n')).toMatch(/cannot be repaired unambiguously/);
  });

  it('warns only on a mixed run that is not valid UTF-8 once re-encoded', () => {
    const r = sanitizeAgentText('broken Ã©Ü here');
    expect(r.text).toBe('broken Ã©Ü here');
    expect(r.repaired).toBe(false);
    expect(r.warnings).toHaveLength(1);
  });

  it('repairs the whole seed except the ambiguous 🎉', () => {
    const r = sanitizeAgentText(seed);
    expect(r.repaired).toBe(true);
    expect(r.text).not.toMatch(/âœ…|âš|âŒ|â†’|ğŸš€/);
    expect(r.text).toContain('✅');
    expect(r.text).toContain('⚠️');
    expect(r.warnings.some((w) => w.includes('ğŸ‰'))).toBe(true);
  });
});

describe('decodeAgentBytes', () => {
  it('decodes valid UTF-8 without warnings', () => {
    expect(decodeAgentBytes(new TextEncoder().encode('ok ✅'))).toEqual({ text: 'ok ✅', warnings: [], invalidBytes: 0 });
  });

  it.each([
    ['a lone 0xFF', [0x61, 0xff, 0x62], 'a\ufffdb', 1],
    ['a truncated 3-byte sequence', [0x61, 0xe2, 0x9c, 0x62], 'a\ufffdb', 2],
    ['a latin-1 é', [0x63, 0x61, 0x66, 0xe9], 'caf\ufffd', 1],
    ['an encoded surrogate', [0xed, 0xa0, 0x80], '\ufffd\ufffd\ufffd', 3],
    ['an overlong slash', [0xc0, 0xaf], '\ufffd\ufffd', 2],
  ])('repairs %s with U+FFFD and names the byte count', (_name, bytes, text, n) => {
    const r = decodeAgentBytes(new Uint8Array(bytes));
    expect(r.text).toBe(text);
    expect(r.invalidBytes).toBe(n);
    expect(r.warnings).toEqual([`invalid UTF-8: ${n} byte(s) replaced with U+FFFD`]);
  });
});

describe('invalid UTF-8 that reached us already replaced', () => {
  it('warns with the number of U+FFFD sequences and keeps the text', () => {
    const r = sanitizeAgentText('ok \uFFFD and \uFFFD\uFFFD');
    expect(r.text).toBe('ok \uFFFD and \uFFFD\uFFFD');
    expect(r.warnings).toContain("invalid UTF-8 in the agent's output: 3 sequence(s) replaced with U+FFFD");
  });
});
