/**
 * Redis layout of the revocation list, shared by the issuer (which writes) and
 * the verifiers (which read): key names, entry fields and values, the log's
 * entries, the generation marker. Each is built and parsed here and nowhere
 * else, so that the writer and the reader cannot drift apart; that is what lets
 * a logout on the auth service take effect on every resource service.
 *
 * Pure functions and types: no Redis client, no framework.
 */

/** Prefix of every key this system writes to Redis. */
export const REDIS_KEY_PREFIX = 'jwtms:';

/**
 * The hash tag every key of the revocation list carries. Redis Cluster places
 * a key by the text between its first `{` and `}` alone, so the entries, their
 * expiry index, the log and the generation marker all live in one slot, on one
 * shard: the issuer's write script touches three of them atomically (a script
 * may only touch keys of one slot), and a verifier reads them from one node.
 * See https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags
 */
export const REVOCATION_HASH_TAG = '{revocation}';

const REVOCATION_KEY_PREFIX = `${REDIS_KEY_PREFIX}${REVOCATION_HASH_TAG}:`;

/**
 * Hash holding every live revocation entry: field = {@link revocationField}
 * (what is revoked), value = {@link formatRevocationValue} (until when, and a
 * subject's watermark). One HSCAN pass returns every entry with its value, so
 * a verifier's full read costs a few hundred round trips at a million entries,
 * not one per entry.
 */
export const REVOCATION_ENTRIES_KEY = `${REVOCATION_KEY_PREFIX}entries`;

/**
 * Sorted set of the same fields, scored by expiry (milliseconds since the
 * epoch, Redis's clock): how the issuer finds and drops expired entries
 * without reading the hash. Verifiers never read it.
 */
export const REVOCATION_EXPIRY_KEY = `${REVOCATION_KEY_PREFIX}expiry`;

/**
 * Stream (the log) on which the issuer appends every entry it writes, in the
 * same script as the write: each stream entry has the members `field` and
 * `value` of the hash. Verifiers tail it with a blocking XREAD from the last
 * ID they saw, so a revocation reaches them in about a millisecond, and after
 * a reconnection they catch up from that ID instead of reading everything
 * again. Trimmed by time ({@link REVOCATION_LOG_RETENTION_MS}).
 */
export const REVOCATION_LOG_KEY = `${REVOCATION_KEY_PREFIX}log`;

/**
 * How long the log keeps an entry, in milliseconds: a verifier cut off from
 * Redis for longer cannot catch up from its last ID and reads the list in full.
 */
export const REVOCATION_LOG_RETENTION_MS = 10 * 60_000;

/** Longest id (`jti`, `sid`, `sub`) a revocation entry may name, in characters: verifiers refuse tokens with longer ones. */
export const MAX_REVOCATION_ID_LENGTH = 256;

/** The three kinds of revocation entry: one token (`jti`), one session (`sid`), one subject's watermark (`sub`). */
export type RevocationEntryKind = 'token' | 'session' | 'subject';

/**
 * One revocation entry as stored and logged:
 * - `token`: the access token whose `jti` (RFC 7519 §4.1.7) is `id` is revoked
 *   (logout, RFC 7009 revocation);
 * - `session`: every access token whose `sid` is `id` (a refresh-token family:
 *   logout, reuse of a rotated refresh token, RFC 9700 §4.14.2);
 * - `subject`: every access token of subject `id` whose session began before
 *   `notBefore` (`auth_time`): logout everywhere, password change, account
 *   deletion, like Keycloak's not-before policy.
 *
 * Every entry expires (`expiresAtMs`) once no token it covers can still be valid.
 */
export type RevocationEntry =
  | { kind: 'token' | 'session'; id: string; /** Milliseconds since the epoch. */ expiresAtMs: number }
  | {
      kind: 'subject';
      id: string;
      /** Milliseconds since the epoch. */
      expiresAtMs: number;
      /**
       * Seconds since the epoch: tokens whose `auth_time` is earlier are revoked. Whole seconds, as `auth_time`
       * is (an issuer before them wrote milliseconds: such a value still parses and compares the same way).
       */
      notBefore: number;
    };

const FIELD_PREFIXES: ReadonlyArray<readonly [RevocationEntryKind, string]> = [
  ['token', 'jti:'],
  ['session', 'sid:'],
  ['subject', 'sub:'],
];

/**
 * The field of {@link REVOCATION_ENTRIES_KEY} naming what an entry revokes.
 *
 * @param kind what `id` is: a `jti`, a `sid` or a `sub`
 * @param id the claim's value, 1 to {@link MAX_REVOCATION_ID_LENGTH} characters
 * @returns e.g. `jti:3f1c…`, `sid:…`, `sub:…`
 * @throws RangeError for an empty id or one longer than {@link MAX_REVOCATION_ID_LENGTH}: no reader would parse it,
 *   so a revocation would be answered as done and be ignored by every verifier
 */
