/**
 * The one writer and the one parser of collab's artifact format — the format of the seed session
 * (`**[SESSION-…] CLAUDE PLAN: title**`, a `## Status` block, trailer lines). The parser is tolerant
 * of how agents lay out prose, and strict about the session id, because the id is what keeps one
 * session's artifacts from being mistaken for another's.
 */
import { CollabError } from './errors.js';
import { PHASE_WORDS, PHASES, STATUSES, statusFor, type ArtifactStatus, type Phase, type Verdict } from './phases.js';
import type { ParsedArtifact } from './ports.js';
import { assertSessionId, findMalformedSessionIds, findSessionIds } from './session-id.js';

/** Everything the writer needs for one artifact. */
export interface ArtifactInput {
  sessionId: string;
  phase: Phase;
  /** Upper-case agent word of the header kind ("CLAUDE", "CODEX"); unused for implement and pattern. */
  headerAgent: string;
  /** Display name for the `Agent:` trailer ("Claude Code"). */
  agentName: string;
  title: string;
  body: string;
  status: ArtifactStatus;
  iteration: number;
  /** ISO-8601 time; passed in so the writer stays deterministic. */
  timestamp: string;
  /** Pass the effective verdict (see crossCheckVerdict), since it is what the trailer asserts. */
  verdict?: Verdict;
  score?: number;
}

/** Options of parseArtifact: what the caller already knows the artifact must be. */
export interface ParseArtifactOptions {
  expectSessionId?: string;
  expectPhase?: Phase;
}

/** The statuses an artifact of each phase may carry. */
export const PHASE_STATUSES: Record<Phase, readonly ArtifactStatus[]> = {
  plan: ['AWAITING_CODEX_REVIEW'],
  review: ['FEEDBACK_PROVIDED'],
  implement: ['READY_FOR_CODEX_VALIDATION'],
  validate: ['VALIDATION_COMPLETE_APPROVED', 'CHANGES_REQUESTED'],
  pattern: ['PATTERN_EXTRACTED'],
};

/** The fixed prefix of a pattern's `Source:` line (seed wording). */
export const PATTERN_SOURCE_PREFIX = 'Source: Claude-Codex Collaboration';

/** The header kind for a phase ("CLAUDE PLAN", "IMPLEMENTATION COMPLETE", "VALIDATED PATTERN"). */
export function headerKind(phase: Phase, headerAgent: string): string {
  if (phase === 'implement') return 'IMPLEMENTATION COMPLETE';
  if (phase === 'pattern') return 'VALIDATED PATTERN';
  const agent = headerAgent.trim().toUpperCase().replace(/\s+/g, ' ');
  if (!/^[A-Z0-9][A-Z0-9 _-]{0,39}$/.test(agent)) {
    throw invalid(`header agent ${JSON.stringify(headerAgent)} must be a short word of A-Z, 0-9, space, "_" or "-"`);
  }
  return `${agent} ${phase === 'plan' ? 'PLAN' : phase === 'review' ? 'REVIEW' : 'VALIDATION'}`;
}

/** The exact header line of an artifact (also handed to memory-mode prompts as `artifactHeader`). */
export function formatHeader(input: { sessionId: string; phase: Phase; headerAgent: string; title: string }): string {
  const id = assertSessionId(input.sessionId);
  const title = checkTitle(input.title);
  const kind = headerKind(input.phase, input.headerAgent);
  // The seed's pattern header carries no id: the Source line below it names the session instead.
  return input.phase === 'pattern' ? `**${kind}: ${title}**` : `**[${id}] ${kind}: ${title}**`;
}

/** Scores as written in artifacts: at most two decimals, no trailing zeros ("9.5", "10"). */
export function formatScore(score: number): string {
  if (!Number.isFinite(score) || score < 0 || score > 10) throw invalid(`score ${score} is outside 0..10`);
  return String(Math.round(score * 100) / 100);
}

