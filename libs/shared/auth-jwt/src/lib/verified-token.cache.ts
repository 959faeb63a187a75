import { Inject, Injectable } from '@nestjs/common';
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AUTH_JWT_OPTIONS, resolveOptions, type AuthJwtModuleOptions } from './auth-jwt.options';
import type { Principal } from './principal';

/**
 * Principals of tokens whose signature and claims were verified, so a token
 * presented again skips the signature check. Revocation is not cached: it is
 * checked on every request, hit or miss.
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

  constructor(@Inject(AUTH_JWT_OPTIONS) rawOptions: AuthJwtModuleOptions) {
    const options = resolveOptions(rawOptions);
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

  /** @returns the principal of this exact token if it was verified recently and has not expired, else undefined */
  get(token: string): Principal | undefined {
    if (!this.cache) return undefined;
    const principal = this.cache.get(digest(token));
    return principal && principal.expiresAt * 1000 > this.now() ? principal : undefined;
  }

  /** Remembers a verified token's principal until min(now + TTL, `exp`). */
  set(token: string, principal: Principal): void {
    if (!this.cache) return;
    const ttl = Math.min(this.ttlMs, principal.expiresAt * 1000 - this.now());
    if (ttl > 0) this.cache.set(digest(token), principal, { ttl });
  }

  /** Forgets every entry (the key set changed). */
  clear(): void {
    this.cache?.clear();
  }
}

function digest(token: string): string {
  return hash('sha256', token, 'base64url'); // one-shot SHA-256: half the cost of createHash()
}
