import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { ProblemException, Public } from '@jwt-ms/service-core';
import { TestTokenIssuer } from '../../testing';
import { AccessTokenStrategy } from '../access-token.strategy';
import { AccessTokenVerifier } from '../access-token.verifier';
import { resolveOptions } from '../auth-jwt.options';
import type { Principal } from '../principal';
import { RevocationUnavailableError, type RevocableToken, type RevocationReason } from '../revocation';
import type { RevocationView } from '../revocation';
import { SigningKeyResolver, VerificationKeysUnavailableError } from '../signing-key.resolver';
import { VerifiedTokenCache } from '../verified-token.cache';
import { AccessTokenGuard } from './access-token.guard';

/** A revocation list the test sets: revoked `jti`s, and whether the copy is too old to use. */
class FakeRevocations {
  readonly revoked = new Set<string>();
  stale = false;
  checks = 0;

  check(token: RevocableToken): RevocationReason {
    this.checks += 1;
    if (this.stale) throw new RevocationUnavailableError(new Error('revocation list stale'));
    return this.revoked.has(token.jti) ? 'token revoked' : null;
  }

  coveredTokenLifetimeSeconds(): number {
    return 900;
  }
}

class Routes {
  @Public()
  open(): void {
    /* a public route */
  }

  guarded(): void {
    /* a protected route */
  }
}

