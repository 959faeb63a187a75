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

/**
 * Key marking a whole login session as revoked, by the `sid` claim: every
 * access token of that refresh-token family, past and present (logout, or reuse
 * of a rotated refresh token, RFC 9700 §4.14.2). It expires after the longest
 * access-token lifetime, when no token of the session can still be valid.
 *
 * @param sid the token's `sid` claim
 */
export function revokedSessionKey(sid: string): string {
  return `${REDIS_KEY_PREFIX}revoked:sid:${sid}`;
}

/**
 * Key holding a subject's "not before" watermark: a NumericDate (seconds since
 * the epoch, millisecond precision); every access token of that subject whose
 * session began earlier (`auth_time`) is revoked (logout everywhere, password
 * change, account deletion). Revokes without listing the tokens, like
 * Keycloak's not-before policy.
 *
 * @param sub the token's `sub` claim
 */
export function subjectNotBeforeKey(sub: string): string {
  return `${REDIS_KEY_PREFIX}not-before:sub:${sub}`;
}

/**
 * Sorted set indexing every revocation entry: member = the entry's key,
 * score = when it expires (milliseconds since the epoch). A verifier re-reads
 * the whole list from it (entries expiring in the future) instead of scanning
 * the keyspace; the issuer adds to it, and trims expired members, in the same
 * script that writes the entry.
 */
export const REVOCATION_INDEX_KEY = `${REDIS_KEY_PREFIX}revocation-index`;

/**
 * Redis pub/sub channel on which the issuer announces every revocation entry
 * it writes, so each verifier's in-process copy of the list learns of it in
 * about a millisecond instead of asking Redis on every request. A message is
 * a {@link RevocationAnnouncement} as JSON.
 *
 * Pub/sub channels are shared by every database of a Redis server, so the
 * channel names the database: deployments kept apart by database number
 * (`redis://host/5`) do not hear each other's revocations.
 *
 * @param database the Redis database number of the connection (0 when the URL names none)
 * @returns e.g. `jwtms:revocations` (database 0), `jwtms:revocations:db5`
 */
export function revocationChannel(database = 0): string {
  return database === 0 ? `${REDIS_KEY_PREFIX}revocations` : `${REDIS_KEY_PREFIX}revocations:db${database}`;
}

/** One revocation entry as announced on {@link revocationChannel}: the key written, its value, its lifetime. */
export interface RevocationAnnouncement {
  /** The Redis key (one of the layouts above). */
  key: string;
  /** Its value after the write: `1`, or a watermark (seconds since the epoch). */
  value: string;
  /** Milliseconds until the entry expires in Redis. */
  ttlMs: number;
}

/**
 * Key of the revocation list's generation marker, written by the issuer only.
 * Its value is a {@link RevocationGeneration} as JSON. It proves that the list
 * in this Redis database is the one the issuer has been writing: when Redis
 * loses its data (a restart without persistence, a failover to an empty
 * replica, a FLUSHDB), the marker goes with it, and every verifier can tell an
 * empty list from a lost one. While the issuer waits out a loss (see
 * docs/security.md) the value has `established: false`.
 */
export const REVOCATION_GENERATION_KEY = `${REDIS_KEY_PREFIX}revocation-generation`;

/** The value of {@link REVOCATION_GENERATION_KEY}. */
export interface RevocationGeneration {
  /** Random id of this generation of the list; a new one after every loss. */
  id: string;
  /** false while the issuer waits for every token that may have been revoked before a loss to expire. */
  established: boolean;
  /**
   * The longest access-token lifetime the list's entries cover, in seconds:
   * session and subject entries live this long (plus a margin). Verifiers refuse
   * tokens that live longer.
   */
  tokenLifetimeSeconds: number;
  /** While not established: when the issuer will establish it, milliseconds since the epoch. */
  establishesAt?: number;
}

/**
 * Parses a {@link REVOCATION_GENERATION_KEY} value.
 *
 * @param value the stored string, or null when the key is absent
 * @returns the generation, or null when absent or not one (a value nobody but the issuer should write)
 */
export function parseRevocationGeneration(value: string | null): RevocationGeneration | null {
  if (value === null || value.length > 512) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  const { id, established, tokenLifetimeSeconds, establishesAt } = (parsed ?? {}) as Partial<RevocationGeneration>;
  if (typeof id !== 'string' || id.length === 0 || id.length > 64 || typeof established !== 'boolean') return null;
  if (typeof tokenLifetimeSeconds !== 'number' || !Number.isInteger(tokenLifetimeSeconds) || tokenLifetimeSeconds <= 0)
    return null;
  if (establishesAt !== undefined && typeof establishesAt !== 'number') return null;
  return { id, established, tokenLifetimeSeconds, ...(establishesAt === undefined ? {} : { establishesAt }) };
}
