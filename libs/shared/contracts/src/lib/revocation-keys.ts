/**
 * Redis layout of the revocation list, shared by the issuer (which writes) and
 * the verifiers (which read): key names, entry values, the announcement
 * message, the generation marker. Each is built and parsed here and nowhere
 * else, so that the writer and the reader cannot drift apart; that is what lets
 * a logout on the auth service take effect on every resource service.
 *
 * Pure functions and types: no Redis client, no framework.
 */

/** Prefix of every key this system writes to Redis. */
export const REDIS_KEY_PREFIX = 'jwtms:';

/** Longest id (`jti`, `sid`, `sub`) a revocation key may name, in characters: verifiers refuse tokens with longer ones. */
export const MAX_REVOCATION_ID_LENGTH = 256;

/**
 * The writer's side of {@link parseRevocationKey}'s bound: a key that no
 * reader would parse must never be written, or a revocation would be answered
 * as done and be ignored by every verifier.
 */
function boundedId(id: string): string {
  if (id.length > MAX_REVOCATION_ID_LENGTH) {
    throw new RangeError(`a revocation id is at most ${MAX_REVOCATION_ID_LENGTH} characters`);
  }
  return id;
}

/**
 * Key marking one access token as revoked, by its `jti` (RFC 7519 §4.1.7).
 * The key expires when the token would have, so the blacklist never outgrows
 * the set of still-valid tokens.
 *
 * @param jti the token's `jti` claim
 * @returns the Redis key, e.g. `jwtms:revoked:jti:3f1c…`
 * @throws RangeError for an id longer than {@link MAX_REVOCATION_ID_LENGTH}: no reader would parse the key
 */
export function revokedJtiKey(jti: string): string {
  return `${REDIS_KEY_PREFIX}revoked:jti:${boundedId(jti)}`;
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
  return `${REDIS_KEY_PREFIX}revoked:sid:${boundedId(sid)}`;
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
  return `${REDIS_KEY_PREFIX}not-before:sub:${boundedId(sub)}`;
}

/** The three kinds of revocation entry: one token (`jti`), one session (`sid`), one subject's watermark (`sub`). */
export type RevocationEntryKind = 'token' | 'session' | 'subject';

/** A revocation entry's key, parsed: what it revokes. */
export interface RevocationKey {
  kind: RevocationEntryKind;
  /** The `jti`, `sid` or `sub` the key names: 1 to {@link MAX_REVOCATION_ID_LENGTH} characters. */
  id: string;
}

const KEY_PREFIXES: ReadonlyArray<readonly [RevocationEntryKind, string]> = [
  ['token', revokedJtiKey('')],
  ['session', revokedSessionKey('')],
  ['subject', subjectNotBeforeKey('')],
];

/**
 * Parses a revocation entry's key: the inverse of {@link revokedJtiKey},
 * {@link revokedSessionKey} and {@link subjectNotBeforeKey}.
 *
 * @param key a Redis key (from an announcement or the index)
 * @returns its kind and id, or null for any other key, an empty id, or one longer than {@link MAX_REVOCATION_ID_LENGTH}
 */
export function parseRevocationKey(key: string): RevocationKey | null {
  for (const [kind, prefix] of KEY_PREFIXES) {
    if (!key.startsWith(prefix)) continue;
    const id = key.slice(prefix.length);
    return id.length > 0 && id.length <= MAX_REVOCATION_ID_LENGTH ? { kind, id } : null;
  }
  return null;
}

/** The value stored under a token or session entry: the key's presence is what counts. */
export const REVOKED_VALUE = '1';

/**
 * Encodes a subject watermark as stored under {@link subjectNotBeforeKey}.
 *
 * @param notBefore seconds since the epoch, fractional
 * @returns the decimal string, millisecond precision (e.g. `1700000000.123`)
 */
export function formatWatermark(notBefore: number): string {
  return notBefore.toFixed(3);
}

/**
 * Decodes a stored or announced watermark.
 *
 * @param value the string written by {@link formatWatermark}
 * @returns seconds since the epoch, or null when it is not a finite, non-negative number
 */
export function parseWatermark(value: string): number | null {
  const notBefore = Number(value);
  return Number.isFinite(notBefore) && notBefore >= 0 ? notBefore : null;
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

/** Longest announcement a reader parses, in characters: a real one is under 200. */
export const MAX_ANNOUNCEMENT_LENGTH = 1024;

/**
 * Encodes an announcement: a JSON object with the members `key`, `value`
 * and `ttlMs`, in any order. The issuer's write script publishes the same
 * object (encoded by Redis's cjson, since the script builds it atomically with
 * the write); its spec parses that message with {@link parseRevocationAnnouncement}.
 *
 * @param announcement the entry written
 * @returns the message to PUBLISH on {@link revocationChannel}
 */
export function formatRevocationAnnouncement(announcement: RevocationAnnouncement): string {
  const { key, value, ttlMs } = announcement;
  return JSON.stringify({ key, value, ttlMs });
}

/**
 * Parses a message heard on {@link revocationChannel}. Checks its shape only;
 * whether the key is a revocation key and the value a valid watermark is for
 * {@link parseRevocationKey} and {@link parseWatermark}.
 *
 * @param message the raw pub/sub message
 * @returns the announcement, or null when longer than {@link MAX_ANNOUNCEMENT_LENGTH}, not JSON, or without
 *   a string `key`, a string `value` and a positive number `ttlMs` (milliseconds)
 */
export function parseRevocationAnnouncement(message: string): RevocationAnnouncement | null {
  if (message.length > MAX_ANNOUNCEMENT_LENGTH) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return null;
  }
  const { key, value, ttlMs } = (parsed ?? {}) as Partial<RevocationAnnouncement>;
  if (typeof key !== 'string' || typeof value !== 'string' || typeof ttlMs !== 'number' || !(ttlMs > 0)) return null;
  return { key, value, ttlMs };
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
 * Encodes a {@link REVOCATION_GENERATION_KEY} value (JSON); the inverse of {@link parseRevocationGeneration}.
 *
 * @param generation the marker to store
 * @returns the string to SET
 */
export function formatRevocationGeneration(generation: RevocationGeneration): string {
  const { id, established, tokenLifetimeSeconds, establishesAt } = generation;
  return JSON.stringify({
    id,
    established,
    tokenLifetimeSeconds,
    ...(establishesAt === undefined ? {} : { establishesAt }),
  });
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
