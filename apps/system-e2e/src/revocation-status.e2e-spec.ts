/**
 * `GET /users/revocation-status` and `GET /orders/revocation-status` on the
 * built services: after a logout (a session entry) or a logout everywhere (a
 * subject watermark), each replica — two of users-service, one of
 * orders-service — says it refuses the token, by which entry, and the delay it
 * measured itself from the issuer's log entry to its own application. Every
 * check but revocation still applies: forged, foreign, expired or absent tokens
 * get the usual 401. The issuer signs with a key the suite holds, so it can also
 * sign tokens that only one claim check may refuse.
 */
import { randomUUID } from 'node:crypto';
import { stopProcess, waitUntil } from '@jwt-ms/testing';
import { ISSUER, launch, serviceTestEnv, startStack, type RunningService, type Stack } from './support/stack';
import { call, expectProblem, type JsonResponse } from './support/http';
import { forge, forgeKey, privateJwks } from './support/token-forge';

const PASSWORD = 'correct horse battery staple';
/** How long a revocation may take to reach a replica here: generous for a loaded 2-core machine. */
const PROPAGATION_BOUND_MS = 10_000;

interface Replica {
  name: string;
  service: 'users-service' | 'orders-service';
  url: string;
}

describe('revocation status per replica: each replica says when it refuses a logged-out token, and how long it took', () => {
  const issuerKey = forgeKey('ES256');
  const attackerKey = forgeKey('ES256', issuerKey.kid); // the issuer's kid, a key the JWKS does not hold
  let stack: Stack;
  let secondUsers: RunningService | undefined;
  let replicas: Replica[] = [];

  beforeAll(async () => {
    stack = await startStack('sqlite', { 'auth-service': { SIGNING_JWKS: privateJwks(issuerKey) } });
    // A second users-service replica on the same Redis: every replica keeps its own copy of the list.
    secondUsers = await launch(
      'users-service',
      serviceTestEnv({ AUTH_JWKS_URI: `${stack.auth}/.well-known/jwks.json`, SQLITE_PATH: ':memory:' }),
    );
    replicas = [
      { name: 'users-service #1', service: 'users-service', url: `${stack.users}/users/revocation-status` },
      { name: 'users-service #2', service: 'users-service', url: `${secondUsers.url}/users/revocation-status` },
      { name: 'orders-service', service: 'orders-service', url: `${stack.orders}/orders/revocation-status` },
    ];
  }, 180_000);

  afterAll(async () => {
    await stopProcess(secondUsers?.process);
    await stack?.close();
  });

  const login = async (email: string): Promise<string> => {
    const response = await call('POST', `${stack.auth}/auth/login`, { body: { email, password: PASSWORD } });
    expect(response.status).toBe(200);
    return response.body.access_token as string;
  };
  const register = async (): Promise<string> => {
    const email = `status.${randomUUID()}@example.test`;
    expect((await call('POST', `${stack.auth}/auth/register`, { body: { email, password: PASSWORD } })).status).toBe(
      201,
    );
    return email;
  };
  const status = (replica: Replica, token?: string, headers?: Record<string, string>) =>
    call('GET', replica.url, { token, headers });

  /** Asks the replica until it says the token is revoked, for at most the propagation bound; returns that answer. */
  const untilRevoked = async (replica: Replica, token: string): Promise<JsonResponse> => {
    let last: JsonResponse | undefined;
    await waitUntil(
      async () => {
        last = await status(replica, token);
        return last.status !== 200 || last.body?.revoked === true;
      },
      `${replica.name} to refuse the token`,
      PROPAGATION_BOUND_MS,
    );
    return last as JsonResponse;
  };

  /** The answer of a replica that refuses the token as revoked `by`, with the delay it measured. */
  const expectMeasuredRevocation = (
    replica: Replica,
    response: JsonResponse,
    by: 'session' | 'subject',
    window: { before: number; after: number },
  ) => {
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toEqual({
      service: replica.service,
      instance: expect.any(String),
      revoked: true,
      by,
      announcedAt: expect.any(String),
      appliedAt: expect.any(String),
      delayMs: expect.any(Number),
      source: 'pubsub',
    });
    const announcedAt = Date.parse(response.body.announcedAt);
    const appliedAt = Date.parse(response.body.appliedAt);
    // One host: Redis's clock is the suite's, so the announcement falls within the logout request.
    expect(announcedAt).toBeGreaterThanOrEqual(window.before);
    expect(announcedAt).toBeLessThanOrEqual(window.after);
    expect(response.body.delayMs).toBe(appliedAt - announcedAt);
    expect(response.body.delayMs).toBeGreaterThanOrEqual(0);
    expect(response.body.delayMs).toBeLessThan(PROPAGATION_BOUND_MS);
  };

  it('before a logout every replica says not revoked; after it, each says revoked by the session, with its own delay', async () => {
    const token = await login(await register());
    const instances = new Set<string>();
    for (const replica of replicas) {
      const response = await status(replica, token);
      expect(response.status).toBe(200);
      expect((response.headers.get('content-type') ?? '').split(';')[0]).toBe('application/json');
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.body).toEqual({ service: replica.service, instance: expect.any(String), revoked: false });
      instances.add(response.body.instance);
    }
    expect(instances.size).toBe(replicas.length);

    const before = Date.now();
    expect((await call('POST', `${stack.auth}/auth/logout`, { token })).status).toBe(204);
    const after = Date.now();

    const delays: Record<string, number> = {};
    for (const replica of replicas) {
      const response = await untilRevoked(replica, token);
      expectMeasuredRevocation(replica, response, 'session', { before, after });
      delays[replica.name] = response.body.delayMs;
    }
    // And the status route opened nothing: the same token is refused everywhere else.
    for (const url of [`${stack.users}/users/me`, `${secondUsers?.url}/whoami`, `${stack.orders}/orders`]) {
      const refused = await call('GET', url, { token });
      expectProblem(refused, 401, 'invalid_token');
      expect(refused.body.reason).toBe('revoked_session');
    }
    console.log(`revocation-status: logout reached each replica in (ms) ${JSON.stringify(delays)}`);
  }, 90_000);

  it('after a logout everywhere each replica says revoked by the subject, for every session of the account', async () => {
    const email = await register();
    const first = await login(email);
    const second = await login(email);
    for (const replica of replicas) expect((await status(replica, second)).body.revoked).toBe(false);

    const before = Date.now();
    expect((await call('POST', `${stack.auth}/auth/logout-all`, { token: first })).status).toBe(204);
    const after = Date.now();

    for (const replica of replicas) {
      for (const token of [first, second]) {
        expectMeasuredRevocation(replica, await untilRevoked(replica, token), 'subject', { before, after });
      }
    }
  }, 90_000);

  describe('every check but revocation still applies', () => {
    const now = () => Math.floor(Date.now() / 1000);
    /** A login token's claims as the issuer writes them, signed by `key`: valid unless the overrides bend them. */
    const signed = (overrides: Record<string, unknown> = {}, key = issuerKey) =>
      forge(
        { alg: 'ES256', kid: issuerKey.kid, typ: 'at+jwt' },
        {
          iss: ISSUER,
          sub: randomUUID(),
          aud: ['auth-service', 'users-service', 'orders-service'],
          iat: now(),
          exp: now() + 900,
          jti: randomUUID(),
          client_id: 'first-party-app',
          scope: 'profile:read orders:read',
          roles: ['user'],
          sid: randomUUID(),
          auth_time: now(),
          email: 'status@example.test',
          ...overrides,
        },
        key.privateKey,
      );

    it('accepts the suite-signed token the rows below bend (so each row fails for its own reason)', async () => {
      for (const replica of replicas) expect((await status(replica, signed())).body).toMatchObject({ revoked: false });
    });

    const rows: Array<[string, () => Promise<string> | string, string]> = [
      ['a token signed by a key the issuer does not publish', () => signed({}, attackerKey), 'bad_signature'],
      [
        'a real login token with its signature changed',
        async () => {
          const [header, payload, signature] = (await login(await register())).split('.');
          return `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
        },
        'bad_signature',
      ],
      ['a token for another audience only', () => signed({ aud: ['auth-service'] }), 'bad_aud'],
      ['an expired token', () => signed({ iat: now() - 1200, exp: now() - 300 }), 'expired'],
    ];
    it.each(rows)('refuses %s with 401 invalid_token and its challenge, on every replica', async (_, make, reason) => {
      const token = await make();
      for (const replica of replicas) {
        const response = await status(replica, token);
        expectProblem(response, 401, 'invalid_token');
        expect(response.body.reason).toBe(reason);
        expect(response.body.revoked).toBeUndefined();
        expect(response.headers.get('www-authenticate')).toMatch(
          new RegExp(`^Bearer realm="${replica.service}", error="invalid_token"`),
        );
      }
    });

    it('refuses a request without a token with 401 and a bare challenge (RFC 6750 §3.1), on every replica', async () => {
      for (const replica of replicas) {
        const response = await status(replica);
        expectProblem(response, 401, 'unauthenticated');
        expect(response.headers.get('www-authenticate')).toBe(`Bearer realm="${replica.service}"`);
      }
    });
  });
});
