import { decodeJwt } from 'jose';
import { startStack, type Stack } from './support/stack';
import { afterRevocation, call, expectProblem, type JsonResponse } from './support/http';

const PASSWORD = 'correct horse battery staple';
/** The development clients (README): the stack runs without OAUTH_CLIENTS. */
const ORDERS = { id: 'orders-service', secret: 'orders-service-dev-secret-not-for-production' };
const REPORTING = { id: 'reporting-job', secret: 'reporting-job-dev-secret-not-for-production' };
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const basic = (client: { id: string; secret: string }) =>
  `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;

/** POSTs a form body (RFC 6749 §3.2); a parameter given as an array is repeated. */
async function tokenRequest(
  url: string,
  params: Record<string, string | string[]>,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) body.append(name, item);
  }
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: body.toString(),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

describe('POST /oauth/token: refresh_token, client_credentials, token exchange, audience per service', () => {
  let stack: Stack;
  let token: (params: Record<string, string | string[]>, headers?: Record<string, string>) => Promise<JsonResponse>;

  beforeAll(async () => {
    stack = await startStack('sqlite');
    token = (params, headers) => tokenRequest(`${stack.auth}/oauth/token`, params, headers);
  });

  afterAll(async () => {
    await stack?.close();
  });

  const login = async () => {
    const email = `token.${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}@example.test`;
    await call('POST', `${stack.auth}/auth/register`, { body: { email, password: PASSWORD } });
    const response = await call('POST', `${stack.auth}/auth/login`, { body: { email, password: PASSWORD } });
    expect(response.status).toBe(200);
    return { access: response.body.access_token as string, refresh: response.body.refresh_token as string };
  };
  const exchange = (subject: string, extra: Record<string, string | string[]> = {}) =>
    token(
      { grant_type: EXCHANGE, subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE, ...extra },
      { authorization: basic(ORDERS) },
    );

  it('client_credentials: a service token with sub = client id, accepted where a service may call, nowhere else', async () => {
    const response = await token({ grant_type: 'client_credentials' }, { authorization: basic(REPORTING) });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toMatchObject({ token_type: 'Bearer', scope: 'users:read', expires_in: expect.any(Number) });
    expect(response.body).not.toHaveProperty('refresh_token');
    const claims = decodeJwt(response.body.access_token);
    expect(claims).toMatchObject({ sub: 'reporting-job', client_id: 'reporting-job', aud: 'users-service' });
    for (const userClaim of ['sid', 'email', 'roles', 'auth_time']) expect(claims).not.toHaveProperty(userClaim);
    const service = response.body.access_token as string;
    expect((await call('GET', `${stack.users}/users`, { token: service })).status).toBe(200);
    expectProblem(await call('GET', `${stack.users}/users/me`, { token: service }), 403, 'insufficient_scope');
    expectProblem(await call('GET', `${stack.orders}/orders`, { token: service }), 401, 'invalid_token');
    // client_secret_post works as well as Basic.
    const post = await token({
      grant_type: 'client_credentials',
      client_id: REPORTING.id,
      client_secret: REPORTING.secret,
    });
    expect(post.status).toBe(200);
  });

  it('refresh_token with a resource indicator: a token for users-service only, refused by orders-service', async () => {
    const session = await login();
    const response = await token({
      grant_type: 'refresh_token',
      refresh_token: session.refresh,
      client_id: 'first-party-app',
      resource: 'urn:jwt-ms:users-service',
    });
    expect(response.status).toBe(200);
    expect(decodeJwt(response.body.access_token).aud).toBe('users-service');
    expect(Number.isInteger(decodeJwt(response.body.access_token).auth_time)).toBe(true);
    expect((await call('GET', `${stack.users}/users/me`, { token: response.body.access_token })).status).toBe(200);
    expectProblem(
      await call('GET', `${stack.orders}/orders`, { token: response.body.access_token }),
      401,
      'invalid_token',
    );
  });

  it('token exchange: aud users-service only, act = orders-service, narrower scope, same session; dies with it', async () => {
    const session = await login();
    const response = await exchange(session.access, { audience: 'users-service' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      scope: 'profile:read',
    });
    const subject = decodeJwt(session.access);
    const exchanged = decodeJwt(response.body.access_token);
    expect(exchanged).toMatchObject({
      sub: subject.sub,
      sid: subject['sid'],
      auth_time: subject['auth_time'],
      aud: 'users-service',
      client_id: 'orders-service',
      act: { sub: 'orders-service' },
      roles: [],
    });
    expect(exchanged.exp! - exchanged.iat!).toBeLessThanOrEqual(300);
    expect(exchanged.exp!).toBeLessThanOrEqual(subject.exp!);
    const me = await call('GET', `${stack.users}/users/me`, { token: response.body.access_token });
    expect(me.status).toBe(200);
    expectProblem(
      await call('GET', `${stack.orders}/orders`, { token: response.body.access_token }),
      401,
      'invalid_token',
    );
    // Exchanged once only: the delegated token cannot be exchanged again.
    expectProblem(await exchange(response.body.access_token), 400, 'invalid_request');
    expect((await call('POST', `${stack.auth}/auth/logout`, { token: session.access })).status).toBe(204);
    expectProblem(
      await afterRevocation('GET', `${stack.users}/users/me`, { token: response.body.access_token }),
      401,
      'invalid_token',
    );
  });

  it.each([
    [
      'a grant the client was not given',
      () => token({ grant_type: 'client_credentials' }, { authorization: basic(ORDERS) }),
      400,
      'unauthorized_client',
    ],
    [
      'a wider scope than the subject token and the client hold',
      async () => exchange((await login()).access, { scope: 'orders:write' }),
      400,
      'invalid_scope',
    ],
    [
      'an audience the client may not ask for',
      async () => exchange((await login()).access, { audience: 'orders-service' }),
      400,
      'invalid_target',
    ],
    [
      'an unknown resource',
      async () => exchange((await login()).access, { resource: 'https://evil.example/' }),
      400,
      'invalid_target',
    ],
    ['a subject token that is not a token', () => exchange('not-a-token'), 400, 'invalid_request'],
    [
      'a wrong secret',
      () =>
        token(
          { grant_type: 'client_credentials' },
          { authorization: basic({ ...REPORTING, secret: 'wrong-secret-wrong-secret' }) },
        ),
      401,
      'invalid_client',
    ],
    [
      'an unknown client',
      () =>
        token(
          { grant_type: 'client_credentials' },
          { authorization: basic({ id: 'nobody', secret: 'wrong-secret-wrong-secret' }) },
        ),
      401,
      'invalid_client',
    ],
    [
      'the password grant',
      () => token({ grant_type: 'password', username: 'a', password: 'b', client_id: 'first-party-app' }),
      400,
      'unsupported_grant_type',
    ],
    ['no grant_type', () => token({ client_id: 'first-party-app' }), 400, 'invalid_request'],
    [
      'a repeated parameter',
      () => token({ grant_type: ['client_credentials', 'client_credentials'] }, { authorization: basic(REPORTING) }),
      400,
      'invalid_request',
    ],
    [
      'two client authentication methods',
      () =>
        token(
          { grant_type: 'client_credentials', client_secret: REPORTING.secret },
          { authorization: basic(REPORTING) },
        ),
      400,
      'invalid_request',
    ],
  ] as const)('refuses %s with the RFC error', async (_name, send, status, error) => {
    const response = await send();
    expectProblem(response, status, error);
    expect(response.body.error).toBe(error);
  });

  it('refuses a JSON body (RFC 6749 §3.2: form-encoded only)', async () => {
    const response = await call('POST', `${stack.auth}/oauth/token`, {
      body: { grant_type: 'client_credentials', client_id: REPORTING.id, client_secret: REPORTING.secret },
    });
    expectProblem(response, 400, 'invalid_request');
    expect(response.body.error).toBe('invalid_request');
  });

  it('publishes RFC 8414 metadata listing exactly the endpoints and grants offered', async () => {
    const metadata = await call('GET', `${stack.auth}/.well-known/oauth-authorization-server`);
    expect(metadata.status).toBe(200);
    expect(metadata.body.grant_types_supported).toEqual([
      'authorization_code',
      'refresh_token',
      'client_credentials',
      EXCHANGE,
    ]);
    expect(metadata.body.token_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'none',
    ]);
    expect(metadata.body.introspection_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
    ]);
  });
});
