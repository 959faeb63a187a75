import { Controller, Get, Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, UnsecuredJWT, base64url } from 'jose';
import { createRedisClient, createServiceApp } from '@jwt-ms/service-core';
import type { SigningAlgorithm } from '@jwt-ms/contracts';
import { TestTokenIssuer, establishRevocationList, generateTestSigningKey, type TestSigningKey } from '../testing';
import { AuthJwtModule } from './auth-jwt.module';
import { CurrentUser } from './decorators/current-user.decorator';
import { RequireRoles, RequireScopes } from './decorators/access-policy.decorator';
import { Public } from '@jwt-ms/service-core';
import type { Principal } from './principal';
import { RevocationView } from './revocation';
import type { TokenRejectionCode } from './token-rejection';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const AUDIENCE = 'users-service';

@Controller()
class ProbeController {
  @Get('whoami')
  whoami(@CurrentUser() user: Principal) {
    return user;
  }

  @Get('open')
  @Public()
  open() {
    return { ok: true };
  }

  @Get('admin')
  @RequireRoles('admin')
  admin() {
    return { ok: true };
  }

  @Get('scoped')
  @RequireScopes('orders:write')
  scoped() {
    return { ok: true };
  }
}

/** A Fastify app with the module verifying `issuer`'s tokens and the probe routes, on real Redis. */
async function bootProbeApp(issuer: TestTokenIssuer, algorithms: SigningAlgorithm[]): Promise<NestFastifyApplication> {
  @Module({
    imports: [
      AuthJwtModule.forRoot({
        issuer: issuer.issuer,
        audience: AUDIENCE,
        keys: { localJwks: () => issuer.jwks },
        algorithms,
        clockToleranceSeconds: 5,
        redisUrl: REDIS_URL,
        // These tests are about verification; the staleness bound has its own (revocation.view.spec).
        // A wide bound keeps a busy machine's delayed heartbeat from turning their 200s into 503s.
        revocationMaxStalenessMs: 15_000,
      }),
    ],
    controllers: [ProbeController],
  })
  class ProbeModule {}
  const redis = createRedisClient(REDIS_URL);
  if (!redis.isReady) await new Promise((resolve) => redis.once('ready', resolve));
  await establishRevocationList(redis); // the issuer's first start, as no issuer runs here
  redis.destroy();
  const app = await createServiceApp(ProbeModule, { logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

describe('AuthJwtModule: access-token verification over HTTP', () => {
  let issuer: TestTokenIssuer;
  let strangerKey: TestSigningKey;
  let app: NestFastifyApplication;
  let revocations: RevocationView;

  beforeAll(async () => {
    issuer = await TestTokenIssuer.create({ audience: [AUDIENCE, 'orders-service'] });
    strangerKey = await generateTestSigningKey('ES256', issuer.keys[0].kid); // same kid, key not in the JWKS
    app = await bootProbeApp(issuer, ['ES256']);
    revocations = app.get(RevocationView);
  });

  it('accepts a token that lives exactly the maximum lifetime, plus the clock tolerance', async () => {
    const iat = now();
    const response = await get('/whoami', await issuer.mint({ claims: { iat, exp: iat + 905 } }));
    expect(response.statusCode).toBe(200);
  });

  afterAll(async () => {
    await app?.close();
  });

  const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'GET',
      url: path,
      headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers },
    });

  const now = () => Math.floor(Date.now() / 1000);

  it('accepts a valid token and exposes the principal', async () => {
    const subject = randomUUID();
    const token = await issuer.mint({ claims: { sub: subject } });
    const response = await get('/whoami', token);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ subject, roles: ['user'], clientId: 'test-client' });
  });

  it('answers every token with its own claims, verified once and then from the cache', async () => {
    const tokens = await Promise.all(
      Array.from({ length: 5 }, (_, index) => issuer.mint({ claims: { sub: `subject-${index}` } })),
    );
    for (let round = 0; round < 3; round += 1) {
      for (const [index, token] of tokens.entries()) {
        const response = await get('/whoami', token);
        expect(response.json().subject).toBe(`subject-${index}`);
      }
    }
  });

  it('lets @Public() routes through without a token', async () => {
    expect((await get('/open')).statusCode).toBe(200);
  });

  it('answers a missing token with 401 and a challenge without error code (RFC 6750 §3.1)', async () => {
    const response = await get('/whoami');
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe(`Bearer realm="${AUDIENCE}"`);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ status: 401, code: 'unauthenticated' });
  });

  // Each row: a token that must be refused with 401 invalid_token, words of its description, and the
  // machine code (`reason`) of the check that refuses it.
  const refused: Array<[string, () => Promise<string>, string, TokenRejectionCode]> = [
    [
      'alg none (unsecured JWT)',
      async () => new UnsecuredJWT(issuer.claimsFor()).encode(),
      'unexpected "alg"',
      'bad_alg',
    ],
    [
      'alg none with typ at+jwt and a kid',
      async () => {
        const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: issuer.keys[0].kid }));
        return `${header}.${base64url.encode(JSON.stringify(issuer.claimsFor()))}.`;
      },
      'unexpected "alg"',
      'bad_alg',
    ],
    [
      'HS256 signed with the public key as secret (algorithm confusion)',
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(issuer.keys[0].publicJwk));
        return new SignJWT(issuer.claimsFor())
          .setProtectedHeader({ alg: 'HS256', kid: issuer.keys[0].kid, typ: 'at+jwt' })
          .sign(secret);
      },
      'unexpected "alg"',
      'bad_alg',
    ],
    [
      'signed by a key not in the JWKS, same kid',
      () => issuer.mint({ key: strangerKey }),
      'signature verification failed',
      'bad_signature',
    ],
    ['unknown kid', () => issuer.mint({ header: { kid: 'no-such-key' } }), 'no key of the issuer fits', 'unknown_kid'],
    ['expired', () => issuer.mint({ claims: { iat: now() - 3600, exp: now() - 60 } }), 'token expired', 'expired'],
    [
      'not yet valid (nbf in the future)',
      () => issuer.mint({ claims: { nbf: now() + 600 } }),
      'not yet valid',
      'not_yet_valid',
    ],
    [
      'iat in the future',
      () => issuer.mint({ claims: { iat: now() + 600, exp: now() + 1200 } }),
      '"iat" claim is in the future',
      'issued_in_future',
    ],
    // The issuer's key, a lifetime no revocation covers (the verifier's maximum: 900 s, tolerance 5 s).
    [
      'exp in milliseconds',
      () => issuer.mint({ claims: { iat: now(), exp: Date.now() + 600_000 } }),
      'lifetime',
      'lifetime_too_long',
    ],
    ['exp 1e20', () => issuer.mint({ claims: { iat: now(), exp: 1e20 } }), 'lifetime', 'lifetime_too_long'],
    [
      'lifetime just past the maximum',
      () => issuer.mint({ claims: { iat: now(), exp: now() + 906 } }),
      'lifetime',
      'lifetime_too_long',
    ],
    ['wrong issuer', () => issuer.mint({ claims: { iss: 'https://evil.test' } }), 'unexpected "iss"', 'bad_iss'],
    ['wrong audience', () => issuer.mint({ claims: { aud: 'orders-service' } }), 'unexpected "aud"', 'bad_aud'],
    [
      'audience array without this service',
      () => issuer.mint({ claims: { aud: ['a', 'b'] } }),
      'unexpected "aud"',
      'bad_aud',
    ],
    ['wrong typ (plain JWT)', () => issuer.mint({ header: { typ: 'JWT' } }), 'unexpected "typ"', 'bad_typ'],
    ['no typ', () => issuer.mint({ header: { typ: undefined } }), 'unexpected "typ"', 'bad_typ'],
    ['missing exp', () => issuer.mint({ claims: { exp: undefined } }), 'missing or invalid "exp"', 'bad_claim'],
    ['missing sub', () => issuer.mint({ claims: { sub: undefined } }), 'missing or invalid "sub"', 'bad_claim'],
    ['missing jti', () => issuer.mint({ claims: { jti: undefined } }), 'missing or invalid "jti"', 'bad_claim'],
    // A revocation of these could never be read back (no entry key carries an id over 256 characters).
    [
      'jti too long to revoke',
      () => issuer.mint({ claims: { jti: 'x'.repeat(257) } }),
      '"jti" claim is longer than 256 characters',
      'bad_claim',
    ],
    [
      'sid too long to revoke',
      () => issuer.mint({ claims: { sid: 'x'.repeat(257) } }),
      '"sid" claim is longer than 256 characters',
      'bad_claim',
    ],
    [
      'sub too long to revoke',
      () => issuer.mint({ claims: { sub: 'x'.repeat(257) } }),
      '"sub" claim is longer than 256 characters',
      'bad_claim',
    ],
    [
      'crit header',
      async () => issuer.signRaw({ crit: ['exp'] }, issuer.claimsFor()),
      'unsupported "crit"',
      'unsupported_header',
    ],
    [
      'b64: false',
      async () => issuer.signRaw({ b64: false, crit: ['b64'] }, issuer.claimsFor()),
      'unsupported "crit"',
      'unsupported_header',
    ],
    [
      'b64 without crit',
      async () => issuer.signRaw({ b64: false }, issuer.claimsFor()),
      'unsupported "b64"',
      'unsupported_header',
    ],
    [
      'payload not an object',
      async () => issuer.signRaw({}, '"just a string"'),
      'payload must be a JSON object',
      'malformed',
    ],
    ['non-numeric exp', async () => issuer.signRaw({}, { ...issuer.claimsFor(), exp: 'soon' }), '"exp"', 'bad_claim'],
    [
      'embedded jwk header',
      () => issuer.mint({ header: { jwk: issuer.keys[0].publicJwk } }),
      '"jwk" header is not accepted',
      'unsupported_header',
    ],
    [
      'jku header',
      () => issuer.mint({ header: { jku: 'https://evil.test/jwks' } }),
      '"jku" header is not accepted',
      'unsupported_header',
    ],
    [
      'signature stripped',
      async () => (await issuer.mint()).split('.').slice(0, 2).join('.') + '.',
      'signature',
      'bad_signature',
    ],
    ['garbage', async () => 'not-a-jwt', 'malformed token', 'malformed'],
    ['four segments', async () => `${await issuer.mint()}.AAAA`, 'malformed token', 'malformed'],
    ['oversized', () => issuer.mint({ claims: { pad: 'x'.repeat(5000) } }), 'token too large', 'too_large'],
  ];

  it.each(refused)('refuses %s with 401 invalid_token', async (_name, makeToken, words, reason) => {
    const response = await get('/whoami', await makeToken());
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="users-service", error="invalid_token"/);
    const body = response.json();
    expect(body).toMatchObject({ status: 401, code: 'invalid_token', type: 'about:blank', reason });
    expect(body.detail).toContain(words);
    expect(JSON.stringify(body)).not.toMatch(/JsonWebTokenError|JOSE|stack|at \w+ \(/);
  });

  it('accepts a token signed by signRaw (so the raw rows above fail for their own reason)', async () => {
    expect((await get('/whoami', issuer.signRaw({}, issuer.claimsFor()))).statusCode).toBe(200);
  });

  it('refuses an RS256 token when only ES256 is allowed, even with a matching RSA key', async () => {
    const rsa = await generateTestSigningKey('RS256');
    const token = await issuer.mint({ key: rsa });
    const response = await get('/whoami', token);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ reason: 'bad_alg' });
  });

  it('refuses HS256 signed with the PEM of an RSA public key', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' });
    const token = await new SignJWT(issuer.claimsFor())
      .setProtectedHeader({ alg: 'HS256', kid: issuer.keys[0].kid, typ: 'at+jwt' })
      .sign(new TextEncoder().encode(pem as string));
    const response = await get('/whoami', token);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ reason: 'bad_alg' });
  });

  it('refuses a revoked jti, and only that one', async () => {
    const claims = issuer.claimsFor();
    const token = await issuer.mint({ claims });
    const other = await issuer.mint();
    expect((await get('/whoami', token)).statusCode).toBe(200);
    // What the issuer's store does in its own process (the Redis path has the view's own spec).
    revocations.apply({ kind: 'token', id: claims.jti as string, expiresAtMs: Date.now() + 900_000 });
    const response = await get('/whoami', token);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ reason: 'revoked_token' });
    expect(response.json().detail).toContain('token revoked');
    expect((await get('/whoami', other)).statusCode).toBe(200);
  });

  it('answers a malformed Authorization header as invalid_token', async () => {
    const response = await get('/whoami', undefined, { authorization: 'Bearer a b c' });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'invalid_token', reason: 'malformed' });
  });

  it('answers a token without the role with 403 insufficient_scope, naming the role, not a made-up scope', async () => {
    const response = await get('/admin', await issuer.mint());
    expect(response.statusCode).toBe(403);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="users-service", error="insufficient_scope", error_description="a role is missing"',
    );
    expect(response.json()).toMatchObject({ code: 'insufficient_scope', required_roles: 'admin' });
    const admin = await issuer.mint({ claims: { roles: ['user', 'admin'] } });
    expect((await get('/admin', admin)).statusCode).toBe(200);
  });

  it('answers a token without the scope with 403 insufficient_scope', async () => {
    const token = await issuer.mint({ claims: { scope: 'orders:read' } });
    const response = await get('/scoped', token);
    expect(response.statusCode).toBe(403);
    expect(response.headers['www-authenticate']).toContain('scope="orders:write"');
  });
});

