/**
 * The JWT attack conformance suite (RFC 8725, OWASP JWT cheat sheet): crafted
 * tokens sent through the real HTTP stack of a resource service (the built
 * users-service, verifying with the issuer's JWKS), each expected to get 401
 * `invalid_token` as RFC 9457 problem+json with the RFC 6750 challenge and the
 * `reason` code of the check that must refuse it, in
 * normal time, with no library name or message in the answer, and the service
 * healthy afterwards. docs/security.md lists these kinds.
 */
import { createServer, type Server } from 'node:http';
import { createConnection, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, randomUUID } from 'node:crypto';
import { ISSUER, launch, serviceTestEnv, type RunningService } from './support/stack';
import { call, expectProblem, rawGet, type JsonResponse } from './support/http';
import { b64, forge, forgeKey, json, privateJwks } from './support/token-forge';

const PASSWORD = 'correct horse battery staple';
const now = () => Math.floor(Date.now() / 1000);

/** Forwards GET requests to the issuer's JWKS and counts them. */
class CountingJwksProxy {
  fetches = 0;
  target = '';
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer(async (_request, response) => {
      this.fetches += 1;
      const upstream = await fetch(this.target);
      response.writeHead(upstream.status, { 'content-type': 'application/json' });
      response.end(await upstream.text());
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }
}

interface Attack {
  kind: string;
  name: string;
  /** The machine code of the check that must refuse it (the problem's `reason`, TokenRejectionCode). */
  reason: string;
  /** The Authorization header value to send. */
  authorization: () => Promise<string> | string;
}

describe('JWT attack conformance: every crafted token is a clean 401', () => {
  const issuerKey = forgeKey('ES256');
  const proxy = new CountingJwksProxy();
  const dataDir = mkdtempSync(join(tmpdir(), 'jwtms-security-'));
  let auth: RunningService;
  let users: RunningService;
  let realAccess = '';
  let realRefresh = '';
  let deletedUserToken = '';

  const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => {
    const base: Record<string, unknown> = {
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
    };
    const merged = { ...base, ...overrides };
    for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
    return merged;
  };
  const header = (overrides: Record<string, unknown> = {}) => {
    const merged: Record<string, unknown> = { alg: 'ES256', kid: issuerKey.kid, typ: 'at+jwt', ...overrides };
    for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
    return merged;
  };
  /** A token signed by the real issuer key: valid unless the overrides bend it. */
  const signed = (claimOverrides: Record<string, unknown> = {}, headerOverrides: Record<string, unknown> = {}) =>
    forge(header(headerOverrides), claims(claimOverrides), issuerKey.privateKey);
  const bearer = (token: string) => `Bearer ${token}`;

  beforeAll(async () => {
    const jwksUri = await proxy.start();
    auth = await launch(
      'auth-service',
      serviceTestEnv({
        SIGNING_JWKS: privateJwks(issuerKey),
        SQLITE_PATH: join(dataDir, 'auth.sqlite'),
        DATA_DIR: join(dataDir, 'auth'),
        ADMIN_EMAIL: 'admin@security.test',
        ADMIN_PASSWORD: 'security-suite-admin-password',
        AUTH_RATE_LIMIT_PER_IP: '100000',
        AUTH_RATE_LIMIT_PER_ACCOUNT: '100000',
        AUTH_TOKEN_RATE_LIMIT_PER_IP: '100000',
        AUTH_TOKEN_RATE_LIMIT_PER_CLIENT: '100000',
      }),
    );
    proxy.target = `${auth.url}/.well-known/jwks.json`;
    users = await launch(
      'users-service',
      serviceTestEnv({
        AUTH_JWKS_URI: jwksUri,
        SQLITE_PATH: join(dataDir, 'users.sqlite'),
      }),
    );
    const email = `victim.${Date.now().toString(36)}@example.test`;
    const registered = await call('POST', `${auth.url}/auth/register`, { body: { email, password: PASSWORD } });
    const login = await call('POST', `${auth.url}/auth/login`, { body: { email, password: PASSWORD } });
    realAccess = login.body.access_token;
    realRefresh = login.body.refresh_token;
    // A user who is then deleted by an admin: their still-unexpired token must die with them.
    const doomed = `doomed.${Date.now().toString(36)}@example.test`;
    const doomedAccount = await call('POST', `${auth.url}/auth/register`, {
      body: { email: doomed, password: PASSWORD },
    });
    deletedUserToken = (await call('POST', `${auth.url}/auth/login`, { body: { email: doomed, password: PASSWORD } }))
      .body.access_token;
    const admin = await call('POST', `${auth.url}/auth/login`, {
      body: { email: 'admin@security.test', password: 'security-suite-admin-password' },
    });
    await call('DELETE', `${auth.url}/auth/admin/users/${doomedAccount.body.id}`, { token: admin.body.access_token });
    expect(registered.status).toBe(201);
  });

  afterAll(async () => {
    for (const service of [users, auth]) service?.process.kill('SIGTERM');
    await proxy.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const publicJwkText = () => JSON.stringify(issuerKey.publicJwk);
  const publicPem = () => createPublicKey(issuerKey.privateKey).export({ type: 'spki', format: 'pem' }) as string;
  const rawPoint = () =>
    Buffer.concat([
      Buffer.from(String(issuerKey.publicJwk['x']), 'base64url'),
      Buffer.from(String(issuerKey.publicJwk['y']), 'base64url'),
    ]);
  const attackerKey = forgeKey('ES256');
  const rsaKey = forgeKey('RS256');
  const edKey = forgeKey('EdDSA');

  const attacks: Attack[] = [
    // --- alg none and stripped signatures (RFC 8725 §2.1, §3.1) ---
    ...['none', 'None', 'NONE', 'nOnE'].flatMap((alg) => [
      {
        kind: 'alg none',
        name: `alg "${alg}", empty signature`,
        reason: 'bad_alg',
        authorization: () => bearer(`${json(header({ alg }))}.${json(claims())}.`),
      },
      {
        kind: 'alg none',
        name: `alg "${alg}", signature kept`,
        reason: 'bad_alg',
        authorization: () => bearer(`${json(header({ alg }))}.${json(claims())}.${signed().split('.')[2]}`),
      },
    ]),
    {
      kind: 'alg none',
      name: 'signature stripped (two segments)',
      reason: 'malformed',
      authorization: () => bearer(signed().split('.').slice(0, 2).join('.')),
    },
    {
      kind: 'alg none',
      name: 'signature emptied',
      reason: 'bad_signature',
      authorization: () => bearer(`${signed().split('.').slice(0, 2).join('.')}.`),
    },
    {
      kind: 'alg none',
      name: 'alg missing',
      reason: 'bad_alg',
      authorization: () =>
        bearer(
          forge(header(), claims(), issuerKey.privateKey).replace(
            /^[^.]+/,
            json({ kid: issuerKey.kid, typ: 'at+jwt' }),
          ),
        ),
    },

    // --- algorithm confusion (RFC 8725 §2.1, §3.1) ---
    ...['HS256', 'HS384', 'HS512'].flatMap((alg) => [
      {
        kind: 'algorithm confusion',
        name: `${alg} with the public JWK as secret`,
        reason: 'bad_alg',
        authorization: () => bearer(forge(header({ alg }), claims(), publicJwkText())),
      },
      {
        kind: 'algorithm confusion',
        name: `${alg} with the public key PEM as secret`,
        reason: 'bad_alg',
        authorization: () => bearer(forge(header({ alg }), claims(), publicPem())),
      },
      {
        kind: 'algorithm confusion',
        name: `${alg} with the raw EC point as secret`,
        reason: 'bad_alg',
        authorization: () => bearer(forge(header({ alg }), claims(), rawPoint())),
      },
      {
        kind: 'algorithm confusion',
        name: `${alg} with the JWKS document as secret`,
        reason: 'bad_alg',
        authorization: () => bearer(forge(header({ alg }), claims(), JSON.stringify({ keys: [issuerKey.publicJwk] }))),
      },
    ]),
    {
      kind: 'algorithm confusion',
      name: 'RS256 signed by another RSA key, naming the EC kid',
      reason: 'bad_alg',
      authorization: () => bearer(forge(header({ alg: 'RS256' }), claims(), rsaKey.privateKey)),
    },
    {
      kind: 'algorithm confusion',
      name: 'PS256 signed by another RSA key',
      reason: 'bad_alg',
      authorization: () => bearer(forge(header({ alg: 'PS256' }), claims(), rsaKey.privateKey)),
    },
    {
      kind: 'algorithm confusion',
      name: 'EdDSA signed by another key, naming the EC kid',
      reason: 'bad_alg',
      authorization: () => bearer(forge(header({ alg: 'EdDSA' }), claims(), edKey.privateKey)),
    },
    {
      kind: 'algorithm confusion',
      name: 'ES384 header over an ES256 key',
      reason: 'bad_alg',
      authorization: () => bearer(forge(header({ alg: 'ES384' }), claims(), forgeKey('ES384').privateKey)),
    },
    {
      kind: 'algorithm confusion',
      name: 'ES256 header, RS256-signed body',
      reason: 'bad_signature',
      authorization: () =>
        bearer(
          `${forge(header(), claims(), issuerKey.privateKey).split('.').slice(0, 2).join('.')}.${forge(header({ alg: 'RS256' }), claims(), rsaKey.privateKey).split('.')[2]}`,
        ),
    },

    // --- malformed ECDSA signatures ("psychic signatures", CVE-2022-21449 kind) ---
    {
      kind: 'malformed signature',
      name: 'r = s = 0',
      reason: 'bad_signature',
      authorization: () => bearer(`${signed().split('.').slice(0, 2).join('.')}.${b64(Buffer.alloc(64))}`),
    },
    {
      kind: 'malformed signature',
      name: 'r = s = n (the curve order)',
      reason: 'bad_signature',
      authorization: () => {
        const n = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
        return bearer(`${signed().split('.').slice(0, 2).join('.')}.${b64(Buffer.concat([n, n]))}`);
      },
    },
    {
      kind: 'malformed signature',
      name: 'truncated to 63 bytes',
      reason: 'bad_signature',
      authorization: () =>
        bearer(
          `${signed().split('.').slice(0, 2).join('.')}.${b64(Buffer.from(signed().split('.')[2], 'base64url').subarray(0, 63))}`,
        ),
    },
    {
      kind: 'malformed signature',
      name: 'padded to 65 bytes',
      reason: 'bad_signature',
      authorization: () =>
        bearer(
          `${signed().split('.').slice(0, 2).join('.')}.${b64(Buffer.concat([Buffer.from(signed().split('.')[2], 'base64url'), Buffer.alloc(1)]))}`,
        ),
    },
    {
      kind: 'malformed signature',
      name: 'doubled to 128 bytes',
      reason: 'bad_signature',
      authorization: () => {
        const s = Buffer.from(signed().split('.')[2], 'base64url');
        return bearer(`${signed().split('.').slice(0, 2).join('.')}.${b64(Buffer.concat([s, s]))}`);
      },
    },
    {
      kind: 'malformed signature',
      name: 'random 64 bytes',
      reason: 'bad_signature',
      authorization: () =>
        bearer(
          `${signed().split('.').slice(0, 2).join('.')}.${b64(Buffer.from(randomUUID().repeat(2).replace(/-/g, '').slice(0, 64)))}`,
        ),
    },
    {
      kind: 'malformed signature',
      name: 'signature of another token',
      reason: 'bad_signature',
      authorization: () => bearer(`${signed().split('.').slice(0, 2).join('.')}.${signed().split('.')[2]}`),
    },
    {
      kind: 'malformed signature',
      name: 'payload modified after signing',
      reason: 'bad_signature',
      authorization: () => {
        const [h, , s] = signed().split('.');
        return bearer(`${h}.${json(claims({ roles: ['user', 'admin'] }))}.${s}`);
      },
    },
    {
      kind: 'malformed signature',
      name: 'signed by a key not in the JWKS, same kid',
      reason: 'bad_signature',
      authorization: () => bearer(forge(header(), claims(), attackerKey.privateKey)),
    },

    // --- header injection (RFC 8725 §3.10; CVE-2018-0114 kind) ---
    {
      kind: 'header injection',
      name: 'embedded jwk of the attacker key',
      reason: 'unsupported_header',
      authorization: () => bearer(forge(header({ jwk: attackerKey.publicJwk }), claims(), attackerKey.privateKey)),
    },
    {
      kind: 'header injection',
      name: 'embedded jwk, no kid',
      reason: 'bad_kid',
      authorization: () =>
        bearer(forge(header({ kid: undefined, jwk: attackerKey.publicJwk }), claims(), attackerKey.privateKey)),
    },
    {
      kind: 'header injection',
      name: 'jku pointing elsewhere',
      reason: 'unsupported_header',
      authorization: () =>
        bearer(forge(header({ jku: 'http://127.0.0.1:1/jwks.json' }), claims(), attackerKey.privateKey)),
    },
    {
      kind: 'header injection',
      name: 'x5u pointing elsewhere',
      reason: 'unsupported_header',
      authorization: () =>
        bearer(forge(header({ x5u: 'http://127.0.0.1:1/cert.pem' }), claims(), attackerKey.privateKey)),
    },
    {
      kind: 'header injection',
      name: 'x5c chain',
      reason: 'unsupported_header',
      authorization: () =>
        bearer(
          forge(header({ x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] }), claims(), attackerKey.privateKey),
        ),
    },
    ...[
      '../../../../etc/passwd',
      "' OR '1'='1' --",
      '/dev/null',
      'x'.repeat(10_000).slice(0, 2000),
      'кид-🔑',
      '__proto__',
      'constructor',
    ].map((kid) => ({
      kind: 'header injection',
      name: `kid ${JSON.stringify(kid).slice(0, 30)}`,
      reason: kid.length > 128 ? 'bad_kid' : 'unknown_kid', // a kid has at most 128 characters
      authorization: () => bearer(forge(header({ kid }), claims(), attackerKey.privateKey)),
    })),
    ...[null, 42, ['a'], { a: 1 }, ''].map((kid) => ({
      kind: 'header injection',
      name: `kid of type ${JSON.stringify(kid)}`,
      reason: 'bad_kid',
      authorization: () => bearer(forge(header({ kid }), claims(), issuerKey.privateKey)),
    })),
    {
      kind: 'header injection',
      name: 'crit with an unknown extension',
      reason: 'unsupported_header',
      authorization: () => bearer(signed({}, { crit: ['urn:x:evil'], 'urn:x:evil': true })),
    },
    {
      kind: 'header injection',
      name: 'crit naming a registered header',
      reason: 'unsupported_header',
      authorization: () => bearer(signed({}, { crit: ['exp'] })),
    },
    {
      kind: 'header injection',
      name: 'b64: false with crit',
      reason: 'unsupported_header',
      authorization: () => bearer(signed({}, { b64: false, crit: ['b64'] })),
    },
    {
      kind: 'header injection',
      name: 'b64: false without crit',
      reason: 'unsupported_header',
      authorization: () => bearer(signed({}, { b64: false })),
    },

    // --- claims (RFC 7519 §4.1, RFC 9068 §2.2, §4) ---
    { kind: 'claims', name: 'iss missing', reason: 'bad_iss', authorization: () => bearer(signed({ iss: undefined })) },
    {
      kind: 'claims',
      name: 'iss of another issuer',
      reason: 'bad_iss',
      authorization: () => bearer(signed({ iss: 'https://evil.example' })),
    },
    {
      kind: 'claims',
      name: 'iss with a trailing slash',
      reason: 'bad_iss',
      authorization: () => bearer(signed({ iss: `${ISSUER}/` })),
    },
    {
      kind: 'claims',
      name: 'iss differing in case',
      reason: 'bad_iss',
      authorization: () => bearer(signed({ iss: ISSUER.toUpperCase() })),
    },
    { kind: 'claims', name: 'aud missing', reason: 'bad_aud', authorization: () => bearer(signed({ aud: undefined })) },
    {
      kind: 'claims',
      name: 'aud another service (string)',
      reason: 'bad_aud',
      authorization: () => bearer(signed({ aud: 'orders-service' })),
    },
    {
      kind: 'claims',
      name: 'aud array without this service',
      reason: 'bad_aud',
      authorization: () => bearer(signed({ aud: ['auth-service', 'orders-service'] })),
    },
    { kind: 'claims', name: 'aud empty array', reason: 'bad_aud', authorization: () => bearer(signed({ aud: [] })) },
    { kind: 'claims', name: 'aud a number', reason: 'bad_aud', authorization: () => bearer(signed({ aud: 1 })) },
    {
      kind: 'claims',
      name: 'exp in the past',
      reason: 'expired',
      authorization: () => bearer(signed({ iat: now() - 3600, exp: now() - 60 })),
    },
    {
      kind: 'claims',
      name: 'exp just past the clock tolerance',
      reason: 'expired',
      authorization: () => bearer(signed({ iat: now() - 900, exp: now() - 10 })),
    },
    {
      kind: 'claims',
      name: 'exp missing',
      reason: 'bad_claim',
      authorization: () => bearer(signed({ exp: undefined })),
    },
    {
      kind: 'claims',
      name: 'exp a string',
      reason: 'bad_claim',
      authorization: () => bearer(signed({ exp: String(now() + 900) })),
    },
    {
      kind: 'claims',
      name: 'exp 1e309 (parses as Infinity)',
      reason: 'bad_claim',
      authorization: () =>
        bearer(
          forge(header(), b64(JSON.stringify(claims()).replace(/"exp":\d+/, '"exp":1e309')), issuerKey.privateKey),
        ),
    },
    {
      kind: 'claims',
      name: 'nbf in the future',
      reason: 'not_yet_valid',
      authorization: () => bearer(signed({ nbf: now() + 600 })),
    },
    { kind: 'claims', name: 'nbf a string', reason: 'bad_claim', authorization: () => bearer(signed({ nbf: 'now' })) },
    {
      kind: 'claims',
      name: 'iat in the future beyond the skew',
      reason: 'issued_in_future',
      authorization: () => bearer(signed({ iat: now() + 600, exp: now() + 1500 })),
    },
    {
      kind: 'claims',
      name: 'iat missing',
      reason: 'bad_claim',
      authorization: () => bearer(signed({ iat: undefined })),
    },
    { kind: 'claims', name: 'iat a boolean', reason: 'bad_claim', authorization: () => bearer(signed({ iat: true })) },
    ...['sub', 'jti', 'client_id', 'scope', 'roles', 'sid', 'auth_time', 'email'].map((claim) => ({
      kind: 'claims',
      name: `${claim} missing`,
      reason: 'bad_claim',
      authorization: () => bearer(signed({ [claim]: undefined })),
    })),
    { kind: 'claims', name: 'sub empty', reason: 'bad_claim', authorization: () => bearer(signed({ sub: '' })) },
    { kind: 'claims', name: 'sub a number', reason: 'bad_claim', authorization: () => bearer(signed({ sub: 12345 })) },
    {
      kind: 'claims',
      name: 'roles a string',
      reason: 'bad_claim',
      authorization: () => bearer(signed({ roles: 'admin' })),
    },
    {
      kind: 'claims',
      name: 'typ JWT (an ID token or any other JWT)',
      reason: 'bad_typ',
      authorization: () => bearer(signed({ nonce: 'n' }, { typ: 'JWT' })),
    },
    {
      kind: 'claims',
      name: 'typ missing',
      reason: 'bad_typ',
      authorization: () => bearer(signed({}, { typ: undefined })),
    },
    {
      kind: 'claims',
      name: 'typ "at+jwt " with a space',
      reason: 'bad_typ',
      authorization: () => bearer(signed({}, { typ: 'at+jwt ' })),
    },
    {
      kind: 'claims',
      name: 'typ refresh+jwt',
      reason: 'bad_typ',
      authorization: () => bearer(signed({}, { typ: 'refresh+jwt' })),
    },
    {
      kind: 'claims',
      name: 'a refresh token presented as an access token',
      reason: 'malformed',
      authorization: () => bearer(realRefresh),
    },

    // --- encoding (RFC 7515 §7.1, RFC 7519 §7.2) ---
    {
      kind: 'encoding',
      name: 'standard base64 characters (+ /)',
      reason: 'malformed',
      authorization: () => bearer(signed().replace(/-/g, '+').replace(/_/g, '/') + '+/'),
    },
    {
      kind: 'encoding',
      name: 'base64 padding',
      reason: 'malformed',
      authorization: () => {
        const [h, p, s] = signed().split('.');
        return bearer(`${h}==.${p}.${s}`);
      },
    },
    { kind: 'encoding', name: 'four segments', reason: 'malformed', authorization: () => bearer(`${signed()}.AAAA`) },
    {
      kind: 'encoding',
      name: 'five segments (a JWE shape)',
      reason: 'malformed',
      authorization: () => bearer(`${signed()}.AAAA.BBBB`),
    },
    { kind: 'encoding', name: 'one segment', reason: 'malformed', authorization: () => bearer(b64('{"alg":"none"}')) },
    {
      kind: 'encoding',
      name: 'header not JSON',
      reason: 'malformed',
      authorization: () => bearer(`${b64('not json')}.${json(claims())}.${signed().split('.')[2]}`),
    },
    {
      kind: 'encoding',
      name: 'header a JSON array',
      reason: 'malformed',
      authorization: () => bearer(`${b64('["ES256"]')}.${json(claims())}.${signed().split('.')[2]}`),
    },
    {
      kind: 'encoding',
      name: 'payload a JSON string',
      reason: 'malformed',
      authorization: () => bearer(forge(header(), b64('"claims"'), issuerKey.privateKey)),
    },
    {
      kind: 'encoding',
      name: 'payload a JSON array',
      reason: 'malformed',
      authorization: () => bearer(forge(header(), b64('[1,2]'), issuerKey.privateKey)),
    },
    {
      kind: 'encoding',
      name: 'payload null',
      reason: 'malformed',
      authorization: () => bearer(forge(header(), b64('null'), issuerKey.privateKey)),
    },
    {
      kind: 'encoding',
      name: 'payload not JSON',
      reason: 'malformed',
      authorization: () => bearer(forge(header(), b64('sub=admin'), issuerKey.privateKey)),
    },
    {
      kind: 'encoding',
      name: 'duplicate "sub" claim',
      reason: 'duplicate_member',
      authorization: () =>
        bearer(
          forge(
            header(),
            b64(JSON.stringify(claims()).replace('{', `{"sub":"${randomUUID()}",`)),
            issuerKey.privateKey,
          ),
        ),
    },
    {
      kind: 'encoding',
      name: 'duplicate "alg" header member',
      reason: 'duplicate_member',
      // Validly signed with ES256, the value JSON.parse keeps; another parser might read "none".
      authorization: () =>
        bearer(
          forge(
            b64(`{"alg":"none","kid":"${issuerKey.kid}","typ":"at+jwt","alg":"ES256"}`),
            claims(),
            issuerKey.privateKey,
          ),
        ),
    },
    {
      kind: 'encoding',
      name: 'token of 5000 bytes',
      reason: 'too_large',
      authorization: () => bearer(signed({ padding: 'x'.repeat(5000) })),
    },
    {
      kind: 'encoding',
      name: 'zero-width space inside the token',
      reason: 'malformed',
      authorization: () => bearer(signed().replace('.', '\u200b.')),
    },
    {
      kind: 'encoding',
      name: 'fullwidth dots',
      reason: 'malformed',
      authorization: () => bearer(signed().replace(/\./g, '\uff0e')),
    },
    { kind: 'encoding', name: 'empty bearer token', reason: 'malformed', authorization: () => 'Bearer ' },
    { kind: 'encoding', name: 'bearer scheme without token', reason: 'malformed', authorization: () => 'Bearer' },
    {
      kind: 'encoding',
      name: 'two tokens',
      reason: 'malformed',
      authorization: () => `Bearer ${signed()} ${signed()}`,
    },
    {
      kind: 'encoding',
      name: 'non-breaking space after Bearer',
      reason: 'malformed',
      authorization: () => `Bearer\u00a0${signed()}`,
    },

    // --- revocation ---
    {
      kind: 'revocation',
      name: 'a logged-out token replayed',
      reason: 'revoked_session',
      authorization: () => bearer(realAccess),
    },
    {
      kind: 'revocation',
      name: 'the token of a deleted user',
      reason: 'revoked_subject',
      authorization: () => bearer(deletedUserToken),
    },
  ];

  it('accepts a token the forge signs correctly (so each row fails for its own reason)', async () => {
    const response = await call('GET', `${users.url}/users/me`, { token: signed() });
    expect(response.status).toBe(200);
    expect(
      (await call('GET', `${users.url}/users/me`, { token: signed({}, { typ: 'application/AT+JWT' }) })).status,
    ).toBe(200);
    expect((await call('GET', `${users.url}/users/me`, { token: realAccess })).status).toBe(200);
    expect((await call('POST', `${auth.url}/auth/logout`, { token: realAccess })).status).toBe(204);
  });

  it.each(attacks.map((attack) => [attack.kind, attack.name, attack.reason, attack] as const))(
    '%s: %s → 401 %s',
    async (_kind, _name, _reason, attack) => {
      const started = performance.now();
      const authorization = await attack.authorization();
      // fetch refuses header values beyond Latin-1; an attacker's own client sends them as raw bytes.
      const response: JsonResponse = [...authorization].some((char) => char.charCodeAt(0) > 0xff)
        ? await rawGet(`${users.url}/users/me`, { authorization })
        : await call('GET', `${users.url}/users/me`, { headers: { authorization } });
      const elapsedMs = performance.now() - started;
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(response.body).toMatchObject({
        type: 'about:blank',
        status: 401,
        code: 'invalid_token',
        reason: attack.reason,
      });
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="users-service", error="invalid_token"/);
      expect(JSON.stringify(response.body)).not.toMatch(
        /jsonwebtoken|JsonWebTokenError|JOSE|jose|passport|TypeError|stack|node_modules/i,
      );
      expect(elapsedMs).toBeLessThan(1000);
    },
  );

  it('floods unknown kids without a JWKS fetch per request (cooldown)', async () => {
    const before = proxy.fetches;
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        call('GET', `${users.url}/users/me`, {
          token: forge(header({ kid: `flood-${index}` }), claims(), attackerKey.privateKey),
        }),
      ),
    );
    expect(answers.every((answer) => answer.status === 401 && answer.body.reason === 'unknown_kid')).toBe(true);
    expect(proxy.fetches - before).toBeLessThanOrEqual(1);
  });

