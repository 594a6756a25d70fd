/**
 * A small, tolerant reader of an artifact's identity (session id, phase, kind, title).
 *
 * The memory layer needs only these four facts to index a text; the full parser lives in
 * src/core/artifact.ts and is deliberately not imported, so the memory server keeps working on
 * texts the artifact parser would reject (free knowledge, other tools' notes, half-formatted agent
 * output). It never throws: malformed id look-alikes are reported so the caller decides.
 */
import { PHASE_WORDS, PHASES, type Phase } from '../core/phases.js';
import { findSessionIds, isSessionId } from '../core/session-id.js';

/** What the sniffer found; null where the text does not say. */
export interface SniffedArtifact {
  sessionId: string | null;
  phase: Phase | null;
  /** Header kind, upper-cased and single-spaced ("CLAUDE PLAN", "VALIDATED PATTERN"). */
  kind: string | null;
  /** Header title, or the first line of a text without a header. */
  title: string | null;
  /** Strings in the header / identity lines that try to be session ids but are not valid ones. */
  malformedIds: string[];
}

// Only the first few non-empty lines are searched for a header: agents sometimes put a sentence
// before it, but a header deep in the body is a quotation, not this text's identity.
const HEADER_SEARCH_LINES = 8;
const TITLE_MAX = 200;

// `[SESSION-…] KIND: title`; the id part is captured loosely so that a malformed id is seen and
// rejected rather than silently ignored. Without brackets the id must start with a digit after
// `SESSION-`, so a note titled "Session-based auth: …" is not mistaken for a broken header.
const BRACKET_HEADER = /^\[\s*(SESSION-[^\]]*?)\s*\]\s*(?:([A-Za-z][A-Za-z ]*?)\s*:\s*)?(.*)$/i;
const BARE_HEADER = /^(SESSION-\d[^\s:\]]*)\s*[-–—:]?\s*([A-Za-z][A-Za-z ]*?)\s*:\s*(.*)$/i;
const PATTERN_HEADER = /^(VALIDATED\s+PATTERN)\s*:\s*(.*)$/i;
// Identity lines: `Session ID: …`, `- **Session:** …`, `Source: … SESSION-…`, `Phase: …`.
const SESSION_LINE = /^[\s>*_-]*session(?:[ _-]?id)?[\s*_]*:[\s*_]*(.*)$/i;
const SOURCE_LINE = /^[\s>*_-]*source[\s*_]*:[\s*_]*(.*)$/i;
// A `Phase:` trailer holds one word and nothing else, so a plan's "- Phase: implementation of X"
// bullet is not taken for it.
const PHASE_LINE = /^[\s>*_-]*phase[\s*_]*:[\s*_]*([A-Za-z]+)[\s*_.]*$/i;
// On a `Session ID:` line the value is meant to be an id, so anything id-like counts; on a
// `Source:` line (which may name files such as session-store.ts) only `SESSION-<digit>…` does.
const ID_LIKE = /SESSION-[A-Za-z0-9_-]*/gi;
const SOURCE_ID_LIKE = /(?<![A-Za-z0-9])SESSION-\d[A-Za-z0-9_-]*/gi;


/** Reads session id, phase, kind and title from a stored text; never throws. */
export function sniffArtifact(text: string): SniffedArtifact {
  const lines = text.split(/\r?\n/);
  const malformed: string[] = [];
  const noteMalformed = (candidate: string): void => {
    const token = candidate.replace(/[-_*.,;:)\]]+$/, '');
    if (!isSessionId(token) && !malformed.includes(token)) malformed.push(token);
  };

  let sessionId: string | null = null;
  let phase: Phase | null = null;
  let kind: string | null = null;
  let title: string | null = null;
  let headerFound = false;

  let seen = 0;
  for (const raw of lines) {
    const line = stripDecoration(raw);
    if (line === '') continue;
    if (title === null) title = clip(line);
    if (++seen > HEADER_SEARCH_LINES) break;
    const s = BRACKET_HEADER.exec(line) ?? BARE_HEADER.exec(line);
    if (s) {
      const id = s[1] ?? '';
      if (isSessionId(id)) sessionId = id;
      else noteMalformed(id);
      kind = s[2] ? normaliseKind(s[2]) : null;
      phase = kind ? phaseOfKind(kind) : null;
      title = clip((s[3] ?? '').trim());
      headerFound = true;
      break;
    }
    const p = PATTERN_HEADER.exec(line);
    if (p) {
      kind = 'VALIDATED PATTERN';
      phase = 'pattern';
      title = clip((p[2] ?? '').trim());
      headerFound = true;
      break;
    }
  }

  // Identity lines anywhere in the text: a `Phase:` trailer wins over the header kind; a
  // `Session ID:` / `Source:` line names the session when the header does not (patterns).
  let trailerSession: string | null = null;
  let sourceSession: string | null = null;
  let trailerPhase: Phase | null = null;
  for (const raw of lines) {
    const sl = SESSION_LINE.exec(raw);
    if (sl) {
      for (const m of (sl[1] ?? '').matchAll(ID_LIKE)) {
        const token = m[0].replace(/[-_]+$/, '');
        if (isSessionId(token)) trailerSession ??= token;
        else noteMalformed(token);
      }
      continue;
    }
    const src = SOURCE_LINE.exec(raw);
    if (src) {
      for (const m of (src[1] ?? '').matchAll(SOURCE_ID_LIKE)) {
        const token = m[0].replace(/[-_]+$/, '');
        if (isSessionId(token)) sourceSession ??= token;
        else noteMalformed(token);
      }
      continue;
    }
    const ph = PHASE_LINE.exec(raw);
    if (ph) {
      const word = (ph[1] ?? '').toLowerCase();
      const mapped = PHASE_WORDS[word];
      if (mapped) trailerPhase = mapped;
    }
  }

  sessionId ??= sourceSession ?? trailerSession;
  // A text with no identity lines that still names a session (an agent's loose note) is filed
  // under the first session it names, so session-scoped retrieval finds it.
  if (sessionId === null && !headerFound) sessionId = findSessionIds(text)[0] ?? null;
  if (trailerPhase) phase = trailerPhase;

  return { sessionId, phase, kind, title: title === '' ? null : title, malformedIds: malformed };
}

/** Phase named by a header kind ("CODEX REVIEW" -> review); null for kinds it does not know. */
export function phaseOfKind(kind: string): Phase | null {
  const k = normaliseKind(kind);
  if (/\bPATTERN$/.test(k)) return 'pattern';
  if (/\bIMPLEMENTATION(?: COMPLETE)?$/.test(k)) return 'implement';
  if (/\bVALIDATION$/.test(k)) return 'validate';
  if (/\bREVIEW$/.test(k)) return 'review';
  if (/\bPLAN$/.test(k)) return 'plan';
  return null;
}

/** True when `value` is one of the five phase names. */
export function isPhase(value: unknown): value is Phase {
  return typeof value === 'string' && (PHASES as readonly string[]).includes(value);
}

function normaliseKind(kind: string): string {
  return kind.trim().replace(/\s+/g, ' ').toUpperCase();
}

// Headers arrive as `**…**`, `# …`, `## **…**`, `__…__` or plain; the identity is the same.
function stripDecoration(line: string): string {
  return line
    .trim()
    .replace(/^#{1,6}\s*/, '')
    .replace(/^[*_]+\s*/, '')
    .replace(/\s*[*_]+$/, '')
    .trim();
}

function clip(text: string): string {
  return text.length > TITLE_MAX ? `${text.slice(0, TITLE_MAX - 1)}…` : text;
}
