/**
 * The embedded memory store: one SQLite file (WAL) with a session/phase index for exact and
 * session-scoped reads, and an FTS5 index (BM25) for free-text queries such as pattern searches.
 *
 * Only the embedded MCP server uses this class; collab itself reaches memory as an MCP client.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { CollabError, firstLine } from '../core/errors.js';
import { PHASES, type Phase } from '../core/phases.js';
import type { MemoryStats } from '../core/ports.js';
import { assertSessionId, findSessionIds, isSessionId } from '../core/session-id.js';
import { isPhase, sniffArtifact } from './sniff-artifact.js';

/** One stored memory as the store returns it. */
export interface StoredRecord {
  id: number;
  sha256: string;
  sessionId: string | null;
  phase: Phase | null;
  kind: string | null;
  title: string | null;
  text: string;
  createdAt: string;
  /** Relevance for this query (higher is better); absent on exact lookups. */
  score?: number;
}

/** What `store` did. */
export interface StoreOutcome {
  id: number;
  /** True when identical content was already stored (the existing id is returned). */
  duplicate: boolean;
  sha256: string;
  sessionId: string | null;
  phase: Phase | null;
  kind: string | null;
  title: string | null;
}

/** Counts, size and dates of the store (MemoryStats, with the database path always known). */
export type StoreStats = MemoryStats & { dbPath: string };

/** Options of the store; the clock is injectable so tests get stable dates. */
export interface SqliteStoreOptions {
  now?: () => Date;
  /** How long a writer waits for another process's lock (agents run their own server on the same file). */
  busyTimeoutMs?: number;
}

const SCHEMA_VERSION = 1;
/** Texts larger than this are refused: an artifact is a document, not a log dump. */
export const MAX_TEXT_BYTES = 8 * 1024 * 1024;
// A session holds a handful of artifacts; the cap only bounds a pathological one.
const SESSION_SCAN_CAP = 1000;
const MAX_QUERY_TERMS = 32;
const MAX_QUERY_SESSIONS = 20;
// Title hits count more than body hits in BM25: the header names what the artifact is.
const BM25_WEIGHTS = 'bm25(4.0, 1.0)';

// Words that match nearly every artifact; OR-ing them into an FTS query only costs time.
const STOPWORDS = new Set(
  'a an and are as at be by for from has have in is it its of on or that the this to was were will with'.split(' '),
);

// Words in a session-scoped query that name a phase; they select the artifact more than any body word.
const PHASE_SYNONYMS: Record<Phase, readonly string[]> = {
  plan: ['plan', 'planning', 'planned'],
  review: ['review', 'reviewed', 'feedback'],
  implement: ['implement', 'implementation', 'implemented'],
  validate: ['validate', 'validation'],
  pattern: ['pattern', 'patterns'],
};

const PHASE_ORDER = new Map<string, number>(PHASES.map((p, i) => [p, i]));
// An attempt at a session id in a query: `SESSION-` and a digit (any case). Ids are upper-case,
// so a lower-cased or truncated one is refused instead of silently searching everything.
const QUERY_ID_LIKE = /(?<![A-Za-z0-9-])SESSION-\d[A-Za-z0-9_-]*/gi;

interface Row {
  id: number;
  sha256: string;
  session_id: string | null;
  phase: string | null;
  kind: string | null;
  title: string | null;
  text: string;
  created_at: string;
  rank?: number;
}

const COLUMNS = 'id, sha256, session_id, phase, kind, title, text, created_at';