  it('is still healthy and still accepts valid tokens afterwards', async () => {
    expect((await call('GET', `${users.url}/health/ready`)).status).toBe(200);
    expect((await call('GET', `${users.url}/users/me`, { token: signed() })).status).toBe(200);
    console.log(
      `JWT attack conformance: ${attacks.length + 200} crafted requests refused (${attacks.length} variants in ${new Set(attacks.map((a) => a.kind)).size} kinds, plus a 200-request unknown-kid flood); JWKS fetches: ${proxy.fetches}`,
    );
  });

  it('answers an oversized Authorization header before parsing it (431 problem)', async () => {
    const response = await call('GET', `${users.url}/users/me`, {
      headers: { authorization: `Bearer ${'a'.repeat(20_000)}` },
    });
    expect(response.status).toBe(431);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });
});

/** `{"m0":0,…}` with `members` unknown members beside `extra`'s, as the attack run sent them. */
function withUnknownMembers(members: number, extra: Record<string, unknown>): string {
  const body: Record<string, unknown> = { ...extra };
  for (let index = 0; index < members; index += 1) body[`m${index}`] = 0;
  return JSON.stringify(body);
}

/** Sends `head` as it is on a fresh connection; resolves with what came back once the server closed it. */
function rawExchange(url: string, head: string): Promise<{ head: string; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = createConnection({ host: hostname, port: Number(port) }, () => socket.write(head));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [responseHead, ...rest] = Buffer.concat(chunks).toString('utf8').split('\r\n\r\n');
      resolve({ head: responseHead, body: rest.join('\r\n\r\n') });
    });
  });
}

