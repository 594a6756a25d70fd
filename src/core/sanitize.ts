/**
 * Cleaning agent output before it is stored or handed to the other agent: terminal escape sequences,
 * stray control characters, invalid UTF-8 and mojibake (UTF-8 that was decoded as cp1252 / cp1254 /
 * latin-1 somewhere along the way — the seed session shows ✅ as "âœ…"). Pure string/byte code.
 */

/** What sanitizeAgentText returns; `repaired` is true when mojibake was rewritten. */
export interface SanitizeResult {
  text: string;
  warnings: string[];
  repaired: boolean;
}

/** What decodeAgentBytes returns; invalid sequences became U+FFFD. */
export interface DecodeResult {
  text: string;
  warnings: string[];
  invalidBytes: number;
}

// ECMA-48: CSI = ESC [ params(0x30-0x3F)* intermediates(0x20-0x2F)* final(0x40-0x7E); OSC (incl. OSC 8
// hyperlinks) and the string controls DCS/SOS/PM/APC run to BEL or ST (ESC \); any other ESC sequence is
// ESC intermediates* final. Only the 7-bit forms are interpreted: 8-bit C1 bytes in decoded text are far
// more often mojibake material than real controls, and are handled after the mojibake pass.
const CSI = /\x1b\[[0-?]*[ -/]*[@-~]/g;
const STRING_SEQ = /\x1b[\]PX^_][\s\S]*?(?:\x07|\x1b\\)/g;
const OTHER_ESC = /\x1b[ -/]*[0-~]/g;
const UNTERMINATED = /\x1b(?:[\]PX^_][^\x07\x1b]*|\[[0-?]*[ -/]*)?$/;
const C0 = /[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g;
const C1 = /[\u0080-\u009f]/g;

// cp1252 bytes 0x80-0x9F (WHATWG / Unicode mapping tables); 0x81 0x8D 0x8F 0x90 0x9D are undefined,
// so a decoder that drops them loses that byte of the original UTF-8 sequence.
const CP1252_HIGH: Record<number, number> = {
  0x80: 0x20ac, 0x82: 0x201a, 0x83: 0x0192, 0x84: 0x201e, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021, 0x88: 0x02c6,
  0x89: 0x2030, 0x8a: 0x0160, 0x8b: 0x2039, 0x8c: 0x0152, 0x8e: 0x017d, 0x91: 0x2018, 0x92: 0x2019, 0x93: 0x201c,
  0x94: 0x201d, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02dc, 0x99: 0x2122, 0x9a: 0x0161, 0x9b: 0x203a,
  0x9c: 0x0153, 0x9e: 0x017e, 0x9f: 0x0178,
};
// cp1254 (Turkish) differs from cp1252 in six letters and leaves 0x8E/0x9E undefined; the seed's "ğŸš€" (🚀)
// went through it.
const CP1254_ONLY: Record<number, number> = { 0xd0: 0x011e, 0xdd: 0x0130, 0xde: 0x015e, 0xf0: 0x011f, 0xfd: 0x0131, 0xfe: 0x015f };
const LOST_1252 = [0x81, 0x8d, 0x8f, 0x90, 0x9d];
const LOST_1254 = [0x81, 0x8d, 0x8e, 0x8f, 0x90, 0x9d, 0x9e];

/** Character → the single byte it came from, in any of latin-1, cp1252 or cp1254 (no character maps to two bytes). */
const CHAR_TO_BYTE = new Map<string, number>();
for (let b = 0x80; b <= 0xff; b++) CHAR_TO_BYTE.set(String.fromCharCode(b), b); // latin-1, incl. C1
for (const [b, cp] of Object.entries(CP1252_HIGH)) CHAR_TO_BYTE.set(String.fromCodePoint(cp), Number(b));
for (const [b, cp] of Object.entries(CP1254_ONLY)) CHAR_TO_BYTE.set(String.fromCodePoint(cp), Number(b));
const ONLY_1254 = new Set(Object.values(CP1254_ONLY).map((cp) => String.fromCodePoint(cp)));
const ONLY_1252 = new Set(['\u00d0', '\u00dd', '\u00de', '\u00f0', '\u00fd', '\u00fe', '\u017d', '\u017e']);

const RUN = new RegExp(`[${[...CHAR_TO_BYTE.keys()].map((c) => `\\u{${c.codePointAt(0)!.toString(16)}}`).join('')}]{2,}`, 'gu');
// Byte pairs that only ever appear as mojibake (lead byte of a 3/4-byte sequence followed by a
// continuation), used to warn about runs that cannot be decoded.
const SIGNATURE = /â€|â[œšŒ†]|Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2122]|[ðğ]Ÿ|ï¸/u;

