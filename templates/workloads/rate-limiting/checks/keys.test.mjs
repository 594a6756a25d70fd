// Who shares a bucket: users, anonymous callers, IPv6 networks; the allowlist; spoofed
// X-Forwarded-For with trust proxy off and with one hop; `trust proxy = true` refused.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AppProcess, RedisServer, USERS, appEnv, hitTier, readRateLimitHeaders, requireRedisServer, WAIT_MS, within } from './support.mjs';

const MONITOR_V4 = '198.51.100.7';
const MONITOR_V6_NET = '2001:db8:ffff::/48';

describe('keys, allowlist and proxies on real Redis', () => {
  let redis;
  let app; // behind one trusted proxy hop: the test plays that proxy and sets X-Forwarded-For

  before(async () => {
    requireRedisServer();
    redis = await RedisServer.start();
    app = await AppProcess.start({ env: appEnv(redis, { RATE_LIMIT_ALLOWLIST: `${MONITOR_V4},${MONITOR_V6_NET}` }) });
  });

  after(async () => {
    await app?.stop();
    await redis?.stop();
  });

  beforeEach(async () => {
    await redis.command('FLUSHALL');
  });

  /** Spends the reset tier (5) from `first`, then shows whether `second` shares that bucket. */
  async function sharesResetBucket(first, second) {
    for (let i = 0; i < 5; i += 1) {
      const res = await hitTier(app, 'passwordReset', first);
      assert.equal(res.status, 202, `reset ${i + 1} from ${JSON.stringify(first)} passes`);
    }
    assert.equal((await hitTier(app, 'passwordReset', first)).status, 429, 'the 6th from the first caller is refused');
    const other = await hitTier(app, 'passwordReset', second);
    return other.status === 429;
  }

  it('two users behind one IP do not share a bucket', async () => {
    const office = '203.0.113.20';
    const alice = await app.login(USERS.alice.username, USERS.alice.password, { ip: office });
    const bob = await app.login(USERS.bob.username, USERS.bob.password, { ip: office });
    for (let i = 0; i < 100; i += 1) {
      assert.equal((await app.request('/api/account/profile', { ip: office, token: alice })).status, 200, `alice request ${i + 1}`);
    }
    assert.equal((await app.request('/api/account/profile', { ip: office, token: alice })).status, 429, 'alice is out of quota');
    const bobRes = await app.request('/api/account/profile', { ip: office, token: bob });
    assert.equal(bobRes.status, 200, 'bob, same office IP, still has his own quota');
    assert.equal(readRateLimitHeaders(bobRes.headers)?.remaining, 99);
  });

  it('one user counts in one bucket from any address', async () => {
    const token = await app.login(USERS.carol.username, USERS.carol.password, { ip: '203.0.113.21' });
    for (let i = 0; i < 3; i += 1) await app.request('/api/account/profile', { ip: '203.0.113.21', token });
    const res = await app.request('/api/account/profile', { ip: '192.0.2.55', token });
    assert.equal(readRateLimitHeaders(res.headers)?.remaining, 96, 'four requests from two addresses, one bucket');
  });

  it('anonymous callers behind one IP share a bucket (an invalid token is anonymous)', async () => {
    const ip = '203.0.113.22';
    const shared = await sharesResetBucket({ ip }, { ip, headers: { authorization: 'Bearer not-a-real-token', 'user-agent': 'other' } });
    assert.equal(shared, true, 'a second anonymous caller at the same address is refused too');
  });

  it('different anonymous addresses have their own buckets', async () => {
    assert.equal(await sharesResetBucket({ ip: '203.0.113.23' }, { ip: '203.0.113.24' }), false);
  });

  it('two IPv6 addresses in one /56 share a bucket; the next /56 does not', async () => {
    assert.equal(await sharesResetBucket({ ip: '2001:db8:abcd:1200::1' }, { ip: '2001:db8:abcd:12ff:ffff::2' }), true, 'same /56 shares');
    await redis.command('FLUSHALL');
    assert.equal(await sharesResetBucket({ ip: '2001:db8:abcd:1200::1' }, { ip: '2001:db8:abcd:1300::1' }), false, 'next /56 is separate');
  });

  it('an IPv4-mapped IPv6 address counts as its IPv4 address', async () => {
    assert.equal(await sharesResetBucket({ ip: '203.0.113.25' }, { ip: '::ffff:203.0.113.25' }), true);
  });

  it('allowlisted monitoring addresses and /health are never limited', async () => {
    for (const ip of [MONITOR_V4, '2001:db8:ffff:1::9']) {
      for (let i = 0; i < 8; i += 1) {
        const res = await hitTier(app, 'passwordReset', { ip });
        assert.equal(res.status, 202, `allowlisted ${ip}, reset ${i + 1}`);
        assert.equal(res.headers.get('ratelimit'), null, 'allowlisted requests are not counted');
      }
    }
    for (let i = 0; i < 120; i += 1) {
      const res = await app.request('/health', { ip: '203.0.113.26' });
      assert.equal(res.status, 200, `health probe ${i + 1}`);
    }
    const after = await hitTier(app, 'passwordReset', { ip: '203.0.113.26' });
    assert.equal(readRateLimitHeaders(after.headers)?.remaining, 4, 'health probes did not use the caller quota');
  });

  it('one trusted hop: a monitoring address forged by the client in X-Forwarded-For does not bypass', async () => {
    // The client sent "X-Forwarded-For: <monitor>"; our proxy appended the real peer address.
    const forged = { ip: `${MONITOR_V4}, 203.0.113.27` };
    assert.equal(await sharesResetBucket(forged, { ip: '203.0.113.27' }), true, 'counted as the real peer 203.0.113.27');
  });

  it('one trusted hop: rotating forged X-Forwarded-For entries does not create fresh buckets', async () => {
    const shared = await sharesResetBucket({ ip: '192.0.2.1, 203.0.113.28' }, { ip: '192.0.2.99, 203.0.113.28' });
    assert.equal(shared, true);
  });

  it('trust proxy off: X-Forwarded-For is ignored, so it neither bypasses nor splits buckets', async () => {
    const direct = await AppProcess.start({
      env: appEnv(redis, { TRUST_PROXY_HOPS: '0', RATE_LIMIT_ALLOWLIST: MONITOR_V4 }),
    });
    try {
      for (let i = 0; i < 5; i += 1) {
        const res = await hitTier(direct, 'passwordReset', { ip: i % 2 === 0 ? MONITOR_V4 : `192.0.2.${i}` });
        assert.equal(res.status, 202, `direct reset ${i + 1}`);
        assert.ok(res.headers.get('ratelimit'), 'a forged monitoring address is still counted');
      }
      const refused = await hitTier(direct, 'passwordReset', { ip: MONITOR_V4 });
      assert.equal(refused.status, 429, 'all forged addresses landed in the one bucket of the real peer');
    } finally {
      await direct.stop();
    }
  });

  it('refuses to start with TRUST_PROXY_HOPS=true', async () => {
    const bad = await AppProcess.start({ env: appEnv(redis, { TRUST_PROXY_HOPS: 'true' }), waitForHealth: false });
    const result = await within(bad.exited(), WAIT_MS, 'still running');
    if (result === 'still running') await bad.stop();
    assert.notEqual(result, 'still running', 'the app must refuse the setting, not serve with it');
    assert.notEqual(result.code, 0, `exit code ${result.code}`);
    assert.match(bad.output, /TRUST_PROXY_HOPS|trust proxy/i, 'the error names the setting');
  });
});
