import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitUntil } from '@jwt-ms/testing';
import { TestTokenIssuer, generateTestSigningKey } from '../testing';
import { resolveOptions, type AuthJwtModuleOptions } from './auth-jwt.options';
import { SigningKeyResolver, VerificationKeysUnavailableError } from './signing-key.resolver';
import { TokenRejectedError } from './token-rejection';
import { VerifiedTokenCache } from './verified-token.cache';

/** A JWKS endpoint whose answer the test controls, counting the fetches. */
class FakeIssuerEndpoint {
  fetches = 0;
  status = 200;
  body: unknown = { keys: [] };
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((_request, response) => {
      this.fetches += 1;
      response.writeHead(this.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(this.body));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SigningKeyResolver with a remote JWKS', () => {
  let issuer: TestTokenIssuer;
  let endpoint: FakeIssuerEndpoint;
  let resolvers: SigningKeyResolver[];

  beforeEach(async () => {
    issuer = await TestTokenIssuer.create();
    endpoint = new FakeIssuerEndpoint();
    endpoint.body = issuer.jwks;
    resolvers = [];
  });

  afterEach(async () => {
    for (const resolver of resolvers) resolver.onApplicationShutdown();
    await endpoint.stop();
  });

  const resolverFor = async (overrides: Partial<AuthJwtModuleOptions> = {}) => {
    const resolver = new SigningKeyResolver(
      resolveOptions({
        issuer: issuer.issuer,
        audience: 'users-service',
        keys: { jwksUri: await endpoint.start() },
        redisUrl: 'redis://unused',
        jwksCooldownMs: 60_000,
        ...overrides,
      }),
    );
    resolvers.push(resolver);
    resolver.onModuleInit();
    return resolver;
  };
  const header = (kid: string) => ({ alg: 'ES256', kid, typ: 'at+jwt' });

  it('loads the keys once at start and serves every lookup from memory', async () => {
    const resolver = await resolverFor();
    for (let i = 0; i < 20; i += 1) await resolver.resolve(header(issuer.keys[0].kid));
    expect(endpoint.fetches).toBe(1);
  });

  it('fetches at most once per cooldown for a flood of unknown kids', async () => {
    const resolver = await resolverFor();
    await resolver.resolve(header(issuer.keys[0].kid));
    const lookups = Array.from({ length: 50 }, (_, i) =>
      resolver.resolve(header(`made-up-${i}`)).catch((error) => error),
    );
    const results = await Promise.all(lookups);
    expect(results.every((result) => result instanceof TokenRejectedError)).toBe(true);
    expect(endpoint.fetches).toBe(2); // the one at start, and one for the whole flood
  });

  it('picks up a rotated key on its first unknown kid after the cooldown', async () => {
    let now = Date.now();
    const resolver = await resolverFor({ jwksCooldownMs: 30_000, now: () => now });
    await resolver.resolve(header(issuer.keys[0].kid));
    const next = await generateTestSigningKey('ES256');
    await resolver.resolve(header(next.kid)).catch(() => undefined); // an unknown kid: one fetch, the cooldown starts
    expect(endpoint.fetches).toBe(2);
    endpoint.body = { keys: [issuer.keys[0].publicJwk, next.publicJwk] };
    now += 29_999;
    await expect(resolver.resolve(header(next.kid))).rejects.toBeInstanceOf(TokenRejectedError); // within it: no fetch
    expect(endpoint.fetches).toBe(2);
    now += 1;
    await expect(resolver.resolve(header(next.kid))).resolves.toBeDefined();
    expect(endpoint.fetches).toBe(3);
  });

  it('keeps the last good keys when the issuer fails, through scheduled refreshes', async () => {
    const resolver = await resolverFor({ jwksCacheMaxAgeMs: 30 });
    await resolver.resolve(header(issuer.keys[0].kid));
    endpoint.status = 503;
    await waitUntil(() => endpoint.fetches > 2, 'two background refreshes'); // they ran, and failed
    await expect(resolver.resolve(header(issuer.keys[0].kid))).resolves.toBeDefined();
  });

  it('answers "keys unavailable" (a 503, not a 401) when no key set ever loaded, without a fetch per request', async () => {
    endpoint.status = 503;
    const resolver = await resolverFor();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => resolver.resolve(header(issuer.keys[0].kid)).catch((error) => error)),
    );
    expect(results.every((result) => result instanceof VerificationKeysUnavailableError)).toBe(true);
    expect(endpoint.fetches).toBe(1);
  });

  it('is not ready until the keys have loaded; each probe asks again (once a second at most), then ready', async () => {
    endpoint.status = 503; // the issuer is not up yet
    let now = Date.now();
    const resolver = await resolverFor({ now: () => now });
    expect(resolver.probe()).toEqual({
      up: false,
      details: { source: 'jwks_uri', message: "the issuer's public keys have not been loaded yet" },
    });
    // A probe asks again unless a fetch is under way (the one at start may still be): a second later each time.
    await waitUntil(() => {
      if (endpoint.fetches >= 2) return true;
      now += 1000;
      resolver.probe();
      return false;
    }, "a probe's fetch");
    expect(endpoint.fetches).toBe(2); // the one at start, and one probe's
    for (let i = 0; i < 20; i++) resolver.probe(); // a burst of probes within the second: no burst of fetches
    now += 999;
    resolver.probe();
    await sleep(50);
    expect(endpoint.fetches).toBe(2);
    endpoint.status = 200; // the issuer comes up
    await waitUntil(() => {
      now += 1000;
      return resolver.probe().up;
    }, 'the keys loaded by a probe');
    expect(endpoint.fetches).toBe(3);
    expect(resolver.probe()).toEqual({ up: true, details: { source: 'jwks_uri' } });
    // Ready from then on, even if the issuer goes away (the keys are kept).
    endpoint.status = 503;
    expect(resolver.probe().up).toBe(true);
  });