const PLAUSIBLE_INFERRED = /^(?:\p{Extended_Pictographic}|\u{fe0f}|\u{200d})$/u;

/** Decodes one UTF-8 sequence starting at bytes[0]; undefined when not a valid, assigned scalar. */
function scalar(bytes: number[]): string | undefined {
  const b0 = bytes[0]!;
  const n = b0 >= 0xf0 ? 4 : b0 >= 0xe0 ? 3 : 2;
  if (bytes.length !== n || b0 < 0xc2 || b0 > 0xf4) return undefined;
  let cp = b0 & (0xff >> (n + 1));
  for (const b of bytes.slice(1)) {
    if ((b & 0xc0) !== 0x80) return undefined;
    cp = (cp << 6) | (b & 0x3f);
  }
  const min = [0, 0, 0x80, 0x800, 0x10000][n]!;
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
  const ch = String.fromCodePoint(cp);
  return /[\p{Cn}\p{Cc}\p{Cs}]/u.test(ch) ? undefined : ch;
}

/**
 * Every character one UTF-8 sequence (lead byte + continuations, as found) can stand for, allowing one
 * continuation byte from `lost` to have been dropped by the decoder. Lost bytes are all continuation
 * bytes (0x81-0x9E), so splitting a run at lead bytes never cuts a sequence and keeps this linear.
 */
function candidates(seq: number[], lost: number[]): { ch: string; inferred: boolean }[] {
  const b0 = seq[0]!;
  const n = b0 >= 0xf0 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc2 ? 2 : 0;
  if (!n || seq.length > n) return [];
  if (seq.length === n) {
    const ch = scalar(seq);
    return ch ? [{ ch, inferred: false }] : [];
  }
  if (seq.length !== n - 1) return [];
  const out: { ch: string; inferred: boolean }[] = [];
  const rest = seq.slice(1);
  for (let p = 0; p <= rest.length; p++) {
    for (const l of lost) {
      const ch = scalar([b0, ...rest.slice(0, p), l, ...rest.slice(p)]);
      if (ch) out.push({ ch, inferred: true });
    }
  }
  return out;
}

/** Decides one suspicious run: the unique repair, 'ambiguous', or undefined (not mojibake). */
function repairRun(run: string): string | 'ambiguous' | undefined {
  const chars = [...run];
  const has1254 = chars.some((c) => ONLY_1254.has(c));
  const notMojibake = () => (SIGNATURE.test(run) ? 'ambiguous' : undefined);
  if (has1254 && chars.some((c) => ONLY_1252.has(c))) return notMojibake();
  const hasC1 = chars.some((c) => c <= '\u009f');
  // A latin-1 decode keeps every byte (as C1 controls); only the Windows code pages drop undefined ones.
  const lost = hasC1 ? [] : has1254 ? LOST_1254 : LOST_1252;
  const bytes = chars.map((c) => CHAR_TO_BYTE.get(c)!);
  if (bytes[0]! < 0xc0) return notMojibake();
  const seqs: number[][] = [];
  for (const b of bytes) {
    if (b >= 0xc0) seqs.push([b]);
    else seqs[seqs.length - 1]!.push(b);
  }
  let fixed = '';
  let ambiguous = false;
  for (const seq of seqs) {
    const all = candidates(seq, lost);
    if (!all.length) return notMojibake();
    // A guessed byte is only trusted when it yields an emoji (or the emoji variation selector / ZWJ) —
    // what agents print — and only one guess does.
    const plausible = all.some((c) => !c.inferred) ? all : all.filter((c) => PLAUSIBLE_INFERRED.test(c.ch));
    const distinct = new Set(plausible.map((c) => c.ch));
    if (distinct.size !== 1) ambiguous = true;
    else fixed += [...distinct][0];
  }
  return ambiguous ? 'ambiguous' : fixed;
}

