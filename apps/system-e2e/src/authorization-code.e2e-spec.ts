import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { TcpProxy } from '@jwt-ms/testing';
import { startStack, type Stack } from './support/stack';
import { afterRevocation, call, expectProblem } from './support/http';
import { clientRegistry } from './support/oauth-clients';
import { FormBrowser, loginFormOf, signInThroughPage } from './support/browser-form';

/**
 * The authorization-code flow with PKCE (RFC 6749 §4.1, RFC 7636) at the
 * issuer, driven by an unmodified standard client, openid-client, configured
 * as its documentation shows (the issuer URL and a client id), with the login
 * form filled in as a browser fills it; then each attack on the flow.
 *
 * The one concession is plain HTTP on loopback (`allowInsecureRequests`,
 * openid-client's documented switch for development).
 */
const PASSWORD = 'correct horse battery staple';
/** A loopback IP literal: the registered `http://127.0.0.1/callback` matches any port (RFC 8252 §7.3). */
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const PARTNER = { id: 'partner-app', secret: 'partner-app-test-secret', redirect: 'http://127.0.0.1:9/partner' };

describe('the authorization-code flow with PKCE, with a standard client and a browser form', () => {
  let stack: Stack;
  let proxy: TcpProxy;
  let issuer: URL;
  let config: client.Configuration;
  let user: { email: string; id: string };

  beforeAll(async () => {
    // The issuer identifier must reach the issuer (RFC 8414 §3): a forwarder listens first and is its address.
    let authPort = 0;
    proxy = new TcpProxy(() => authPort);
    await proxy.start();
    issuer = new URL(`http://127.0.0.1:${proxy.port}`);
    const registry = JSON.parse(
      await clientRegistry([
        {
          id: PARTNER.id,
          secret: PARTNER.secret,
          registration: {
            grant_types: ['authorization_code'],
            redirect_uris: ['http://127.0.0.1/partner'],
            scope: 'profile:read',
            audience: ['users-service'],
          },
        },
      ]),
    ) as unknown[];
    registry.push({
      client_id: 'console',
      grant_types: ['authorization_code'],
      scope: 'profile:read profile:write orders:read orders:write',
      audience: ['auth-service', 'users-service', 'orders-service'],
      redirect_uris: ['http://127.0.0.1/callback', 'http://localhost:3003/callback'],
    });
    const everyService = { AUTH_ISSUER: issuer.origin };
    stack = await startStack('sqlite', {
      'auth-service': { ...everyService, OAUTH_CLIENTS: JSON.stringify(registry) },
      'users-service': everyService,
      'orders-service': everyService,
    });
    authPort = Number(new URL(stack.auth).port);
    user = { email: `browser.${Date.now().toString(36)}@example.test`, id: '' };
    const registered = await call('POST', `${issuer.origin}/auth/register`, {
      body: { email: user.email, password: PASSWORD },
    });
    expect(registered.status).toBe(201);
    user.id = registered.body.id;
    config = await client.discovery(issuer, 'console', undefined, client.None(), {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await proxy?.stop();
  }, 60_000);

  /** An authorization request as openid-client builds it, with its PKCE verifier and state. */
  const authorizationRequest = async (parameters: Record<string, string> = {}) => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      ...parameters,
    });
    return { url, verifier, state };
  };

  /** Signs in through the page and redeems the code with openid-client. */
  const signIn = async (browser = new FormBrowser()) => {
    const { url, verifier, state } = await authorizationRequest();
    const callback = await signInThroughPage(browser, url, { email: user.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    return { tokens, browser, callback };
  };

  /** A code from the page, not yet redeemed, with what redeeming it needs. */
  const codeFromPage = async (browser = new FormBrowser()) => {
    const { url, verifier } = await authorizationRequest();
    const callback = await signInThroughPage(browser, url, { email: user.email, password: PASSWORD });
    return { code: callback.searchParams.get('code') ?? '', verifier, browser };
  };

  const redeem = (parameters: Record<string, string>) =>
    call('POST', `${issuer.origin}/oauth/token`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: 'console',
        redirect_uri: REDIRECT_URI,
        ...parameters,
      }).toString(),
    });

  it('publishes the authorization endpoint, code with S256 only, and RFC 9207 iss (RFC 8414 §2)', () => {
    const metadata = config.serverMetadata();
    expect(metadata).toMatchObject({
      issuer: issuer.origin,
      authorization_endpoint: `${issuer.origin}/oauth/authorize`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(metadata.grant_types_supported).toContain('authorization_code');
  });

  it('gives openid-client an access token for the user, accepted by users and orders', async () => {
    const { tokens, callback } = await signIn();
    // RFC 9207 §2: the response names its issuer (openid-client checked it too).
    expect(callback.searchParams.get('iss')).toBe(issuer.origin);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).toBeUndefined();
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ sub: user.id, client_id: 'console', iss: issuer.origin });
    expect(claims.aud).toEqual(['auth-service', 'users-service', 'orders-service']);
    expect(Number.isInteger(claims['auth_time'])).toBe(true);
    const me = await call('GET', `${stack.users}/users/me`, { token: tokens.access_token });
    expect({ status: me.status, id: me.body.id }).toEqual({ status: 200, id: user.id });
    expect((await call('GET', `${stack.orders}/orders`, { token: tokens.access_token })).status).toBe(200);
  });

  it('narrows the audience to the resource asked for (RFC 8707): orders refuses a users-only token', async () => {
    const browser = new FormBrowser();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      resource: 'urn:jwt-ms:users-service',
    });
    const callback = await signInThroughPage(browser, url, { email: user.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    // One audience is a string (RFC 7519 §4.1.3).
    expect(decodeJwt(tokens.access_token).aud).toBe('users-service');
    expect((await call('GET', `${stack.users}/users/me`, { token: tokens.access_token })).status).toBe(200);
    expect((await call('GET', `${stack.orders}/orders`, { token: tokens.access_token })).status).toBe(401);
  });

  it('answers a second authorization of the same browser from its login session, without the page', async () => {
    const { browser, tokens } = await signIn();
    const { url } = await authorizationRequest();
    const again = await browser.request(url);
    expect(again.status).toBe(302);
    const location = new URL(again.location ?? '');
    expect(location.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The same session: logging out ends it, and the next authorization shows the page again.
    expect((await call('POST', `${issuer.origin}/auth/logout`, { token: tokens.access_token })).status).toBe(204);
    const afterLogout = await browser.request((await authorizationRequest()).url);
    expect(afterLogout.status).toBe(200);
    expect(afterLogout.text).toContain('name="password"');
  });

  describe('the login page', () => {
    it('has no script, a CSP without unsafe-inline, no framing, and HttpOnly SameSite=Lax cookies', async () => {
      const browser = new FormBrowser();
      const page = await browser.request((await authorizationRequest()).url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.text).not.toMatch(/<script/i);
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("form-action 'self' http://127.0.0.1:9");
      expect(csp).not.toContain('unsafe-inline');
      expect(page.headers.get('cache-control')).toBe('no-store');
      // Under no-referrer a browser posts the form with `Origin: null`, which the origin check refuses: the
      // page must keep the real Origin on its post to itself (and still send no Referer to the client).
      expect(page.headers.get('referrer-policy')).toBe('same-origin');
      expect(page.text).toContain('<meta name="referrer" content="same-origin">');
      const cookie = page.headers.getSetCookie().join('\n');
      expect(cookie).toMatch(/jwtms-browser=[A-Za-z0-9_-]{43}; Max-Age=\d+; Path=\/oauth\/; HttpOnly; SameSite=Lax/);
    });

    it('shows itself again with one generic message for a wrong password or an unknown email', async () => {
      for (const email of [user.email, `nobody.${Date.now()}@example.test`]) {
        const browser = new FormBrowser();
        const page = await browser.request((await authorizationRequest()).url);
        const posted = await browser.request(new URL('/oauth/authorize', issuer), {
          form: { ...loginFormOf(page.text), email, password: 'not the password at all' },
        });
        expect({ status: posted.status, location: posted.location }).toEqual({ status: 400, location: null });
        expect(posted.text).toContain('The email or password is wrong.');
        expect(posted.text).toContain('name="csrf_token"');
        expect(browser.cookies.has('jwtms-session')).toBe(false);
      }
    });

    it('refuses a form without its CSRF token, with another one, or from another browser (403)', async () => {
      const browser = new FormBrowser();
      const page = await browser.request((await authorizationRequest()).url);
      const form = { ...loginFormOf(page.text), email: user.email, password: PASSWORD };
      const target = new URL('/oauth/authorize', issuer);
      const noToken = await browser.request(target, { form: { ...form, csrf_token: '' } });
      expect(noToken.status).toBe(400);
      const wrongToken = await browser.request(target, {
        form: { ...form, csrf_token: randomBytes(32).toString('base64url') },
      });
      expect(wrongToken.status).toBe(403);
      // The attacker's own browser with the victim's hidden fields: no binding cookie of that page.
      const elsewhere = await new FormBrowser().request(target, { form });
      expect(elsewhere.status).toBe(403);
      for (const refused of [wrongToken, elsewhere]) {
        expect(refused.location).toBeNull();
        expect(refused.text).not.toContain('name="password"');
      }
      // None of them burned the page: its own form still signs in.
      const posted = await browser.request(target, { form });
      expect(posted.status).toBe(303);
    });

    it('refuses a form posted cross-site (Origin, Sec-Fetch-Site), as JSON for a non-browser', async () => {
      const browser = new FormBrowser();
      const page = await browser.request((await authorizationRequest()).url);
      const form = { ...loginFormOf(page.text), email: user.email, password: PASSWORD };
      const target = new URL('/oauth/authorize', issuer);
      const crossOrigin = await browser.request(target, { form, headers: { origin: 'https://evil.example' } });
      expect(crossOrigin.status).toBe(403);
      // A sibling port of the same host is same-site for the browser, and still not this page.
      const sameSite = await browser.request(target, { form, headers: { 'sec-fetch-site': 'same-site' } });
      expect(sameSite.status).toBe(403);
      const asJson = await call('POST', target.toString(), {
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
        body: new URLSearchParams(form).toString(),
      });
      expectProblem(asJson, 403, 'access_denied');
      expect(asJson.body.error).toBe('access_denied');
    });
  });

  describe('authorization requests it refuses', () => {
    const refusedWithoutRedirect = async (parameters: Record<string, string>) => {
      const url = new URL('/oauth/authorize', issuer);
      for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
      const answer = await new FormBrowser().request(url);
      expect({ status: answer.status, location: answer.location }).toEqual({ status: 400, location: null });
      const asJson = await call('GET', url.toString());
      expectProblem(asJson, 400, 'invalid_request');
    };

    it('never redirects to an unregistered URI (no open redirector, RFC 9700 §4.11)', async () => {
      const { url } = await authorizationRequest();
      for (const redirect of [
        'https://evil.example/callback',
        'http://127.0.0.1.evil.example/callback',
        'http://127.0.0.1:9/callback/../evil',
        'http://127.0.0.1:9/callback?next=https://evil.example',
        'http://localhost:3003/callback/',
        'http://localhost:3004/callback',
        'http://evil.example@127.0.0.1:9/callback',
      ]) {
        const parameters = Object.fromEntries(url.searchParams);
        await refusedWithoutRedirect({ ...parameters, redirect_uri: redirect });
      }
    });

    it('never redirects for an unknown client, or one without the code grant', async () => {
      const { url } = await authorizationRequest();
      const parameters = Object.fromEntries(url.searchParams);
      await refusedWithoutRedirect({ ...parameters, client_id: 'nobody' });
      await refusedWithoutRedirect({ ...parameters, client_id: 'first-party-app' });
    });

    it.each([
      ['no code challenge', 'invalid_request', { code_challenge: '' }],
      ['the plain method', 'invalid_request', { code_challenge_method: 'plain' }],
      ['no method (RFC 7636 would default to plain)', 'invalid_request', { code_challenge_method: '' }],
      ['a malformed challenge', 'invalid_request', { code_challenge: 'short' }],
      ['the implicit grant', 'unsupported_response_type', { response_type: 'token' }],
      ['no state', 'invalid_request', { state: '' }],
      ['a scope beyond the client', 'invalid_scope', { scope: 'users:admin' }],
      ['an unknown resource', 'invalid_target', { resource: 'urn:jwt-ms:billing-service' }],
    ])('sends %s back to the client as %s, with iss', async (_what, error, change) => {
      const { url, state } = await authorizationRequest();
      for (const [name, value] of Object.entries(change)) {
        if (value === '') url.searchParams.delete(name);
        else url.searchParams.set(name, value);
      }
      const answer = await new FormBrowser().request(url);
      expect(answer.status).toBe(302);
      const location = new URL(answer.location ?? '');
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
      expect(location.searchParams.get('error')).toBe(error);
      expect(location.searchParams.get('iss')).toBe(issuer.origin);
      expect(location.searchParams.get('code')).toBeNull();
      if (url.searchParams.has('state')) expect(location.searchParams.get('state')).toBe(state);
    });
  });

  describe('redeeming a code', () => {
    it('refuses a wrong verifier, another redirect URI or another client, without burning the code', async () => {
      const { code, verifier } = await codeFromPage();
      const wrongVerifier = await redeem({ code, code_verifier: client.randomPKCECodeVerifier() });
      expectProblem(wrongVerifier, 400, 'invalid_grant');
      const otherRedirect = await redeem({
        code,
        code_verifier: verifier,
        redirect_uri: 'http://127.0.0.1:10/callback',
      });
      expectProblem(otherRedirect, 400, 'invalid_grant');
      const otherClient = await call('POST', `${issuer.origin}/oauth/token`, {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${PARTNER.id}:${PARTNER.secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          redirect_uri: REDIRECT_URI,
        }).toString(),
      });
      expectProblem(otherClient, 400, 'invalid_grant');
      const noVerifier = await redeem({ code });
      expectProblem(noVerifier, 400, 'invalid_request');
      // The verifier itself (a "plain" challenge's answer) is no S256 verifier of its own hash.
      const plain = await redeem({ code, code_verifier: createHash('sha256').update(verifier).digest('base64url') });
      expectProblem(plain, 400, 'invalid_grant');
      const redeemed = await redeem({ code, code_verifier: verifier });
      expect(redeemed.status).toBe(200);
      expect(redeemed.headers.get('cache-control')).toBe('no-store');
    });

    it('revokes the tokens issued from a code that is redeemed twice (RFC 6749 §4.1.2)', async () => {
      const { code, verifier } = await codeFromPage();
      const first = await redeem({ code, code_verifier: verifier });
      expect(first.status).toBe(200);
      const token = first.body.access_token as string;
      expect((await call('GET', `${stack.users}/users/me`, { token })).status).toBe(200);
      const replay = await redeem({ code, code_verifier: verifier });
      expectProblem(replay, 400, 'invalid_grant');
      expect((await afterRevocation('GET', `${stack.users}/users/me`, { token })).status).toBe(401);
      expect((await afterRevocation('GET', `${stack.orders}/orders`, { token })).status).toBe(401);
    });

    it('gives one token to one of two concurrent redemptions, and revokes it', async () => {
      const { code, verifier } = await codeFromPage();
      const answers = await Promise.all([1, 2, 3].map(() => redeem({ code, code_verifier: verifier })));
      const issued = answers.filter((answer) => answer.status === 200);
      expect(issued.length).toBeLessThanOrEqual(1);
      for (const answer of answers.filter((a) => a.status !== 200)) expectProblem(answer, 400, 'invalid_grant');
      for (const answer of issued) {
        const token = answer.body.access_token as string;
        expect((await afterRevocation('GET', `${stack.users}/users/me`, { token })).status).toBe(401);
      }
    });

    it('refuses a code the issuer never made', async () => {
      expectProblem(
        await redeem({ code: randomBytes(32).toString('base64url'), code_verifier: client.randomPKCECodeVerifier() }),
        400,
        'invalid_grant',
      );
    });
  });
});