/** Writes one artifact in the seed-compatible format; deterministic, and checked to read back. */
export function formatArtifact(input: ArtifactInput): string {
  const id = assertSessionId(input.sessionId);
  if (!PHASES.includes(input.phase)) throw invalid(`unknown phase ${JSON.stringify(input.phase)}`);
  const header = formatHeader(input);
  const agentName = singleLine(input.agentName, 'agent name');
  const timestamp = singleLine(input.timestamp, 'timestamp');
  if (!Number.isInteger(input.iteration) || input.iteration < 1) throw invalid(`iteration ${input.iteration} must be an integer >= 1`);
  if (!PHASE_STATUSES[input.phase].includes(input.status)) {
    throw invalid(`status ${input.status} does not belong to a ${input.phase} artifact (expected ${PHASE_STATUSES[input.phase].join(' or ')})`);
  }
  if (input.phase === 'validate' && input.verdict !== undefined && statusFor('validate', input.verdict) !== input.status) {
    throw invalid(`a validation with verdict ${input.verdict} must carry status ${statusFor('validate', input.verdict)}, not ${input.status}`);
  }
  const score = input.score === undefined ? undefined : formatScore(input.score);
  const body = closeOpenFence(trimBlankLines(normalize(input.body)));
  if (body.trim() === '') throw invalid(`the ${input.phase} artifact body is empty`);

  const lines = [header, ''];
  if (input.phase === 'pattern') lines.push(`${PATTERN_SOURCE_PREFIX} ${id}`, '');
  lines.push(body, '', '## Status', input.status, '');
  lines.push(`Session ID: ${id}`, `Agent: ${agentName}`, `Phase: ${input.phase}`, `Iteration: ${input.iteration}`, `Timestamp: ${timestamp}`);
  if (input.verdict !== undefined) lines.push(`Verdict: ${input.verdict}`);
  if (score !== undefined) lines.push(`Score: ${score}/10`);
  const text = `${lines.join('\n')}\n`;

  // Guarantee that whatever the writer emits, the parser reads back the same facts.
  const back = parseArtifact(text, { expectSessionId: id, expectPhase: input.phase });
  const mismatch =
    back.title !== checkTitle(input.title) ? 'title'
    : back.status !== input.status ? 'status'
    : input.verdict !== undefined && back.verdict !== input.verdict ? 'verdict'
    : score !== undefined && back.score !== Number(score) ? 'score'
    : back.iteration !== input.iteration ? 'iteration'
    : back.agent !== agentName ? 'agent'
    : back.timestamp !== timestamp ? 'timestamp'
    : undefined;
  if (mismatch) throw invalid(`the formatted ${input.phase} artifact does not read back its ${mismatch}`);
  return text;
}

