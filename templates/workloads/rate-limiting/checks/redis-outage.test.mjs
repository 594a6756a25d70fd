// Redis failures: killed or frozen in the middle of a test, unreachable at start-up, restarted;
// the failure policy (open by default, closed by config), a bounded answer time, counting that
// resumes, and a graceful shutdown.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  AppProcess,
  LOOPBACK,
  RedisServer,
  USERS,
  appEnv,
  freePort,
  hitTier,
  readRateLimitHeaders,
  requireRedisServer,
  waitFor,
  within,
} from './support.mjs';

const COMMAND_TIMEOUT_MS = 200;
let nextAddress = 1;
const freshIp = () => `198.18.${Math.floor(nextAddress / 250)}.${(nextAddress++ % 250) + 1}`;

/** One request per tier: what a mixed stream of traffic looks like. */
async function mixedRound(app, token, ip) {
  return [
    await hitTier(app, 'global', { token, ip }),
    await hitTier(app, 'login', { ip }),
    await hitTier(app, 'passwordReset', { ip }),
    await hitTier(app, 'publicRead', { ip }),
  ];
}

/**
 * The answer-time bound during an outage, from a measurement while Redis is healthy: the
 * configured Redis command timeout plus ten times the slowest healthy request (at least 300 ms).
 */
async function measureBound(app, token) {
  let slowest = 0;
  for (let round = 0; round < 3; round += 1) {
    for (const res of await mixedRound(app, token, freshIp())) slowest = Math.max(slowest, res.ms);
  }
  return { slowest, bound: COMMAND_TIMEOUT_MS + Math.max(300, 10 * slowest) };
}

/** Polls until the app counts again: a request comes back with rate-limit headers. */
async function waitUntilCounting(app) {
  return waitFor(
    async () => {
      const res = await hitTier(app, 'publicRead', { ip: freshIp() });
      return readRateLimitHeaders(res.headers) !== undefined;
    },
    { what: 'rate limiting to count again after Redis came back' },
  );
}

/** After recovery the limit is exact again: 5 resets pass, the 6th is refused. */
async function assertExactAgain(app) {
  const ip = freshIp();
  for (let i = 1; i <= 5; i += 1) {
    const res = await hitTier(app, 'passwordReset', { ip });
    assert.equal(res.status, 202, `reset ${i} after recovery`);
    assert.equal(readRateLimitHeaders(res.headers)?.remaining, 5 - i);
  }
  assert.equal((await hitTier(app, 'passwordReset', { ip })).status, 429, 'the 6th is refused again');
}

function assertPolicy(policy, responses, bound) {
  const expectedOpen = [200, 401, 202, 200]; // profile, wrong-password login, reset, public read
  responses.forEach((res, index) => {
    assert.ok(res.ms <= bound, `answered in ${res.ms.toFixed(1)} ms, bound ${bound.toFixed(1)} ms`);
    if (policy === 'open') {
      assert.equal(res.status, expectedOpen[index % 4], `fail open serves the request (got ${res.status})`);
    } else {
      assert.equal(res.status, 503, `fail closed refuses with 503 (got ${res.status})`);
      assert.equal(typeof res.body, 'object', '503 body is JSON');
    }
  });
}

