import { ADMIN, ISSUER, launch, startStack, type DatabaseKind, type Stack } from './support/stack';
import { afterRevocation, call, expectProblem, type JsonResponse } from './support/http';

/** Decodes a JWT segment without verifying: what any holder of the token can read. */
function decodeSegment(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8'));
}

const PASSWORD = 'correct horse battery staple';

describe.each<DatabaseKind>(['postgres', 'sqlite'])('the system, end to end (%s)', (database) => {
  let stack: Stack;
  const run = Date.now().toString(36);
  const alice = { email: `alice.${run}@example.test`, password: PASSWORD, id: '', access: '', refresh: '' };
  const bob = { email: `bob.${run}@example.test`, password: PASSWORD, id: '', access: '', refresh: '' };
  let admin = '';
  let aliceOrderId = '';

  beforeAll(async () => {
    stack = await startStack(database);
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('every service is live and ready', async () => {
    for (const url of [stack.auth, stack.users, stack.orders]) {
      expect((await call('GET', `${url}/health/live`)).status).toBe(200);
      const ready = await call('GET', `${url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(ready.body.details).toMatchObject({ database: { status: 'up' }, redis: { status: 'up' } });
    }
  });

  it('publishes public keys only, cacheable, and discovery metadata', async () => {
    const jwks = await call('GET', `${stack.auth}/.well-known/jwks.json`);
    expect(jwks.status).toBe(200);
    expect(jwks.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(jwks.body.keys.length).toBeGreaterThan(0);
    for (const key of jwks.body.keys) {
      expect(key).toMatchObject({ kid: expect.any(String), alg: 'ES256', use: 'sig', kty: 'EC' });
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(member);
    }
    const discovery = await call('GET', `${stack.auth}/.well-known/oauth-authorization-server`);
    expect(discovery.body).toMatchObject({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      token_endpoint: `${ISSUER}/oauth/token`,
      revocation_endpoint: `${ISSUER}/oauth/revoke`,
      introspection_endpoint: `${ISSUER}/oauth/introspect`,
      authorization_endpoint: `${ISSUER}/oauth/authorize`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
    });
    expect(discovery.body.grant_types_supported).toEqual([
      'authorization_code',
      'refresh_token',
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:token-exchange',
    ]);
    expect(discovery.body).not.toHaveProperty('login_endpoint');
    expect((await call('GET', `${stack.auth}/.well-known/openid-configuration`)).status).toBe(404);
  });

  it('registers users: 201, then 409 for the same email, 400 for bad input', async () => {
    for (const user of [alice, bob]) {
      const response = await call('POST', `${stack.auth}/auth/register`, {
        body: { email: user.email, password: user.password },
      });
      expect(response.status).toBe(201);
      expect(response.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), email: user.email });
      user.id = response.body.id;
    }
    expectProblem(
      await call('POST', `${stack.auth}/auth/register`, {
        body: { email: alice.email.toUpperCase(), password: PASSWORD },
      }),
      409,
      'email_taken',
    );
    const bad = await call('POST', `${stack.auth}/auth/register`, {
      body: { email: 'not-an-email', password: 'short' },
    });
    expectProblem(bad, 400, 'validation_failed');
    expect(bad.body.errors).toEqual([
      { field: 'email', message: 'email must be an email address: expected local-part@domain' },
      { field: 'password', message: 'password must be at least 8 characters' },
    ]);
    expectProblem(await call('POST', `${stack.auth}/auth/register`, { body: '{"email": ' }), 400, 'invalid_request');
    expectProblem(
      await call('POST', `${stack.auth}/auth/register`, {
        body: { email: alice.email, password: PASSWORD, roles: ['admin'] },
      }),
      400,
      'validation_failed',
    );
  });

  it('logs in with the RFC 6749 §5.1 token response; the access token follows RFC 9068', async () => {
    for (const user of [alice, bob]) {
      const response = await call('POST', `${stack.auth}/auth/login`, {
        body: { email: user.email, password: user.password },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        scope: 'profile:read profile:write orders:read orders:write',
      });
      user.access = response.body.access_token;
      user.refresh = response.body.refresh_token;
    }
    const header = decodeSegment(alice.access, 0);
    expect(header).toEqual({ alg: 'ES256', kid: expect.any(String), typ: 'at+jwt' });
    const claims = decodeSegment(alice.access, 1);
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: alice.id,
      aud: ['auth-service', 'users-service', 'orders-service'],
      client_id: 'first-party-app',
      roles: ['user'],
      email: alice.email,
      jti: expect.any(String),
      sid: expect.any(String),
    });
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(900);
  });

  it('answers a wrong password and an unknown email identically', async () => {
    const wrong = await call('POST', `${stack.auth}/auth/login`, {
      body: { email: alice.email, password: 'wrong password!' },
    });
    const unknown = await call('POST', `${stack.auth}/auth/login`, {
      body: { email: `nobody.${run}@example.test`, password: 'wrong password!' },
    });
    expectProblem(wrong, 401, 'invalid_credentials');
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
  });

  it('GET /whoami shows the verified principal and the replica that answered', async () => {
    for (const url of [stack.users, stack.orders]) {
      const response = await call('GET', `${url}/whoami`, { token: alice.access });
      expect(response.status).toBe(200);
      expect(response.body.principal).toMatchObject({ subject: alice.id, email: alice.email, roles: ['user'] });
      expect(response.body.instance).toBe(response.headers.get('x-instance-id'));
      expectProblem(await call('GET', `${url}/whoami`), 401, 'unauthenticated');
    }
  });

  it('users-service verifies the token on its own and creates the profile on first use', async () => {
    const me = await call('GET', `${stack.users}/users/me`, { token: alice.access });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: alice.id, email: alice.email, displayName: null });
    const patched = await call('PATCH', `${stack.users}/users/me`, {
      token: alice.access,
      body: { displayName: 'Alice' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.displayName).toBe('Alice');
    expectProblem(
      await call('PATCH', `${stack.users}/users/me`, { token: alice.access, body: { displayName: '' } }),
      400,
      'validation_failed',
    );
    expect((await call('GET', `${stack.users}/users/me`, { token: bob.access })).status).toBe(200);
  });

  it('users-service: self or admin for /users/:id, users:read (admins, reporting clients) for /users', async () => {
    expect((await call('GET', `${stack.users}/users/${alice.id}`, { token: alice.access })).status).toBe(200);
    expectProblem(await call('GET', `${stack.users}/users/${bob.id}`, { token: alice.access }), 404, 'not_found');
    expectProblem(
      await call('GET', `${stack.users}/users/not-a-uuid`, { token: alice.access }),
      400,
      'validation_failed',
    );
    const listAsUser = await call('GET', `${stack.users}/users`, { token: alice.access });
    expectProblem(listAsUser, 403, 'insufficient_scope');
    expect(listAsUser.headers.get('www-authenticate')).toContain('error="insufficient_scope", scope="users:read"');

    const login = await call('POST', `${stack.auth}/auth/login`, { body: ADMIN });
    expect(login.status).toBe(200);
    admin = login.body.access_token;
    expect(decodeSegment(admin, 1)['roles']).toEqual(['user', 'admin']);
    const list = await call('GET', `${stack.users}/users?limit=100`, { token: admin });
    expect(list.status).toBe(200);
    expect(list.body.items.map((profile: { id: string }) => profile.id)).toEqual(
      expect.arrayContaining([alice.id, bob.id]),
    );
    expect((await call('GET', `${stack.users}/users/${bob.id}`, { token: admin })).body.email).toBe(bob.email);
    expectProblem(await call('GET', `${stack.users}/users?limit=1000`, { token: admin }), 400, 'validation_failed');
  });

  it('orders-service: create with integer cents, list own, 404 for others, admin sees all, cancel once', async () => {
    const created = await call('POST', `${stack.orders}/orders`, {
      token: alice.access,
      body: {
        items: [
          { sku: 'BOOK-1', quantity: 2, unitPriceCents: 1250 },
          { sku: 'PEN-7', quantity: 1, unitPriceCents: 899 },
        ],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ownerId: alice.id, status: 'placed', totalCents: 3399 });
    expect(created.body.items).toEqual([
      { sku: 'BOOK-1', quantity: 2, unitPriceCents: 1250 },
      { sku: 'PEN-7', quantity: 1, unitPriceCents: 899 },
    ]);
    aliceOrderId = created.body.id;

    const own = await call('GET', `${stack.orders}/orders`, { token: alice.access });
    expect(own.body.items.map((order: { id: string }) => order.id)).toEqual([aliceOrderId]);
    expect((await call('GET', `${stack.orders}/orders`, { token: bob.access })).body.items).toEqual([]);
    expectProblem(await call('GET', `${stack.orders}/orders/${aliceOrderId}`, { token: bob.access }), 404, 'not_found');
    expectProblem(
      await call('POST', `${stack.orders}/orders/${aliceOrderId}/cancel`, { token: bob.access }),
      404,
      'not_found',
    );
    expect((await call('GET', `${stack.orders}/orders/${aliceOrderId}`, { token: admin })).status).toBe(200);
    const all = await call('GET', `${stack.orders}/orders`, { token: admin });
    expect(all.body.items.map((order: { id: string }) => order.id)).toContain(aliceOrderId);

    const cancelled = await call('POST', `${stack.orders}/orders/${aliceOrderId}/cancel`, { token: alice.access });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expectProblem(
      await call('POST', `${stack.orders}/orders/${aliceOrderId}/cancel`, { token: alice.access }),
      409,
      'conflict',
    );
  });

  it.each<[string, unknown]>([
    ['no items', { items: [] }],
    ['fractional cents', { items: [{ sku: 'A', quantity: 1, unitPriceCents: 9.99 }] }],
    ['negative quantity', { items: [{ sku: 'A', quantity: -1, unitPriceCents: 100 }] }],
    ['price as a string', { items: [{ sku: 'A', quantity: 1, unitPriceCents: '100' }] }],
    ['an item that is not an object', { items: [42] }],
    ['a bad sku', { items: [{ sku: '../etc', quantity: 1, unitPriceCents: 100 }] }],
    ['unknown property', { items: [{ sku: 'A', quantity: 1, unitPriceCents: 100, discount: 50 }] }],
    ['items not an array', { items: 'many' }],
    ['an item that is an array', { items: [[]] }],
    ['an item that is an array of items', { items: [[{ sku: 'A', quantity: 1, unitPriceCents: 1 }]] }],
    ['JSON nested 10,000 deep', `{"items": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`],
    ['a NUL character in a sku', { items: [{ sku: 'A\u0000B', quantity: 1, unitPriceCents: 1 }] }],
  ])('orders-service refuses an order with %s (400, nothing written)', async (_name, body) => {
    const before = (await call('GET', `${stack.orders}/orders`, { token: bob.access })).body.total;
    const response = await call('POST', `${stack.orders}/orders`, { token: bob.access, body });
    expect(response.status).toBe(400);
    expectProblem(response, 400, response.body.code === 'invalid_request' ? 'invalid_request' : 'validation_failed');
    expect((await call('GET', `${stack.orders}/orders`, { token: bob.access })).body.total).toBe(before);
  });

  it('answers hostile inputs with 4xx problems, never a 500', async () => {
    const expect4xx = async (response: Promise<JsonResponse>, status: number) => {
      const answer = await response;
      expect(answer.status).toBe(status);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
      expect(answer.body).toMatchObject({ status, type: 'about:blank', code: expect.any(String) });
    };
    for (const query of ['offset=1e20', 'offset=9223372036854775807', 'limit=0x10', 'limit=-1', 'limit=abc']) {
      await expect4xx(call('GET', `${stack.orders}/orders?${query}`, { token: alice.access }), 400);
    }
    await expect4xx(
      call('PATCH', `${stack.users}/users/me`, { token: alice.access, body: { displayName: 'a\u0000b' } }),
      400,
    );
    await expect4xx(
      call('PATCH', `${stack.users}/users/me`, { token: alice.access, body: '{"displayName": "\\ud800"}' }),
      400,
    );
    await expect4xx(
      call('POST', `${stack.auth}/auth/login`, { body: { email: 'a\u0000b@example.test', password: 'x' } }),
      400,
    );
    // 254 characters that grow to 282 when lower-cased (İ → i̇): the limit applies to what is stored.
    const growing = `${'İ'.repeat(28)}xxxx@${'d'.repeat(217)}.test`;
    await expect4xx(call('POST', `${stack.auth}/auth/register`, { body: { email: growing, password: PASSWORD } }), 400);
    await expect4xx(call('GET', `${stack.orders}/orders/${'a'.repeat(150)}`, { token: alice.access }), 414);
    await expect4xx(call('GET', `${stack.users}/users/%zz`, { token: alice.access }), 400);
    // One address however its accents are encoded (NFKC, then IDNA for the domain; local parts are ASCII).
    const composed = `jose.${run}@caf\u00e9.example`;
    expect(
      (await call('POST', `${stack.auth}/auth/register`, { body: { email: composed, password: PASSWORD } })).status,
    ).toBe(201);
    await expect4xx(
      call('POST', `${stack.auth}/auth/register`, { body: { email: composed.normalize('NFD'), password: PASSWORD } }),
      409,
    );
  });

  it('takes the Content-Type many clients always send; says what is wrong with a body; 405 with Allow', async () => {
    const json = { 'content-type': 'application/json' };
    const carol = { email: `carol.${Date.now().toString(36)}@example.test`, password: PASSWORD };
    expect((await call('POST', `${stack.auth}/auth/register`, { body: carol })).status).toBe(201);
    const login = async () => (await call('POST', `${stack.auth}/auth/login`, { body: carol })).body;
    // A POST with no body but the JSON header (k6's, axios', many SDKs'), on endpoints that take no body.
    const session = await login();
    expect(
      (await call('POST', `${stack.auth}/auth/logout`, { token: session.access_token, headers: json })).status,
    ).toBe(204);
    const everywhere = await login();
    expect(
      (await call('POST', `${stack.auth}/auth/logout-all`, { token: everywhere.access_token, body: {} })).status,
    ).toBe(204);
    const owner = (await login()).access_token;
    const order = await call('POST', `${stack.orders}/orders`, {
      token: owner,
      body: { items: [{ sku: 'PEN-1', quantity: 1, unitPriceCents: 100 }] },
    });
    expect(
      (await call('POST', `${stack.orders}/orders/${order.body.id}/cancel`, { token: owner, headers: json })).status,
    ).toBe(200);

    const missing = await call('POST', `${stack.auth}/auth/login`, { headers: json });
    expectProblem(missing, 400, 'invalid_request');
    expect(missing.body.detail).toBe('The request body is missing.');
    const unparsable = await call('POST', `${stack.auth}/auth/login`, { body: '{"email": "a@b.test",' });
    expectProblem(unparsable, 400, 'invalid_request');
    expect(unparsable.body.detail).toBe('The request body is not valid JSON.');
    const empty = await call('POST', `${stack.auth}/auth/login`, { body: {} });
    expectProblem(empty, 400, 'validation_failed');
    expect(empty.body.errors).toEqual([
      { field: 'email', message: 'email is required' },
      { field: 'password', message: 'password is required' },
    ]);

    for (const [method, url, allow] of [
      ['GET', `${stack.auth}/auth/login`, 'POST'],
      ['DELETE', `${stack.users}/users/me`, 'GET, HEAD, PATCH'],
      ['PUT', `${stack.orders}/orders`, 'GET, HEAD, POST'],
    ]) {
      const wrong = await call(method, url, { token: owner });
      expectProblem(wrong, 405, 'method_not_allowed');
      expect(wrong.headers.get('allow')).toBe(allow);
    }
    expectProblem(await call('GET', `${stack.orders}/nothing-here`, { token: owner }), 404, 'not_found');
  });

  it('resource services answer a missing token with a bare Bearer challenge (RFC 6750 §3.1)', async () => {
    for (const [url, realm] of [
      [`${stack.users}/users/me`, 'users-service'],
      [`${stack.orders}/orders`, 'orders-service'],
    ]) {
      const response = await call('GET', url);
      expectProblem(response, 401, 'unauthenticated');
      expect(response.headers.get('www-authenticate')).toBe(`Bearer realm="${realm}"`);
    }
  });

  it('refresh rotates: a new pair; the old token again within the grace window gets the same pair; older ones revoke', async () => {
    const refreshed = await call('POST', `${stack.auth}/auth/refresh`, { body: { refresh_token: alice.refresh } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(alice.refresh);
    expect(decodeSegment(refreshed.body.access_token, 1)['sid']).toBe(decodeSegment(alice.access, 1)['sid']);
    // A second tab with the same token, within REFRESH_TOKEN_REUSE_GRACE_SECONDS: the first answer again.
    const secondTab = await call('POST', `${stack.auth}/auth/refresh`, { body: { refresh_token: alice.refresh } });
    expect(secondTab.status).toBe(200);
    expect(secondTab.body).toEqual(refreshed.body);
    const rotated = await call('POST', `${stack.auth}/auth/refresh`, {
      body: { refresh_token: refreshed.body.refresh_token },
    });
    expect(rotated.status).toBe(200);
    // The grandparent, once its child has rotated: reuse, whatever the window (RFC 9700 §4.14.2).
    expectProblem(
      await call('POST', `${stack.auth}/auth/refresh`, { body: { refresh_token: alice.refresh } }),
      400,
      'invalid_grant',
    );
    const madeUp = await call('POST', `${stack.auth}/auth/refresh`, { body: { refresh_token: 'made-up' } });
    expectProblem(madeUp, 400, 'invalid_grant');
    expect(madeUp.body.error).toBe('invalid_grant'); // RFC 6749 §5.2
    expectProblem(await call('POST', `${stack.auth}/auth/refresh`, { body: {} }), 400, 'validation_failed');
    // Reusing the old token revoked its family, the new refresh token with it (RFC 9700 §4.14.2),
    // and every access token of the session.
    expectProblem(
      await call('POST', `${stack.auth}/auth/refresh`, { body: { refresh_token: refreshed.body.refresh_token } }),
      400,
      'invalid_grant',
    );
    for (const token of [alice.access, refreshed.body.access_token, rotated.body.access_token]) {
      expectProblem(await afterRevocation('GET', `${stack.users}/users/me`, { token }), 401, 'invalid_token');
    }
    const again = await call('POST', `${stack.auth}/auth/login`, { body: { email: alice.email, password: PASSWORD } });
    alice.access = again.body.access_token;
    alice.refresh = again.body.refresh_token;
  });

  it('logout revokes the access token on every service at once, and its refresh token', async () => {
    const expectRejected = (response: JsonResponse) => {
      expectProblem(response, 401, 'invalid_token');
      expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    };
    expect((await call('GET', `${stack.orders}/orders`, { token: bob.access })).status).toBe(200);
    expect((await call('POST', `${stack.auth}/auth/logout`, { token: bob.access })).status).toBe(204);
    expectRejected(await afterRevocation('GET', `${stack.users}/users/me`, { token: bob.access }));
    expectRejected(await afterRevocation('GET', `${stack.orders}/orders`, { token: bob.access }));
    expectRejected(await call('POST', `${stack.auth}/auth/logout`, { token: bob.access }));
    expectProblem(
      await call('POST', `${stack.auth}/auth/refresh`, { body: { refresh_token: bob.refresh } }),
      400,
      'invalid_grant',
    );
    // Alice's token is untouched.
    expect((await call('GET', `${stack.users}/users/me`, { token: alice.access })).status).toBe(200);
  });

  it('resource services keep verifying with the auth service down: no call to it per request', async () => {
    await stack.stop('auth-service');
    expect((await call('GET', `${stack.users}/users/me`, { token: alice.access })).status).toBe(200);
    expect((await call('GET', `${stack.orders}/orders`, { token: alice.access })).status).toBe(200);
  });
});

describe('Redis unreachable', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack('sqlite');
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('a resource service fails closed with 503 and reports not ready', async () => {
    const email = `carol.${Date.now().toString(36)}@example.test`;
    await call('POST', `${stack.auth}/auth/register`, { body: { email, password: PASSWORD } });
    const token = (await call('POST', `${stack.auth}/auth/login`, { body: { email, password: PASSWORD } })).body
      .access_token;
    // An orders replica whose Redis is gone (nothing listens on port 1).
    const orphan = await launch('orders-service', {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      NO_COLOR: '1',
      REDIS_URL: 'redis://127.0.0.1:1',
      AUTH_ISSUER: ISSUER,
      AUTH_JWKS_URI: `${stack.auth}/.well-known/jwks.json`,
      SQLITE_PATH: ':memory:',
    });
    try {
      const response = await call('GET', `${orphan.url}/orders`, { token });
      expectProblem(response, 503, 'dependency_unavailable');
      expect(response.headers.get('retry-after')).toBe('1');
      const ready = await call('GET', `${orphan.url}/health/ready`);
      expectProblem(ready, 503, 'dependency_unavailable');
      // A bad token is still a 401: the cheap checks come before Redis.
      expectProblem(await call('GET', `${orphan.url}/orders`, { token: `${token}x` }), 401, 'invalid_token');
    } finally {
      orphan.process.kill('SIGTERM');
    }
  });
});
