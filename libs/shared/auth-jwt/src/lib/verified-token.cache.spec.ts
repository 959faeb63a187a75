import type { Principal } from './principal';
import { VerifiedTokenCache } from './verified-token.cache';
import { testPrincipal } from '../testing';

const principal = (expiresInSeconds: number): Principal =>
  testPrincipal({ expiresAt: Date.now() / 1000 + expiresInSeconds });
const options = { issuer: 'i', audience: 'a', keys: { localJwks: () => ({ keys: [] }) }, redisUrl: 'redis://unused' };

describe('VerifiedTokenCache', () => {
  it('answers only the very token it was given, never a neighbour', () => {
    const cache = new VerifiedTokenCache(options);
    const alice = principal(900);
    const bob = principal(900);
    cache.set('token-a', alice);
    cache.set('token-b', bob);
    expect(cache.get('token-a')).toBe(alice);
    expect(cache.get('token-b')).toBe(bob);
    expect(cache.get('token-a ')).toBeUndefined();
    expect(cache.get('token-c')).toBeUndefined();
  });

  it('never keeps an entry past the token expiry, nor past its own TTL', () => {
    let now = Date.now();
    const cache = new VerifiedTokenCache({ ...options, verifiedTokenCacheTtlMs: 150, now: () => now });
    const expiresAt = (seconds: number) => testPrincipal({ expiresAt: now / 1000 + seconds });
    cache.set('short-lived', expiresAt(0.1));
    cache.set('long-lived', expiresAt(900));
    now += 99;
    expect(cache.get('short-lived')).toBeDefined();
    now += 2; // 101 ms: past the token's exp, within the TTL
    expect(cache.get('short-lived')).toBeUndefined();
    expect(cache.get('long-lived')).toBeDefined();
    now += 50; // 151 ms: past the cache's own TTL
    expect(cache.get('long-lived')).toBeUndefined();
  });

  it('is bounded: the least recently used entry goes first', () => {
    const cache = new VerifiedTokenCache({ ...options, verifiedTokenCacheSize: 2 });
    cache.set('one', principal(900));
    cache.set('two', principal(900));
    cache.get('one');
    cache.set('three', principal(900));
    expect(cache.get('two')).toBeUndefined();
    expect(cache.get('one')).toBeDefined();
  });

  it('can be turned off', () => {
    const cache = new VerifiedTokenCache({ ...options, verifiedTokenCacheSize: 0 });
    cache.set('token', principal(900));
    expect(cache.get('token')).toBeUndefined();
  });
});