describe('Redis failures', () => {
  before(() => {
    requireRedisServer();
  });

  for (const policy of ['open', 'closed']) {
    describe(`failure policy ${policy}`, () => {
      let redis;
      let app;
      let token;

      before(async () => {
        redis = await RedisServer.start();
        const env = policy === 'open' ? {} : { RATE_LIMIT_FAILURE_POLICY: 'closed' };
        app = await AppProcess.start({ env: appEnv(redis, env) });
        token = await app.login(USERS.alice.username, USERS.alice.password, { ip: freshIp() });
      });

      after(async () => {
        await app?.stop();
        await redis?.stop();
      });

      it('Redis killed mid-test: the policy holds, every answer within the bound, counting resumes after restart', async () => {
        const { bound } = await measureBound(app, token);
        const outputBefore = app.output.length;
        await redis.kill();

        const ip = freshIp();
        const responses = [];
        // Six rounds: beyond the reset tier's 5, so fail-open visibly stops enforcing limits.
        for (let round = 0; round < 6; round += 1) responses.push(...(await mixedRound(app, token, ip)));
        assertPolicy(policy, responses, bound);

        const health = await app.request('/health');
        assert.equal(health.status, 200, 'the health endpoint still answers');
        assert.match(app.output.slice(outputBefore), /redis/i, 'the outage is logged');
        assert.ok(app.running, 'the app is still running');

        await redis.restart();
        await waitUntilCounting(app);
        await assertExactAgain(app);
      });

      it('Redis frozen (SIGSTOP) mid-test: every answer within the bound, counting resumes after SIGCONT', async () => {
        await redis.command('FLUSHALL');
        await waitUntilCounting(app);
        const { bound } = await measureBound(app, token);
        redis.pause();
        try {
          const ip = freshIp();
          const responses = [];
          for (let round = 0; round < 4; round += 1) responses.push(...(await mixedRound(app, token, ip)));
          assertPolicy(policy, responses, bound);
          assert.equal((await app.request('/health')).status, 200);
        } finally {
          redis.resume();
        }
        await waitUntilCounting(app);
        await redis.command('FLUSHALL');
        await assertExactAgain(app);
      });
    });
  }

  for (const policy of ['open', 'closed']) {
    it(`Redis unreachable at start-up (policy ${policy}): starts without an unhandled rejection, counts once Redis is up`, async () => {
      const port = await freePort();
      const env = {
        ...appEnv({ url: `redis://${LOOPBACK}:${port}` }, { REDIS_CONNECT_TIMEOUT_MS: '300' }),
        ...(policy === 'closed' ? { RATE_LIMIT_FAILURE_POLICY: 'closed' } : {}),
      };
      const app = await AppProcess.start({ env });
      let redis;
      try {
        const res = await hitTier(app, 'passwordReset', { ip: freshIp() });
        assert.equal(res.status, policy === 'open' ? 202 : 503, `while Redis is away (got ${res.status})`);
        assert.ok(res.ms <= 2000, `answered in ${res.ms.toFixed(1)} ms`);

        redis = await RedisServer.start({ port });
        await waitUntilCounting(app);
        await assertExactAgain(app);
        assert.ok(app.running, 'still running');
      } finally {
        const result = await app.stop();
        await redis?.stop();
        assert.doesNotMatch(app.output, /unhandled|UnhandledPromiseRejection/i, app.output);
        assert.equal(result.code, 0, `clean exit on SIGTERM (got ${JSON.stringify(result)})\n${app.output}`);
      }
    });
  }

  it('graceful shutdown: a request in flight completes, new connections are refused, exit code 0', async () => {
    const redis = await RedisServer.start();
    const app = await AppProcess.start({ env: appEnv(redis) });
    try {
      await redis.command('FLUSHALL');
      const body = JSON.stringify(USERS.alice);
      const socket = net.createConnection({ host: LOOPBACK, port: app.port });
      let raw = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => (raw += chunk));
      const closed = new Promise((resolve) => socket.once('close', resolve));
      await new Promise((resolve) => socket.once('connect', resolve));
      // Headers only, on a keep-alive connection: the request passes the limiter (a key appears
      // in Redis) and then waits for its body.
      socket.write(
        `POST /api/auth/login HTTP/1.1\r\nHost: ${LOOPBACK}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`, // keep-alive: the server must still let go
      );
      await waitFor(async () => (await redis.command('DBSIZE')) > 0, { what: 'the in-flight request to be counted' });

      app.signal('SIGTERM');
      await waitFor(
        () =>
          new Promise((resolve) => {
            const probe = net.createConnection({ host: LOOPBACK, port: app.port });
            probe.once('connect', () => {
              probe.destroy();
              resolve(false);
            });
            probe.once('error', () => resolve(true));
          }),
        { what: 'the server to stop accepting connections' },
      );
      assert.ok(app.running, 'the app waits for the request in flight');

      // write, not end: a half-closed client socket would abort the request on the server side.
      socket.write(body);
      await within(closed, 5000);
      assert.match(raw, /^HTTP\/1\.1 200 /, `the in-flight login completed: ${raw.slice(0, 200)}`);
      const result = await within(app.exited(), 5000, 'still running');
      assert.notEqual(result, 'still running', 'the app exits after draining');
      assert.equal(result.code, 0, `exit code ${JSON.stringify(result)}\n${app.output}`);
    } finally {
      await app.stop();
      await redis.stop();
    }
  });
});
