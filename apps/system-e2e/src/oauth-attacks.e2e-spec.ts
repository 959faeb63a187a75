/**
 * The OAuth attack conformance suite, beside the JWT one (security.e2e-spec.ts):
 * what a client, a service or a thief can try against the token endpoint
 * (RFC 6749, RFC 8693 token exchange, RFC 8707 resources), revocation
 * (RFC 7009) and introspection (RFC 7662), and against the resource services
 * with the tokens those grants make (`act`, audiences, service principals).
 * Every attack is a row: it must get a clean refusal, RFC 9457 problem+json
 * with the RFC 6749 §5.2 `error` (the issuer) or the RFC 6750 §3.1 challenge
 * and the verifier's `reason` (a resource service), never a 500, a stack
 * trace, a library's message or a secret echoed back. The stack is the built
 * auth, users and orders services, the issuer signing with a key this suite
 * holds (SIGNING_JWKS), so it can sign tokens the verifiers must still refuse.
 * docs/security.md lists these kinds.
 */
import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { ISSUER, startStack, type Stack } from './support/stack';
import { afterRevocation, call, expectProblem, type JsonResponse } from './support/http';
import { clientRegistry, type TestClient } from './support/oauth-clients';
import { b64, forge, forgeKey, json, privateJwks } from './support/token-forge';

const PASSWORD = 'correct horse battery staple';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const FORM = 'application/x-www-form-urlencoded';
const now = () => Math.floor(Date.now() / 1000);

/** The development registry's confidential clients, with this suite's secrets; plus a job that calls orders-service. */
const ORDERS: TestClient = {
  id: 'orders-service',
  secret: 'orders-service-e2e-secret-not-for-production',
  registration: {
    grant_types: [EXCHANGE],
    scope: 'profile:read',
    audience: ['users-service'],
    subject_token_audience: ['orders-service'],
  },
};
const REPORTING: TestClient = {
  id: 'reporting-job',
  secret: 'reporting-job-e2e-secret-not-for-production',
  registration: { grant_types: ['client_credentials'], scope: 'users:read', audience: ['users-service'] },
};
/** A service token for orders-service, so that its user-only routes meet a token for them (not an audience refusal). */
const FULFILMENT: TestClient = {
  id: 'fulfilment-job',
  secret: 'fulfilment-job-e2e-secret-not-for-production',
  registration: {
    grant_types: ['client_credentials'],
    scope: 'orders:read orders:write',
    audience: ['orders-service'],
  },
};
const SECRETS = [ORDERS.secret, REPORTING.secret, FULFILMENT.secret];

type Form = Record<string, string | readonly string[]>;
type OAuthError =
  | 'invalid_request'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target';

/** An attack on one of the issuer's OAuth endpoints, refused with an RFC 6749 §5.2 error. */
interface EndpointAttack {
  kind: string;
  name: string;
  send: () => Promise<JsonResponse>;
  status: 400 | 401;
  error: OAuthError;
  /**
   * Where several checks answer the same code (RFC 8693 §2.2.2 makes every unacceptable subject token
   * `invalid_request`): what `error_description` must say, so that the row passes only for its own check.
   */
  because?: RegExp;
}

type Service = 'auth' | 'users' | 'orders';

/** A token presented to a service's protected route (RFC 6750 §2.1). */
interface TokenAttack {
  kind: string;
  name: string;
  at: Service;
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  body?: unknown;
  token: () => string | Promise<string>;
  /** 401 `invalid_token` with this `reason` (TokenRejectionCode), or a 403 `insufficient_scope`. */
  expected:
    | { status: 401; reason: string }
    | { status: 403; acceptedPrincipals: string }
    | { status: 403; scope: string };
}

/** `name=value&…`, a parameter given as an array repeated (RFC 6749 Appendix B encoding). */
function formText(params: Form): string {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of typeof value === 'string' ? [value] : value) body.append(name, item);
  }
  return body.toString();
}

/** `client_secret_basic` (RFC 6749 §2.3.1: id and secret form-encoded, then Base64). */
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const basicOf = (client: TestClient) => basic(client.id, client.secret);

