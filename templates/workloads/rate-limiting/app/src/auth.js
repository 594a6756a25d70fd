import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { users } from './data.js';

const scryptAsync = promisify(scrypt);
const TOKEN_TTL_MS = 60 * 60 * 1000;
// Used when the username is unknown, so that a miss costs as much as a wrong password.
const DECOY = { salt: '00000000000000000000000000000000', hash: '0'.repeat(64) };

/** Holds issued bearer tokens in memory; one instance per app. */
export class TokenSessions {
  #sessions = new Map();

  /** Issues a new opaque token for a user id. */
  issue(userId, now = Date.now()) {
    const token = randomBytes(24).toString('base64url');
    this.#sessions.set(token, { userId, expiresAt: now + TOKEN_TTL_MS });
    return token;
  }

  /** Returns the user for a token, or undefined when the token is unknown or expired. */
  resolve(token, now = Date.now()) {
    const session = this.#sessions.get(token);
    if (!session) return undefined;
    if (session.expiresAt <= now) {
      this.#sessions.delete(token);
      return undefined;
    }
    return users.find((user) => user.id === session.userId);
  }

  /** Forgets a token (logout). */
  revoke(token) {
    this.#sessions.delete(token);
  }
}

/** Checks a username/password pair; resolves to the user or undefined. */
export async function verifyCredentials(username, password) {
  if (typeof username !== 'string' || typeof password !== 'string') return undefined;
  const user = users.find((candidate) => candidate.username === username);
  const record = user ?? DECOY;
  const derived = await scryptAsync(password, record.salt, 32);
  const matches = timingSafeEqual(derived, Buffer.from(record.hash, 'hex'));
  return matches && user ? user : undefined;
}

/** Reads `Authorization: Bearer <token>`; returns the token or undefined. */
export function bearerToken(req) {
  const header = req.get('authorization');
  if (!header) return undefined;
  const match = /^Bearer\s+([A-Za-z0-9_-]+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}

/**
 * Middleware: when the request carries a valid bearer token, puts `{ id, username }` on
 * `req.user`. A missing or invalid token is not an error here; protected routes use `requireAuth`.
 */
export function identify(sessions) {
  return (req, _res, next) => {
    const token = bearerToken(req);
    const user = token ? sessions.resolve(token) : undefined;
    if (user) {
      req.user = { id: user.id, username: user.username };
      req.authToken = token;
    }
    next();
  };
}

/** Middleware: refuses the request with 401 unless `identify` found a user. */
export function requireAuth(req, res, next) {
  if (req.user) return next();
  res.set('WWW-Authenticate', 'Bearer');
  res.status(401).json({ error: 'unauthorized', message: 'A valid bearer token is required.' });
}