/** Parses an artifact; ARTIFACT_INVALID when it is not one, INVALID_SESSION_ID for a malformed id. */
export function parseArtifact(text: string, opts: ParseArtifactOptions = {}): ParsedArtifact {
  const expectId = opts.expectSessionId === undefined ? undefined : assertSessionId(opts.expectSessionId, 'expected session id');
  const doc = toDoc(unwrapFence(normalize(text)));

  // Header: the first line outside code that has the header's shape.
  let headerIdx = -1;
  let header: HeaderShape | undefined;
  for (let i = 0; i < doc.lines.length; i++) {
    if (doc.masked[i]) continue;
    header = headerShape(doc.lines[i]!);
    if (header) {
      headerIdx = i;
      break;
    }
  }
  if (!header) {
    // "Here is the artifact:" followed by a ```markdown block: the block is the artifact.
    const inner = markdownBlock(doc.lines);
    if (inner !== undefined) return parseArtifact(inner, opts);
    throw invalid('no artifact header found (expected a line like **[SESSION-YYYYMMDD-XXXXXXXX] CLAUDE PLAN: title**)');
  }
  const headerId = header.bracket === undefined ? undefined : assertSessionId(header.bracket, 'session id in the artifact header');
  const phase = header.phase;
  if (opts.expectPhase !== undefined && phase !== opts.expectPhase) {
    throw invalid(`expected a ${opts.expectPhase} artifact, got ${header.kind} (${phase})`);
  }

  // Pattern artifacts name their session in a Source line under the header (seed form).
  let sourceId: string | undefined;
  if (phase === 'pattern') {
    for (let i = headerIdx + 1; i < doc.lines.length && i <= headerIdx + 15; i++) {
      if (doc.masked[i]) continue;
      if (headingOf(doc.lines[i]!)?.hash) break;
      const kv = keyValue(doc.lines[i]!);
      if (kv?.key !== 'source') continue;
      const bad = findMalformedSessionIds(kv.value);
      if (bad.length) assertSessionId(bad[0], 'session id in the Source line');
      sourceId = findSessionIds(kv.value)[0];
      break;
    }
  }

  const status = findStatus(doc, headerIdx, phase);
  const trailer = readTrailer(doc, status?.line ?? -1, headerIdx);

  // Session id: header bracket, Source line and trailer must all agree when present.
  const ids: Array<[string, string]> = [];
  if (headerId) ids.push(['header', headerId]);
  if (sourceId) ids.push(['Source line', sourceId]);
  for (const v of trailer.all('session id', 'session')) ids.push(['Session ID trailer', assertSessionId(firstToken(v), 'session id in the trailer')]);
  const first = ids[0];
  if (!first) throw invalid(`the ${phase} artifact names no session id`);
  for (const [where, id] of ids) {
    if (id !== first[1]) throw invalid(`session id mismatch: ${first[0]} says ${first[1]}, ${where} says ${id}`);
  }
  const sessionId = first[1];
  if (expectId !== undefined && sessionId !== expectId) throw invalid(`artifact belongs to ${sessionId}, expected ${expectId}`);

  const trailerPhase = trailer.get('phase');
  if (trailerPhase !== undefined) {
    const p = phaseAlias(trailerPhase);
    if (!p) throw invalid(`unknown Phase trailer ${JSON.stringify(trailerPhase)}`);
    if (p !== phase) throw invalid(`Phase trailer says ${p} but the header is ${header.kind} (${phase})`);
  }

  let iteration: number | undefined;
  const it = trailer.get('iteration');
  if (it !== undefined) {
    if (!/^\d+$/.test(firstToken(it)) || Number(firstToken(it)) < 1) throw invalid(`Iteration trailer ${JSON.stringify(it)} is not an integer >= 1`);
    iteration = Number(firstToken(it));
  }

  const verdict = findVerdict(doc, trailer, phase, status?.value);
  const score = findScore(doc, trailer, phase);
  const agent = trailer.get('agent');
  const timestamp = trailer.get('timestamp');

  const out: ParsedArtifact = { sessionId, phase, kind: header.kind, title: header.title, openQuestions: findOpenQuestions(doc) };
  if (status) out.status = status.value;
  if (verdict) out.verdict = verdict;
  if (score !== undefined) out.score = score;
  if (agent) out.agent = agent;
  if (iteration !== undefined) out.iteration = iteration;
  if (timestamp) out.timestamp = timestamp;
  return out;
}

/** The body of an agent's final message: wrapping fence, header line and trailing status/trailer removed. */
export function extractBody(text: string): string {
  const lines = unwrapFence(normalize(text)).split('\n');
  let start = lines.findIndex((l) => l.trim() !== '');
  if (start < 0) return '';
  const shape = headerShape(lines[start]!);
  if (shape) {
    start++;
    if (shape.phase === 'pattern') {
      while (start < lines.length && lines[start]!.trim() === '') start++;
      if (start < lines.length && keyValue(lines[start]!)?.key === 'source') start++;
    }
  }
  const doc = toDoc(lines.slice(start).join('\n'));
  let end = doc.lines.length;
  const statusLine = lastStatusLine(doc);
  if (statusLine >= 0 && onlyTrailerAfter(doc, statusLine)) end = statusLine;
  else if (statusLine < 0) {
    const block = trailingKeyBlock(doc);
    if (block.start >= 0 && block.keys.some((k) => k === 'session id' || k === 'session')) end = block.start;
  }
  const kept = doc.lines.slice(0, end);
  while (kept.length && /^\s*(?:-{3,}|\*{3,}|_{3,})?\s*$/.test(kept[kept.length - 1]!)) kept.pop();
  return trimBlankLines(kept.join('\n'));
}

