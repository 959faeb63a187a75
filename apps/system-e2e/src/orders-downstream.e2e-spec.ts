import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { TcpProxy, stopProcess } from '@jwt-ms/testing';
import { ISSUER, launch, serviceTestEnv, startStack, type RunningService, type Stack } from './support/stack';
import { call, expectProblem } from './support/http';

const PASSWORD = 'correct horse battery staple';
const ITEMS = { items: [{ sku: 'BOOK-1', quantity: 2, unitPriceCents: 1250 }] };
/** The bound given to the orders replicas that meet a failing dependency, in milliseconds. */
const TIMEOUT_MS = 500;
/**
 * A compact JWS or JWE anywhere in a text: three base64url runs joined by dots (each at least 16 characters,
 * which a JOSE header, a payload and a signature all are; `auth.e2e.test` and ISO times are not).
 */
const COMPACT_TOKEN = /[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/;

/** Every member name in a JSON value, at any depth. */
const memberNames = (value: unknown): string[] =>
  typeof value !== 'object' || value === null
    ? []
    : Object.entries(value).flatMap(([name, inner]) => [
        ...(Array.isArray(value) ? [] : [name]),
        ...memberNames(inner),
      ]);

/**
 * orders-service calls users-service when an order is placed, on the
 * customer's behalf: an RFC 8693 token exchange at the issuer, then
 * `GET /users/me` with the exchanged token. Against real processes; the
 * failing dependencies are real too (a users URL that never answers, a port
 * nothing listens on, a client secret the issuer refuses, a verifier cut off
 * from Redis).
 */
describe('orders → users on behalf of the customer (RFC 8693)', () => {
  let stack: Stack;
  let blackHole: Server;
  let blackHoleUrl: string;
  const extra: RunningService[] = [];
  const run = Date.now().toString(36);
  let userCount = 0;

  beforeAll(async () => {
    stack = await startStack('postgres');
    // Accepts connections and requests, never answers: a users service that hangs.
    blackHole = createServer(() => undefined);
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    blackHoleUrl = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(extra.map((service) => stopProcess(service.process)));
    blackHole?.closeAllConnections();
    await new Promise((resolve) => blackHole?.close(resolve));
    await stack?.close();
  }, 60_000);

  const customer = async (displayName?: string) => {
    userCount += 1;
    const email = `customer${userCount}.${run}@example.test`;
    expect((await call('POST', `${stack.auth}/auth/register`, { body: { email, password: PASSWORD } })).status).toBe(
      201,
    );
    const login = await call('POST', `${stack.auth}/auth/login`, { body: { email, password: PASSWORD } });
    expect(login.status).toBe(200);
    const token: string = login.body.access_token;
    if (displayName !== undefined) {
      expect((await call('PATCH', `${stack.users}/users/me`, { token, body: { displayName } })).status).toBe(200);
    }
    const profile = await call('GET', `${stack.users}/users/me`, { token });
    expect(profile.status).toBe(200);
    return { token, id: profile.body.id as string };
  };
  /** One more orders replica, with its own database, and `env` over the stack's settings. */
  const ordersReplica = async (env: Record<string, string>) => {
    const replica = await launch(
      'orders-service',
      serviceTestEnv({
        AUTH_JWKS_URI: `${stack.auth}/.well-known/jwks.json`,
        USERS_SERVICE_URL: stack.users,
        SQLITE_PATH: ':memory:',
        USERS_SERVICE_TIMEOUT_MS: String(TIMEOUT_MS),
        ...env,
      }),
    );
    extra.push(replica);
    return replica.url;
  };
  const expectNoOrders = async (orders: string, token: string) => {
    const listed = await call('GET', `${orders}/orders`, { token });
    expect(listed.status).toBe(200);
    expect(listed.body.total).toBe(0);
  };

  it("stamps each order with the customer's display name, read from users-service", async () => {
    const ada = await customer('Ada Lovelace');
    const placed = await call('POST', `${stack.orders}/orders`, { token: ada.token, body: ITEMS });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ ownerId: ada.id, customerName: 'Ada Lovelace', totalCents: 2500 });
    expect(
      (await call('GET', `${stack.orders}/orders/${placed.body.id}`, { token: ada.token })).body.customerName,
    ).toBe('Ada Lovelace');
    // A customer without a display name: null, not a made-up one, and not somebody else's.
    const anonymous = await customer();
    const second = await call('POST', `${stack.orders}/orders`, { token: anonymous.token, body: ITEMS });
    expect(second.status).toBe(201);
    expect(second.body.customerName).toBeNull();
    // A rename later reaches new orders (the cached exchanged token reads the profile anew each time).
    expect(
      (await call('PATCH', `${stack.users}/users/me`, { token: ada.token, body: { displayName: 'Countess Ada' } }))
        .status,
    ).toBe(200);
    const third = await call('POST', `${stack.orders}/orders`, { token: ada.token, body: ITEMS });
    expect(third.body.customerName).toBe('Countess Ada');
  });

  it('shows the exchanged token decoded with ?explain=exchange (a cached one too), never the token', async () => {
    const ada = await customer('Explained Ada');
    const own = decodeJwt(ada.token);
    const placed = await call('POST', `${stack.orders}/orders?explain=exchange`, { token: ada.token, body: ITEMS });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ ownerId: ada.id, customerName: 'Explained Ada', totalCents: 2500 });
    const { exchange, ...order } = placed.body;
    const { header, claims, audience, scope } = exchange;
    expect(Object.keys(exchange).sort()).toEqual(['audience', 'claims', 'header', 'scope']);
    // Who acts, for whom, towards whom (RFC 8693 §4.1, RFC 9068 §2.2).
    expect(claims.act).toEqual({ sub: 'orders-service' });
    expect([claims.aud].flat()).toEqual(['users-service']);
    expect(audience).toBe('users-service');
    expect(claims.sub).toBe(own.sub);
    expect(claims.sub).toBe(ada.id);
    expect(claims.iss).toBe(ISSUER);
    expect(claims.sid).toBe(own['sid']);
    // Narrowed: only what was asked for, a strict subset of the caller's own scopes.
    const ownScopes = String(own['scope']).split(' ');
    expect(claims.scope).toBe('profile:read');
    expect(scope).toBe('profile:read');
    expect(ownScopes).toContain('profile:read');
    expect(ownScopes.length).toBeGreaterThan(1);
    // The issuer's header, signed with a key of its JWKS.
    expect(header).toMatchObject({ typ: 'at+jwt', alg: expect.any(String) });
    const jwks = await call('GET', `${stack.auth}/.well-known/jwks.json`);
    expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).toContain(header.kid);
    // Nothing that is, or rebuilds, the exchanged token: no signature member, no compact token, no encoded part.
    const text = JSON.stringify(placed.body);
    expect(COMPACT_TOKEN.test(ada.token)).toBe(true);
    expect(text).not.toMatch(COMPACT_TOKEN);
    expect(text).not.toContain('eyJ');
    expect(memberNames(placed.body).filter((name) => /signature|token/i.test(name))).toEqual([]);
    // The view is not stored: the order reads back as it always did.
    const stored = await call('GET', `${stack.orders}/orders/${placed.body.id}`, { token: ada.token });
    expect(stored.body).toEqual(order);
    // The second order reuses the cached exchanged token, and shows it all the same.
    const again = await call('POST', `${stack.orders}/orders?explain=exchange`, { token: ada.token, body: ITEMS });
    expect(again.status).toBe(201);
    expect(again.body.exchange.claims.jti).toBe(claims.jti);
    expect(again.body.exchange).toEqual(exchange);
    // Without the opt-in, the answer is the order alone.
    const plain = await call('POST', `${stack.orders}/orders`, { token: ada.token, body: ITEMS });
    expect(plain.status).toBe(201);
    expect(plain.body).not.toHaveProperty('exchange');
    expect(Object.keys(plain.body).sort()).toEqual(Object.keys(order).sort());
    // Other query parameters stay ignored, as before.
    const other = await call('POST', `${stack.orders}/orders?utm_source=console`, { token: ada.token, body: ITEMS });
    expect(other.status).toBe(201);
    expect(other.body).not.toHaveProperty('exchange');
  });

  it('refuses another explain value, a repeated one, and the opt-in where it is turned off; writes nothing', async () => {
    const { token } = await customer('Curious');
    for (const query of ['explain=token', 'explain=', 'explain=exchange&explain=exchange']) {
      const refused = await call('POST', `${stack.orders}/orders?${query}`, { token, body: ITEMS });
      expectProblem(refused, 400, 'validation_failed');
      expect(refused.body.errors.map((error: { field: string }) => error.field)).toEqual(['explain']);
    }
    await expectNoOrders(stack.orders, token);
    const closed = await ordersReplica({ EXPLAIN_EXCHANGE: 'off', USERS_SERVICE_TIMEOUT_MS: '15000' });
    const refused = await call('POST', `${closed}/orders?explain=exchange`, { token, body: ITEMS });
    expectProblem(refused, 400, 'validation_failed');
    expect(refused.body.errors).toEqual([{ field: 'explain', message: expect.stringContaining('turned off') }]);
    await expectNoOrders(closed, token);
    // Turned off, placing an order without the opt-in works as ever.
    const placed = await call('POST', `${closed}/orders`, { token, body: ITEMS });
    expect(placed.status).toBe(201);
    expect(placed.body).not.toHaveProperty('exchange');
  });

  it('refuses, before any call, a token without profile:read, which the exchange would need', async () => {
    const { token } = await customer('Narrow');
    const session = await call('POST', `${stack.auth}/auth/login`, {
      body: { email: `customer${userCount}.${run}@example.test`, password: PASSWORD },
    });
    const narrowed = await fetch(`${stack.auth}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: session.body.refresh_token,
        client_id: 'first-party-app',
        scope: 'orders:write orders:read',
      }),
    });
    expect(narrowed.status).toBe(200);
    const narrow = ((await narrowed.json()) as { access_token: string }).access_token;
    const refused = await call('POST', `${stack.orders}/orders`, { token: narrow, body: ITEMS });
    expectProblem(refused, 403, 'insufficient_scope');
    expect(refused.headers.get('www-authenticate')).toContain('profile:read');
    expect((await call('GET', `${stack.orders}/orders`, { token })).body.total).toBe(0);
  });

  it('answers 503 within its bound when users-service hangs, and writes nothing', async () => {
    const orders = await ordersReplica({ USERS_SERVICE_URL: blackHoleUrl });
    const { token } = await customer('Patient');
    const started = performance.now();
    const refused = await call('POST', `${orders}/orders`, { token, body: ITEMS });
    const elapsedMs = performance.now() - started;
    expectProblem(refused, 503, 'dependency_unavailable');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.detail).toContain(`within ${TIMEOUT_MS} ms`);
    expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    // The bound plus a loaded machine's scheduling, far below any socket timeout.
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS + 4000);
    await expectNoOrders(orders, token);
  });

  it('answers 503 at once when users-service is down (connection refused), and writes nothing', async () => {
    // Nothing listens on port 1.
    const orders = await ordersReplica({ USERS_SERVICE_URL: 'http://127.0.0.1:1' });
    const { token } = await customer('Unlucky');
    const refused = await call('POST', `${orders}/orders`, { token, body: ITEMS });
    expectProblem(refused, 503, 'dependency_unavailable');
    expect(refused.headers.get('retry-after')).toBe('1');
    await expectNoOrders(orders, token);
  });

  it("answers 503 when the issuer refuses orders-service's client authentication, and writes nothing", async () => {
    // A generous bound: the refusal itself is under test, not a timeout (argon2 is slow on a loaded machine).
    const orders = await ordersReplica({
      OAUTH_CLIENT_SECRET: 'not-the-registered-secret',
      USERS_SERVICE_TIMEOUT_MS: '15000',
    });
    const { token } = await customer('Misconfigured');
    const refused = await call('POST', `${orders}/orders`, { token, body: ITEMS });
    expectProblem(refused, 503, 'dependency_unavailable');
    // Nothing of the cause reaches the customer: it is the operator's to fix (and logged for them).
    expect(JSON.stringify(refused.body)).not.toMatch(/invalid_client|secret|within/);
    await expectNoOrders(orders, token);
  });

  it('answers 401 refused_downstream when the issuer knows of a revocation this replica missed', async () => {
    // An orders replica that answers from its last copy of the revocation list (fail-open) and is then cut
    // off from Redis: it still accepts a token revoked meanwhile, but the exchange at the issuer does not.
    const redisPort = Number(new URL(serviceTestEnv().REDIS_URL).port || 6379);
    const proxy = new TcpProxy(redisPort);
    await proxy.start();
    try {
      const orders = await ordersReplica({
        REDIS_URL: proxy.url,
        REVOCATION_FAILURE_POLICY: 'fail-open',
        USERS_SERVICE_TIMEOUT_MS: '15000',
      });
      const { token } = await customer('Revoked');
      proxy.cut();
      expect((await call('POST', `${stack.auth}/auth/logout`, { token })).status).toBe(204);
      const refused = await call('POST', `${orders}/orders`, { token, body: ITEMS });
      expectProblem(refused, 401, 'invalid_token');
      expect(refused.body.reason).toBe('refused_downstream');
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
      proxy.restore();
      // The replica catches up; the token stays refused, now by orders itself.
      const deadline = Date.now() + 15_000;
      let answer = await call('GET', `${orders}/orders`, { token });
      while (answer.status !== 401 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        answer = await call('GET', `${orders}/orders`, { token });
      }
      expectProblem(answer, 401, 'invalid_token');
    } finally {
      proxy.restore();
      await proxy.stop();
    }
  });
});
