import { Controller, Get, Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createRedisClient, createServiceApp, INSTANCE_ID } from '@jwt-ms/service-core';
import { PrivateRedis, waitUntil } from '@jwt-ms/testing';
import { TestTokenIssuer, establishRevocationList, generateTestSigningKey, type TestSigningKey } from '../testing';
import { AuthJwtModule } from './auth-jwt.module';
import { revocationStatusController } from './revocation-status.controller';
import { RevocationView } from './revocation';

const AUDIENCE = 'users-service';

@Controller('users')
class GuardedController {
  @Get('me')
  me() {
    return { ok: true };
  }
}

/**
 * The module with the status route and a guarded route, on a private redis-server (so that it can be paused),
 * with a short staleness bound for the 503 test.
 */
async function boot(issuer: TestTokenIssuer, redisUrl: string): Promise<NestFastifyApplication> {
  @Module({
    imports: [
      AuthJwtModule.forRoot({
        issuer: issuer.issuer,
        audience: AUDIENCE,
        keys: { localJwks: () => issuer.jwks },
        algorithms: ['ES256'],
        clockToleranceSeconds: 5,
        redisUrl,
        revocationHeartbeatMs: 100,
        revocationMaxStalenessMs: 1000,
      }),
    ],
    controllers: [GuardedController, revocationStatusController('users')],
  })
  class StatusModule {}
  const redis = createRedisClient(redisUrl);
  if (!redis.isReady) await new Promise((resolve) => redis.once('ready', resolve));
  await establishRevocationList(redis);
  redis.destroy();
  const app = await createServiceApp(StatusModule, { logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

describe('GET /users/revocation-status (module over HTTP, private Redis)', () => {
  const redis = new PrivateRedis();
  let issuer: TestTokenIssuer;
  let stranger: TestSigningKey;
  let app: NestFastifyApplication;
  let view: RevocationView;

  beforeAll(async () => {
    await redis.start();
    issuer = await TestTokenIssuer.create({ audience: [AUDIENCE, 'orders-service'] });
    stranger = await generateTestSigningKey('ES256', issuer.keys[0].kid); // same kid, not in the JWKS
    app = await boot(issuer, redis.url);
    view = app.get(RevocationView);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await redis.stop();
  });

  const status = (token?: string, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'GET',
      url: '/users/revocation-status',
      headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers },
    });
  const now = () => Math.floor(Date.now() / 1000);

  it('answers a valid, unrevoked token: not revoked, which service and replica, never cached', async () => {
    const response = await status(await issuer.mint());
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json()).toEqual({ service: AUDIENCE, instance: INSTANCE_ID, revoked: false });
  });

  it('answers a service token too (client credentials: no session)', async () => {
    const response = await status(await issuer.mintService());
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ revoked: false });
  });

  it('says a revoked token is revoked, by which entry, while every other route still refuses it', async () => {
    const claims = issuer.claimsFor();
    const token = await issuer.mint({ claims });
    // The issuer's own write path (no log entry here): revoked, and not in the record of what the log brought.
    view.apply({ kind: 'session', id: String(claims['sid']), expiresAtMs: Date.now() + 900_000 });

    const response = await status(token);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ service: AUDIENCE, instance: INSTANCE_ID, revoked: true, by: 'session' });
    const guarded = await app.inject({
      method: 'GET',
      url: '/users/me',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(guarded.statusCode).toBe(401);
    expect(guarded.json()).toMatchObject({ code: 'invalid_token', reason: 'revoked_session' });
  });

  // Every check but revocation still applies: each row is a token that differs from a valid one in one way.
  const refused: Array<[string, () => Promise<string>, string]> = [
    ['signed by a key not in the JWKS', () => issuer.mint({ key: stranger }), 'bad_signature'],
    [
      'with its signature changed',
      async () => {
        const [header, payload, signature] = (await issuer.mint()).split('.');
        return `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
      },
      'bad_signature',
    ],
    ['for another audience', () => issuer.mint({ claims: { aud: 'orders-service' } }), 'bad_aud'],
    ['from another issuer', () => issuer.mint({ claims: { iss: 'https://elsewhere.test' } }), 'bad_iss'],
    ['expired', () => issuer.mint({ claims: { iat: now() - 1000, exp: now() - 60 } }), 'expired'],
    ['not yet valid', () => issuer.mint({ claims: { nbf: now() + 600 } }), 'not_yet_valid'],
    ['typed JWT instead of at+jwt', () => issuer.mint({ header: { typ: 'JWT' } }), 'bad_typ'],
    ['without jti', () => issuer.mint({ claims: { jti: undefined } }), 'bad_claim'],
    ['living longer than revocations cover', () => issuer.mint({ claims: { exp: now() + 7200 } }), 'lifetime_too_long'],
  ];
  it.each(refused)('refuses a token %s with the usual 401 invalid_token and its challenge', async (_, make, reason) => {
    const response = await status(await make());
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status: 401, code: 'invalid_token', reason });
    expect(response.headers['www-authenticate']).toMatch(
      new RegExp(`^Bearer realm="${AUDIENCE}", error="invalid_token"`),
    );
    // Nothing of the status: a token that fails any other check learns nothing about revocation.
    expect(Object.keys(response.json())).not.toEqual(expect.arrayContaining(['revoked']));
    expect(Object.keys(response.json())).not.toEqual(expect.arrayContaining(['by']));
  });

  it('answers no token with 401 unauthenticated and a challenge without error code (RFC 6750 §3.1)', async () => {
    const response = await status();
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'unauthenticated' });
    expect(response.headers['www-authenticate']).toBe(`Bearer realm="${AUDIENCE}"`);
  });

  it('answers a malformed Authorization header as invalid_token', async () => {
    const response = await status(undefined, { authorization: 'Bearer a b' });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'invalid_token', reason: 'malformed' });
  });

  it('answers 503, never "not revoked", once the list is stale (fail-closed), and 200 again once fresh', async () => {
    const token = await issuer.mint();
    redis.pause();
    try {
      await waitUntil(async () => (await status(token)).statusCode === 503, 'the status route to answer 503', 15_000);
      const response = await status(token);
      expect(response.json()).toMatchObject({ status: 503, code: 'dependency_unavailable' });
      expect(response.headers['retry-after']).toBe('1');
    } finally {
      redis.resume();
    }
    await waitUntil(async () => (await status(token)).statusCode === 200, 'the status route to recover', 15_000);
    expect((await status(token)).json()).toMatchObject({ revoked: false });
  }, 45_000);
});