/** Reads a verdict out of free text ("CONDITIONAL APPROVAL" → CONDITIONAL, "NOT APPROVED" → CHANGES_REQUESTED). */
export function verdictFromText(text: string): Verdict | undefined {
  // Letters only, so emoji, mojibake, bold markers and underscores do not matter.
  const t = ` ${text.toUpperCase().replace(/[^A-Z]+/g, ' ').trim()} `;
  if (/ (REJECT|REJECTED|REJECTION|DISAPPROVED?) /.test(t)) return 'REJECTED';
  if (/ (CHANGES? REQUESTED|REQUEST(ED|ING)? CHANGES|CHANGES REQUIRED|NEEDS (CHANGES|WORK)|NOT APPROVED|UNAPPROVED) /.test(t)) return 'CHANGES_REQUESTED';
  if (/ (CONDITIONAL|CONDITIONALLY|APPROVED WITH CONDITIONS|APPROVED WITH CHANGES) /.test(t)) return 'CONDITIONAL';
  if (/ (APPROVED|APPROVE|APPROVAL|LGTM) /.test(t)) return 'APPROVED';
  return undefined;
}

// ------------------------------------------------------------------ internals

interface Doc {
  lines: string[];
  /** True for lines inside (or opening/closing) a code fence: never read as structure. */
  masked: boolean[];
}

interface HeaderShape {
  bracket?: string;
  kind: string;
  phase: Phase;
  title: string;
}

interface Trailer {
  get(...keys: string[]): string | undefined;
  all(...keys: string[]): string[];
}

const TRAILER_KEYS = new Set(['session id', 'session', 'agent', 'phase', 'iteration', 'timestamp', 'verdict', 'score', 'reviewer', 'validator', 'validated by', 'date', 'status']);

function invalid(message: string, details?: Record<string, unknown>): CollabError {
  return new CollabError('ARTIFACT_INVALID', message, details ? { details } : {});
}

function normalize(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

function trimBlankLines(text: string): string {
  return text.replace(/^(?:[ \t]*\n)+/, '').replace(/\s+$/, '');
}

function checkTitle(title: string): string {
  if (/[\r\n]/.test(title)) throw invalid('an artifact title must be one line');
  const t = title.trim();
  if (t === '') throw invalid('an artifact title must not be empty');
  return t;
}

function singleLine(value: string, what: string): string {
  if (/[\r\n]/.test(value)) throw invalid(`the ${what} must be one line`);
  const t = value.trim();
  if (t === '') throw invalid(`the ${what} must not be empty`);
  return t;
}

// The seed stores artifacts inside JS template literals, so its fences appear as \`\`\`.
const FENCE_LINE = /^\s*((?:\\?`){3,}|~{3,})(.*)$/;

/** Marks fenced lines the CommonMark way: only a bare run of the opener's character, at least as long, closes. */
function fenceMask(lines: readonly string[]): { masked: boolean[]; open: boolean } {
  let open: { ch: string; len: number } | undefined;
  const masked = lines.map((l) => {
    const m = FENCE_LINE.exec(l);
    if (!m) return open !== undefined;
    const run = m[1]!.replace(/\\/g, '');
    if (!open) open = { ch: run[0]!, len: run.length };
    else if (run[0] === open.ch && run.length >= open.len && m[2]!.trim() === '') open = undefined;
    return true;
  });
  return { masked, open: open !== undefined };
}

function toDoc(text: string): Doc {
  const lines = text.split('\n');
  return { lines, masked: fenceMask(lines).masked };
}

/** An unclosed fence in a body would hide the status block from the parser, so close it. */
function closeOpenFence(body: string): string {
  const lines = body.split('\n');
  if (!fenceMask(lines).open) return body;
  // Close with a run longer than any in the body, so it cannot be mistaken for an inner line.
  const longest = Math.max(3, ...lines.map((l) => /^\s*(`+)/.exec(l)?.[1]!.length ?? 0));
  return `${body}\n${'`'.repeat(longest + 1)}`;
}