  it('empties the verified-token cache when the key set changes', async () => {
    const cache = new VerifiedTokenCache(
      resolveOptions({ issuer: 'i', audience: 'a', keys: { localJwks: () => ({ keys: [] }) }, redisUrl: 'x' }),
    );
    const resolver = new SigningKeyResolver(
      resolveOptions({
        issuer: issuer.issuer,
        audience: 'users-service',
        keys: { jwksUri: await endpoint.start() },
        redisUrl: 'redis://unused',
        jwksCacheMaxAgeMs: 30,
      }),
      cache,
    );
    resolvers.push(resolver);
    resolver.onModuleInit();
    await resolver.resolve(header(issuer.keys[0].kid));
    const expiresAt = Date.now() / 1000 + 900;
    cache.set(cache.keyOf('some-token'), { subject: 's', expiresAt } as never);
    await sleep(80); // scheduled refreshes, same key set: the entry stays
    expect(cache.get(cache.keyOf('some-token'))).toBeDefined();
    endpoint.body = { keys: [(await generateTestSigningKey('ES256')).publicJwk] }; // the old key withdrawn
    await waitUntil(() => cache.get(cache.keyOf('some-token')) === undefined, 'the cache emptied by the next refresh');
  });

  it('remembers the key chosen for an alg and kid, and forgets it when the key set changes', async () => {
    const resolver = await resolverFor({ jwksCacheMaxAgeMs: 30 });
    const kid = issuer.keys[0].kid;
    expect(resolver.keyFor(header(kid))).toBeUndefined(); // never looked up yet
    const key = await resolver.resolve(header(kid));
    expect(resolver.keyFor(header(kid))).toBe(key);
    expect(resolver.keyFor({ ...header(kid), alg: 'RS256' })).toBeUndefined(); // the alg is part of the choice
    // The same kid now names another key (a withdrawn key, reissued): the old choice must not survive.
    const replacement = await generateTestSigningKey('ES256', kid);
    endpoint.body = { keys: [replacement.publicJwk] };
    await waitUntil(() => resolver.keyFor(header(kid)) === undefined, 'the choice forgotten at the next refresh');
    const fresh = await resolver.resolve(header(kid));
    expect(fresh).not.toBe(key);
    expect(fresh.export({ format: 'jwk' })).toMatchObject({ x: replacement.publicJwk.x, y: replacement.publicJwk.y });
  });

  it('refuses a JWKS that carries private keys', async () => {
    const { privateKey } = issuer.keys[0];
    const { exportJWK } = await import('jose');
    endpoint.body = { keys: [{ ...(await exportJWK(privateKey)), kid: issuer.keys[0].kid, alg: 'ES256' }] };
    const resolver = await resolverFor();
    await expect(resolver.resolve(header(issuer.keys[0].kid))).rejects.toBeInstanceOf(TokenRejectedError);
  });
});

describe('SigningKeyResolver with an in-process key set (the issuer verifying its own tokens)', () => {
  it('stops accepting a key withdrawn from the set within a second, with no request for an unknown kid', async () => {
    const kept = await generateTestSigningKey('ES256', 'kept');
    const withdrawn = await generateTestSigningKey('ES256', 'withdrawn');
    let published = [kept.publicJwk, withdrawn.publicJwk];
    const cache = new VerifiedTokenCache(
      resolveOptions({ issuer: 'i', audience: 'a', keys: { localJwks: () => ({ keys: [] }) }, redisUrl: 'x' }),
    );
    const resolver = new SigningKeyResolver(
      resolveOptions({
        issuer: 'http://issuer.test',
        audience: 'auth-service',
        keys: { localJwks: () => ({ keys: published }) },
        redisUrl: 'redis://unused',
      }),
      cache,
    );
    resolver.onModuleInit();
    try {
      const header = (kid: string) => ({ alg: 'ES256', kid, typ: 'at+jwt' });
      await resolver.resolve(header('withdrawn'));
      await resolver.resolve(header('kept'));
      cache.set(cache.keyOf('a token of the withdrawn key'), {
        subject: 's',
        expiresAt: Date.now() / 1000 + 900,
      } as never);
      published = [kept.publicJwk]; // withdrawn: compromised, or its `exp` passed
      // Only `kept` is looked up meanwhile: the memo would answer for `withdrawn` forever without the re-read.
      await waitUntil(() => resolver.keyFor(header('withdrawn')) === undefined, 'the withdrawn key forgotten');
      await expect(resolver.resolve(header('withdrawn'))).rejects.toMatchObject({ code: 'unknown_kid' });
      expect(resolver.keyFor(header('kept'))).toBeUndefined(); // the memo starts over with the new set…
      expect(await resolver.resolve(header('kept'))).toBeDefined(); // …and the kept key still verifies
      expect(cache.get(cache.keyOf('a token of the withdrawn key'))).toBeUndefined(); // no cached principal vouches for it
    } finally {
      resolver.onApplicationShutdown();
    }
  });
});
