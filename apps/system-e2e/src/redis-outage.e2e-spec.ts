import { startStack, type Stack } from './support/stack';
import { call, expectProblem } from './support/http';
import { PrivateRedis, waitUntil } from '@jwt-ms/testing';

const PASSWORD = 'correct horse battery staple';
/** The verifiers' staleness bound in this suite, in milliseconds. */
const MAX_STALENESS_MS = 1000;

describe('Redis stopping or hanging: the revocation policy holds, nothing hangs, nothing is lost', () => {
  // Persistent, as production Redis must be: a restart that lost the list is another test (revocation-loss).
  const redis = new PrivateRedis([], { persist: true });
  let stack: Stack;

  beforeAll(async () => {
    await redis.start();
    const env = { REDIS_URL: redis.url, REVOCATION_MAX_STALENESS_MS: String(MAX_STALENESS_MS) };
    stack = await startStack('sqlite', {
      'auth-service': env,
      'users-service': env, // fail-closed, the default
      'orders-service': { ...env, REVOCATION_FAILURE_POLICY: 'fail-open' },
    });
  });

  afterAll(async () => {
    await stack?.close();
    await redis.stop();
  });

  const session = async () => {
    const email = `outage.${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}@example.test`;
    await call('POST', `${stack.auth}/auth/register`, { body: { email, password: PASSWORD } });
    return (await call('POST', `${stack.auth}/auth/login`, { body: { email, password: PASSWORD } })).body;
  };

  /**
   * Sends GET /users/me (fail-closed) and GET /orders (fail-open) every 50 ms
   * for `ms` milliseconds, recording when each answered what, and how long it took.
   */
  async function probeFor(ms: number, token: string) {
    const samples: Array<{ at: number; users: number; orders: number; tookMs: number }> = [];
    const started = Date.now();
    while (Date.now() - started < ms) {
      const sent = Date.now();
      const [users, orders] = await Promise.all([
        call('GET', `${stack.users}/users/me`, { token }),
        call('GET', `${stack.orders}/orders`, { token }),
      ]);
      samples.push({ at: sent - started, users: users.status, orders: orders.status, tookMs: Date.now() - sent });
      if (users.status === 503) expectProblem(users, 503, 'dependency_unavailable');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return samples;
  }

  it.each([
    ['hangs (paused, not refusing)', () => redis.pause(), () => redis.resume()],
    ['is killed mid-run', () => redis.stop(), () => redis.start()],
  ])(
    'when Redis %s: fail-closed refuses with 503 once the revocation list is older than its bound, fail-open keeps serving, both recover',
    async (_, breakRedis, repairRedis) => {
      const tokens = await session();
      expect((await probeFor(300, tokens.access_token)).every((s) => s.users === 200 && s.orders === 200)).toBe(true);

      await breakRedis();
      let outage: Awaited<ReturnType<typeof probeFor>>;
      try {
        outage = await probeFor(MAX_STALENESS_MS + 1500, tokens.access_token);
        // The auth service's own refresh needs Redis itself (its write path): 503 in bounded time.
        const started = Date.now();
        const refused = await call('POST', `${stack.auth}/auth/refresh`, {
          body: { refresh_token: tokens.refresh_token },
        });
        expect(Date.now() - started).toBeLessThan(3000);
        expectProblem(refused, 503, 'dependency_unavailable');
        const ready = await call('GET', `${stack.users}/health/ready`);
        expect(ready.status).toBe(503);
        expect(ready.body.checks['revocation-list']).toMatchObject({
          status: 'down',
          fresh: false,
          policy: 'fail-closed',
        });
        const openReady = await call('GET', `${stack.orders}/health/ready`);
        expect(openReady.body.checks?.['revocation-list'] ?? openReady.body.info?.['revocation-list']).toMatchObject({
          status: 'up',
          fresh: false,
          policy: 'fail-open',
        });
      } finally {
        await repairRedis();
      }

      // No request hangs; each answer is 200 (view still fresh) or 503 (stale), never anything else.
      expect(outage.every((s) => s.tookMs < 1500)).toBe(true);
      expect(outage.every((s) => [200, 503].includes(s.users))).toBe(true);
      const firstRefusalAt = outage.find((s) => s.users === 503)?.at ?? Number.POSITIVE_INFINITY;
      // The bound, plus one heartbeat and one probe interval of slack.
      expect(firstRefusalAt).toBeLessThanOrEqual(MAX_STALENESS_MS + 500 + 100);
      expect(outage.filter((s) => s.at > firstRefusalAt).every((s) => s.users === 503)).toBe(true);
      // fail-open: orders kept answering from its last copy of the list.
      expect(outage.every((s) => s.orders === 200)).toBe(true);

      // Redis back: node-redis reconnects (backing off up to 2 s), the list is re-read, requests pass again.
      await waitUntil(
        async () => (await call('GET', `${stack.users}/users/me`, { token: tokens.access_token })).status === 200,
        'users to accept the token again',
        20_000,
      );
      expect((await call('GET', `${stack.users}/health/ready`)).status).toBe(200);
    },
  );

  it('a refresh refused for a Redis outage keeps its refresh token: the retry works, and is not a replay', async () => {
    const tokens = await session();
    await redis.stop();
    try {
      const refused = await call('POST', `${stack.auth}/auth/refresh`, {
        body: { refresh_token: tokens.refresh_token },
      });
      expectProblem(refused, 503, 'dependency_unavailable');
    } finally {
      await redis.start();
    }
    // node-redis reconnects on its own, backing off up to 2 s.
    let retried = await call('POST', `${stack.auth}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
    const deadline = Date.now() + 20_000;
    while (retried.status === 503 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      retried = await call('POST', `${stack.auth}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
    }
    expect(retried.status).toBe(200);
    expect((await call('GET', `${stack.orders}/orders`, { token: retried.body.access_token })).status).toBe(200);
  });
});
