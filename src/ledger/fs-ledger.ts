import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join, resolve } from 'node:path';
import { CollabError, isCollabError } from '../core/errors.js';
import { sessionInconsistency } from '../core/session-check.js';
import { assertSessionId, isSessionId } from '../core/session-id.js';
import { sessionSchema, type LedgerPort, type Session } from '../core/session.js';
import { isArtifactFileName } from '../core/artifact-file-name.js';
import { appendLineDurable, isAtomicTempName, writeFileAtomic } from './atomic-write.js';
import { acquireLock, isProcessAlive, type LockHandle } from './lock.js';

/** Who this ledger acts as, for locks; injectable so tests can play other processes. */
export interface FsLedgerOptions {
  pid?: number;
  hostname?: string;
  isAlive?: (pid: number) => boolean;
}

/** A line of events.jsonl that could not be used. */
export interface SkippedEventLine {
  /** 1-based line number. */
  line: number;
  /** `truncated`: the last line, cut by a crash mid-append; `invalid`: garbage anywhere else. */
  reason: 'truncated' | 'invalid';
  /** The start of the line, for diagnostics. */
  preview: string;
}

/** events.jsonl read in full, with what had to be skipped. */
export interface EventsRead {
  events: Record<string, unknown>[];
  skipped: SkippedEventLine[];
}

const SESSION_FILE = 'session.json';
const EVENTS_FILE = 'events.jsonl';
const LOCK_FILE = 'session.lock';
const LOGS_DIR = 'logs';
const CURRENT_FILE = 'current';
/** Temp files older than this in a session directory are crash leftovers (writers finish in milliseconds). */
const TEMP_LEFTOVER_MS = 60_000;

/** The ledger `.collab/` on the local file system (DESIGN §3). */
export class FsLedger implements LedgerPort {
  readonly root: string;
  private readonly pid: number;
  private readonly hostname: string;
  private readonly isAlive: (pid: number) => boolean;

  /** `root` is the `.collab` directory; nothing is read or created until a method needs it. */
  constructor(root: string, opts: FsLedgerOptions = {}) {
    this.root = resolve(root);
    this.pid = opts.pid ?? process.pid;
    this.hostname = opts.hostname ?? osHostname();
    this.isAlive = opts.isAlive ?? isProcessAlive;
  }

  /** `.collab/sessions`. */
  get sessionsDir(): string {
    return join(this.root, 'sessions');
  }

  /** The directory of one session (the id is validated first, so it cannot escape `sessions/`). */
  sessionDir(id: string): string {
    return join(this.sessionsDir, assertSessionId(id));
  }

  /** Path of a session's session.json. */
  sessionFile(id: string): string {
    return join(this.sessionDir(id), SESSION_FILE);
  }

  /** True when the session has a session.json (loadable or not). */
  exists(id: string): boolean {
    return existsSync(this.sessionFile(id));
  }