describe('AuthJwtModule: every supported algorithm', () => {
  let issuer: TestTokenIssuer;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    issuer = await TestTokenIssuer.create({ algorithms: ['ES256', 'RS256', 'EdDSA'] });
    app = await bootProbeApp(issuer, ['ES256', 'RS256', 'EdDSA']);
  });

  afterAll(async () => {
    await app?.close();
  });

  const whoami = (token: string) =>
    app.inject({ method: 'GET', url: '/whoami', headers: { authorization: `Bearer ${token}` } });

  it.each([0, 1, 2])('accepts a token signed with key %i (ES256, RS256, EdDSA)', async (index) => {
    const response = await whoami(await issuer.mint({ key: issuer.keys[index] }));
    expect(response.statusCode).toBe(200);
  });

  it.each([
    ['ES256', 'RS256'],
    ['RS256', 'EdDSA'],
    ['EdDSA', 'ES256'],
  ])('refuses a %s key named by a token that claims %s', async (keyAlg, claimedAlg) => {
    const key = issuer.keys.find((candidate) => candidate.alg === keyAlg);
    if (!key) throw new Error(`no ${keyAlg} test key`);
    const token = await issuer.mint({ key });
    const [, payload, signature] = token.split('.');
    const header = base64url.encode(JSON.stringify({ alg: claimedAlg, kid: key.kid, typ: 'at+jwt' }));
    const response = await whoami(`${header}.${payload}.${signature}`);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ reason: 'unknown_kid' });
  });

  it('refuses an expired EdDSA token and a wrong-audience EdDSA token with our own reasons', async () => {
    const eddsa = issuer.keys[2];
    const now = Math.floor(Date.now() / 1000);
    const expired = await whoami(await issuer.mint({ key: eddsa, claims: { iat: now - 3600, exp: now - 60 } }));
    expect(expired.json()).toMatchObject({ reason: 'expired' });
    const wrongAudience = await whoami(await issuer.mint({ key: eddsa, claims: { aud: 'elsewhere' } }));
    expect(wrongAudience.statusCode).toBe(401);
    expect(wrongAudience.json()).toMatchObject({ reason: 'bad_aud' });
  });
});
