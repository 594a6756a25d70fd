import { CollabError } from './errors.js';

/** The one session id pattern: SESSION-YYYYMMDD-XXXXXXXX (UTC date, 8 chars of A-Z0-9). */
export const SESSION_ID_PATTERN = 'SESSION-\\d{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\\d|3[01])-[A-Z0-9]{8}';
const EXACT = new RegExp(`^${SESSION_ID_PATTERN}$`);
/** Finds ids inside free text (word-bounded so longer look-alikes do not match). */
const IN_TEXT = new RegExp(`(?<![A-Za-z0-9-])${SESSION_ID_PATTERN}(?![A-Za-z0-9])`, 'g');
/** Something that tries to be a session id (used to reject malformed ids rather than ignore them). */
const LOOKALIKE = /(?<![A-Za-z0-9-])SESSION-[A-Za-z0-9_-]+/gi;

/** The alphabet of the random part. */
export const SESSION_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** True when `value` is exactly a valid session id. */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && EXACT.test(value) && isRealDate(value.slice(8, 16));
}

/** Returns `value` when it is a valid session id, otherwise throws INVALID_SESSION_ID. */
export function assertSessionId(value: unknown, what = 'session id'): string {
  if (isSessionId(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value) : String(value);
  throw new CollabError('INVALID_SESSION_ID', `invalid ${what} ${shown}: expected SESSION-YYYYMMDD-XXXXXXXX (8 characters A-Z0-9)`, {
    hint: 'run `collab list` to see the sessions of this directory',
  });
}

/** All valid session ids in a text, first occurrence order, without duplicates. */
export function findSessionIds(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IN_TEXT)) if (isSessionId(m[0]) && !out.includes(m[0])) out.push(m[0]);
  return out;
}

/** Strings in a text that look like session ids but are not valid ones. */
export function findMalformedSessionIds(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(LOOKALIKE)) {
    const token = m[0].replace(/[-_]+$/, '');
    if (!isSessionId(token) && !out.includes(token)) out.push(token);
  }
  return out;
}

/** Builds a new id for `now` (UTC date), retrying while `isTaken` says the id exists. */
export function generateSessionId(opts: { now: Date; random: () => string; isTaken: (id: string) => boolean; maxAttempts?: number }): string {
  const d = opts.now;
  const date = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  const attempts = opts.maxAttempts ?? 20;
  for (let i = 0; i < attempts; i++) {
    const id = `SESSION-${date}-${opts.random()}`;
    if (!isSessionId(id)) throw new CollabError('INTERNAL', `session id generator produced ${JSON.stringify(id)}`);
    if (!opts.isTaken(id)) return id;
  }
  throw new CollabError('INTERNAL', `could not find a free session id after ${attempts} attempts`);
}

function isRealDate(yyyymmdd: string): boolean {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  const dt = new Date(Date.UTC(y, m - 1, day));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === day;
}