/** Removes a fence that wraps the whole text (```markdown … ```), never an ordinary code block. */
function unwrapFence(text: string): string {
  const lines = text.trim().split('\n');
  if (lines.length < 2) return text;
  const open = /^(`{3,}|~{3,})[ \t]*([A-Za-z0-9_-]*)[ \t]*$/.exec(lines[0]!);
  const close = /^(`{3,}|~{3,})$/.exec(lines[lines.length - 1]!.trim());
  if (!open || !close) return text;
  const fence = open[1]!;
  if (close[1]![0] !== fence[0] || close[1]!.length < fence.length) return text;
  const lang = open[2]!.toLowerCase();
  const inner = lines.slice(1, -1);
  if (lang === 'markdown' || lang === 'md') return inner.join('\n');
  // A bare opener is a wrapper only when nothing inside could be its real closer.
  const longRun = new RegExp(`^\\s*\\${fence[0]}{${fence.length},}`);
  if (lang === '' && !inner.some((l) => longRun.test(l))) return inner.join('\n');
  return text;
}

/** The inner text of the first ```markdown / ```md block that holds a header line, if any. */
function markdownBlock(lines: readonly string[]): string | undefined {
  const run = (l: string) => {
    const m = FENCE_LINE.exec(l);
    return m ? { run: m[1]!.replace(/\\/g, ''), info: m[2]!.trim() } : undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const open = run(lines[i]!);
    if (!open || !/^(?:markdown|md)$/i.test(open.info)) continue;
    // Agents nest same-length fences inside the wrapper, so its closer is the last matching one.
    let end = lines.length;
    for (let j = lines.length - 1; j > i; j--) {
      const c = run(lines[j]!);
      if (c && c.info === '' && c.run[0] === open.run[0] && c.run.length >= open.run.length) {
        end = j;
        break;
      }
    }
    const inner = lines.slice(i + 1, end);
    if (inner.some((l) => headerShape(l))) return inner.join('\n');
  }
  return undefined;
}

/** The header shape of one line (id not yet validated), or undefined when the line is no header. */
function headerShape(line: string): HeaderShape | undefined {
  // Agents decorate headers with #, **, emoji; everything before the bracket or the kind is noise.
  const s = line.trim().replace(/^[^[A-Za-z0-9]+/, '');
  let m = /^\[\s*([^\]\n]*?)\s*\]\s*[*_]*\s*([A-Za-z][A-Za-z0-9 _-]{0,59}?)\s*[*_]*\s*:\s*(.*)$/.exec(s);
  let bracket: string | undefined;
  let kindRaw: string;
  let rest: string;
  if (m) {
    // Only brackets that try to hold a session id make a header; "[Note] Review: …" is prose.
    if (!/^session/i.test(m[1]!)) return undefined;
    bracket = m[1]!;
    kindRaw = m[2]!;
    rest = m[3]!;
  } else {
    m = /^(VALIDATED\s+PATTERN)\s*[*_]*\s*:\s*(.*)$/i.exec(s);
    if (!m) return undefined;
    kindRaw = m[1]!;
    rest = m[2]!;
  }
  const kind = kindRaw.toUpperCase().replace(/\s+/g, ' ').trim();
  const phase = kindPhase(kind);
  if (!phase) return undefined;
  const title = rest.replace(/\s*\*\*\s*$/, '').replace(/^\s*\*\*\s*/, '').trim();
  return bracket === undefined ? { kind, phase, title } : { bracket, kind, phase, title };
}

function kindPhase(kind: string): Phase | undefined {
  if (/(^| )PLAN$/.test(kind)) return 'plan';
  if (/(^| )REVIEW$/.test(kind)) return 'review';
  if (/(^| )IMPLEMENTATION( COMPLETED?)?$/.test(kind)) return 'implement';
  if (/(^| )VALIDATION$/.test(kind)) return 'validate';
  if (/(^| )PATTERN$/.test(kind)) return 'pattern';
  return undefined;
}

function phaseAlias(value: string): Phase | undefined {
  return PHASE_WORDS[firstToken(value).toLowerCase()];
}

function firstToken(value: string): string {
  return value.trim().split(/\s+/)[0] ?? '';
}

