/**
 * The contract between collab and a memory server: which tools and argument names carry a store and
 * a retrieve, how a server's tools/list is checked against them, and how loosely shaped answers
 * (queued stores, one combined text block for many memories) are read. Pure: no I/O.
 */
import type { Phase } from '../core/phases.js';
import { MEMORY_TOOLS } from './memory-tools.js';

/** Tool and argument names of one server (config `memory.tools`). */
export interface ToolMapping {
  store: { name: string; text: string };
  /** `limit: null` when the server's retrieve takes no limit argument. */
  retrieve: { name: string; query: string; limit: string | null };
}

/** Byterover's names, which the embedded server also uses. */
export const DEFAULT_TOOL_MAPPING: ToolMapping = {
  store: { name: MEMORY_TOOLS.store, text: 'messages' },
  retrieve: { name: MEMORY_TOOLS.retrieve, query: 'query', limit: 'limit' },
};

/** One entry of tools/list as far as the check needs it. */
export interface ListedTool {
  name: string;
  inputSchema?: { type?: unknown; properties?: Record<string, unknown> | undefined; required?: unknown } | undefined;
}

/** Problems of a server against a mapping; empty when compatible. */
export function checkToolContract(tools: readonly ListedTool[], mapping: ToolMapping): string[] {
  const problems: string[] = [];
  const want: Array<{ tool: string; args: Array<{ name: string; kinds: string[] }> }> = [
    { tool: mapping.store.name, args: [{ name: mapping.store.text, kinds: ['string'] }] },
    {
      tool: mapping.retrieve.name,
      args: [{ name: mapping.retrieve.query, kinds: ['string'] }, ...(mapping.retrieve.limit ? [{ name: mapping.retrieve.limit, kinds: ['number', 'integer'] }] : [])],
    },
  ];
  for (const w of want) {
    const tool = tools.find((t) => t.name === w.tool);
    if (!tool) {
      problems.push(`no tool ${w.tool}`);
      continue;
    }
    const props = tool.inputSchema?.properties ?? {};
    for (const a of w.args) {
      const prop = props[a.name];
      if (prop === undefined) problems.push(`${w.tool} has no argument ${a.name}`);
      else if (!schemaAccepts(prop, a.kinds)) problems.push(`${w.tool} argument ${a.name} is not ${a.kinds[0]}`);
    }
    const required = Array.isArray(tool.inputSchema?.required) ? (tool.inputSchema.required as unknown[]).filter((r): r is string => typeof r === 'string') : [];
    const sent = new Set(w.args.map((a) => a.name));
    for (const r of required) if (!sent.has(r)) problems.push(`${w.tool} requires argument ${r} that collab does not send`);
  }
  return problems;
}

/** "name{arg:type, …}" for each tool, so a mismatch error shows what the server does offer. */
export function describeTools(tools: readonly ListedTool[]): string {
  if (tools.length === 0) return 'no tools';
  return tools
    .map((t) => {
      const props = Object.entries(t.inputSchema?.properties ?? {}).map(([k, v]) => `${k}:${typesOf(v).join('|') || 'any'}`);
      return `${t.name}{${props.join(', ')}}`;
    })
    .join(', ');
}

// A JSON-schema property accepts one of `kinds` when its type says so (or it does not constrain the type).
function schemaAccepts(prop: unknown, kinds: string[]): boolean {
  const types = typesOf(prop);
  if (types.length === 0) return true;
  return types.some((t) => kinds.includes(t));
}

function typesOf(prop: unknown): string[] {
  if (typeof prop !== 'object' || prop === null) return [];
  const p = prop as { type?: unknown; anyOf?: unknown; oneOf?: unknown };
  if (typeof p.type === 'string') return [p.type];
  if (Array.isArray(p.type)) return p.type.filter((t): t is string => typeof t === 'string');
  const alts = Array.isArray(p.anyOf) ? p.anyOf : Array.isArray(p.oneOf) ? p.oneOf : [];
  return alts.flatMap((a) => typesOf(a));
}

/** What a store's text answer says beyond the id: queued (asynchronous) and the estimate. */
export function parseQueued(raw: string): { queued: boolean; estimatedSeconds?: number } {
  if (!/\b(?:queued|enqueued|pending|accepted for processing|processing)\b/i.test(raw)) return { queued: false };
  const m = /estimated(?:\s+time)?\s*[:=]?\s*(?:~|about\s+)?(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)?\b/i.exec(raw);
  if (!m) return { queued: true };
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const seconds = unit.startsWith('ms') || unit.startsWith('milli') ? n / 1000 : unit.startsWith('m') ? n * 60 : n;
  return { queued: true, estimatedSeconds: seconds };
}

// A line that opens an artifact: `**[SESSION-…] KIND: title**`, `SESSION-… KIND: title`, `VALIDATED PATTERN: …`,
// possibly after a list number or bullet a server put in front of each memory.
const ARTIFACT_HEADER_LINE = /^\s*(?:(?:\d+[.)]|[-*•]|memory\s+\d+\s*[:.)-]?)\s+)?(?:#{1,6}\s*)?[*_]*\s*(?:\[\s*SESSION-\d{8}-[A-Z0-9]{8}\s*\]\s*[A-Za-z][A-Za-z ]*:|SESSION-\d{8}-[A-Z0-9]{8}\s*[-–—:]?\s*[A-Za-z][A-Za-z ]*:|VALIDATED\s+PATTERN\s*:)/;
// Separators servers put between memories.
const SEPARATOR_LINE = /^\s*(?:-{3,}|={3,}|\*{3,}|_{3,})\s*$/;

/**
 * Splits one text block that holds several memories into one text per artifact, at artifact headers.
 * A block with fewer than two headers is returned whole. Text before the first header (a server's
 * preamble such as "Found 3 memories:") is dropped; separators between memories are trimmed.
 */
export function splitCombinedText(text: string): string[] {
  const lines = text.split(/\r?\n/);
  const starts: number[] = [];
  let inFence = false;
  lines.forEach((l, i) => {
    if (/^\s*(?:```|~~~)/.test(l)) inFence = !inFence;
    // A header inside a code fence is a quotation, not a new memory.
    if (!inFence && ARTIFACT_HEADER_LINE.test(l)) starts.push(i);
  });
  if (starts.length < 2) return [text];
  const out: string[] = [];
  starts.forEach((s, k) => {
    const chunk = lines.slice(s, starts[k + 1] ?? lines.length);
    while (chunk.length > 0 && (SEPARATOR_LINE.test(chunk[chunk.length - 1] ?? '') || (chunk[chunk.length - 1] ?? '').trim() === '')) chunk.pop();
    // The list number / bullet belonged to the server's listing, not to the memory.
    chunk[0] = (chunk[0] ?? '').replace(/^\s*(?:\d+[.)]|[-*•]|memory\s+\d+\s*[:.)-]?)\s+(?=[#*_[A-Z])/i, '');
    const body = chunk.join('\n');
    if (body.trim() !== '') out.push(`${body}\n`);
  });
  return out;
}

/** Words that find a phase's artifact on a semantic/full-text server. */
export const PHASE_QUERY_WORDS: Record<Phase, string> = {
  plan: 'plan',
  review: 'review',
  implement: 'implementation',
  validate: 'validation',
  pattern: 'validated pattern',
};

/** Text folded for marker comparison: markdown decoration dropped, whitespace collapsed, lower case. */
export function foldForMarker(text: string): string {
  return text.normalize('NFKC').replace(/[*_`#>]+/g, ' ').replace(/\s+/g, ' ').trim().toLowerCase();
}
