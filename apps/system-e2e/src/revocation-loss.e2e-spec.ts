import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedisClient, type RedisClient } from '@jwt-ms/service-core';
import { REVOCATION_GENERATION_KEY, parseRevocationGeneration } from '@jwt-ms/contracts';
import { PrivateRedis, stopProcess, waitUntil } from '@jwt-ms/testing';
import { clientRegistry } from './support/oauth-clients';
import { launch, serviceTestEnv, startStack, type RunningService, type Stack } from './support/stack';
import { afterRevocation, call, expectProblem } from './support/http';

const PASSWORD = 'correct horse battery staple';
const CLIENT = { id: 'users-service', secret: 'users-service-secret-for-tests' };
const basic = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;

/** POSTs a form body (RFC 7009, RFC 7662). */
async function form(url: string, params: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

describe('Redis losing its data: revoked tokens stay refused, everywhere, until the list is re-established', () => {
  const redis = new PrivateRedis();
  let stack: Stack;
  let admin: RedisClient;
  let late: RunningService | undefined;

  beforeAll(async () => {
    await redis.start();
    admin = createRedisClient(redis.url);
    if (!admin.isReady) await new Promise((resolve) => admin.once('ready', resolve));
    const env = { REDIS_URL: redis.url };
    stack = await startStack('sqlite', {
      'auth-service': { ...env, OAUTH_CLIENTS: await clientRegistry([CLIENT]) },
      'users-service': env, // fail-closed, the default
      'orders-service': { ...env, REVOCATION_FAILURE_POLICY: 'fail-open' },
    });
  });

  afterAll(async () => {
    await stopProcess(late?.process);
    await stack?.close();
    admin?.destroy();
    await redis.stop();
  });

  const session = async () => {
    const email = `loss.${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}@example.test`;
    await call('POST', `${stack.auth}/auth/register`, { body: { email, password: PASSWORD } });
    return (await call('POST', `${stack.auth}/auth/login`, { body: { email, password: PASSWORD } })).body;
  };

  it('logout, RFC 7009 revocation and logout everywhere all survive a FLUSHDB: no process accepts the tokens', async () => {
    const [x, y, z] = [await session(), await session(), await session()];
    await call('POST', `${stack.auth}/auth/logout`, { token: x.access_token });
    await form(
      `${stack.auth}/oauth/revoke`,
      { token: y.access_token, token_type_hint: 'access_token' },
      {
        authorization: basic,
      },
    );
    await call('POST', `${stack.auth}/auth/logout-all`, { token: z.access_token });
    const revoked = [x.access_token, y.access_token, z.access_token];
    for (const token of revoked) {
      expect((await afterRevocation('GET', `${stack.users}/users/me`, { token })).status).toBe(401);
    }

    await admin.flushDb();

    // The issuer sees the marker gone and writes a waiting one; every verifier finds the list lost.
    await waitUntil(async () => {
      const marker = parseRevocationGeneration(await admin.get(REVOCATION_GENERATION_KEY));
      return marker?.established === false;
    }, 'the issuer to notice the loss');
    const marker = parseRevocationGeneration(await admin.get(REVOCATION_GENERATION_KEY));
    // One access-token lifetime (900 s by default) plus the 60 s margin from now.
    expect(marker?.establishesAt).toBeGreaterThan(Date.now() + 900_000);

    // Each fail-closed verifier sees the loss at its next heartbeat: until then its copy refuses the tokens (401).
    for (const [name, url] of [
      ['users-service', stack.users],
      ['auth-service', stack.auth],
    ]) {
      await waitUntil(
        async () => (await call('GET', `${url}/health/ready`)).status === 503,
        `${name} (fail-closed) to report the list lost`,
      );
    }
    for (const token of revoked) {
      expectProblem(await call('GET', `${stack.users}/users/me`, { token }), 503, 'dependency_unavailable');
      // Fail-open answers from its own copy, which still holds the revocations.
      expect((await call('GET', `${stack.orders}/orders`, { token })).status).toBe(401);
      // The issuer's own verifier: introspection does not say active, logout-all is not allowed.
      const introspection = await form(`${stack.auth}/oauth/introspect`, { token }, { authorization: basic });
      expect(introspection.body?.active).not.toBe(true);
      expect((await call('POST', `${stack.auth}/auth/logout-all`, { token })).status).toBe(503);
    }
    const health = await call('GET', `${stack.users}/health/ready`);
    expect(health.body.checks['revocation-list']).toMatchObject({ lost: true });

    // A replica started after the loss has no copy to answer from: it never loads the flushed list.
    late = await launch(
      'users-service',
      serviceTestEnv({
        REDIS_URL: redis.url,
        AUTH_JWKS_URI: `${stack.auth}/.well-known/jwks.json`,
        SQLITE_PATH: join(mkdtempSync(join(tmpdir(), 'jwtms-loss-')), 'users.sqlite'),
        REVOCATION_FAILURE_POLICY: 'fail-open',
      }),
    );
    for (const token of revoked) {
      expectProblem(await call('GET', `${late.url}/users/me`, { token }), 503, 'dependency_unavailable');
    }
    expect((await call('GET', `${late.url}/health/ready`)).status).toBe(503);
  }, 120_000);
});