describe('AccessTokenGuard (guard → passport-jwt strategy → AccessTokenVerifier)', () => {
  let issuer: TestTokenIssuer;
  let revocations: FakeRevocations;
  let keys: SigningKeyResolver;
  let guard: AccessTokenGuard;

  const build = (resolver?: SigningKeyResolver) => {
    const settings = resolveOptions({
      issuer: issuer.issuer,
      audience: 'users-service',
      keys: { localJwks: () => issuer.jwks },
      redisUrl: 'redis://unused',
    });
    const cache = new VerifiedTokenCache(settings);
    keys = resolver ?? new SigningKeyResolver(settings, cache);
    revocations = new FakeRevocations();
    const verifier = new AccessTokenVerifier(settings, keys, revocations as unknown as RevocationView, cache);
    new AccessTokenStrategy(verifier); // registers itself with passport, as the module does
    guard = new AccessTokenGuard(new Reflector(), settings);
  };

  beforeAll(async () => {
    issuer = await TestTokenIssuer.create({ audience: ['users-service'] });
  });

  beforeEach(() => build());

  /** Runs the guard for `route` with these headers: the request it saw, or the problem it threw. */
  async function run(
    headers: Record<string, string>,
    route: 'open' | 'guarded' = 'guarded',
  ): Promise<{ request: { headers: Record<string, string>; user?: Principal }; problem?: ProblemException }> {
    const request: { headers: Record<string, string>; user?: Principal } = { headers };
    const context = new ExecutionContextHost([request, {}], Routes, Routes.prototype[route]);
    try {
      expect(await guard.canActivate(context)).toBe(true);
      return { request };
    } catch (error) {
      if (!(error instanceof ProblemException)) throw error;
      return { request, problem: error };
    }
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('lets a @Public() route through without looking at the request', async () => {
    const { request, problem } = await run({ authorization: 'Bearer not-a-token' }, 'open');
    expect(problem).toBeUndefined();
    expect(request.user).toBeUndefined();
    expect(revocations.checks).toBe(0);
  });

  it('answers a @Public() route synchronously, reading its metadata once, and still guards the others', async () => {
    const reflector = new Reflector();
    const reads = jest.spyOn(reflector, 'getAllAndOverride');
    const settings = resolveOptions({
      issuer: issuer.issuer,
      audience: 'users-service',
      keys: { localJwks: () => issuer.jwks },
      redisUrl: 'redis://unused',
    });
    const counted = new AccessTokenGuard(reflector, settings);
    const open = () => new ExecutionContextHost([{ headers: {} }, {}], Routes, Routes.prototype.open);
    for (let i = 0; i < 3; i += 1) expect(counted.canActivate(open())).toBe(true); // true itself, not a promise
    expect(reads).toHaveBeenCalledTimes(1);
    const guarded = new ExecutionContextHost([{ headers: {} }, {}], Routes, Routes.prototype.guarded);
    await expect(counted.canActivate(guarded)).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(counted.canActivate(guarded)).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(reads).toHaveBeenCalledTimes(2); // one more read, for the second route, then remembered
  });

  it('answers no Authorization header with 401 unauthenticated and a challenge without error code', async () => {
    for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }] as Array<Record<string, string>>) {
      const { problem } = await run(headers);
      expect(problem?.getStatus()).toBe(401);
      expect(problem?.code).toBe('unauthenticated');
      expect(problem?.headers['www-authenticate']).toBe('Bearer realm="users-service"');
    }
  });

  it.each(['Bearer', 'Bearer a b', 'bearer\ttoken'])(
    'answers the malformed header %j with 401 invalid_token, reason malformed',
    async (authorization) => {
      const { problem } = await run({ authorization });
      expect(problem?.getStatus()).toBe(401);
      expect(problem?.code).toBe('invalid_token');
      expect(problem?.extensions).toEqual({ reason: 'malformed' });
      expect(problem?.headers['www-authenticate']).toMatch(/^Bearer realm="users-service", error="invalid_token"/);
    },
  );

  it('sets request.user to the principal of a valid token', async () => {
    const claims = issuer.claimsFor();
    const { request, problem } = await run(bearer(await issuer.mint({ claims })));
    expect(problem).toBeUndefined();
    expect(request.user).toMatchObject({ subject: claims.sub, tokenId: claims.jti, sessionId: claims['sid'] });
    expect(revocations.checks).toBe(1);
  });

  it('answers a token that fails a check with 401 naming the check', async () => {
    const { problem } = await run(bearer(await issuer.mint({ claims: { aud: 'orders-service' } })));
    expect(problem?.getStatus()).toBe(401);
    expect(problem?.extensions).toEqual({ reason: 'bad_aud' });
  });

  it('skips the signature for a token verified before, and still checks its revocation', async () => {
    const claims = issuer.claimsFor();
    const token = await issuer.mint({ claims });
    const keyLookups = jest.spyOn(keys, 'keyFor');
    expect((await run(bearer(token))).problem).toBeUndefined();
    const lookupsOfFirstVerification = keyLookups.mock.calls.length;
    expect(lookupsOfFirstVerification).toBeGreaterThan(0);
    expect((await run(bearer(token))).problem).toBeUndefined();
    expect(keyLookups).toHaveBeenCalledTimes(lookupsOfFirstVerification); // the second answered from the cache
    revocations.revoked.add(claims.jti as string);
    const { problem } = await run(bearer(token));
    expect(keyLookups).toHaveBeenCalledTimes(lookupsOfFirstVerification); // still a cache hit…
    expect(problem?.getStatus()).toBe(401); // …and still refused once revoked
    expect(problem?.extensions).toEqual({ reason: 'revoked_token' });
    expect(revocations.checks).toBe(3);
  });

  it("answers 503 when the issuer's keys never loaded: the token is neither accepted nor called invalid", async () => {
    const unavailable = {
      keyFor: () => undefined,
      resolve: () => Promise.reject(new VerificationKeysUnavailableError()),
    } as unknown as SigningKeyResolver;
    build(unavailable);
    const { problem } = await run(bearer(await issuer.mint()));
    expect(problem?.getStatus()).toBe(503);
    expect(problem?.code).toBe('dependency_unavailable');
    expect(problem?.detail).toContain("issuer's public keys");
    expect(problem?.headers['retry-after']).toBe('5');
  });

  it('answers 503 while the revocation list is stale, cache hit or not (fail closed)', async () => {
    const token = await issuer.mint();
    expect((await run(bearer(token))).problem).toBeUndefined(); // verified, and now in the cache
    revocations.stale = true;
    for (const presented of [token, await issuer.mint()]) {
      const { problem } = await run(bearer(presented));
      expect(problem?.getStatus()).toBe(503);
      expect(problem?.code).toBe('dependency_unavailable');
      expect(problem?.detail).toContain('revocation list');
      expect(problem?.headers['retry-after']).toBe('1');
    }
  });
});
