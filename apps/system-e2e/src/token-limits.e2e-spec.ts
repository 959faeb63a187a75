import { PrivateRedis } from '@jwt-ms/testing';
import { clientRegistry, type TestClient } from './support/oauth-clients';
import { startStack, type Stack } from './support/stack';
import { expectProblem, type JsonResponse } from './support/http';
import { callFrom, freshClientAddress } from './support/client-address';

const PER_IP = 6;
const PER_CLIENT = 4;
const job = (id: string): TestClient => ({
  id,
  secret: `${id}-secret-for-tests`,
  registration: { grant_types: ['client_credentials'], scope: 'users:read', audience: ['users-service'] },
});
const JOB = job('nightly-report');
const OTHER_JOB = job('weekly-report');
const basic = (client: TestClient, secret = client.secret) =>
  `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}`;

/**
 * The request-volume limits of the token endpoints (docs/api.md#rate-limits),
 * against a stack with its own Redis and small limits; each test speaks from
 * addresses of its own (freshClientAddress), so no count is shared by chance.
 */
describe('token endpoint limits: requests per address and per client', () => {
  const redis = new PrivateRedis();
  let stack: Stack;

  beforeAll(async () => {
    await redis.start();
    const env = { REDIS_URL: redis.url };
    stack = await startStack('sqlite', {
      'auth-service': {
        ...env,
        AUTH_TOKEN_RATE_LIMIT_PER_IP: String(PER_IP),
        AUTH_TOKEN_RATE_LIMIT_PER_CLIENT: String(PER_CLIENT),
        // One window for the whole suite: no count resets between a request and the assertion on the next one.
        AUTH_RATE_LIMIT_WINDOW_SECONDS: '3600',
        OAUTH_CLIENTS: await clientRegistry([JOB, OTHER_JOB]),
      },
      'users-service': env,
      'orders-service': env,
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await redis.stop();
  }, 60_000);

  const post = (from: string, path: string, form: Record<string, string>, authorization?: string) =>
    callFrom(from, 'POST', `${stack.auth}${path}`, { form, headers: authorization ? { authorization } : {} });
  const refreshJson = (from: string) =>
    callFrom(from, 'POST', `${stack.auth}/auth/refresh`, { json: { refresh_token: 'not-a-refresh-token' } });
  const clientCredentials = (from: string, client: TestClient, secret?: string) =>
    post(from, '/oauth/token', { grant_type: 'client_credentials' }, basic(client, secret));
  const expectLimited = (response: JsonResponse) => {
    expectProblem(response, 429, 'rate_limited');
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    // RFC 6749 §5.2 clients read `error`.
    expect(response.body).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
  };

  it('counts every request from one address across the four token endpoints; another address is unaffected', async () => {
    const from = freshClientAddress();
    const answers = [
      await refreshJson(from),
      await post(from, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: 'x',
        client_id: 'first-party-app',
      }),
      await post(from, '/oauth/revoke', { token: 'x', client_id: 'first-party-app' }),
      await post(from, '/oauth/introspect', { token: 'x' }),
      await refreshJson(from),
      await refreshJson(from),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 200, 401, 400, 400]);
    expect(answers.length).toBe(PER_IP);
    expectLimited(await refreshJson(from));
    expectLimited(await post(from, '/oauth/revoke', { token: 'x', client_id: 'first-party-app' }));
    expectLimited(await post(from, '/oauth/introspect', { token: 'x' }));
    expectProblem(await refreshJson(freshClientAddress()), 400, 'invalid_grant');
  });

  it('counts a confidential client per client, not per address: a service calls for all of its users from one', async () => {
    const from = freshClientAddress();
    for (let request = 0; request < PER_IP; request += 1) expect((await refreshJson(from)).status).toBe(400);
    expectLimited(await refreshJson(from));
    // The address is spent, but a request with a client's secret is the client's: counted per client instead.
    expect((await clientCredentials(from, JOB)).status).toBe(200);
  });

  it('counts a confidential client from every address, only once its secret is proven', async () => {
    // Wrong secrets naming the client spend nothing of its allowance.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expectProblem(await clientCredentials(freshClientAddress(), OTHER_JOB, 'a wrong secret'), 401, 'invalid_client');
    }
    // (The first test's requests as OTHER_JOB were refused per address, before authentication: none counted.)
    for (let request = 0; request < PER_CLIENT; request += 1) {
      const answer = await clientCredentials(freshClientAddress(), OTHER_JOB);
      expect(answer.status).toBe(200);
      expect(answer.body.access_token).toEqual(expect.any(String));
    }
    expectLimited(await clientCredentials(freshClientAddress(), OTHER_JOB));
    expectLimited(await post(freshClientAddress(), '/oauth/introspect', { token: 'x' }, basic(OTHER_JOB)));
    // Another client has a count of its own.
    expect((await clientCredentials(freshClientAddress(), JOB)).status).toBe(200);
  });

  it('gives the public first-party client no count of its own: every user refreshes through it', async () => {
    for (let request = 0; request < PER_CLIENT + 2; request += 1) {
      const answer = await post(freshClientAddress(), '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: 'not-a-refresh-token',
        client_id: 'first-party-app',
      });
      expectProblem(answer, 400, 'invalid_grant');
    }
  });
});