export function revocationField(kind: RevocationEntryKind, id: string): string {
  if (id.length === 0 || id.length > MAX_REVOCATION_ID_LENGTH) {
    throw new RangeError(`a revocation id is 1 to ${MAX_REVOCATION_ID_LENGTH} characters`);
  }
  return `${FIELD_PREFIXES.find(([candidate]) => candidate === kind)?.[1]}${id}`;
}

/**
 * Parses a field of {@link REVOCATION_ENTRIES_KEY}: the inverse of {@link revocationField}.
 *
 * @param field a hash field or a log entry's `field`
 * @returns its kind and id, or null for any other text, an empty id, or one longer than {@link MAX_REVOCATION_ID_LENGTH}
 */
export function parseRevocationField(field: string): { kind: RevocationEntryKind; id: string } | null {
  for (const [kind, prefix] of FIELD_PREFIXES) {
    if (!field.startsWith(prefix)) continue;
    const id = field.slice(prefix.length);
    return id.length > 0 && id.length <= MAX_REVOCATION_ID_LENGTH ? { kind, id } : null;
  }
  return null;
}

/**
 * Encodes a subject watermark.
 *
 * @param notBefore seconds since the epoch: whole seconds (what the issuer writes), or fractional
 * @returns the decimal string: `1700000001` for whole seconds, else millisecond precision (`1700000000.123`)
 */
export function formatWatermark(notBefore: number): string {
  return Number.isInteger(notBefore) ? String(notBefore) : notBefore.toFixed(3);
}

/**
 * Decodes a watermark.
 *
 * @param value the string written by {@link formatWatermark}
 * @returns seconds since the epoch, or null when it is not a finite, non-negative number
 */
export function parseWatermark(value: string): number | null {
  if (value.length === 0 || value.length > 32) return null;
  const notBefore = Number(value);
  return Number.isFinite(notBefore) && notBefore >= 0 ? notBefore : null;
}

/**
 * The value stored for an entry: its expiry, and for a subject its watermark.
 * The issuer's write script builds the same text in Lua (it must merge with
 * what is stored atomically); its spec parses that with {@link parseRevocationEntry}.
 *
 * @param entry the entry (the field carries its kind and id)
 * @returns `<expiresAtMs>` for a token or session, `<expiresAtMs>:<notBefore>` for a subject
 *   (e.g. `1700000960000:1700000000.123`)
 */
export function formatRevocationValue(entry: RevocationEntry): string {
  const expiresAtMs = String(Math.trunc(entry.expiresAtMs));
  return entry.kind === 'subject' ? `${expiresAtMs}:${formatWatermark(entry.notBefore)}` : expiresAtMs;
}

/**
 * Parses one stored or logged entry: the inverse of {@link revocationField}
 * and {@link formatRevocationValue}.
 *
 * @param field the hash field (or the log entry's `field`)
 * @param value the hash value (or the log entry's `value`)
 * @returns the entry, or null when the field is not a revocation field, the expiry is not a positive whole
 *   number of milliseconds, or a subject's watermark is missing or not a number (a token's or session's
 *   value carries no watermark)
 */
export function parseRevocationEntry(field: string, value: string): RevocationEntry | null {
  const named = parseRevocationField(field);
  if (named === null || value.length > 64) return null;
  const colon = value.indexOf(':');
  const expiresAtMs = Number(colon === -1 ? value : value.slice(0, colon));
  if (!Number.isSafeInteger(expiresAtMs) || expiresAtMs <= 0) return null;
  if (named.kind !== 'subject') return colon === -1 ? { kind: named.kind, id: named.id, expiresAtMs } : null;
  const notBefore = colon === -1 ? null : parseWatermark(value.slice(colon + 1));
  return notBefore === null ? null : { kind: 'subject', id: named.id, expiresAtMs, notBefore };
}

/**
 * Key of one subject's claim on its watermark, written and read by the issuer
 * only (verifiers never read it): the highest `auth_time` a login took *from*
 * the watermark because the watermark was ahead of the clock (a login in the
 * same second as a logout everywhere). The next subject revocation must cover
 * that session too, so it moves the watermark past the claim; without a claim
 * it does not move, and revocations in a row do not push `auth_time` into the
 * future. A string holding whole seconds, expiring after a minute (by then
 * the clock has passed it). Carries the revocation hash tag: the write script
 * reads it in the same slot as the entries.
 *
 * @param sub the subject
 * @returns e.g. `jwtms:{revocation}:auth-time-claim:3f1c…`
 * @throws RangeError for an empty `sub` or one longer than {@link MAX_REVOCATION_ID_LENGTH}, as {@link revocationField}
 */
export function authTimeClaimKey(sub: string): string {
  revocationField('subject', sub);
  return `${REVOCATION_KEY_PREFIX}auth-time-claim:${sub}`;
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
export const REVOCATION_GENERATION_KEY = `${REVOCATION_KEY_PREFIX}generation`;

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
