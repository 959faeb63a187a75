/**
 * Redis key layout of the revocation blacklist, shared by the issuer (which
 * writes) and the verifiers (which read). Keeping it in one place is what lets
 * a logout on the auth service take effect on every resource service.
 */

/** Prefix of every key this system writes to Redis. */
export const REDIS_KEY_PREFIX = 'jwtms:';

/**
 * Key marking one access token as revoked, by its `jti` (RFC 7519 §4.1.7).
 * The key expires when the token would have, so the blacklist never outgrows
 * the set of still-valid tokens.
 *
 * @param jti the token's `jti` claim
 * @returns the Redis key, e.g. `jwtms:revoked:jti:3f1c…`
 */
export function revokedJtiKey(jti: string): string {
  return `${REDIS_KEY_PREFIX}revoked:jti:${jti}`;
}
