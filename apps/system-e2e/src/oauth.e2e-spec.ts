import { clientRegistry } from './support/oauth-clients';
import { startStack, type Stack } from './support/stack';
import { afterRevocation, expectProblem, type JsonResponse } from './support/http';

const PASSWORD = 'correct horse battery staple';
const CLIENT = { id: 'users-service', secret: 'users-service-secret-for-tests' };
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** POSTs a form-urlencoded body, as RFC 7009 and RFC 7662 clients do. */
async function form(
  url: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

describe('standard endpoints: RFC 7009 revocation and RFC 7662 introspection', () => {
  let stack: Stack;
  let session: { access: string; refresh: string; sub: string };

  beforeAll(async () => {
    stack = await startStack('postgres', { 'auth-service': { OAUTH_CLIENTS: await clientRegistry([CLIENT]) } });
  });

  afterAll(async () => {
    await stack?.close();
  });

  const login = async () => {
    const email = `oauth.${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}@example.test`;
    const registered = await fetch(`${stack.auth}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    const { id } = await registered.json();
    const response = await fetch(`${stack.auth}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    const body = await response.json();
    return { access: body.access_token as string, refresh: body.refresh_token as string, sub: id as string, email };
  };
  const introspect = (token: string, extra: Record<string, string> = {}) =>
    form(`${stack.auth}/oauth/introspect`, { token, ...extra }, { authorization: basic(CLIENT.id, CLIENT.secret) });
  const usersMe = (token: string) =>
    fetch(`${stack.users}/users/me`, { headers: { authorization: `Bearer ${token}` } });

  beforeEach(async () => {
    session = await login();
  });

  it('introspection needs an authenticated resource server (invalid_client otherwise)', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: basic(CLIENT.id, 'wrong-secret-wrong-secret') },
      { authorization: basic('first-party-app', '') },
    ]) {
      const response = await form(`${stack.auth}/oauth/introspect`, { token: session.access }, headers);
      expectProblem(response, 401, 'invalid_client');
      expect(response.body.error).toBe('invalid_client');
      expect(response.headers.get('www-authenticate')).toBe('Basic realm="auth-service"');
    }
    const viaBody = await form(`${stack.auth}/oauth/introspect`, {
      token: session.access,
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
    });
    expect(viaBody.body.active).toBe(true);
  });

  it('describes an active access token, and says only {active: false} for anything else', async () => {
    const response = await introspect(session.access);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toMatchObject({
      active: true,
      token_type: 'Bearer',
      client_id: 'first-party-app',
      sub: session.sub,
      scope: 'profile:read profile:write orders:read orders:write',
      exp: expect.any(Number),
      iat: expect.any(Number),
      jti: expect.any(String),
    });
    for (const token of ['garbage', `${session.access}x`, session.access.split('.').slice(0, 2).join('.') + '.']) {
      expect((await introspect(token)).body).toEqual({ active: false });
    }
    const refresh = await introspect(session.refresh, { token_type_hint: 'refresh_token' });
    expect(refresh.body).toMatchObject({ active: true, token_type: 'refresh_token', sub: session.sub });
    // A wrong hint only changes where to look first.
    expect((await introspect(session.refresh, { token_type_hint: 'access_token' })).body.active).toBe(true);
  });

  it('revokes an access token for the public client; every service then refuses it', async () => {
    const response = await form(`${stack.auth}/oauth/revoke`, {
      token: session.access,
      token_type_hint: 'access_token',
      client_id: 'first-party-app',
    });
    expect(response.status).toBe(200);
    expect(response.body).toBeNull();
    expect((await afterRevocation('GET', `${stack.users}/users/me`, { token: session.access })).status).toBe(401);
    expect((await introspect(session.access)).body).toEqual({ active: false });
    expect((await introspect(session.refresh)).body.active).toBe(true); // the refresh token was not named
  });

  it('revokes a refresh token with its whole session (RFC 7009 §2.1)', async () => {
    const response = await form(
      `${stack.auth}/oauth/revoke`,
      { token: session.refresh, token_type_hint: 'refresh_token' },
      { authorization: basic(CLIENT.id, CLIENT.secret) },
    );
    expect(response.status).toBe(200);
    const refreshed = await fetch(`${stack.auth}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: session.refresh }),
    });
    expect(refreshed.status).toBe(400);
    expect((await afterRevocation('GET', `${stack.users}/users/me`, { token: session.access })).status).toBe(401);
    expect((await introspect(session.refresh)).body).toEqual({ active: false });
  });

  it('answers 200 for an unknown token, 401 without a client, 400 without a token', async () => {
    expect(
      (await form(`${stack.auth}/oauth/revoke`, { token: 'no-such-token', client_id: 'first-party-app' })).status,
    ).toBe(200);
    expectProblem(await form(`${stack.auth}/oauth/revoke`, { token: session.access }), 401, 'invalid_client');
    expectProblem(
      await form(`${stack.auth}/oauth/revoke`, { token: session.access, client_id: 'someone-else' }),
      401,
      'invalid_client',
    );
    const noToken = await form(`${stack.auth}/oauth/revoke`, { client_id: 'first-party-app' });
    expectProblem(noToken, 400, 'invalid_request');
    expect(noToken.body.error).toBe('invalid_request'); // RFC 7009 §2.2.1: an RFC 6749 §5.2 error
    expect((await usersMe(session.access)).status).toBe(200);
  });

  it('takes form bodies only on /oauth, and refuses repeated parameters', async () => {
    const repeated = await fetch(`${stack.auth}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=a&token=b&client_id=first-party-app`,
    });
    expect(repeated.status).toBe(400);
    // RFC 6749 §3.2: unrecognised parameters are ignored.
    const extra = await form(`${stack.auth}/oauth/revoke`, { token: 'x', client_id: 'first-party-app', foo: 'bar' });
    expect(extra.status).toBe(200);
    const login = await form(`${stack.auth}/auth/login`, { email: 'a@example.test', password: 'x' });
    expectProblem(login, 415, 'unsupported_media_type');
  });
});