/** Asks again while the answer is a 200, for at most `withinMs` ms: a revocation reaches the issuer's list by pub/sub. */
async function untilRefused(send: () => Promise<JsonResponse>, withinMs = 1000): Promise<JsonResponse> {
  const started = Date.now();
  for (;;) {
    const response = await send();
    if (response.status !== 200 || Date.now() - started > withinMs) return response;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** No library, framework or runtime speaks in an answer. */
const LEAK =
  /\bat [\w.<>]+ \(|node_modules|Error:|TypeError|jsonwebtoken|jose|passport|argon2|fastify|FST_|class-validator|typeorm|sqlite|redis/i;

describe('OAuth attack conformance: every misuse of the grants and their tokens is a clean refusal', () => {
  const issuerKey = forgeKey('ES256');
  const attackerKey = forgeKey('ES256');
  let stack: Stack;
  /** A user's login, kept alive for the whole suite. */
  let user = { access: '', refresh: '' };
  /** orders-service's exchange of `user.access`: aud users-service, act orders-service. */
  let exchanged = '';
  /** reporting-job's client-credentials token (aud users-service). */
  let reportingToken = '';
  /** fulfilment-job's client-credentials token (aud orders-service). */
  let fulfilmentToken = '';

  const url = (service: Service, path: string) => `${stack[service]}${path}`;
  const post = (path: string, body: Form | string, headers: Record<string, string> = {}) =>
    call('POST', url('auth', path), {
      body: typeof body === 'string' ? body : formText(body),
      headers: { 'content-type': FORM, ...headers },
    });
  const token = (params: Form, headers: Record<string, string> = {}) => post('/oauth/token', params, headers);
  const exchange = (subject: string, extra: Form = {}, authorization = basicOf(ORDERS)) =>
    token(
      { grant_type: EXCHANGE, subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE, ...extra },
      { authorization },
    );
  const clientCredentials = async (client: TestClient) => {
    const response = await token({ grant_type: 'client_credentials' }, { authorization: basicOf(client) });
    expect(response.status).toBe(200);
    return response.body.access_token as string;
  };
  const login = async (): Promise<{ access: string; refresh: string }> => {
    const email = `oauth-attack.${randomUUID()}@example.test`;
    await call('POST', url('auth', '/auth/register'), { body: { email, password: PASSWORD } });
    const response = await call('POST', url('auth', '/auth/login'), { body: { email, password: PASSWORD } });
    expect(response.status).toBe(200);
    return { access: response.body.access_token, refresh: response.body.refresh_token };
  };
  /** A new access token of a fresh session, narrowed by a refresh (RFC 6749 §6 `scope`, RFC 8707 `resource`). */
  const refreshed = async (extra: Form) => {
    const response = await token({
      grant_type: 'refresh_token',
      refresh_token: (await login()).refresh,
      client_id: 'first-party-app',
      ...extra,
    });
    expect(response.status).toBe(200);
    return response.body.access_token as string;
  };

  // --- tokens signed with the issuer's own key: valid unless the overrides bend them ---
  const header = (overrides: Record<string, unknown> = {}) => ({
    alg: 'ES256',
    kid: issuerKey.kid,
    typ: 'at+jwt',
    ...overrides,
  });
  const withoutUndefined = (claims: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
  /** A login's token (the first-party client's, every audience). */
  const userClaims = (overrides: Record<string, unknown> = {}) =>
    withoutUndefined({
      iss: ISSUER,
      sub: randomUUID(),
      aud: ['auth-service', 'users-service', 'orders-service'],
      iat: now(),
      exp: now() + 900,
      jti: randomUUID(),
      client_id: 'first-party-app',
      scope: 'profile:read profile:write orders:read orders:write',
      roles: ['user'],
      sid: randomUUID(),
      auth_time: now(),
      email: 'mallory@example.test',
      ...overrides,
    });
  /** An exchanged token as the issuer writes it (RFC 8693 §4.1 `act`). */
  const exchangedClaims = (overrides: Record<string, unknown> = {}) =>
    userClaims({
      aud: 'users-service',
      exp: now() + 300,
      client_id: 'orders-service',
      scope: 'profile:read',
      roles: [],
      act: { sub: 'orders-service' },
      ...overrides,
    });
  /** A client-credentials token (RFC 6749 §4.4): no `sid`, `sub` = `client_id`. */
  const serviceClaims = (overrides: Record<string, unknown> = {}) =>
    withoutUndefined({
      iss: ISSUER,
      sub: 'reporting-job',
      aud: 'users-service',
      iat: now(),
      exp: now() + 900,
      jti: randomUUID(),
      client_id: 'reporting-job',
      scope: 'users:read',
      ...overrides,
    });
  const signed = (claims: Record<string, unknown> | string, headerOverrides: Record<string, unknown> = {}) =>
    forge(header(headerOverrides), claims, issuerKey.privateKey);
  /** The token's header and signature kept, its claims changed: what a thief holding a genuine token can do. */
  const tamper = (genuine: string, change: (claims: Record<string, unknown>) => Record<string, unknown>) => {
    const [head, payload, signature] = genuine.split('.');
    return `${head}.${json(change(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))))}.${signature}`;
  };

  const withoutAct = (claims: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(claims).filter(([name]) => name !== 'act'));

  beforeAll(async () => {
    stack = await startStack('sqlite', {
      'auth-service': {
        SIGNING_JWKS: privateJwks(issuerKey),
        OAUTH_CLIENTS: await clientRegistry([ORDERS, REPORTING, FULFILMENT]),
      },
    });
    user = await login();
    const response = await exchange(user.access, { audience: 'users-service' });
    expect(response.status).toBe(200);
    exchanged = response.body.access_token;
    reportingToken = await clientCredentials(REPORTING);
    fulfilmentToken = await clientCredentials(FULFILMENT);
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  }, 120_000);

  const ORDER = { items: [{ sku: 'SKU-1', quantity: 1, unitPriceCents: 100 }] };
  const me = { at: 'users', method: 'GET', path: '/users/me' } as const;
  const refused = (reason: string) => ({ status: 401, reason }) as const;

  const tokenAttacks: TokenAttack[] = [
    // --- act forged: a delegation the issuer did not sign (RFC 8693 §4.1; RFC 7515 §5.2) ---
    {
      kind: 'act forged',
      name: 'act added to a genuine login token, its signature kept',
      ...me,
      token: () => tamper(user.access, (claims) => ({ ...claims, act: { sub: 'orders-service' } })),
      expected: refused('bad_signature'),
    },
    {
      kind: 'act forged',
      name: 'act.sub of a genuine exchanged token changed to another client',
      ...me,
      token: () => tamper(exchanged, (claims) => ({ ...claims, act: { sub: 'reporting-job' } })),
      expected: refused('bad_signature'),
    },
    {
      kind: 'act forged',
      name: 'act removed from a genuine exchanged token (the delegation hidden)',
      ...me,
      token: () => tamper(exchanged, withoutAct),
      expected: refused('bad_signature'),
    },
    {
      kind: 'act forged',
      name: 'a nested act added to a genuine exchanged token',
      ...me,
      token: () =>
        tamper(exchanged, (claims) => ({ ...claims, act: { sub: 'orders-service', act: { sub: 'reporting-job' } } })),
      expected: refused('bad_signature'),
    },
    {
      kind: 'act forged',
      name: 'a genuine exchanged token re-aimed at orders-service (aud and scope rewritten)',
      at: 'orders',
      method: 'GET',
      path: '/orders',
      token: () =>
        tamper(exchanged, (claims) => ({ ...claims, aud: 'orders-service', scope: 'orders:read orders:write' })),
      expected: refused('bad_signature'),
    },
    {
      kind: 'act forged',
      name: 'an act token signed by a key the issuer does not publish, under the issuer kid',
      ...me,
      token: () => forge(header(), exchangedClaims(), attackerKey.privateKey),
      expected: refused('bad_signature'),
    },
    {
      kind: 'act forged',
      name: 'an act token signed by a key the issuer does not publish, under its own kid',
      ...me,
      token: () => forge(header({ kid: attackerKey.kid }), exchangedClaims(), attackerKey.privateKey),
      expected: refused('unknown_kid'),
    },

    // --- act rules: signed by the issuer's real key, refused by the verifier's act check (actorClaim) ---
    ...(
      [
        ['nested (a delegation chain)', { sub: 'orders-service', act: { sub: 'reporting-job' } }],
        ['nested without its own sub', { act: { sub: 'orders-service' } }],
        ['a string', 'orders-service'],
        ['an array', [{ sub: 'orders-service' }]],
        ['null', null],
        ['a number', 42],
        ['a boolean', true],
        ['an empty object (no sub)', {}],
        ['sub a number', { sub: 42 }],
        ['sub null', { sub: null }],
        ['sub an object', { sub: { sub: 'orders-service' } }],
        ['sub empty', { sub: '' }],
        ['sub of 257 characters (longer than any revocable id)', { sub: 'a'.repeat(257) }],
        ['with a member beside sub (client_id)', { sub: 'orders-service', client_id: 'orders-service' }],
        ['with a member beside sub (iss)', { sub: 'orders-service', iss: 'http://evil.example' }],
      ] as const
    ).map(
      ([what, act]): TokenAttack => ({
        kind: 'act rules',
        name: `act ${what}`,
        ...me,
        token: () => signed(exchangedClaims({ act })),
        expected: refused('bad_claim'),
      }),
    ),
    {
      kind: 'act rules',
      name: 'act with a "__proto__" member beside sub',
      ...me,
      token: () =>
        signed(b64(JSON.stringify(exchangedClaims()).replace('"act":{', '"act":{"__proto__":{"act":{"sub":"x"}},'))),
      expected: refused('bad_claim'),
    },
    {
      kind: 'act rules',
      name: 'act named twice (the last one nested)',
      ...me,
      token: () =>
        signed(
          b64(
            JSON.stringify(exchangedClaims()).replace(
              /}$/,
              ',"act":{"sub":"orders-service","act":{"sub":"reporting-job"}}}',
            ),
          ),
        ),
      expected: refused('duplicate_member'),
    },
    {
      kind: 'act rules',
      name: 'act on a service token (no sid: a client acts for nobody)',
      at: 'users',
      method: 'GET',
      path: '/users',
      token: () => signed(serviceClaims({ act: { sub: 'orders-service' } })),
      expected: refused('bad_claim'),
    },

    // --- principal confusion: a service passing for a user or the reverse (RFC 9068 §5), real key ---
    ...(
      [
        ['a service token whose sub is not its client_id', { sub: 'orders-service' }],
        ['a service token whose sub (and client_id) is a UUID, a user id', { sub: 'UUID', client_id: 'UUID' }],
        ['a service token carrying roles ["admin"]', { roles: ['admin'] }],
        ['a service token carrying email', { email: 'admin@e2e.test' }],
        ['a service token carrying auth_time', { auth_time: now() }],
      ] as const
    ).map(
      ([name, overrides]): TokenAttack => ({
        kind: 'principal confusion',
        name,
        at: 'users',
        method: 'GET',
        path: '/users',
        token: () => {
          const id = randomUUID();
          return signed(
            serviceClaims(
              Object.fromEntries(Object.entries(overrides).map(([key, value]) => [key, value === 'UUID' ? id : value])),
            ),
          );
        },
        expected: refused('bad_claim'),
      }),
    ),
    {
      kind: 'principal confusion',
      name: 'a user token whose sub equals its client_id (a client passing for a user)',
      ...me,
      token: () => signed(userClaims({ sub: 'first-party-app' })),
      expected: refused('bad_claim'),
    },

    // --- audience: a token replayed at a service it was not issued for (RFC 8707, RFC 7519 §4.1.3) ---
    {
      kind: 'audience',
      name: 'the exchanged token (aud users-service) at orders-service GET /orders',
      at: 'orders',
      method: 'GET',
      path: '/orders',
      token: () => exchanged,
      expected: refused('bad_aud'),
    },
    {
      kind: 'audience',
      name: 'the exchanged token at orders-service POST /orders',
      at: 'orders',
      method: 'POST',
      path: '/orders',
      body: ORDER,
      token: () => exchanged,
      expected: refused('bad_aud'),
    },
    {
      kind: 'audience',
      name: 'the exchanged token at the issuer (POST /auth/logout: a delegate ending the session)',
      at: 'auth',
      method: 'POST',
      path: '/auth/logout',
      token: () => exchanged,
      expected: refused('bad_aud'),
    },
    {
      kind: 'audience',
      name: "reporting-job's token (aud users-service) at orders-service",
      at: 'orders',
      method: 'GET',
      path: '/orders',
      token: () => reportingToken,
      expected: refused('bad_aud'),
    },
    {
      kind: 'audience',
      name: "reporting-job's token at the issuer (POST /auth/logout)",
      at: 'auth',
      method: 'POST',
      path: '/auth/logout',
      token: () => reportingToken,
      expected: refused('bad_aud'),
    },
    {
      kind: 'audience',
      name: "fulfilment-job's token (aud orders-service) at users-service GET /users",
      at: 'users',
      method: 'GET',
      path: '/users',
      token: () => fulfilmentToken,
      expected: refused('bad_aud'),
    },

    // --- a service token at a user's route, a delegated token beyond its scope (RFC 6750 §3.1) ---
    ...(
      [
        ['users', 'GET', '/users/me', undefined, () => reportingToken],
        ['users', 'PATCH', '/users/me', { displayName: 'owned' }, () => reportingToken],
        ['users', 'GET', `/users/${randomUUID()}`, undefined, () => reportingToken],
        ['orders', 'POST', '/orders', ORDER, () => fulfilmentToken],
        ['orders', 'GET', '/orders', undefined, () => fulfilmentToken],
        ['orders', 'GET', `/orders/${randomUUID()}`, undefined, () => fulfilmentToken],
        ['orders', 'POST', `/orders/${randomUUID()}/cancel`, undefined, () => fulfilmentToken],
      ] as const
    ).map(
      ([at, method, path, body, serviceToken]): TokenAttack => ({
        kind: 'principal kind',
        name: `a client-credentials token at ${at}-service ${method} ${path.replace(/[0-9a-f-]{36}/, ':id')}`,
        at,
        method,
        path,
        body,
        token: serviceToken,
        expected: { status: 403, acceptedPrincipals: 'user' },
      }),
    ),
    {
      kind: 'principal kind',
      name: 'the exchanged token (profile:read) at GET /users, which needs users:read',
      at: 'users',
      method: 'GET',
      path: '/users',
      token: () => exchanged,
      expected: { status: 403, scope: 'users:read' },
    },
    {
      kind: 'principal kind',
      name: 'the exchanged token (profile:read) at PATCH /users/me, which needs profile:write',
      at: 'users',
      method: 'PATCH',
      path: '/users/me',
      body: { displayName: 'delegated' },
      token: () => exchanged,
      expected: { status: 403, scope: 'profile:write' },
    },
  ];

  const grantNotGiven = (name: string, send: () => Promise<JsonResponse>): EndpointAttack => ({
    kind: 'grant not given',
    name,
    send,
    status: 400,
    error: 'unauthorized_client',
  });
  const badClient = (name: string, send: () => Promise<JsonResponse>): EndpointAttack => ({
    kind: 'client authentication',
    name,
    send,
    status: 401,
    error: 'invalid_client',
  });
  const badSubject = (name: string, subject: () => Promise<string> | string, because: RegExp): EndpointAttack => ({
    kind: 'token exchange',
    name,
    send: async () => exchange(await subject()),
    status: 400,
    error: 'invalid_request',
    because,
  });
  const NOT_VALID_HERE = /not a valid access token for this client/;
  const revoke = (params: Form | string, headers: Record<string, string> = {}) =>
    post('/oauth/revoke', params, headers);
  const introspect = (params: Form | string, headers: Record<string, string> = {}) =>
    post('/oauth/introspect', params, headers);

  const endpointAttacks: EndpointAttack[] = [
    // --- a grant the client was not registered for (RFC 6749 §5.2 unauthorized_client) ---
    grantNotGiven('orders-service asking for client_credentials', () =>
      token({ grant_type: 'client_credentials' }, { authorization: basicOf(ORDERS) }),
    ),
    grantNotGiven("orders-service redeeming a user's refresh token", async () =>
      token(
        { grant_type: 'refresh_token', refresh_token: (await login()).refresh },
        { authorization: basicOf(ORDERS) },
      ),
    ),
    grantNotGiven("reporting-job exchanging a user's token", () =>
      exchange(user.access, { audience: 'users-service' }, basicOf(REPORTING)),
    ),
    grantNotGiven("reporting-job redeeming a user's refresh token", async () =>
      token(
        { grant_type: 'refresh_token', refresh_token: (await login()).refresh },
        { authorization: basicOf(REPORTING) },
      ),
    ),
    grantNotGiven("fulfilment-job exchanging a user's token", () => exchange(user.access, {}, basicOf(FULFILMENT))),
    badClient('first-party-app (public) asking for client_credentials', () =>
      token({ grant_type: 'client_credentials', client_id: 'first-party-app' }),
    ),
    badClient("first-party-app (public) exchanging a user's token", () =>
      token({
        grant_type: EXCHANGE,
        client_id: 'first-party-app',
        subject_token: user.access,
        subject_token_type: ACCESS_TOKEN_TYPE,
      }),
    ),
    grantNotGiven('reporting-job redeeming an authorization code (a grant it is not registered for)', () =>
      token(
        {
          grant_type: 'authorization_code',
          code: 'c'.repeat(43),
          redirect_uri: 'http://127.0.0.1/callback',
          code_verifier: 'v'.repeat(43),
        },
        { authorization: basicOf(REPORTING) },
      ),
    ),
    grantNotGiven('first-party-app (public) redeeming an authorization code (a grant it is not registered for)', () =>
      token({
        grant_type: 'authorization_code',
        client_id: 'first-party-app',
        code: 'c'.repeat(43),
        redirect_uri: 'http://127.0.0.1/callback',
        code_verifier: 'v'.repeat(43),
      }),
    ),
    ...['urn:ietf:params:oauth:grant-type:jwt-bearer', 'implicit', 'AUTHORIZATION_CODE', 'CLIENT_CREDENTIALS'].map(
      (grantType): EndpointAttack => ({
        kind: 'grant not given',
        name: `grant_type ${grantType} (not offered)`,
        send: () => token({ grant_type: grantType, assertion: user.access }, { authorization: basicOf(REPORTING) }),
        status: 400,
        error: 'unsupported_grant_type',
      }),
    ),

    // --- client authentication (RFC 6749 §2.3.1, §5.2 invalid_client) ---
    badClient('the public client presenting a secret (client_secret_post)', async () =>
      token({
        grant_type: 'refresh_token',
        refresh_token: (await login()).refresh,
        client_id: 'first-party-app',
        client_secret: 'a-secret-it-never-had',
      }),
    ),
    badClient('the public client presenting a secret (HTTP Basic)', async () =>
      token(
        { grant_type: 'refresh_token', refresh_token: (await login()).refresh },
        { authorization: basic('first-party-app', 'a-secret-it-never-had') },
      ),
    ),
    badClient('a confidential client without its secret (client_credentials)', () =>
      token({ grant_type: 'client_credentials', client_id: REPORTING.id }),
    ),
    badClient('a confidential client without its secret, on the grant a public client may use', async () =>
      token({ grant_type: 'refresh_token', refresh_token: (await login()).refresh, client_id: ORDERS.id }),
    ),
    badClient('a confidential client without its secret, exchanging', () =>
      token({
        grant_type: EXCHANGE,
        client_id: ORDERS.id,
        subject_token: user.access,
        subject_token_type: ACCESS_TOKEN_TYPE,
      }),
    ),
    badClient('a wrong secret, exchanging', () =>
      exchange(user.access, {}, basic(ORDERS.id, 'orders-service-e2e-secret-not-for-productioN')),
    ),
    badClient("another client's secret", () =>
      token({ grant_type: 'client_credentials' }, { authorization: basic(REPORTING.id, FULFILMENT.secret) }),
    ),
    badClient('an empty secret (HTTP Basic "id:")', () =>
      token({ grant_type: 'client_credentials' }, { authorization: basic(REPORTING.id, '') }),
    ),
    badClient('HTTP Basic without a colon', () =>
      token(
        { grant_type: 'client_credentials' },
        { authorization: `Basic ${Buffer.from(REPORTING.id).toString('base64')}` },
      ),
    ),
    badClient('HTTP Basic that is not Base64', () =>
      token({ grant_type: 'client_credentials' }, { authorization: 'Basic !!not-base64!!' }),
    ),
    badClient('HTTP Basic with a secret that is not valid percent-encoding', () =>
      token(
        { grant_type: 'client_credentials' },
        { authorization: `Basic ${Buffer.from(`${REPORTING.id}:%E0%A4%A`).toString('base64')}` },
      ),
    ),
    badClient('the client id in another case', () =>
      token({ grant_type: 'client_credentials' }, { authorization: basic('Reporting-Job', REPORTING.secret) }),
    ),
    badClient('the client id with a trailing space', () =>
      token({ grant_type: 'client_credentials' }, { authorization: basic(`${REPORTING.id} `, REPORTING.secret) }),
    ),
    {
      kind: 'client authentication',
      name: 'a body client_id naming another client than HTTP Basic',
      send: () =>
        token({ grant_type: 'client_credentials', client_id: ORDERS.id }, { authorization: basicOf(REPORTING) }),
      status: 400,
      error: 'invalid_request',
      because: /more than one client authentication method/,
    },

    // --- token exchange (RFC 8693 §2.1, §2.2.2) ---
    badSubject('a service token as the subject (for orders-service)', () => fulfilmentToken, /must be a user's token/),
    badSubject('a service token for another audience as the subject', () => reportingToken, NOT_VALID_HERE),
    badSubject('an already exchanged token as the subject (aud users-service)', () => exchanged, NOT_VALID_HERE),
    badSubject(
      'an exchanged token for orders-service as the subject (only the act check can refuse it)',
      () => signed(exchangedClaims({ aud: 'orders-service' })),
      /itself delegated/,
    ),
    badSubject(
      'a subject token with a nested act',
      () => signed(exchangedClaims({ aud: 'orders-service', act: { sub: 'orders-service', act: { sub: 'x' } } })),
      NOT_VALID_HERE,
    ),
    badSubject(
      'a subject token for another audience (users-service only, RFC 8707 resource)',
      () => refreshed({ resource: 'urn:jwt-ms:users-service' }),
      NOT_VALID_HERE,
    ),
    badSubject(
      'a subject token signed by a key the issuer does not publish',
      () => forge(header(), userClaims(), attackerKey.privateKey),
      NOT_VALID_HERE,
    ),
    badSubject(
      'an expired subject token',
      () => signed(userClaims({ iat: now() - 600, auth_time: now() - 600, exp: now() - 60 })),
      NOT_VALID_HERE,
    ),
    badSubject(
      'a subject token past its exp, within the clock tolerance',
      () => signed(userClaims({ iat: now() - 600, auth_time: now() - 600, exp: now() - 2 })),
      /expires now/,
    ),
    badSubject('a refresh token as the subject', async () => (await login()).refresh, NOT_VALID_HERE),
    {
      kind: 'token exchange',
      name: 'a subject token whose session was logged out',
      send: async () => {
        const session = await login();
        expect((await call('POST', url('auth', '/auth/logout'), { token: session.access })).status).toBe(204);
        return untilRefused(() => exchange(session.access));
      },
      status: 400,
      error: 'invalid_request',
      because: NOT_VALID_HERE,
    },
    {
      kind: 'token exchange',
      name: 'a subject token revoked by RFC 7009',
      send: async () => {
        const session = await login();
        expect((await revoke({ token: session.access, client_id: 'first-party-app' })).status).toBe(200);
        return untilRefused(() => exchange(session.access));
      },
      status: 400,
      error: 'invalid_request',
      because: NOT_VALID_HERE,
    },
    ...(
      [
        ['refresh_token', 'urn:ietf:params:oauth:token-type:refresh_token'],
        ['id_token', 'urn:ietf:params:oauth:token-type:id_token'],
        ['jwt', 'urn:ietf:params:oauth:token-type:jwt'],
      ] as const
    ).map(
      ([name, type]): EndpointAttack => ({
        kind: 'token exchange',
        name: `subject_token_type ${name}`,
        send: () => exchange(user.access, { subject_token_type: type }),
        status: 400,
        error: 'invalid_request',
        because: /Only subject tokens of type/,
      }),
    ),
    {
      kind: 'token exchange',
      name: "an actor_token (the client's own service token)",
      send: () => exchange(user.access, { actor_token: fulfilmentToken, actor_token_type: ACCESS_TOKEN_TYPE }),
      status: 400,
      error: 'invalid_request',
      because: /actor_token is not supported/,
    },
    {
      kind: 'token exchange',
      name: 'an actor_token_type without an actor_token',
      send: () => exchange(user.access, { actor_token_type: ACCESS_TOKEN_TYPE }),
      status: 400,
      error: 'invalid_request',
      because: /actor_token is not supported/,
    },
    {
      kind: 'token exchange',
      name: 'requested_token_type refresh_token',
      send: () => exchange(user.access, { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }),
      status: 400,
      error: 'invalid_request',
      because: /can be requested/,
    },
    ...(
      [
        ['a scope the client was not given (profile:write)', () => user.access, 'profile:read profile:write'],
        ['an admin scope', () => user.access, 'users:admin'],
        ['a malformed scope (two spaces)', () => user.access, 'profile:read  profile:read'],
        ['a scope the subject token lacks', () => refreshed({ scope: 'orders:read' }), 'profile:read'],
        ['no scope, the subject token sharing none with the client', () => refreshed({ scope: 'orders:read' }), ''],
      ] as const
    ).map(
      ([name, subject, scope]): EndpointAttack => ({
        kind: 'token exchange',
        name: `widening: ${name}`,
        send: async () => exchange(await subject(), scope ? { scope } : {}),
        status: 400,
        error: 'invalid_scope',
      }),
    ),
    ...(
      [
        ['audience auth-service', { audience: 'auth-service' }],
        ['audience an unknown service', { audience: 'evil-service' }],
        ['audiences users-service and orders-service', { audience: ['users-service', 'orders-service'] }],
        ['resource urn:jwt-ms:orders-service', { resource: 'urn:jwt-ms:orders-service' }],
        ['resource with a fragment', { resource: 'urn:jwt-ms:users-service#x' }],
        ['resource not an absolute URI', { resource: 'users-service' }],
      ] as const
    ).map(
      ([name, extra]): EndpointAttack => ({
        kind: 'token exchange',
        name: `a target the client may not ask for: ${name}`,
        send: () => exchange(user.access, extra),
        status: 400,
        error: 'invalid_target',
      }),
    ),
    {
      kind: 'token exchange',
      name: 'nine audiences',
      send: () => exchange(user.access, { audience: Array.from({ length: 9 }, () => 'users-service') }),
      status: 400,
      error: 'invalid_request',
      because: /At most 8/,
    },

    // --- request encoding (RFC 6749 §3.1, §3.2; RFC 7009 §2.1; RFC 7662 §2.1) ---
    ...(
      [
        ['grant_type with two values', { grant_type: ['refresh_token', 'client_credentials'] }],
        ['client_id twice', { grant_type: 'client_credentials', client_id: [REPORTING.id, REPORTING.id] }],
        [
          'client_secret twice',
          {
            grant_type: 'client_credentials',
            client_id: REPORTING.id,
            client_secret: [REPORTING.secret, REPORTING.secret],
          },
        ],
        ['scope twice', { grant_type: 'client_credentials', scope: ['users:read', 'users:read'] }],
        [
          'subject_token twice',
          {
            grant_type: EXCHANGE,
            subject_token: ['a.b.c', 'd.e.f'],
            subject_token_type: ACCESS_TOKEN_TYPE,
          },
        ],
      ] as const
    ).map(
      ([name, params]): EndpointAttack => ({
        kind: 'request encoding',
        name: `/oauth/token: ${name}`,
        send: () => token(params, name.startsWith('client_') ? {} : { authorization: basicOf(REPORTING) }),
        status: 400,
        error: 'invalid_request',
        because: /appears more than once/,
      }),
    ),
    ...['/oauth/token', '/oauth/revoke', '/oauth/introspect'].flatMap((path) =>
      ['text/plain', 'multipart/form-data; boundary=x'].map(
        (mediaType): EndpointAttack => ({
          kind: 'request encoding',
          name: `${path}: a ${mediaType.split(';')[0]} body`,
          send: () =>
            call('POST', url('auth', path), {
              body: 'grant_type=client_credentials&token=x',
              headers: { 'content-type': mediaType, authorization: basicOf(REPORTING) },
            }),
          status: 400,
          error: 'invalid_request',
          because: /application\/x-www-form-urlencoded/,
        }),
      ),
    ),
    ...(
      [
        ['/oauth/revoke', revoke],
        ['/oauth/introspect', introspect],
      ] as const
    ).flatMap(([path, send]): EndpointAttack[] => [
      {
        kind: 'request encoding',
        name: `${path}: a JSON body`,
        send: () =>
          call('POST', url('auth', path), {
            body: { token: user.access },
            headers: { authorization: basicOf(REPORTING) },
          }),
        status: 400,
        error: 'invalid_request',
        because: /application\/x-www-form-urlencoded/,
      },
      ...(
        [
          ['token twice', { token: [user.access, reportingToken] }],
          ['token_type_hint twice', { token: 'x', token_type_hint: ['access_token', 'refresh_token'] }],
          ['client_id twice', { token: 'x', client_id: [REPORTING.id, REPORTING.id] }],
        ] as const
      ).map(
        ([name, params]): EndpointAttack => ({
          kind: 'request encoding',
          name: `${path}: ${name}`,
          send: () => send(params, name.startsWith('client_') ? {} : { authorization: basicOf(REPORTING) }),
          status: 400,
          error: 'invalid_request',
          because: /appears more than once/,
        }),
      ),
      ...(
        [
          ['no token', { token_type_hint: 'access_token' }, /"token" is required/],
          ['an empty token', { token: '' }, /"token" is required/],
          ['a token of 9000 characters', { token: 'a'.repeat(9000) }, /"token" is too long/],
        ] as const
      ).map(
        ([name, params, because]): EndpointAttack => ({
          kind: 'request encoding',
          name: `${path}: ${name}`,
          send: () => send(params, { authorization: basicOf(REPORTING) }),
          status: 400,
          error: 'invalid_request',
          because,
        }),
      ),
      {
        kind: 'request encoding',
        name: `${path}: an empty body`,
        send: () => send('', { authorization: basicOf(REPORTING) }),
        status: 400,
        error: 'invalid_request',
        because: /application\/x-www-form-urlencoded/,
      },
      {
        kind: 'request encoding',
        name: `${path}: a body client_id naming another client than HTTP Basic`,
        send: () => send({ token: user.access, client_id: ORDERS.id }, { authorization: basicOf(REPORTING) }),
        status: 400,
        error: 'invalid_request',
        because: /more than one client authentication method/,
      },
      {
        kind: 'client authentication',
        name: `${path}: a confidential client without its secret`,
        send: () => send({ token: user.access, client_id: REPORTING.id }),
        status: 401,
        error: 'invalid_client',
      },
    ]),
    badClient('/oauth/introspect: the public client (introspection is for confidential clients)', () =>
      introspect({ token: user.access, client_id: 'first-party-app' }),
    ),
  ];

  it('accepts what the rows bend, so each refusal is for its own reason', async () => {
    expect((await call('GET', url('users', '/users/me'), { token: exchanged })).status).toBe(200);
    expect(decodeJwt(exchanged)).toMatchObject({ act: { sub: 'orders-service' }, aud: 'users-service' });
    expect((await call('GET', url('users', '/users/me'), { token: signed(exchangedClaims()) })).status).toBe(200);
    expect((await call('GET', url('users', '/users'), { token: signed(serviceClaims()) })).status).toBe(200);
    expect((await call('GET', url('users', '/users'), { token: reportingToken })).status).toBe(200);
    expect((await call('GET', url('orders', '/orders'), { token: user.access })).status).toBe(200);
    // A subject token the suite signs is exchanged, so the exchange rows fail for what they bend.
    expect((await exchange(signed(userClaims()))).status).toBe(200);
    const old = now() - 600;
    expect((await exchange(signed(userClaims({ iat: old, auth_time: old, exp: now() + 290 })))).status).toBe(200);
    expect((await exchange(user.access, { audience: 'users-service', scope: 'profile:read' })).status).toBe(200);
    // fulfilment-job's token is good at orders-service where a service may call: none of its routes lets one in.
    expect(decodeJwt(fulfilmentToken)).toMatchObject({ sub: FULFILMENT.id, aud: 'orders-service' });
  });

  it.each(tokenAttacks.map((attack) => [attack.kind, attack.name, attack.expected.status, attack] as const))(
    '%s: %s → %d',
    async (_kind, _name, _status, attack) => {
      const response = await call(attack.method, url(attack.at, attack.path), {
        token: await attack.token(),
        body: attack.body,
      });
      const realm = `${attack.at}-service`;
      const { expected } = attack;
      if (expected.status === 401) {
        expectProblem(response, 401, 'invalid_token');
        expect(response.body.reason).toBe(expected.reason);
        expect(response.headers.get('www-authenticate')).toMatch(
          new RegExp(`^Bearer realm="${realm}", error="invalid_token"`),
        );
      } else {
        expectProblem(response, 403, 'insufficient_scope');
        expect(response.headers.get('www-authenticate')).toMatch(
          new RegExp(`^Bearer realm="${realm}", error="insufficient_scope"`),
        );
        if ('acceptedPrincipals' in expected) {
          expect(response.body.accepted_principals).toBe(expected.acceptedPrincipals);
        } else {
          expect(response.headers.get('www-authenticate')).toContain(`scope="${expected.scope}"`);
        }
      }
      expect(JSON.stringify(response.body)).not.toMatch(LEAK);
    },
  );

  it.each(endpointAttacks.map((attack) => [attack.kind, attack.name, attack.status, attack.error, attack] as const))(
    '%s: %s → %d %s',
    async (_kind, _name, _status, _error, attack) => {
      const response = await attack.send();
      expectProblem(response, attack.status, attack.error);
      expect(response.body.error).toBe(attack.error);
      expect(response.body.error_description).toEqual(expect.any(String));
      if (attack.because) expect(response.body.error_description).toMatch(attack.because);
      if (attack.status === 401) expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="/);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const text = JSON.stringify(response.body);
      expect(text).not.toMatch(LEAK);
      for (const secret of SECRETS) expect(text).not.toContain(secret);
      for (const presented of [user.access, user.refresh, exchanged, reportingToken, fulfilmentToken]) {
        expect(text).not.toContain(presented.slice(-24));
      }
    },
  );

  it("lets the public client revoke only its own tokens: a service's and a delegate's stay valid", async () => {
    for (const other of [reportingToken, exchanged]) {
      expect((await revoke({ token: other, client_id: 'first-party-app' })).status).toBe(200);
    }
    // A revocation that does take effect, sent after them: once it has reached users-service (pub/sub keeps
    // the order), any revocation the two requests above had made would have arrived too.
    const sentinel = await login();
    expect((await revoke({ token: sentinel.access, client_id: 'first-party-app' })).status).toBe(200);
    expectProblem(
      await afterRevocation('GET', url('users', '/users/me'), { token: sentinel.access }),
      401,
      'invalid_token',
    );
    expect((await call('GET', url('users', '/users'), { token: reportingToken })).status).toBe(200);
    expect((await call('GET', url('users', '/users/me'), { token: exchanged })).status).toBe(200);
  });

  it('the issuer agrees: introspection calls every forged act token inactive, and shows the real act', async () => {
    const inspect = async (presented: string) =>
      (await introspect({ token: presented }, { authorization: basicOf(REPORTING) })).body;
    expect(await inspect(exchanged)).toMatchObject({
      active: true,
      act: { sub: 'orders-service' },
      client_id: 'orders-service',
    });
    const forged = [
      tamper(user.access, (claims) => ({ ...claims, act: { sub: 'orders-service' } })),
      tamper(exchanged, withoutAct),
      forge(header(), exchangedClaims(), attackerKey.privateKey),
      signed(exchangedClaims({ act: { sub: 'orders-service', act: { sub: 'reporting-job' } } })),
      signed(exchangedClaims({ act: 'orders-service' })),
      signed(exchangedClaims({ act: {} })),
      signed(serviceClaims({ act: { sub: 'orders-service' } })),
    ];
    for (const presented of forged) expect(await inspect(presented)).toEqual({ active: false });
  });

  it('answers a wrong secret in about the time of an unknown client id or a public one (argon2 dominates)', async () => {
    // Medians of 9 interleaved attempts each, compared within a factor of 3: one argon2id verification
    // (64 MiB, t = 3) costs tens to hundreds of milliseconds, an answer without one a few; a path that skipped
    // it would be ten times faster or more, well beyond what a loaded machine's noise makes of medians.
    // The exact count per path is asserted in client-authenticator.spec.ts.
    const clientCredentialsAs =
      (authorization?: string, form: Form = {}) =>
      () =>
        token({ grant_type: 'client_credentials', ...form }, authorization ? { authorization } : {});
    const paths = {
      unknownId: clientCredentialsAs(basic('ghost-job', 'reporting-job-e2e-secret-not-for-productioN')),
      knownIdWrongSecret: clientCredentialsAs(basic(REPORTING.id, 'reporting-job-e2e-secret-not-for-productioN')),
      publicIdWithSecret: clientCredentialsAs(basic('first-party-app', 'reporting-job-e2e-secret-not-for-productioN')),
      // No secret presented: nothing to compare, no argon2. Shows that the measure sees one argon2 computation.
      noSecret: clientCredentialsAs(undefined, { client_id: REPORTING.id }),
    };
    // reporting-job's right secret proven and remembered: its wrong secret takes the path past the cache.
    expect((await clientCredentialsAs(basicOf(REPORTING))()).status).toBe(200);
    const times: Record<keyof typeof paths, number[]> = {
      unknownId: [],
      knownIdWrongSecret: [],
      publicIdWithSecret: [],
      noSecret: [],
    };
    for (let round = 0; round < 10; round += 1) {
      for (const [name, send] of Object.entries(paths) as Array<[keyof typeof paths, () => Promise<JsonResponse>]>) {
        const started = performance.now();
        const response = await send();
        const elapsed = performance.now() - started;
        expectProblem(response, 401, 'invalid_client');
        if (round > 0) times[name].push(elapsed); // the first round warms every path up
      }
    }
    const medians = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]));
    const argon2Paths = [medians['unknownId'], medians['knownIdWrongSecret'], medians['publicIdWithSecret']];
    console.log(
      `client authentication, median ms of 9: ${Object.entries(medians)
        .map(([name, value]) => `${name} ${value.toFixed(1)}`)
        .join(', ')}`,
    );
    expect(Math.max(...argon2Paths) / Math.min(...argon2Paths)).toBeLessThan(3);
    expect(medians['noSecret']).toBeLessThan(Math.min(...argon2Paths));
  }, 120_000);

  it('is still healthy and still honours valid tokens afterwards', async () => {
    for (const service of ['auth', 'users', 'orders'] as const) {
      expect((await call('GET', url(service, '/health/ready'))).status).toBe(200);
    }
    expect((await call('GET', url('users', '/users/me'), { token: exchanged })).status).toBe(200);
    expect((await token({ grant_type: 'client_credentials' }, { authorization: basicOf(REPORTING) })).status).toBe(200);
    const kinds = new Set([...tokenAttacks, ...endpointAttacks].map((attack) => attack.kind));
    console.log(
      `OAuth attack conformance: ${tokenAttacks.length + endpointAttacks.length} attacks refused (${tokenAttacks.length} tokens at the resource services, ${endpointAttacks.length} requests to the issuer's OAuth endpoints, in ${kinds.size} kinds)`,
    );
  });
});
