import { CollabError, isCollabError } from '../core/errors.js';
import { parseArtifact } from '../core/artifact.js';
import type { Phase } from '../core/phases.js';
import type { MemoryPort, MemoryRecord } from '../core/ports.js';
import type { ArtifactEntry } from '../core/session.js';
import type { EngineDeps } from './deps.js';
import { sha256 } from './hash.js';

/** A stored artifact found again in memory, checked. */
export interface VerifiedRecord {
  record: MemoryRecord;
  attempts: number;
}

/** Finds the record of `phase` in `sessionId` whose text hashes to `sha` (the server's own hash is not trusted). */
export async function findExact(memory: MemoryPort, sessionId: string, phase: Phase, sha: string): Promise<MemoryRecord | undefined> {
  const records = await memory.lookup(sessionId, phase);
  return records.find((r) => sha256(r.text) === sha && r.sessionId !== undefined && r.sessionId === sessionId);
}

/** Stores `text` and reads it back until found with the same hash, within the configured bound. */
export async function storeAndVerify(deps: EngineDeps, sessionId: string, phase: Phase, text: string): Promise<{ memoryId?: string; duplicate: boolean; attempts: number }> {
  const sha = sha256(text);
  const res = await deps.memory.store(text);
  deps.emit({ type: 'memory.stored', sessionId, phase, memoryId: res.id, duplicate: Boolean(res.duplicate), sha256: sha, at: deps.clock.now().toISOString() });
  if (res.queued) deps.emit({ type: 'phase.step', sessionId, phase, step: 'queued', detail: `the memory server queued the write${res.estimatedSeconds !== undefined ? ` (estimated ${res.estimatedSeconds}s)` : ''}; reading it back until it shows`, at: deps.clock.now().toISOString() });
  const found = await pollFor(deps, sessionId, phase, sha, markerOf(text));
  return { memoryId: found.record.id ?? res.id, duplicate: Boolean(res.duplicate), attempts: found.attempts };
}

/** What identifies an artifact when a server rewrites its text: the header's kind and title. */
export function markerOf(text: string): string | undefined {
  try {
    const p = parseArtifact(text);
    return `${p.kind}: ${p.title}`;
  } catch {
    return undefined;
  }
}

/** Polls memory for the artifact with backoff until `memory.verifyTimeoutSec` runs out; a server that rewrote the text is accepted on session + phase + marker, with a warning. */
export async function pollFor(deps: EngineDeps, sessionId: string, phase: Phase, sha: string, marker?: string): Promise<VerifiedRecord> {
  const boundMs = deps.config.memory.verifyTimeoutSec * 1000;
  const start = deps.clock.now().getTime();
  let delay = 50;
  let foreign = 0;
  for (let attempts = 1; ; attempts++) {
    let rec: MemoryRecord | undefined;
    let exact = true;
    if (deps.memory.findArtifact) {
      const found = await deps.memory.findArtifact(sessionId, phase, sha, marker);
      if (found) {
        rec = found.record;
        exact = found.exact;
        foreign += found.foreignIgnored;
      }
    } else rec = await findExact(deps.memory, sessionId, phase, sha);
    if (rec) {
      const at = deps.clock.now().toISOString();
      deps.emit({ type: 'memory.verified', sessionId, phase, attempts, exact, foreignIgnored: foreign, at });
      if (!exact) deps.emit({ type: 'warning', sessionId, phase, message: `${deps.memory.describe} stored a rewritten version of the ${phase} artifact (found by session, phase and "${marker}"); the ledger keeps the original`, at });
      if (foreign > 0) deps.emit({ type: 'warning', sessionId, phase, message: `ignored ${foreign} result(s) of other sessions while reading the ${phase} artifact back`, at });
      return { record: rec, attempts };
    }
    if (deps.clock.now().getTime() - start + delay > boundMs) {
      throw new CollabError('MEMORY_VERIFY_FAILED', `the ${phase} artifact of ${sessionId} was stored but could not be read back from ${deps.memory.describe} within ${deps.config.memory.verifyTimeoutSec}s (${attempts} attempts)`, {
        hint: 'the artifact is kept in the ledger; run the same command again',
      });
    }
    await deps.sleep(delay);
    delay = Math.min(delay * 2, 5000);
  }
}

