import { ConfigError } from '@jwt-ms/service-core';
import { loadAuthServiceConfig } from '../../auth-service.config';
import { loadClientRegistry, redirectUriMatches } from '../clients/client-registry';
import { authorizationResponseUri, parseAuthorizationRequest } from './authorization-request';
import { escapeHtml, pageSecurityPolicy, renderLoginPage } from './login-page';

const FIRST_PARTY = {
  client_id: 'first-party-app',
  grant_types: ['refresh_token'],
  scope: 'profile:read',
  audience: ['users-service'],
};
const CONSOLE = {
  client_id: 'console',
  grant_types: ['authorization_code'],
  scope: 'profile:read orders:read',
  audience: ['users-service', 'orders-service'],
  redirect_uris: ['http://127.0.0.1/callback', 'https://console.example/callback'],
};

function registry(clients: unknown[]) {
  return loadClientRegistry(loadAuthServiceConfig({ NODE_ENV: 'test', OAUTH_CLIENTS: JSON.stringify(clients) }));
}

describe('redirectUriMatches (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3, RFC 8252 §7.3)', () => {
  const registered = ['https://console.example/callback', 'http://127.0.0.1/callback', 'http://localhost:3003/cb'];

  it('matches a registered URI exactly', () => {
    expect(redirectUriMatches(registered, 'https://console.example/callback')).toBe('https://console.example/callback');
    expect(redirectUriMatches(registered, 'http://localhost:3003/cb')).toBe('http://localhost:3003/cb');
  });

  it('lets a loopback IP literal take any port, and nothing else vary', () => {
    expect(redirectUriMatches(registered, 'http://127.0.0.1:53127/callback')).toBe('http://127.0.0.1/callback');
    for (const presented of [
      'http://127.0.0.1:53127/callback/',
      'http://127.0.0.1:53127/callback?x=1',
      'http://127.0.0.1:53127/Callback',
      'https://127.0.0.1:53127/callback',
      'http://localhost:3004/cb',
      'http://localhost/cb',
      'https://console.example:444/callback',
      'https://console.example/callback/../callback',
      'https://CONSOLE.example/callback',
      'http://127.0.0.1:53127@evil.example/callback',
      'http://evil.example/?http://127.0.0.1/callback',
      'not a uri',
    ]) {
      expect([presented, redirectUriMatches(registered, presented)]).toEqual([presented, undefined]);
    }
  });
});

describe('the registry refuses unusable redirect URIs at start', () => {
  it.each([
    ['a code client without redirect URIs', { ...CONSOLE, redirect_uris: [] }, 'needs redirect_uris'],
    ['a fragment', { ...CONSOLE, redirect_uris: ['https://console.example/cb#x'] }, 'without a fragment'],
    ['a relative URI', { ...CONSOLE, redirect_uris: ['/callback'] }, 'absolute'],
    ['a custom scheme', { ...CONSOLE, redirect_uris: ['javascript:alert(1)'] }, 'absolute'],
    ['redirect URIs without the grant', { ...CONSOLE, grant_types: ['refresh_token'] }, 'which it does not have'],
  ])('%s', (_what, entry, message) => {
    expect(() => registry([FIRST_PARTY, entry])).toThrow(ConfigError);
    expect(() => registry([FIRST_PARTY, entry])).toThrow(message);
  });

  it('accepts the console as a public client with the code grant', () => {
    expect(registry([FIRST_PARTY, CONSOLE]).find('console')).toMatchObject({
      type: 'public',
      redirectUris: CONSOLE.redirect_uris,
    });
  });
});

describe('parseAuthorizationRequest (RFC 6749 §4.1.1, §4.1.2.1)', () => {
  const clients = registry([FIRST_PARTY, CONSOLE]);
  const valid = {
    response_type: 'code',
    client_id: 'console',
    redirect_uri: 'http://127.0.0.1:8080/callback',
    state: 'xyz',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  };

  it('accepts a complete request, with every audience and the scope left to the default', () => {
    expect(parseAuthorizationRequest(valid, clients)).toMatchObject({
      kind: 'valid',
      request: {
        clientId: 'console',
        redirectUri: 'http://127.0.0.1:8080/callback',
        state: 'xyz',
        scope: undefined,
        audience: ['users-service', 'orders-service'],
      },
    });
  });

  it('checks the client and the redirect URI first: a bad one is never redirected to', () => {
    const bad = { ...valid, response_type: 'token', redirect_uri: 'https://evil.example/cb' };
    expect(parseAuthorizationRequest(bad, clients).kind).toBe('refused');
    expect(parseAuthorizationRequest({ ...valid, client_id: ['console', 'console'] }, clients).kind).toBe('refused');
    expect(
      parseAuthorizationRequest({ ...valid, redirect_uri: [valid.redirect_uri, valid.redirect_uri] }, clients).kind,
    ).toBe('refused');
  });

  it('redirects a repeated parameter as invalid_request, but takes several resources (RFC 8707 §2)', () => {
    expect(parseAuthorizationRequest({ ...valid, state: ['a', 'b'] }, clients)).toMatchObject({
      kind: 'redirect',
      error: 'invalid_request',
    });
    const resources = ['urn:jwt-ms:orders-service', 'urn:jwt-ms:users-service'];
    expect(parseAuthorizationRequest({ ...valid, resource: resources }, clients)).toMatchObject({
      kind: 'valid',
      request: { audience: ['users-service', 'orders-service'] },
    });
  });

  it("keeps the redirect URI's own query and adds iss (RFC 9207 §2)", () => {
    const location = new URL(
      authorizationResponseUri('https://console.example/cb?tenant=7', { code: 'c', state: 's&x' }, 'http://issuer'),
    );
    expect(Object.fromEntries(location.searchParams)).toEqual({
      tenant: '7',
      code: 'c',
      state: 's&x',
      iss: 'http://issuer',
    });
  });
});

describe('the login page', () => {
  it('escapes every value it places', () => {
    const html = renderLoginPage({
      action: '/oauth/authorize',
      clientId: '<script>alert(1)</script>',
      scope: '"><img src=x onerror=alert(1)>',
      requestId: 'r"id',
      csrfToken: "c'sr<f",
      email: 'a"@b',
      error: '<b>no</b>',
    });
    expect(html).not.toMatch(/<script|<img|<b>/);
    expect(html).toContain(escapeHtml('"><img src=x onerror=alert(1)>'));
    expect(html).toContain('value="r&#34;id"');
  });

  it("allows its own style by hash, and forms only to itself and the client's origin", () => {
    const policy = pageSecurityPolicy('https://console.example');
    expect(policy).toMatch(/style-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(policy).toContain("form-action 'self' https://console.example");
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).not.toContain('script-src');
  });
});
