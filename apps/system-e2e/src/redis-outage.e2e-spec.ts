import { startStack, type Stack } from './support/stack';
import { call, expectProblem } from './support/http';
import { PrivateRedis } from './support/private-redis';

const PASSWORD = 'correct horse battery staple';

describe('Redis stopping or hanging: fail closed in bounded time, lose nothing', () => {
  const redis = new PrivateRedis();
  let stack: Stack;

  beforeAll(async () => {
    await redis.start();
    const env = { REDIS_URL: redis.url };
    stack = await startStack('sqlite', { 'auth-service': env, 'users-service': env, 'orders-service': env });
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

  it('a hanging Redis (paused, not refusing) gets a 503 within about a second, never a hang or a 200', async () => {
    const tokens = await session();
    redis.pause();
    try {
      for (const [method, url, options] of [
        ['GET', `${stack.users}/users/me`, { token: tokens.access_token }],
        ['POST', `${stack.auth}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } }],
      ] as const) {
        const started = Date.now();
        const response = await call(method, url, options);
        expect(Date.now() - started).toBeLessThan(3000);
        expectProblem(response, 503, 'dependency_unavailable');
      }
    } finally {
      redis.resume();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await call('GET', `${stack.users}/users/me`, { token: tokens.access_token })).status).toBe(200);
  });

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
    for (let attempt = 0; attempt < 20 && retried.status === 503; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      retried = await call('POST', `${stack.auth}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
    }
    expect(retried.status).toBe(200);
    expect((await call('GET', `${stack.orders}/orders`, { token: retried.body.access_token })).status).toBe(200);
  });
});