/** Reads an earlier artifact back through memory, checking session id, phase and sha256; falls back to the ledger copy (also hash-checked) with a warning. */
export async function retrieveEarlier(deps: EngineDeps, sessionId: string, entry: ArtifactEntry): Promise<{ text: string; source: 'memory' | 'ledger' }> {
  let rec: MemoryRecord | undefined;
  let why = `was not found in ${deps.memory.describe}`;
  if (!entry.outbox) {
    try {
      rec = await findExact(deps.memory, sessionId, entry.phase, entry.sha256);
    } catch (err) {
      if (!isCollabError(err) || err.code !== 'MEMORY_UNAVAILABLE') throw err;
      why = `could not be read from memory (${err.message})`;
    }
  } else why = 'is in the outbox (not yet in memory)';
  if (rec) {
    parseArtifact(rec.text, { expectSessionId: sessionId, expectPhase: entry.phase });
    return { text: rec.text, source: 'memory' };
  }
  const text = deps.ledger.readArtifact(sessionId, entry.file);
  if (sha256(text) !== entry.sha256) {
    throw new CollabError('CORRUPT_SESSION', `${entry.file} of ${sessionId} does not match its recorded sha256 and is not in memory`, { hint: 'restore the file from version control, or start a new session' });
  }
  deps.emit({ type: 'warning', sessionId, phase: entry.phase, message: `${entry.file} ${why}; used the ledger copy (hash checked)`, at: deps.clock.now().toISOString() });
  return { text, source: 'ledger' };
}

/** Result of replaying the outbox. */
export interface SyncResult {
  synced: { sessionId: string; file: string; memoryId?: string; alreadyThere: boolean }[];
  failed: { sessionId: string; file: string; error: string }[];
}

/** Replays every outbox artifact of the given sessions into memory (each stored once: an exact copy already there is only marked). */
export async function syncOutbox(deps: EngineDeps, sessionIds: string[]): Promise<SyncResult> {
  const res: SyncResult = { synced: [], failed: [] };
  for (const id of sessionIds) {
    const pendingEntries = deps.ledger.load(id).artifacts.filter((a) => a.outbox);
    if (pendingEntries.length === 0) continue;
    const lock = deps.ledger.lock(id);
    try {
      let session = deps.ledger.load(id);
      for (const entry of session.artifacts.filter((a) => a.outbox)) {
        try {
          const text = deps.ledger.readArtifact(id, entry.file);
          if (sha256(text) !== entry.sha256) throw new CollabError('CORRUPT_SESSION', `${entry.file} does not match its recorded sha256`);
          const existing = await findExact(deps.memory, id, entry.phase, entry.sha256);
          const memoryId = existing ? existing.id : (await storeAndVerify(deps, id, entry.phase, text)).memoryId;
          const at = deps.clock.now().toISOString();
          session = {
            ...session,
            updatedAt: at,
            artifacts: session.artifacts.map((a) => (a.file === entry.file ? { ...withoutOutbox(a), ...(memoryId ? { memoryId } : {}), storedAt: a.storedAt ?? at, verifiedAt: at } : a)),
          };
          deps.ledger.save(session);
          deps.ledger.appendEvent(id, { type: 'memory.synced', sessionId: id, file: entry.file, memoryId: memoryId ?? null, alreadyThere: Boolean(existing), at });
          res.synced.push({ sessionId: id, file: entry.file, ...(memoryId ? { memoryId } : {}), alreadyThere: Boolean(existing) });
        } catch (err) {
          res.failed.push({ sessionId: id, file: entry.file, error: err instanceof Error ? err.message : String(err) });
        }
      }
    } finally {
      lock.release();
    }
  }
  return res;
}

function withoutOutbox(a: ArtifactEntry): ArtifactEntry {
  const { outbox: _drop, ...rest } = a;
  return rest;
}