/** A heading: `#` headings, or a line that is bold and nothing else (agents use both). */
function headingOf(line: string): { text: string; hash: boolean } | undefined {
  const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
  if (h) return { text: stripEmphasis(h[1]!), hash: true };
  const b = /^\s*\*\*([^*].*?)\*\*\s*:?\s*$/.exec(line);
  if (b) return { text: stripEmphasis(b[1]!), hash: false };
  return undefined;
}

function stripEmphasis(text: string): string {
  return text.replace(/\*\*/g, '').replace(/^[^A-Za-z0-9]+/, '').trim();
}

/** `Key: value` lines, also `**Key:** value` and `- **Key**: value`; keys lower-cased. */
function keyValue(line: string): { key: string; value: string } | undefined {
  const m = /^\s*(?:[-*+]\s+)?[*_]*\s*([A-Za-z][A-Za-z -]{0,30}?)\s*[*_]*\s*:\s*[*_]*\s*(.*?)\s*[*_]*\s*$/.exec(line);
  if (!m) return undefined;
  return { key: m[1]!.toLowerCase().replace(/[\s-]+/g, ' '), value: m[2]!.replace(/`/g, '').trim() };
}

/** Maps text that starts with a status name (any case, spaces or underscores) to the status. */
function statusToken(text: string): ArtifactStatus | undefined {
  const t = text.replace(/[*`]/g, '').replace(/^[^A-Za-z]+/, '').toUpperCase().replace(/[\s-]+/g, '_');
  return STATUSES.find((s) => t.startsWith(s) && !/[A-Z0-9]/.test(t.charAt(s.length)));
}

function isStatusHeading(line: string): { inline: string } | undefined {
  const h = headingOf(line);
  if (h) {
    // Exactly "Status" (optionally ": VALUE"), so "## Status Codes" in a body is not mistaken for it.
    const m = /^status\s*(?::\s*(.*))?$/i.exec(h.text);
    if (m) return { inline: m[1] ?? '' };
  }
  return undefined;
}

/** Index of the last `## Status` heading outside code, or -1. */
function lastStatusLine(doc: Doc): number {
  for (let i = doc.lines.length - 1; i >= 0; i--) if (!doc.masked[i] && isStatusHeading(doc.lines[i]!)) return i;
  return -1;
}