/** SQLite-backed memory: store (deduplicated), session-scoped and BM25 search, exact lookup, stats. */
export class SqliteStore {
  /** Absolute path of the database file (or ":memory:"). */
  readonly path: string;
  private readonly db: Database.Database;
  private readonly now: () => Date;
  private closed = false;
  private readonly q: ReturnType<SqliteStore['prepare']>;

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.path = path === ':memory:' ? path : resolve(path);
    this.now = opts.now ?? (() => new Date());
    let db: Database.Database | undefined;
    try {
      if (this.path !== ':memory:') makeParents(dirname(this.path));
      db = new Database(this.path);
      // busy_timeout first: switching to WAL needs a lock another server process may hold.
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
      db.pragma('journal_mode = WAL');
      // NORMAL is durable against process crashes in WAL mode; only power loss can drop the last commit.
      db.pragma('synchronous = NORMAL');
      migrate(db);
      this.db = db;
      this.q = this.prepare();
    } catch (err) {
      try {
        db?.close();
      } catch {
        // the open already failed; nothing more to release
      }
      if (err instanceof CollabError) throw err;
      const reason = err instanceof Error ? firstLine(err.message) : String(err);
      throw new CollabError('MEMORY_UNAVAILABLE', `cannot open memory database ${this.path}: ${reason}`, {
        hint: 'pass another file with --db, or fix the permissions of its directory',
        cause: err,
      });
    }
  }

  // Every statement is prepared once: the bench counts milliseconds per retrieve.
  private prepare() {
    const db = this.db;
    return {
      bySha: db.prepare<[string], { id: number }>('SELECT id FROM records WHERE sha256 = ?'),
      insert: db.prepare<[string, string | null, string | null, string | null, string | null, string, string], { id: number }>(
        'INSERT INTO records (sha256, session_id, phase, kind, title, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING RETURNING id',
      ),
      bySession: db.prepare<[string, number], Row>(`SELECT ${COLUMNS} FROM records WHERE session_id = ? ORDER BY id DESC LIMIT ?`),
      lookupAll: db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM records WHERE session_id = ? ORDER BY id`),
      lookupPhase: db.prepare<[string, string], Row>(`SELECT ${COLUMNS} FROM records WHERE session_id = ? AND phase = ? ORDER BY id`),
      // The MATCH runs in a subquery so FTS5 sorts by its own rank and stops at the limit before the join.
      fts: db.prepare<[string, number], Row>(
        `SELECT r.id, r.sha256, r.session_id, r.phase, r.kind, r.title, r.text, r.created_at, m.rank AS rank
           FROM (SELECT rowid, rank FROM records_fts WHERE records_fts MATCH ? ORDER BY rank LIMIT ?) AS m
           JOIN records r ON r.id = m.rowid
          ORDER BY m.rank`,
      ),
      count: db.prepare<[], { records: number; sessions: number }>('SELECT count(*) AS records, count(DISTINCT session_id) AS sessions FROM records'),
      byPhase: db.prepare<[], { phase: string | null; n: number }>('SELECT phase, count(*) AS n FROM records GROUP BY phase'),
      oldest: db.prepare<[], { created_at: string }>('SELECT created_at FROM records ORDER BY id LIMIT 1'),
      newest: db.prepare<[], { created_at: string }>('SELECT created_at FROM records ORDER BY id DESC LIMIT 1'),
    };
  }

  /** Stores a text verbatim; identical content is stored once (the existing id comes back, duplicate=true). */
  store(text: string): StoreOutcome {
    this.assertOpen();
    if (typeof text !== 'string' || text.trim() === '') throw new CollabError('USAGE', 'nothing to store: the text is empty');
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_TEXT_BYTES) throw new CollabError('USAGE', `text too large to store: ${bytes} bytes (limit ${MAX_TEXT_BYTES})`);
    const meta = sniffArtifact(text);
    const bad = meta.malformedIds[0];
    // Strict about ids: a broken id in a header would file the artifact under no session at all.
    if (bad !== undefined) assertSessionId(bad, 'session id in the stored text');
    const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
    const outcome = (id: number, duplicate: boolean): StoreOutcome => ({
      id,
      duplicate,
      sha256,
      sessionId: meta.sessionId,
      phase: meta.phase,
      kind: meta.kind,
      title: meta.title,
    });
    const existing = this.q.bySha.get(sha256);
    // Identical text sniffs identically, so the metadata computed here is the stored row's.
    if (existing) return outcome(existing.id, true);
    const inserted = this.q.insert.get(sha256, meta.sessionId, meta.phase, meta.kind, meta.title, text, this.now().toISOString());
    if (inserted) return outcome(inserted.id, false);
    // Another server process stored the same text between our check and our insert.
    const raced = this.q.bySha.get(sha256);
    if (!raced) throw new CollabError('INTERNAL', 'store: insert ignored but no record with that hash');
    return outcome(raced.id, true);
  }

  /** Stores many texts in one transaction (seeding, imports); same rules and answers as `store`. */
  storeMany(texts: readonly string[]): StoreOutcome[] {
    this.assertOpen();
    return this.db.transaction(() => texts.map((t) => this.store(t)))();
  }

  /**
   * SQLite's plan for the session-scoped reads, so a test can prove they go through the
   * session/phase index (cost independent of the corpus) and never scan the table.
   */
  sessionQueryPlans(): Record<'bySession' | 'lookupAll' | 'lookupPhase', string> {
    this.assertOpen();
    const plan = (sql: string, ...args: unknown[]) =>
      (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
    return {
      bySession: plan(`SELECT ${COLUMNS} FROM records WHERE session_id = ? ORDER BY id DESC LIMIT ?`, 'x', 1),
      lookupAll: plan(`SELECT ${COLUMNS} FROM records WHERE session_id = ? ORDER BY id`, 'x'),
      lookupPhase: plan(`SELECT ${COLUMNS} FROM records WHERE session_id = ? AND phase = ? ORDER BY id`, 'x', 'plan'),
    };
  }

  /**
   * Searches memory. A query naming valid session id(s) returns only those sessions' records (read
   * through the index, ranked on the remaining words); any other query is a BM25 full-text search
   * over quoted words. A query with no words returns [].
   */
  search(query: string, limit = 10): StoredRecord[] {
    this.assertOpen();
    const n = clampLimit(limit);
    const text = typeof query === 'string' ? query : '';
    for (const m of text.matchAll(QUERY_ID_LIKE)) {
      const token = m[0].replace(/[-_]+$/, '');
      if (!isSessionId(token)) assertSessionId(token, 'session id in the query');
    }
    const ids = findSessionIds(text).slice(0, MAX_QUERY_SESSIONS);
    let rest = text;
    for (const id of ids) rest = rest.split(id).join(' ');
    const terms = queryTerms(rest);
    if (ids.length > 0) return this.searchSessions(ids, terms, n);
    if (terms.length === 0) return [];
    const match = terms.map((t) => `"${t.replaceAll('"', '""')}"`).join(' OR ');
    return this.q.fts.all(match, n).map((r) => toRecord(r, r.rank === undefined ? undefined : -r.rank));
  }

  /** Exact lookup of a session's records (optionally one phase), oldest first. */
  lookup(sessionId: string, phase?: Phase): StoredRecord[] {
    this.assertOpen();
    const id = assertSessionId(sessionId);
    if (phase === undefined) return this.q.lookupAll.all(id).map((r) => toRecord(r));
    if (!isPhase(phase)) throw new CollabError('USAGE', `unknown phase ${JSON.stringify(phase)}: expected one of ${PHASES.join(', ')}`);
    return this.q.lookupPhase.all(id, phase).map((r) => toRecord(r));
  }

  /** Counts, database size and dates. */
  stats(): StoreStats {
    this.assertOpen();
    const c = this.q.count.get() ?? { records: 0, sessions: 0 };
    const byPhase: Record<string, number> = {};
    for (const row of this.q.byPhase.all()) byPhase[row.phase ?? 'none'] = row.n;
    const pageCount = Number(this.db.pragma('page_count', { simple: true }));
    const pageSize = Number(this.db.pragma('page_size', { simple: true }));
    const stats: StoreStats = {
      records: c.records,
      sessions: c.sessions,
      patterns: byPhase.pattern ?? 0,
      bytes: pageCount * pageSize,
      byPhase,
      dbPath: this.path,
    };
    const oldest = this.q.oldest.get()?.created_at;
    const newest = this.q.newest.get()?.created_at;
    if (oldest !== undefined) stats.oldest = oldest;
    if (newest !== undefined) stats.newest = newest;
    return stats;
  }

  /** Closes the database; later calls fail with MEMORY_UNAVAILABLE. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      // Lets SQLite refresh its planner statistics cheaply while it still has the file open.
      this.db.pragma('optimize');
    } catch {
      // best effort: closing matters more than statistics
    }
    this.db.close();
  }

  private searchSessions(ids: string[], terms: string[], limit: number): StoredRecord[] {
    const rows: Row[] = [];
    for (const id of ids) rows.push(...this.q.bySession.all(id, SESSION_SCAN_CAP));
    const scored = rows.map((r) => ({ r, score: terms.length > 0 ? scoreWithin(r, terms) : 0 }));
    scored.sort(
      (a, b) =>
        b.score - a.score ||
        (PHASE_ORDER.get(a.r.phase ?? '') ?? PHASES.length) - (PHASE_ORDER.get(b.r.phase ?? '') ?? PHASES.length) ||
        b.r.id - a.r.id,
    );
    return scored.slice(0, limit).map(({ r, score }) => toRecord(r, terms.length > 0 ? score : undefined));
  }

  private assertOpen(): void {
    if (this.closed) throw new CollabError('MEMORY_UNAVAILABLE', `memory database ${this.path} is closed`);
  }
}

function migrate(db: Database.Database): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) {
    throw new CollabError('MEMORY_UNAVAILABLE', `memory database ${db.name} has schema version ${version}, newer than this collab understands (${SCHEMA_VERSION})`, {
      hint: 'upgrade collab, or pass another file with --db',
    });
  }
  // IMMEDIATE: two servers starting at once on a new file must not both create the schema.
  db.transaction(() => {
    if (Number(db.pragma('user_version', { simple: true })) === SCHEMA_VERSION) return;
    db.exec(`
      CREATE TABLE IF NOT EXISTS records (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        session_id TEXT,
        phase TEXT,
        kind TEXT,
        title TEXT,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS records_session_phase ON records (session_id, phase, id);
      -- External content: the text is kept once, in records; FTS5 holds only the index.
      CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5 (
        title, text, content = 'records', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
      );
      CREATE TRIGGER IF NOT EXISTS records_fts_insert AFTER INSERT ON records BEGIN
        INSERT INTO records_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
      END;
      CREATE TRIGGER IF NOT EXISTS records_fts_delete AFTER DELETE ON records BEGIN
        INSERT INTO records_fts (records_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
      END;
      INSERT INTO records_fts (records_fts, rank) VALUES ('rank', '${BM25_WEIGHTS}');
    `);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

function clampLimit(limit: number): number {
  if (!Number.isFinite(limit)) return 10;
  return Math.min(100, Math.max(1, Math.floor(limit)));
}

/** Lower-cased words of a text, folded like FTS5's unicode61 tokenizer (diacritics removed). */
function words(text: string): string[] {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

// Distinct query words, stop words dropped unless nothing else is left, capped in number.
function queryTerms(text: string): string[] {
  const all = [...new Set(words(text))];
  const kept = all.filter((w) => !STOPWORDS.has(w));
  return (kept.length > 0 ? kept : all).slice(0, MAX_QUERY_TERMS);
}

// Ranking inside one session. The candidates are a handful of rows already read through the index,
// so they are scored here rather than by FTS5, whose BM25 reads every matching row of the whole
// corpus to weigh a word — exactly the cost session scoping exists to avoid. Header words (kind,
// phase names) dominate, then title words, then how often a word occurs in the body.
function scoreWithin(row: Row, terms: string[]): number {
  const header = new Set(words(row.kind ?? ''));
  const phase = asPhase(row.phase);
  if (phase) for (const w of PHASE_SYNONYMS[phase]) header.add(w);
  const title = new Set(words(row.title ?? ''));
  const counts = new Map<string, number>();
  for (const w of words(row.text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  let score = 0;
  for (const t of terms) {
    if (header.has(t)) score += 10;
    if (title.has(t)) score += 3;
    const tf = counts.get(t) ?? 0;
    if (tf > 0) score += Math.log2(1 + tf);
  }
  return Math.round(score * 1000) / 1000;
}

function asPhase(value: string | null): Phase | null {
  return isPhase(value) ? value : null;
}

function toRecord(r: Row, score?: number): StoredRecord {
  const rec: StoredRecord = {
    id: r.id,
    sha256: r.sha256,
    sessionId: r.session_id,
    phase: asPhase(r.phase),
    kind: r.kind,
    title: r.title,
    text: r.text,
    createdAt: r.created_at,
  };
  if (score !== undefined) rec.score = Math.round(score * 1000) / 1000;
  return rec;
}

/**
 * Creates a directory and its missing parents one level at a time. Node's own recursive mkdir
 * spins forever on file systems that answer ENOENT for every create (/proc); this fails instead.
 */
function makeParents(dir: string): void {
  const missing: string[] = [];
  let d = dir;
  while (!existsSync(d)) {
    missing.unshift(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const m of missing) mkdirSync(m);
}