describe('HTTP hardening of the built services (issue #11)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'jwtms-http-'));
  const issuerKey = forgeKey('ES256');
  let auth: RunningService;
  let users: RunningService;
  let access = '';

  beforeAll(async () => {
    auth = await launch(
      'auth-service',
      serviceTestEnv({
        SIGNING_JWKS: privateJwks(issuerKey),
        SQLITE_PATH: join(dataDir, 'auth.sqlite'),
        DATA_DIR: join(dataDir, 'auth'),
        AUTH_RATE_LIMIT_PER_IP: '100000',
        AUTH_RATE_LIMIT_PER_ACCOUNT: '100000',
        AUTH_TOKEN_RATE_LIMIT_PER_IP: '100000',
        AUTH_TOKEN_RATE_LIMIT_PER_CLIENT: '100000',
      }),
    );
    users = await launch(
      'users-service',
      serviceTestEnv({
        AUTH_JWKS_URI: `${auth.url}/.well-known/jwks.json`,
        SQLITE_PATH: join(dataDir, 'users.sqlite'),
      }),
    );
    const email = `http.${Date.now().toString(36)}@example.test`;
    await call('POST', `${auth.url}/auth/register`, { body: { email, password: PASSWORD } });
    access = (await call('POST', `${auth.url}/auth/login`, { body: { email, password: PASSWORD } })).body.access_token;
  }, 120_000);

  afterAll(async () => {
    for (const service of [users, auth]) service?.process.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers the 64 KiB body of 6,500 unknown members on /auth/refresh with a short 400, not a 400 KiB list', async () => {
    const body = withUnknownMembers(6500, { refresh_token: 'x' });
    expect(body.length).toBeGreaterThan(60_000);
    const response = await fetch(`${auth.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text.length).toBeLessThan(1024);
    expect(JSON.parse(text)).toMatchObject({ code: 'invalid_request', status: 400 });
  });

  it('lists at most 10 unknown members of PATCH /users/me and counts the rest', async () => {
    const response = await call('PATCH', `${users.url}/users/me`, {
      token: access,
      body: withUnknownMembers(200, { displayName: 'x' }),
    });
    expectProblem(response, 400, 'validation_failed');
    expect(response.body.errors).toHaveLength(10);
    expect(response.body.errors_omitted).toBe(190);
  });

  it('refuses a JSON body that names a member twice (the last one would win)', async () => {
    const response = await call('POST', `${auth.url}/auth/login`, {
      body: `{"email":"a@example.test","password":"${PASSWORD}","email":"b@example.test"}`,
    });
    expectProblem(response, 400, 'invalid_request');
    expect(response.body.detail).toContain('names the same member more than once');
  });

  it('answers a request without Host with a problem and the security headers', async () => {
    for (const service of [auth, users]) {
      const { head, body } = await rawExchange(service.url, 'GET /health/live HTTP/1.1\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 400 /);
      expect(head.toLowerCase()).toContain('content-type: application/problem+json');
      expect(head.toLowerCase()).toContain('x-content-type-options: nosniff');
      expect(head.toLowerCase()).toContain("content-security-policy: default-src 'self'");
      expect(JSON.parse(body)).toMatchObject({ status: 400, code: 'invalid_request' });
    }
  });

  it('sends Cache-Control: no-store on authenticated answers, and keeps the JWKS cacheable', async () => {
    const me = await call('GET', `${users.url}/users/me`, { token: access });
    expect(me.status).toBe(200);
    expect(me.headers.get('cache-control')).toBe('no-store');
    const refused = await call('GET', `${users.url}/users/me`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    const jwks = await call('GET', `${auth.url}/.well-known/jwks.json`);
    expect(jwks.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
  });
});