/** The status: first token of the last `## Status` block, or a `Status: KNOWN_STATUS` line. */
function findStatus(doc: Doc, headerIdx: number, phase: Phase): { value: ArtifactStatus; line: number } | undefined {
  let found: { value: ArtifactStatus; line: number } | undefined;
  const idx = lastStatusLine(doc);
  if (idx > headerIdx) {
    let text = isStatusHeading(doc.lines[idx]!)!.inline;
    for (let i = idx + 1; text.trim() === '' && i < doc.lines.length; i++) if (!doc.masked[i]) text = doc.lines[i]!;
    if (text.trim() === '') throw invalid('the ## Status block is empty');
    const value = statusToken(text);
    if (!value) throw invalid(`unknown status ${JSON.stringify(firstToken(text.replace(/[*`]/g, '')))} (expected one of ${STATUSES.join(', ')})`);
    found = { value, line: idx };
  } else {
    // No heading: accept a `Status:` line, but only when it names a real status — the seed's
    // pattern has "Status: Production-ready, …", which is prose.
    for (let i = doc.lines.length - 1; i > headerIdx; i--) {
      if (doc.masked[i]) continue;
      const kv = keyValue(doc.lines[i]!);
      const value = kv?.key === 'status' ? statusToken(kv.value) : undefined;
      if (value) {
        found = { value, line: i };
        break;
      }
    }
  }
  if (found && !PHASE_STATUSES[phase].includes(found.value)) {
    throw invalid(`status ${found.value} does not belong to a ${phase} artifact (expected ${PHASE_STATUSES[phase].join(' or ')})`);
  }
  return found;
}

/** True when everything after the status heading is the status token, trailer lines and blanks. */
function onlyTrailerAfter(doc: Doc, idx: number): boolean {
  let needToken = isStatusHeading(doc.lines[idx]!)!.inline.trim() === '';
  for (let i = idx + 1; i < doc.lines.length; i++) {
    const line = doc.lines[i]!;
    if (line.trim() === '' || /^\s*(?:-{3,}|\*{3,}|_{3,})\s*$/.test(line)) continue;
    if (needToken) {
      if (!statusToken(line)) return false;
      needToken = false;
      continue;
    }
    const kv = keyValue(line);
    if (!kv || !TRAILER_KEYS.has(kv.key)) return false;
  }
  return true;
}

/** The run of trailer `Key: value` lines at the very end of the text. */
function trailingKeyBlock(doc: Doc): { start: number; keys: string[] } {
  let start = -1;
  const keys: string[] = [];
  for (let i = doc.lines.length - 1; i >= 0; i--) {
    const line = doc.lines[i]!;
    if (line.trim() === '') continue;
    if (doc.masked[i]) break;
    const kv = keyValue(line);
    if (!kv || !TRAILER_KEYS.has(kv.key)) break;
    keys.push(kv.key);
    start = i;
  }
  return { start, keys };
}

/** Trailer lines: after the status heading when there is one, else the closing run of key lines. */
function readTrailer(doc: Doc, statusLine: number, headerIdx: number): Trailer {
  const heading = statusLine >= 0 && isStatusHeading(doc.lines[statusLine]!) !== undefined;
  let from = heading ? statusLine + 1 : trailingKeyBlock(doc).start;
  if (from < 0 && statusLine >= 0) from = statusLine;
  const pairs: Array<{ key: string; value: string }> = [];
  if (from > headerIdx) {
    for (let i = from; i < doc.lines.length; i++) {
      if (doc.masked[i]) continue;
      const kv = keyValue(doc.lines[i]!);
      if (kv && TRAILER_KEYS.has(kv.key) && kv.value !== '') pairs.push(kv);
    }
  }
  const all = (...keys: string[]) => pairs.filter((p) => keys.includes(p.key)).map((p) => p.value);
  return { all, get: (...keys) => all(...keys)[0] };
}

/** Verdict precedence: trailer `Verdict:` line, the last `## Verdict` section, a body `Verdict:` line, the status. */
function findVerdict(doc: Doc, trailer: Trailer, phase: Phase, status: ArtifactStatus | undefined): Verdict | undefined {
  let explicit: Verdict | undefined;
  const t = trailer.get('verdict');
  if (t !== undefined) {
    explicit = verdictFromText(t);
    if (!explicit) throw invalid(`unknown Verdict trailer ${JSON.stringify(t)} (expected APPROVED, CONDITIONAL, CHANGES_REQUESTED or REJECTED)`);
  }
  if (!explicit && (phase === 'review' || phase === 'validate')) explicit = verdictSection(doc) ?? verdictLine(doc);
  const fromStatus: Verdict | undefined =
    status === 'VALIDATION_COMPLETE_APPROVED' ? 'APPROVED' : status === 'CHANGES_REQUESTED' ? 'CHANGES_REQUESTED' : undefined;
  if (explicit && fromStatus) {
    // A validation's status and its verdict decide the same thing; disagreement is not guessable.
    if ((fromStatus === 'APPROVED') !== (explicit === 'APPROVED')) throw invalid(`verdict ${explicit} contradicts status ${status}`);
  }
  return explicit ?? fromStatus;
}

function verdictSection(doc: Doc): Verdict | undefined {
  for (let i = doc.lines.length - 1; i >= 0; i--) {
    if (doc.masked[i]) continue;
    const h = headingOf(doc.lines[i]!);
    const m = h && /^(?:final |overall )?verdict\b\s*:?\s*(.*)$/i.exec(h.text);
    if (!h || !m) continue;
    if (m[1]!.trim()) {
      const v = verdictFromText(m[1]!);
      if (v) return v;
    }
    const section: string[] = [];
    for (let j = i + 1; j < doc.lines.length; j++) {
      if (doc.masked[j]) continue;
      const next = headingOf(doc.lines[j]!);
      // A `#` heading ends the section; a bold-only line ends it only when the section began bold
      // and already has its ruling (the seed's ruling is itself a bold line).
      if (next && (next.hash || (!h.hash && section.length > 0))) break;
      if (doc.lines[j]!.trim()) section.push(doc.lines[j]!);
    }
    // The first line is where agents put the ruling; the rest is usually conditions.
    const v = section.length ? verdictFromText(section[0]!) ?? verdictFromText(section.join(' ')) : undefined;
    if (v) return v;
  }
  return undefined;
}

