// Tiers, headers, the 429 body and the status endpoint, on a real redis-server.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AppProcess, RedisServer, TIERS, USERS, appEnv, hitTier, readRateLimitHeaders, requireRedisServer } from './support.mjs';

describe('tiers, headers and status on real Redis', () => {
  let redis;
  let app;

  before(async () => {
    requireRedisServer();
    redis = await RedisServer.start();
    app = await AppProcess.start({ env: appEnv(redis) });
  });

  after(async () => {
    await app?.stop();
    await redis?.stop();
  });

  beforeEach(async () => {
    await redis.command('FLUSHALL');
  });

  /** Sends `count` requests of a tier and asserts none of them is refused. */
  async function spend(tierName, count, options) {
    for (let i = 1; i <= count; i += 1) {
      const res = await hitTier(app, tierName, options);
      assert.notEqual(res.status, 429, `${tierName}: request ${i} of ${count} was refused too early\n${app.output}`);
    }
  }

  for (const [name, tier] of Object.entries(TIERS)) {
    it(`${name}: the ${tier.limit}th request passes and the ${tier.limit + 1}th is refused`, async () => {
      const ip = '203.0.113.10';
      const token = tier.needsToken ? await app.login(USERS.alice.username, USERS.alice.password, { ip: '192.0.2.200' }) : undefined;
      await spend(name, tier.limit - 1, { ip, token });
      const last = await hitTier(app, name, { ip, token });
      assert.notEqual(last.status, 429, `${name}: request ${tier.limit} must pass`);
      assert.equal(readRateLimitHeaders(last.headers)?.remaining, 0, `${name}: nothing left after ${tier.limit} requests`);
      const refused = await hitTier(app, name, { ip, token });
      assert.equal(refused.status, 429, `${name}: request ${tier.limit + 1} must be refused`);
    });
  }

  it('public reads are counted by their own tier only, not by the global one', async () => {
    const ip = '203.0.113.11';
    await spend('publicRead', 150, { ip });
    const status = await app.request('/api/rate-limit/status', { ip });
    assert.equal(status.status, 200);
    assert.ok(status.body.tiers.global.used <= 1, `global tier counted public reads: ${JSON.stringify(status.body.tiers.global)}`);
    assert.equal(status.body.tiers.publicRead.used, 150);
  });

  it('the login tier cannot be dodged by case or a trailing slash', async () => {
    const ip = '203.0.113.12';
    await spend('login', 19, { ip });
    const variant = await app.request('/API/Auth/Login/', { method: 'POST', ip, json: { username: 'alice', password: 'nope' } });
    assert.notEqual(variant.status, 429);
    assert.equal(readRateLimitHeaders(variant.headers)?.limit, 20, 'the variant spelling must be counted by the login tier');
    const refused = await app.request('/api/auth/login', { method: 'POST', ip, json: USERS.alice });
    assert.equal(refused.status, 429, 'the 21st login (correct password or not) is refused');
  });

  it('sends standard RateLimit / RateLimit-Policy headers and no legacy X-RateLimit-* headers', async () => {
    const ip = '203.0.113.13';
    const first = await hitTier(app, 'passwordReset', { ip });
    const second = await hitTier(app, 'passwordReset', { ip });
    const a = readRateLimitHeaders(first.headers);
    const b = readRateLimitHeaders(second.headers);
    assert.ok(a && b, 'RateLimit and RateLimit-Policy headers are present');
    assert.equal(a.limit, 5);
    assert.equal(a.window, 900);
    assert.equal(a.remaining, 4);
    assert.equal(b.remaining, 3);
    assert.ok(a.reset > 0 && a.reset <= 900, `reset ${a.reset} within the window`);
    for (const res of [first, second]) {
      for (const [header] of res.headers) {
        assert.ok(!header.startsWith('x-ratelimit'), `legacy header ${header} must not be sent`);
      }
    }
  });

  it('answers 429 with a JSON body that carries retryAfter, matching Retry-After', async () => {
    const ip = '203.0.113.14';
    await spend('passwordReset', 5, { ip });
    const refused = await hitTier(app, 'passwordReset', { ip });
    assert.equal(refused.status, 429);
    assert.match(refused.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(typeof refused.body, 'object', `429 body is JSON: ${refused.body}`);
    const header = Number(refused.headers.get('retry-after'));
    assert.ok(Number.isInteger(header) && header > 0 && header <= 900, `Retry-After ${refused.headers.get('retry-after')}`);
    assert.equal(typeof refused.body.retryAfter, 'number', `retryAfter in ${JSON.stringify(refused.body)}`);
    assert.ok(Math.abs(refused.body.retryAfter - header) <= 1, 'retryAfter agrees with Retry-After');
    assert.ok(readRateLimitHeaders(refused.headers)?.remaining === 0);
  });

  it('the status endpoint reports the caller quota from the limiter store, for every tier', async () => {
    const ip = '203.0.113.15';
    const token = await app.login(USERS.bob.username, USERS.bob.password, { ip });
    for (let i = 0; i < 3; i += 1) await app.request('/api/account/profile', { ip, token });
    await hitTier(app, 'passwordReset', { ip });
    await hitTier(app, 'passwordReset', { ip });

    const mine = await app.request('/api/rate-limit/status', { ip, token });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    const { tiers } = mine.body;
    for (const name of Object.keys(TIERS)) {
      assert.ok(tiers?.[name], `status lists tier ${name}: ${JSON.stringify(mine.body)}`);
      assert.equal(tiers[name].limit, TIERS[name].limit, `${name} limit`);
      assert.equal(tiers[name].remaining, TIERS[name].limit - tiers[name].used, `${name} remaining = limit - used`);
    }
    // Bob's own bucket: three profile reads, plus the status request itself if it is counted.
    assert.ok([3, 4].includes(tiers.global.used), `global used ${tiers.global.used}`);
    assert.ok(tiers.global.resetTime, 'an active window has a reset time');

    // The anonymous caller at the same address: one login and two resets, read from the store
    // even though the status route is not behind those limiters.
    const anonymous = await app.request('/api/rate-limit/status', { ip });
    assert.equal(anonymous.status, 200);
    assert.equal(anonymous.body.tiers.login.used, 1);
    assert.equal(anonymous.body.tiers.passwordReset.used, 2);
    assert.equal(anonymous.body.tiers.passwordReset.remaining, 3);
    assert.equal(anonymous.body.tiers.publicRead.used, 0);
  });
});
