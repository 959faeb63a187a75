import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceName } from '@jwt-ms/testing';
import { clientRegistry, type TestClient } from './support/oauth-clients';
import { ADMIN, startStack, type Stack } from './support/stack';
import { call, type JsonResponse } from './support/http';

const SERVICES: readonly ServiceName[] = ['auth-service', 'users-service', 'orders-service'];
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** A fresh secret per run, so that finding it in a log can only mean the log carried it. */
const secret = (name: string) => `${name}-${randomBytes(18).toString('base64url')}`;

const PASSWORD = secret('password');
const ORDERS: TestClient = {
  id: 'orders-service',
  secret: secret('orders-secret'),
  registration: {
    grant_types: [TOKEN_EXCHANGE],
    scope: 'profile:read',
    audience: ['users-service'],
    subject_token_audience: ['orders-service'],
  },
};
const REPORTING: TestClient = {
  id: 'reporting-job',
  secret: secret('reporting-secret'),
  registration: { grant_types: ['client_credentials'], scope: 'users:read', audience: ['users-service'] },
};
/** A resource server that introspects (RFC 7662 §2.1 needs it authenticated). */
const INTROSPECTOR: TestClient = { id: 'users-service', secret: secret('introspector-secret') };

const basic = (client: TestClient) =>
  `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;

/** POSTs a form-urlencoded body, as OAuth clients do. */
async function form(url: string, params: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null } as JsonResponse;
}

/**
 * Never a secret in a log line: a whole journey through the three services (register, login, refresh,
 * users and orders, a token exchange by orders, client credentials, introspection, revocation, refresh-token
 * reuse, an admin key rotation, a refused exchange, logout), every line they print captured, then every
 * secret the journey used searched for in all of them.
 */
describe('logs carry no secret', () => {
  let stack: Stack;
  let keyDir: string;
  /** Every secret the journey used or was given, by what it is. */
  const secrets = new Map<string, string>();
  const keep = (what: string, value: unknown) => {
    expect(typeof value).toBe('string');
    expect((value as string).length).toBeGreaterThan(8);
    secrets.set(what, value as string);
    // A JWT's signature alone is as telling: a log that cut the token would still carry it.
    const parts = (value as string).split('.');
    if (parts.length === 3) secrets.set(`${what} (signature)`, parts[2]);
  };

  beforeAll(async () => {
    keyDir = mkdtempSync(join(tmpdir(), 'jwtms-log-secrets-'));
    stack = await startStack('sqlite', {
      'auth-service': {
        OAUTH_CLIENTS: await clientRegistry([ORDERS, REPORTING, INTROSPECTOR]),
        // The issuer generates its development key set here, where the test reads its private keys.
        DATA_DIR: keyDir,
      },
      'orders-service': { OAUTH_CLIENT_SECRET: ORDERS.secret },
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  }, 60_000);

  it('runs the journey, then finds none of its secrets in any line the services printed', async () => {
    for (const [what, value] of [
      ['password', PASSWORD],
      ['admin password', ADMIN.password],
      ['orders-service client secret', ORDERS.secret],
      ['reporting-job client secret', REPORTING.secret],
      ['introspecting client secret', INTROSPECTOR.secret],
    ])
      keep(what, value);
    const email = `log-secrets.${Date.now().toString(36)}@example.test`;
    const requestId = `log-secrets.${Date.now().toString(36)}`;

    // Register, log in, read and write on users.
    expect((await call('POST', `${stack.auth}/auth/register`, { body: { email, password: PASSWORD } })).status).toBe(
      201,
    );
    const login = await call('POST', `${stack.auth}/auth/login`, {
      body: { email, password: PASSWORD },
      headers: { 'x-request-id': requestId },
    });
    expect(login.status).toBe(200);
    expect(login.headers.get('x-request-id')).toBe(requestId);
    keep('login access token', login.body.access_token);
    keep('login refresh token', login.body.refresh_token);
    const me = await call('GET', `${stack.users}/users/me`, { token: login.body.access_token });
    expect(me.status).toBe(200);
    const sub: string = me.body.id;

    // Refresh at the token endpoint (rotation).
    const refreshed = await form(`${stack.auth}/oauth/token`, {
      grant_type: 'refresh_token',
      refresh_token: login.body.refresh_token,
      client_id: 'first-party-app',
    });
    expect(refreshed.status).toBe(200);
    keep('refreshed access token', refreshed.body.access_token);
    keep('refreshed refresh token', refreshed.body.refresh_token);
    const access: string = refreshed.body.access_token;
    expect(
      (await call('PATCH', `${stack.users}/users/me`, { token: access, body: { displayName: 'Log Reader' } })).status,
    ).toBe(200);

    // Orders: placing one makes orders exchange the user's token at the issuer (RFC 8693) and call users.
    const placed = await call('POST', `${stack.orders}/orders`, {
      token: access,
      body: { items: [{ sku: 'BOOK-1', quantity: 1, unitPriceCents: 999 }] },
    });
    expect(placed.status).toBe(201);
    expect(placed.body.customerName).toBe('Log Reader');
    expect((await call('GET', `${stack.orders}/orders/${placed.body.id}`, { token: access })).status).toBe(200);
    expect((await call('GET', `${stack.orders}/orders?limit=5`, { token: access })).status).toBe(200);

    // The same exchange by hand, to hold its token; then one the issuer refuses (wrong subject token type).
    const exchanged = await form(
      `${stack.auth}/oauth/token`,
      { grant_type: TOKEN_EXCHANGE, subject_token: access, subject_token_type: ACCESS_TOKEN_TYPE },
      { authorization: basic(ORDERS) },
    );
    expect(exchanged.status).toBe(200);
    keep('exchanged access token', exchanged.body.access_token);
    const refusedExchange = await form(
      `${stack.auth}/oauth/token`,
      { grant_type: TOKEN_EXCHANGE, subject_token: access, subject_token_type: 'urn:x:not-a-type' },
      { authorization: basic(ORDERS) },
    );
    expect(refusedExchange.body?.error).toBe('invalid_request');

    // A job as itself: client credentials with its secret, then a call to users.
    const job = await form(
      `${stack.auth}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(REPORTING) },
    );
    expect(job.status).toBe(200);
    keep('client_credentials access token', job.body.access_token);
    expect((await call('GET', `${stack.users}/users?limit=5`, { token: job.body.access_token })).status).toBe(200);

    // Introspection (RFC 7662) and revocation (RFC 7009).
    const introspected = await form(
      `${stack.auth}/oauth/introspect`,
      { token: access },
      { authorization: basic(INTROSPECTOR) },
    );
    expect(introspected.body).toMatchObject({ active: true, sub });
    const revoked = await form(`${stack.auth}/oauth/revoke`, {
      token: job.body.access_token,
      token_type_hint: 'access_token',
      client_id: 'first-party-app',
    });
    expect(revoked.status).toBe(200);

    // The successor used (past the grace window, RFC 9700 §4.14.2), then the first refresh token again:
    // reuse, the whole session is revoked.
    const rotatedAgain = await call('POST', `${stack.auth}/auth/refresh`, {
      body: { refresh_token: refreshed.body.refresh_token },
    });
    expect(rotatedAgain.status).toBe(200);
    keep('second refresh: access token', rotatedAgain.body.access_token);
    keep('second refresh: refresh token', rotatedAgain.body.refresh_token);
    const reused = await call('POST', `${stack.auth}/auth/refresh`, {
      body: { refresh_token: login.body.refresh_token },
    });
    expect(reused.status).toBe(400);

    // An administrator rotates the signing keys; then a user logs out.
    const admin = await call('POST', `${stack.auth}/auth/login`, { body: ADMIN });
    expect(admin.status).toBe(200);
    keep('admin access token', admin.body.access_token);
    keep('admin refresh token', admin.body.refresh_token);
    const rotated = await call('POST', `${stack.auth}/auth/admin/keys/rotate`, { token: admin.body.access_token });
    expect(rotated.status).toBe(200);
    const again = await call('POST', `${stack.auth}/auth/login`, { body: { email, password: PASSWORD } });
    expect(again.status).toBe(200);
    keep('second login access token', again.body.access_token);
    keep('second login refresh token', again.body.refresh_token);
    expect((await call('POST', `${stack.auth}/auth/logout`, { token: again.body.access_token })).status).toBe(204);
    const missing = await call('GET', `${stack.users}/nowhere/${sub}`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    // Every private key the issuer held, the rotated-in one too.
    const keys = JSON.parse(readFileSync(join(keyDir, 'signing-jwks.json'), 'utf8')).keys as {
      kid: string;
      d: string;
    }[];
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) keep(`private key ${key.kid} (d)`, key.d);

    // Stopped, each service has written all it will: then every line it printed is read.
    for (const name of SERVICES) await stack.stop(name);
    const lines = SERVICES.flatMap((name) =>
      stack.services[name].output
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => ({ service: name, line })),
    );
    const leaks = [...secrets].flatMap(([what, value]) =>
      lines.filter(({ line }) => line.includes(value)).map(({ service, line }) => `${what} in ${service}: ${line}`),
    );
    expect(leaks).toEqual([]);

    // Not vacuous: the lines are the services' JSON, one per request, and the security events are among them.
    const parsed = lines.map(({ service, line }) => ({ service, entry: JSON.parse(line) as Record<string, unknown> }));
    const requests = parsed.filter(({ entry }) => entry['msg'] === 'request');
    for (const name of SERVICES) {
      expect(requests.filter(({ service }) => service === name).length).toBeGreaterThanOrEqual(3);
      expect(
        parsed.some(({ service, entry }) => service === name && /listening on http/.test(String(entry['msg']))),
      ).toBe(true);
    }
    expect(requests.map(({ entry }) => entry)).toContainEqual(
      expect.objectContaining({ request_id: requestId, route: '/auth/login', status: 200, service: 'auth-service' }),
    );
    expect(requests.map(({ entry }) => entry)).toContainEqual(
      expect.objectContaining({ route: '/orders/:id', status: 200, sub, client_id: 'first-party-app' }),
    );
    expect(requests.map(({ entry }) => entry)).toContainEqual(
      expect.objectContaining({ route: '/users', sub: 'reporting-job', client_id: 'reporting-job' }),
    );
    const events = parsed.map(({ entry }) => entry['event']).filter(Boolean);
    expect(events).toEqual(
      expect.arrayContaining(['refresh_token_reuse', 'token_exchange_refused', 'admin_action', 'signing_key_rotated']),
    );
    // The placed order's id appears in no route: routes are templates.
    expect(requests.some(({ entry }) => String(entry['route']).includes(placed.body.id))).toBe(false);
  }, 180_000);
});