function verdictLine(doc: Doc): Verdict | undefined {
  for (let i = doc.lines.length - 1; i >= 0; i--) {
    if (doc.masked[i]) continue;
    const kv = keyValue(doc.lines[i]!);
    if (kv && /^(?:final |overall )?verdict$/.test(kv.key) && kv.value) {
      const v = verdictFromText(kv.value);
      if (v) return v;
    }
  }
  return undefined;
}

const SCORE = String.raw`(\d+(?:\.\d+)?)\s*/\s*10(?![\d.])`;

/** Score precedence: trailer `Score:`, `Overall Score: x/10`, the first labelled score, a bare `x/10` line. */
function findScore(doc: Doc, trailer: Trailer, phase: Phase): number | undefined {
  const check = (raw: string, where: string): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n > 10) throw invalid(`score ${raw}/10 in the ${where} is above 10`);
    return n;
  };
  const t = trailer.get('score');
  if (t !== undefined) {
    const m = new RegExp(`^${SCORE}|^(\\d+(?:\\.\\d+)?)$`).exec(t.replace(/\*/g, '').trim());
    if (!m) throw invalid(`Score trailer ${JSON.stringify(t)} is not of the form 9.5/10`);
    return check(m[1] ?? m[2]!, 'Score trailer');
  }
  // Prose scores are only trusted where the seed puts them; a plan's "7/10 users" is not a score.
  if (phase !== 'review' && phase !== 'validate' && phase !== 'pattern') return undefined;
  const prose = doc.lines.filter((_, i) => !doc.masked[i]);
  const overall = new RegExp(String.raw`overall\s+score\b[^\n\d]{0,12}` + SCORE, 'i');
  const labelled = new RegExp(String.raw`\b(?:score|rating|rated)\b[^\n\d]{0,12}` + SCORE, 'i');
  const bare = new RegExp(String.raw`^\s*[*_]*\s*` + SCORE + String.raw`\s*[*_]*\s*$`);
  for (const re of [overall, labelled, bare]) {
    for (const line of prose) {
      const m = re.exec(line);
      if (m) return check(m[1]!, 'artifact');
    }
  }
  return undefined;
}

/** Numbered items under an "Open Questions" heading (not "Answers to Open Questions"); bullets when none are numbered. */
function findOpenQuestions(doc: Doc): string[] {
  const numbered = listUnderOpenQuestions(doc, /^\s*\d+[.)]\s+(.*)$/);
  return numbered.length ? numbered : listUnderOpenQuestions(doc, /^\s*[-*+]\s+(.*)$/);
}

function listUnderOpenQuestions(doc: Doc, itemRe: RegExp): string[] {
  const out: string[] = [];
  for (let i = 0; i < doc.lines.length; i++) {
    if (doc.masked[i]) continue;
    const h = headingOf(doc.lines[i]!);
    if (!h || !/open questions?\b/i.test(h.text) || /answer/i.test(h.text)) continue;
    let prevBlank = false;
    for (let j = i + 1; j < doc.lines.length; j++) {
      const line = doc.lines[j]!;
      if (doc.masked[j]) {
        prevBlank = false;
        continue;
      }
      const next = headingOf(line);
      if (next && (next.hash || !h.hash)) break;
      const item = itemRe.exec(line);
      if (item) out.push(item[1]!.trim());
      else if (line.trim() === '') {
        prevBlank = true;
        continue;
      } else if (out.length && (!prevBlank || /^\s+/.test(line))) out[out.length - 1] += ` ${line.trim()}`;
      else if (out.length) break;
      prevBlank = false;
    }
    if (out.length) break;
  }
  return out;
}
