import { parseArtifact } from '../core/artifact.js';
import type { MemoryPort, MemoryRecord } from '../core/ports.js';
import { fenceUntrusted } from './fence.js';

/** A validated pattern found in memory. */
export interface FoundPattern {
  title: string;
  sessionId: string;
  score?: number;
  record: MemoryRecord;
}

const STOP = new Set(['the', 'and', 'for', 'with', 'add', 'api', 'to', 'of', 'a', 'an', 'in', 'on', 'my', 'our']);

/** Significant words of a task, lower-case. */
function words(text: string): string[] {
  return [...new Set(text.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length >= 3 && !STOP.has(w)))];
}

/** Patterns whose text shares words with `query` (all patterns for an empty query), best first. */
export async function findPatterns(memory: MemoryPort, query: string, limit: number): Promise<FoundPattern[]> {
  const q = words(query);
  const records = await memory.retrieve(`VALIDATED PATTERN ${q.join(' ')}`.trim(), Math.min(100, Math.max(limit * 5, 20)));
  const out: FoundPattern[] = [];
  for (const record of records) {
    let parsed;
    try {
      parsed = parseArtifact(record.text);
    } catch {
      continue;
    }
    if (parsed.phase !== 'pattern') continue;
    const lower = record.text.toLowerCase();
    if (q.length && !q.some((w) => lower.includes(w))) continue;
    out.push({ title: parsed.title, sessionId: parsed.sessionId, ...(parsed.score !== undefined ? { score: parsed.score } : {}), record });
    if (out.length >= limit) break;
  }
  return out;
}

/** Patterns as prompt data (fenced, untrusted). */
export function renderPatterns(patterns: FoundPattern[]): string {
  return patterns.map((p, i) => fenceUntrusted(`Pattern ${i + 1}: ${p.title} (from ${p.sessionId})`, p.record.text)).join('\n\n');
}