  /** Reads and validates session.json; SESSION_NOT_FOUND when absent, CORRUPT_SESSION (file untouched) when unusable. */
  load(id: string): Session {
    const file = this.sessionFile(id);
    let raw: string;
    try {
      raw = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new CollabError('SESSION_NOT_FOUND', `session ${id} not found in ${this.sessionsDir}`, { hint: 'run `collab list` to see the sessions of this directory' });
      }
      throw this.corrupt(id, file, `cannot be read (${code ?? (err as Error).message})`, err);
    }
    if (raw.trim() === '') throw this.corrupt(id, file, 'is empty');
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw this.corrupt(id, file, `is not valid JSON (${oneLine((err as Error).message)})`, err);
    }
    const parsed = sessionSchema.safeParse(json);
    if (!parsed.success) throw this.corrupt(id, file, `fails the session schema: ${describeIssues(parsed.error.issues)}`, parsed.error);
    if (parsed.data.id !== id) throw this.corrupt(id, file, `names session ${parsed.data.id} but lives in the directory of ${id}`);
    const inconsistent = sessionInconsistency(parsed.data);
    if (inconsistent) throw this.corrupt(id, file, `does not add up: ${inconsistent}`);
    return parsed.data;
  }

  /** Creates the session directory (with logs/) and session.json; fails if session.json exists. */
  create(session: Session): void {
    const valid = this.validForWrite(session);
    const dir = this.sessionDir(valid.id);
    // recursive: a directory without session.json is a leftover of a create that crashed; reuse it.
    this.io('create', dir, () => mkdirSync(join(dir, LOGS_DIR), { recursive: true }));
    try {
      writeFileAtomic(join(dir, SESSION_FILE), serialise(valid), { exclusive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CollabError('INTERNAL', `session ${valid.id} already exists in ${this.sessionsDir}`, { cause: err });
      throw ioError('write', join(dir, SESSION_FILE), err);
    }
  }

  /** Atomic replace of session.json (validated first, so the ledger never holds a session it cannot load). */
  save(session: Session): void {
    const valid = this.validForWrite(session);
    const file = join(this.requireDir(valid.id), SESSION_FILE);
    this.io('write', file, () => writeFileAtomic(file, serialise(valid)));
  }

  /** Writes an artifact verbatim and atomically; returns its path. */
  writeArtifact(id: string, file: string, text: string): string {
    const path = join(this.requireDir(id), checkArtifactFile(file));
    this.io('write', path, () => writeFileAtomic(path, text));
    return path;
  }

  /** Reads an artifact verbatim; NOT_FOUND when the file is absent. */
  readArtifact(id: string, file: string): string {
    const path = this.artifactPath(id, file);
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new CollabError('NOT_FOUND', `artifact ${file} of session ${id} not found (${path})`, { hint: `run \`collab show ${id}\` to see its artifacts` });
      throw new CollabError('CORRUPT_SESSION', `artifact ${path} cannot be read (${code ?? (err as Error).message})`, { cause: err });
    }
  }

  /** Path of an artifact file; the name must match `NN-<phase>[-iterK].md`. */
  artifactPath(id: string, file: string): string {
    return join(this.sessionDir(id), checkArtifactFile(file));
  }

  /** Appends one JSON line to events.jsonl (fsync'd; `at` is added when the event has none). */
  appendEvent(id: string, event: Record<string, unknown>): void {
    const file = join(this.requireDir(id), EVENTS_FILE);
    const line = JSON.stringify({ at: new Date().toISOString(), ...event });
    this.io('append to', file, () => appendLineDurable(file, line));
  }

  /** All usable events; a line cut by a crash (or any garbage) is skipped. */
  readEvents(id: string): Record<string, unknown>[] {
    return this.readEventsDetailed(id).events;
  }

  /** Like readEvents, also reporting which lines were skipped and why. */
  readEventsDetailed(id: string): EventsRead {
    const file = join(this.sessionDir(id), EVENTS_FILE);
    let raw: string;
    try {
      raw = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], skipped: [] };
      throw new CollabError('CORRUPT_SESSION', `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
    return parseEventLines(raw);
  }

  /** The session's `logs/` directory (created when missing). */
  logDir(id: string): string {
    const dir = join(this.requireDir(id), LOGS_DIR);
    this.io('create', dir, () => mkdirSync(dir, { recursive: true }));
    return dir;
  }

  /** Takes the session lock; SESSION_LOCKED while a live collab holds it, stale locks are taken over. */
  lock(id: string, opts: { command?: string } = {}): LockHandle {
    const dir = this.requireDir(id);
    let handle: LockHandle;
    try {
      handle = acquireLock(join(dir, LOCK_FILE), {
        pid: this.pid,
        hostname: this.hostname,
        isAlive: this.isAlive,
        label: `session ${id}`,
        ...(opts.command === undefined ? {} : { command: opts.command }),
      });
    } catch (err) {
      if (isCollabError(err)) throw err;
      throw ioError('lock', join(dir, LOCK_FILE), err);
    }
    // Holding the lock, nobody else writes here: old temp files are crash leftovers.
    sweepTempLeftovers(dir);
    return handle;
  }

  /** Session ids, oldest first (by the id's date, then createdAt, then id); other entries are ignored. */
  list(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.sessionsDir);
    } catch {
      return [];
    }
    const rows: { id: string; date: string; created: string }[] = [];
    for (const name of names) {
      if (!isSessionId(name)) continue;
      const file = join(this.sessionsDir, name, SESSION_FILE);
      let created: string;
      try {
        if (!statSync(file).isFile()) continue;
        created = readCreatedAt(file);
      } catch {
        continue;
      }
      rows.push({ id: name, date: name.slice(8, 16), created });
    }
    rows.sort((a, b) => cmp(a.date, b.date) || cmp(a.created, b.created) || cmp(a.id, b.id));
    return rows.map((r) => r.id);
  }

  /** The id in `.collab/current`, or undefined when it is missing or not a valid id. */
  current(): string | undefined {
    try {
      const id = readFileSync(join(this.root, CURRENT_FILE), 'utf8').trim();
      return isSessionId(id) ? id : undefined;
    } catch {
      return undefined;
    }
  }

  /** Names `id` the active session (atomic replace of `.collab/current`). */
  setCurrent(id: string): void {
    const valid = assertSessionId(id);
    const file = join(this.root, CURRENT_FILE);
    this.io('write', file, () => {
      mkdirSync(this.root, { recursive: true });
      writeFileAtomic(file, `${valid}\n`);
    });
  }

  // ---------------------------------------------------------------- internals

  private requireDir(id: string): string {
    const dir = this.sessionDir(id);
    if (!existsSync(join(dir, SESSION_FILE))) {
      throw new CollabError('SESSION_NOT_FOUND', `session ${id} not found in ${this.sessionsDir}`, { hint: 'run `collab list` to see the sessions of this directory' });
    }
    return dir;
  }

  private validForWrite(session: Session): Session {
    assertSessionId(session?.id);
    const parsed = sessionSchema.safeParse(session);
    // A caller handing an invalid session is a bug; writing it would make the session unloadable.
    if (!parsed.success) throw new CollabError('INTERNAL', `refusing to write an invalid session ${session.id}: ${describeIssues(parsed.error.issues)}`, { cause: parsed.error });
    return parsed.data;
  }

  private corrupt(id: string, file: string, what: string, cause?: unknown): CollabError {
    return new CollabError('CORRUPT_SESSION', `session file ${file} ${what}`, {
      hint: `the file was left as it is: repair or restore it (e.g. from a backup), or move ${this.sessionDir(id)} aside and start a new session`,
      details: { sessionId: id, file },
      ...(cause === undefined ? {} : { cause }),
    });
  }

  private io(action: string, path: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      throw ioError(action, path, err);
    }
  }
}

/** Parses events.jsonl text: one JSON object per line; blank lines ignored, anything else skipped and reported. */
export function parseEventLines(raw: string): EventsRead {
  const events: Record<string, unknown>[] = [];
  const skipped: SkippedEventLine[] = [];
  const lines = raw.split('\n');
  // A file ending in "\n" splits into a final empty string; anything else there is a cut last line.
  const cutLast = lines.length > 0 && lines[lines.length - 1] !== '';
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      events.push(value as Record<string, unknown>);
      return;
    }
    const isLast = i === lines.length - 1;
    skipped.push({ line: i + 1, reason: isLast && cutLast ? 'truncated' : 'invalid', preview: text.slice(0, 80) });
  });
  return { events, skipped };
}

function checkArtifactFile(file: string): string {
  if (!isArtifactFileName(file)) {
    throw new CollabError('USAGE', `invalid artifact file name ${JSON.stringify(String(file).slice(0, 80))}: expected NN-<phase>[-iterK].md`, {
      hint: 'artifact names look like 01-plan.md or 05-implement-iter2.md',
    });
  }
  return file;
}

function serialise(session: Session): string {
  return `${JSON.stringify(session, null, 2)}\n`;
}

function readCreatedAt(file: string): string {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as { createdAt?: unknown };
    if (typeof value.createdAt === 'string') return value.createdAt;
  } catch {
    /* a corrupt session still lists (load reports it); order it by its file time */
  }
  return statSync(file).mtime.toISOString();
}

function sweepTempLeftovers(dir: string): void {
  try {
    const cutoff = Date.now() - TEMP_LEFTOVER_MS;
    for (const name of readdirSync(dir)) {
      if (!isAtomicTempName(name)) continue;
      const path = join(dir, name);
      try {
        if (statSync(path).mtimeMs < cutoff) unlinkSync(path);
      } catch {
        /* raced with another sweep */
      }
    }
  } catch {
    /* housekeeping only */
  }
}

function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const shown = issues.slice(0, 3).map((i) => `${formatPath(i.path)}: ${oneLine(i.message)}`);
  const more = issues.length > 3 ? `; and ${issues.length - 3} more` : '';
  return `${shown.join('; ')}${more}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Errno codes that mean "the ledger cannot be written here", not a bug. */
const UNWRITABLE: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a path component is not a directory',
};

function ioError(action: string, path: string, err: unknown): CollabError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code ? UNWRITABLE[e.code] : undefined;
  if (why) {
    return new CollabError('LEDGER_UNWRITABLE', `cannot ${action} ${path}: ${why}`, { cause: err, details: { path }, hint: 'fix the permissions of .collab/ (or free space), or run collab where you can write' });
  }
  return new CollabError('INTERNAL', `cannot ${action} ${path}: ${e.code ?? oneLine(String(e.message ?? err))}`, { cause: err, details: { path } });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
