import type { Principal } from './principal';
import { resolveOptions } from './auth-jwt.options';
import { VerifiedTokenCache } from './verified-token.cache';
import { testPrincipal } from '../testing';

const principal = (expiresInSeconds: number): Principal =>
  testPrincipal({ expiresAt: Date.now() / 1000 + expiresInSeconds });
const options = { issuer: 'i', audience: 'a', keys: { localJwks: () => ({ keys: [] }) }, redisUrl: 'redis://unused' };

describe('VerifiedTokenCache', () => {
  it('answers only the very token it was given, never a neighbour', () => {
    const cache = new VerifiedTokenCache(resolveOptions(options));
    const alice = principal(900);
    const bob = principal(900);
    cache.set(cache.keyOf('token-a'), alice);
    cache.set(cache.keyOf('token-b'), bob);
    expect(cache.get(cache.keyOf('token-a'))).toBe(alice);
    expect(cache.get(cache.keyOf('token-b'))).toBe(bob);
    expect(cache.get(cache.keyOf('token-a '))).toBeUndefined();
    expect(cache.get(cache.keyOf('token-c'))).toBeUndefined();
  });

  it('never keeps an entry past the token expiry, nor past its own TTL', () => {
    let now = Date.now();
    const cache = new VerifiedTokenCache(resolveOptions({ ...options, verifiedTokenCacheTtlMs: 150, now: () => now }));
    const expiresAt = (seconds: number) => testPrincipal({ expiresAt: now / 1000 + seconds });
    cache.set(cache.keyOf('short-lived'), expiresAt(0.1));
    cache.set(cache.keyOf('long-lived'), expiresAt(900));
    now += 99;
    expect(cache.get(cache.keyOf('short-lived'))).toBeDefined();
    now += 2; // 101 ms: past the token's exp, within the TTL
    expect(cache.get(cache.keyOf('short-lived'))).toBeUndefined();
    expect(cache.get(cache.keyOf('long-lived'))).toBeDefined();
    now += 50; // 151 ms: past the cache's own TTL
    expect(cache.get(cache.keyOf('long-lived'))).toBeUndefined();
  });

  it('is bounded: the least recently used entry goes first', () => {
    const cache = new VerifiedTokenCache(resolveOptions({ ...options, verifiedTokenCacheSize: 2 }));
    cache.set(cache.keyOf('one'), principal(900));
    cache.set(cache.keyOf('two'), principal(900));
    cache.get(cache.keyOf('one'));
    cache.set(cache.keyOf('three'), principal(900));
    expect(cache.get(cache.keyOf('two'))).toBeUndefined();
    expect(cache.get(cache.keyOf('one'))).toBeDefined();
  });

  it('can be turned off', () => {
    const cache = new VerifiedTokenCache(resolveOptions({ ...options, verifiedTokenCacheSize: 0 }));
    expect(cache.keyOf('token')).toBeUndefined();
    cache.set(cache.keyOf('token'), principal(900));
    expect(cache.get(cache.keyOf('token'))).toBeUndefined();
  });
});