/** Finds and repairs mojibake runs; ambiguous ones are left as they are and reported. */
export function repairMojibake(text: string): SanitizeResult {
  let repairedRuns = 0;
  const ambiguous: string[] = [];
  const fixed = text.replace(RUN, (run) => {
    const r = repairRun(run);
    if (r === undefined) return run;
    if (r === 'ambiguous') {
      ambiguous.push(run);
      return run;
    }
    repairedRuns++;
    return r;
  });
  const warnings: string[] = [];
  if (repairedRuns) warnings.push(`repaired ${repairedRuns} mojibake sequence(s): UTF-8 text that had been decoded as cp1252/latin-1`);
  if (ambiguous.length) {
    const sample = [...new Set(ambiguous)].slice(0, 3).map((s) => JSON.stringify(s)).join(', ');
    warnings.push(`${ambiguous.length} sequence(s) look like mojibake but cannot be repaired unambiguously (e.g. ${sample}); left as they are`);
  }
  return { text: fixed, warnings, repaired: repairedRuns > 0 };
}

/** Strips terminal escapes and stray controls, normalises newlines, and repairs unambiguous mojibake. */
export function sanitizeAgentText(text: string): SanitizeResult {
  const warnings: string[] = [];
  let t = text.replace(/\r\n/g, '\n');
  let escapes = 0;
  const count = () => {
    escapes++;
    return '';
  };
  t = t.replace(STRING_SEQ, count).replace(CSI, count).replace(UNTERMINATED, count).replace(OTHER_ESC, count);
  if (escapes) warnings.push(`stripped ${escapes} terminal escape sequence(s)`);
  // A lone CR is a progress-line redraw on a terminal; as stored text it is a line break.
  const crs = (t.match(/\r/g) ?? []).length;
  t = t.replace(/\r/g, '\n');
  const moji = repairMojibake(t);
  t = moji.text;
  warnings.push(...moji.warnings);
  const controls = (t.match(C0) ?? []).length + (t.match(C1) ?? []).length + (t.match(/\x1b/g) ?? []).length;
  t = t.replace(C0, '').replace(C1, '').replace(/\x1b/g, '');
  if (controls || crs) warnings.push(`removed ${controls + crs} control character(s)${crs ? ` (${crs} carriage return(s) became line breaks)` : ''}`);
  // Agent output reaches us decoded with replacement: U+FFFD marks bytes that were not valid UTF-8.
  const replaced = (t.match(/\uFFFD/g) ?? []).length;
  if (replaced) warnings.push(`invalid UTF-8 in the agent's output: ${replaced} sequence(s) replaced with U+FFFD`);
  return { text: t, warnings, repaired: moji.repaired };
}

/** Length of the valid UTF-8 sequence at bytes[i], or 0 (WHATWG / Unicode "maximal subpart" rules). */
function validSeqLength(bytes: Uint8Array, i: number): { len: number; bad: number } {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return { len: 1, bad: 0 };
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) n = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 === 0xe0) lo = 0xa0;
    if (b0 === 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 === 0xf0) lo = 0x90;
    if (b0 === 0xf4) hi = 0x8f;
  } else return { len: 0, bad: 1 };
  for (let k = 1; k < n; k++) {
    const b = bytes[i + k];
    const [l, h] = k === 1 ? [lo, hi] : [0x80, 0xbf];
    if (b === undefined || b < l || b > h) return { len: 0, bad: k };
  }
  return { len: n, bad: 0 };
}

/** Decodes agent output bytes as UTF-8; invalid sequences become U+FFFD and a warning says how many bytes. */
export function decodeAgentBytes(buf: Uint8Array): DecodeResult {
  let invalid = 0;
  for (let i = 0; i < buf.length; ) {
    const { len, bad } = validSeqLength(buf, i);
    if (len) i += len;
    else {
      invalid += bad;
      i += bad;
    }
  }
  // Same replacement rules as our count (WHATWG UTF-8 decode), so the warning matches the U+FFFDs.
  const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(buf);
  const warnings = invalid ? [`invalid UTF-8: ${invalid} byte(s) replaced with U+FFFD`] : [];
  return { text, warnings, invalidBytes: invalid };
}
