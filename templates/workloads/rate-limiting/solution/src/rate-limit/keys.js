import { BlockList, isIP } from 'node:net';
import { ipKeyGenerator } from 'express-rate-limit';

/**
 * The bucket a request is counted in: `user:<id>` when a valid bearer token identified the
 * caller (colleagues behind one office NAT do not share a quota), otherwise `ip:<address>`.
 * ipKeyGenerator turns IPv4-mapped IPv6 into plain IPv4 and an IPv6 address into its /56, so a
 * host cannot walk through the addresses of its own prefix to get fresh buckets.
 */
export function clientKey(req) {
  if (req.user && req.user.id !== undefined) return `user:${req.user.id}`;
  return `ip:${ipKeyGenerator(req.ip ?? 'unknown', 56)}`;
}

/**
 * Builds the allowlist check from addresses and CIDR blocks. It is applied to `req.ip`, which
 * Express derives from X-Forwarded-For only as far as `trust proxy` (a hop count) allows, so a
 * client cannot claim a monitoring address by sending the header itself. Loopback is not
 * allowlisted by default: behind a local reverse proxy every request would come from it.
 */
export function createAllowlist(entries) {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return (ip) => {
    if (entries.length === 0 || !ip) return false;
    const address = ipKeyGenerator(ip, false); // ::ffff:192.0.2.1 -> 192.0.2.1
    const family = isIP(address);
    if (family === 0) return false;
    return list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/**
 * Returns `req => tier name`: the first tier with a matching route, else `global`. Express
 * matches routes case-insensitively and with an optional trailing slash, so the path is
 * normalised the same way; otherwise `POST /API/auth/login/` would escape the login tier.
 */
export function createTierSelector(tiers) {
  const rules = Object.entries(tiers).flatMap(([name, tier]) =>
    (tier.routes ?? []).map((route) => ({
      name,
      methods: route.methods.map((method) => method.toUpperCase()),
      path: route.path?.toLowerCase(),
      prefix: route.prefix?.toLowerCase(),
    })),
  );
  return (req) => {
    const path = normalisePath(req.path);
    for (const rule of rules) {
      if (!rule.methods.includes(req.method)) continue;
      if (rule.path !== undefined && path === rule.path) return rule.name;
      if (rule.prefix !== undefined && (path === rule.prefix || path.startsWith(`${rule.prefix}/`))) return rule.name;
    }
    return 'global';
  };
}

function normalisePath(path) {
  const lower = path.toLowerCase();
  const trimmed = lower.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}
