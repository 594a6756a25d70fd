/**
 * The decisions of `collab memory serve --http`, kept pure so they are tested without sockets:
 * which address counts as loopback, whether a token is needed, and whether one request may pass
 * (Host and Origin against the allowed names — DNS-rebinding protection — then the bearer token).
 */
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** Names a loopback-bound server answers to. */
export const LOOPBACK_HOSTNAMES = ['localhost', '127.0.0.1', '[::1]'] as const;

/** True for an address or name that stays on this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** The token the server will require: from the environment, else generated; none only on loopback without one. */
export function resolveServeToken(host: string, envToken: string | undefined, generate: () => string): { token: string | undefined; generated: boolean } {
  const given = envToken?.trim();
  if (given) return { token: given, generated: false };
  // Beyond loopback the store is reachable by other machines: never without a token.
  if (!isLoopbackHost(host)) return { token: generate(), generated: true };
  return { token: undefined, generated: false };
}

/** Refuses a configuration that would listen beyond loopback without a token (one line). */
export function assertServeSecure(host: string, token: string | undefined): void {
  if (!isLoopbackHost(host) && !token) throw new Error(`refusing to listen on ${host} without a bearer token (set COLLAB_MEMORY_TOKEN)`);
}

/** Hostnames (no port; IPv6 in brackets) a server bound to `host` answers to, plus `extra`. */
export function allowedHostnames(host: string, extra: readonly string[] = [], interfaces: readonly string[] = []): string[] {
  const set = new Set<string>(LOOPBACK_HOSTNAMES);
  const add = (h: string) => {
    const v = h.trim().toLowerCase();
    if (v === '') return;
    set.add(isIP(v) === 6 ? `[${v}]` : v);
  };
  const wildcard = host === '0.0.0.0' || host === '::' || host === '[::]';
  if (!wildcard) add(host.replace(/^\[(.*)\]$/, '$1'));
  else for (const i of interfaces) add(i);
  for (const e of extra) add(e.replace(/^\[(.*)\]$/, '$1'));
  return [...set];
}

/** What a request carried that the guard judges. */
export interface GuardRequest {
  host: string | undefined;
  origin: string | undefined;
  authorization: string | undefined;
}

/** The verdict on one request: pass, or the HTTP status and a one-line reason. */
export type GuardVerdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

/** Host and Origin first (403: a browser page on another site must not reach us), then the token (401). */
export function guardRequest(req: GuardRequest, allowed: readonly string[], token: string | undefined): GuardVerdict {
  const hostname = hostnameOf(req.host);
  if (hostname === undefined || !allowed.includes(hostname)) return { ok: false, status: 403, reason: `Host ${JSON.stringify(req.host ?? '')} is not allowed` };
  if (req.origin !== undefined && req.origin !== 'null') {
    let originHost: string | undefined;
    try {
      const u = new URL(req.origin);
      originHost = u.hostname.toLowerCase();
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || !allowed.includes(originHost)) return { ok: false, status: 403, reason: `Origin ${JSON.stringify(req.origin)} is not allowed` };
  } else if (req.origin === 'null') {
    return { ok: false, status: 403, reason: 'Origin "null" is not allowed' };
  }
  if (token !== undefined) {
    const m = /^Bearer\s+(.+)$/i.exec(req.authorization?.trim() ?? '');
    if (!m || !sameSecret(m[1] ?? '', token)) return { ok: false, status: 401, reason: req.authorization ? 'wrong bearer token' : 'a bearer token is required' };
  }
  return { ok: true };
}

/** `host[:port]` → lower-cased hostname (IPv6 keeps its brackets); undefined when unparseable. */
export function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  try {
    return new URL(`http://${hostHeader.trim()}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // Equal lengths first: timingSafeEqual throws otherwise; the length of a generated token is no secret.
  return x.length === y.length && timingSafeEqual(x, y);
}
