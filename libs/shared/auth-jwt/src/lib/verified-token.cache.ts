import { Inject, Injectable } from '@nestjs/common';
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AUTH_JWT_SETTINGS, type ResolvedAuthJwtOptions } from './auth-jwt.options';
import type { Principal } from './principal';

/**
 * Principals of tokens whose signature and claims were verified, so a token
 * presented again skips the signature check. Used by {@link AccessTokenVerifier}
 * alone; revocation is not cached: the verifier checks it on every request,
 * hit or miss.
 *
 * - Keyed by SHA-256 of the whole token string: only the very same token finds
 *   an entry; no token can be answered with another's claims.
 * - Bounded (`verifiedTokenCacheSize` entries, least recently used evicted).
 * - An entry lives at most `verifiedTokenCacheTtlMs`, and never past the
 *   token's `exp`.
 * - Emptied whenever the issuer's key set changes, so a key withdrawn from the
 *   JWKS stops vouching for tokens at once.
 */
@Injectable()
export class VerifiedTokenCache {
  private readonly cache?: LRUCache<string, Principal>;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(@Inject(AUTH_JWT_SETTINGS) options: ResolvedAuthJwtOptions) {
    this.ttlMs = options.verifiedTokenCacheTtlMs;
    this.now = options.now;
    if (options.verifiedTokenCacheSize > 0 && this.ttlMs > 0) {
      this.cache = new LRUCache({
        max: options.verifiedTokenCacheSize,
        ttl: this.ttlMs,
        ttlAutopurge: false,
        // The same clock for the entry's TTL and the token's `exp`; read on every lookup, never cached.
        perf: { now: this.now },
        ttlResolution: 0,
      });
    }
  }

  /**
   * The key of a token's entry, computed once per verification (a lookup and a store share it).
   *
   * @returns SHA-256 of the token, base64url; undefined when the cache is off
   */
  keyOf(token: string): string | undefined {
    return this.cache ? hash('sha256', token, 'base64url') : undefined; // one-shot: half the cost of createHash()
  }

  /**
   * @param key {@link keyOf} the token
   * @param nowMs the current time, in milliseconds since the epoch
   * @returns the principal of this exact token if it was verified recently and has not expired, else undefined
   */
  get(key: string | undefined, nowMs: number = this.now()): Principal | undefined {
    if (!this.cache || key === undefined) return undefined;
    const principal = this.cache.get(key);
    return principal && principal.expiresAt * 1000 > nowMs ? principal : undefined;
  }

  /**
   * Remembers a verified token's principal until min(now + TTL, `exp`).
   *
   * @param key {@link keyOf} the token
   * @param nowMs the current time, in milliseconds since the epoch
   */
  set(key: string | undefined, principal: Principal, nowMs: number = this.now()): void {
    if (!this.cache || key === undefined) return;
    const ttl = Math.min(this.ttlMs, principal.expiresAt * 1000 - nowMs);
    if (ttl > 0) this.cache.set(key, principal, { ttl });
  }

  /** Forgets every entry (the key set changed). */
  clear(): void {
    this.cache?.clear();
  }
}
