import { Inject, Injectable, Optional } from '@nestjs/common';
import { REDIS_CLIENT, withTimeout, type RedisClient } from '@jwt-ms/service-core';
import {
  REVOCATION_GENERATION_KEY,
  REVOCATION_INDEX_KEY,
  REVOKED_VALUE,
  formatWatermark,
  parseRevocationKey,
  parseWatermark,
  revocationChannel,
  revokedJtiKey,
  revokedSessionKey,
  subjectNotBeforeKey,
  type RevocationAnnouncement,
} from '@jwt-ms/contracts';
import {
  REDIS_TIMEOUT_MS,
  REVOCATION_TTL_MARGIN_SECONDS,
  RevocationUnavailableError,
  RevocationView,
  type RevocableToken,
  type RevocationReason,
} from '@jwt-ms/auth-jwt';

/**
 * The revocation list in Redis, three kinds of entry (key layout in
 * `@jwt-ms/contracts`):
 * - one access token, by `jti` (RFC 7519 §4.1.7): logout, RFC 7009 revocation;
 * - one login session, by `sid`: every token of a refresh-token family;
 * - one subject's "not before" watermark: every token of a session that began
 *   earlier (`auth_time`).
 *
 * Only the issuer writes, and this is its writer (resource services have no
 * code path that writes): each write stores the entry, indexes it by expiry
 * ({@link REVOCATION_INDEX_KEY}) and announces it on its database's {@link revocationChannel}
 * in one Lua script (atomic: no entry exists unindexed or unannounced), and
 * updates this process's {@link RevocationView} at once.
 * Verifiers read their {@link RevocationView}, not Redis, on each request
 * (introspection too: it runs the verifier's checks); {@link check} reads
 * Redis itself, for the issuer's own decisions that must see every write (a
 * refresh, a refresh token's introspection). Every entry expires once no token
 * it covers can still be valid.
 */
@Injectable()
export class RevocationStore {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Optional() @Inject(RevocationView) private readonly view: RevocationView | null,
  ) {}

  /**
   * Reads the three entries of a token from Redis in one round trip (MGET).
   *
   * @param token the verified token's `jti`, `sid`, `sub` and `auth_time`
   * @returns why the token is revoked, or null
   * @throws RevocationUnavailableError when Redis does not answer within {@link REDIS_TIMEOUT_MS}
   */
  async check(token: RevocableToken): Promise<RevocationReason> {
    const values = (await this.bounded(() =>
      this.redis.mGet([revokedJtiKey(token.jti), revokedSessionKey(token.sid), subjectNotBeforeKey(token.sub)]),
    )) as Array<string | null>;
    const [jti, sid, notBefore] = values;
    if (jti !== null) return 'token revoked';
    if (sid !== null) return 'session revoked';
    const watermark = notBefore === null ? null : parseWatermark(notBefore);
    if (watermark !== null && token.authTime < watermark) return 'all tokens of the subject revoked';
    return null;
  }

  /**
   * Revokes one access token until it would have expired anyway.
   *
   * @param jti the token's `jti`
   * @param expiresAt the token's `exp`, seconds since the epoch
   * @throws RevocationUnavailableError when Redis does not answer
   */
  async revokeToken(jti: string, expiresAt: number): Promise<void> {
    // Kept REVOCATION_TTL_MARGIN_SECONDS past `exp`: verifiers still accept the token within their clock tolerance.
    const ttlSeconds = expiresAt - Math.floor(Date.now() / 1000) + REVOCATION_TTL_MARGIN_SECONDS;
    if (ttlSeconds <= 0) return; // long expired: every verifier refuses it on `exp`
    await this.write(revokedJtiKey(jti), REVOKED_VALUE, ttlSeconds);
  }

  /**
   * Revokes every access token of a login session.
   *
   * @param sid the session (`sid` claim, the refresh-token family id)
   * @param maxTokenLifetimeSeconds the longest access-token lifetime, in seconds: how long the entry must live
   * @throws RevocationUnavailableError when Redis does not answer
   */
  async revokeSession(sid: string, maxTokenLifetimeSeconds: number): Promise<void> {
    await this.write(revokedSessionKey(sid), REVOKED_VALUE, maxTokenLifetimeSeconds + REVOCATION_TTL_MARGIN_SECONDS);
  }

  /**
   * Revokes every access token of a subject whose session began before
   * `notBefore`. The watermark only moves forward: of two racing
   * revocations, the later watermark stays.
   *
   * @param sub the subject
   * @param notBefore seconds since the epoch, fractional; tokens with an earlier `auth_time` are revoked
   * @param maxTokenLifetimeSeconds the longest access-token lifetime, in seconds
   * @throws RevocationUnavailableError when Redis does not answer
   */
  async revokeSubjectBefore(sub: string, notBefore: number, maxTokenLifetimeSeconds: number): Promise<void> {
    await this.write(
      subjectNotBeforeKey(sub),
      formatWatermark(notBefore),
      maxTokenLifetimeSeconds + REVOCATION_TTL_MARGIN_SECONDS,
    );
  }

  /**
   * Reads the list's generation marker ({@link REVOCATION_GENERATION_KEY}) as stored.
   *
   * @returns the raw value, or null when absent
   * @throws RevocationUnavailableError when Redis does not answer
   */
  async readGeneration(): Promise<string | null> {
    return this.bounded(() => this.redis.get(REVOCATION_GENERATION_KEY));
  }

  /**
   * Replaces the generation marker, only if it still holds `expected`
   * (compare-and-set, so of two issuers acting on the same observation one
   * wins and the other sees its write).
   *
   * @param next the new value (a RevocationGeneration as JSON)
   * @param expected the raw value read before, or null for "absent"
   * @returns the value stored afterwards: `next` when the swap happened, else what another writer left
   * @throws RevocationUnavailableError when Redis does not answer
   */
  async replaceGeneration(next: string, expected: string | null): Promise<string | null> {
    return (await this.bounded(() =>
      this.redis.eval(COMPARE_AND_SET, { keys: [REVOCATION_GENERATION_KEY], arguments: [next, expected ?? ''] }),
    )) as string | null;
  }

  /** Stores and announces one entry (WRITE_AND_ANNOUNCE), then updates this process's view. */
  private async write(key: string, value: string, ttlSeconds: number): Promise<void> {
    // A watermark only rises; the other kinds hold REVOKED_VALUE, and their presence is what counts.
    const merge = parseRevocationKey(key)?.kind === 'subject' ? 'max' : 'replace';
    const stored = (await this.bounded(() =>
      this.redis.eval(WRITE_AND_ANNOUNCE, {
        keys: [key, REVOCATION_INDEX_KEY],
        arguments: [value, String(ttlSeconds), revocationChannel(this.redis.options?.database), merge],
      }),
    )) as string;
    this.view?.apply({ key, value: stored, ttlMs: ttlSeconds * 1000 } satisfies RevocationAnnouncement);
  }

  /**
   * Runs one Redis operation, bounded by {@link REDIS_TIMEOUT_MS}: a Redis that
   * hangs is as unavailable as one that refuses connections.
   */
  private async bounded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(operation(), REDIS_TIMEOUT_MS);
    } catch (error) {
      throw new RevocationUnavailableError(error);
    }
  }
}

/**
 * Stores KEYS[1] = ARGV[1] for ARGV[2] seconds, indexes it in the sorted set
 * KEYS[2] by expiry (dropping members that have expired), and publishes it on
 * ARGV[3] as a RevocationAnnouncement: atomically, so no entry exists
 * unindexed or unannounced. With ARGV[4] = `max` (a watermark) the value only
 * rises: the larger of the stored and proposed values is kept and announced,
 * as stored (both were encoded by `formatWatermark`). Returns the stored value.
 *
 * The announcement is the JSON object `formatRevocationAnnouncement` describes,
 * encoded here by cjson because it must be built inside the script; the
 * store's spec parses it with `parseRevocationAnnouncement`.
 */
const WRITE_AND_ANNOUNCE = `
local value = ARGV[1]
if ARGV[4] == 'max' then
  local current = redis.call('GET', KEYS[1])
  if current and tonumber(current) > tonumber(value) then value = current end
end
local ttlMs = tonumber(ARGV[2]) * 1000
local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('SET', KEYS[1], value, 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], 'GT', nowMs + ttlMs, KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', nowMs)
redis.call('PUBLISH', ARGV[3], cjson.encode({ key = KEYS[1], value = value, ttlMs = ttlMs }))
return value`;

/** Sets KEYS[1] to ARGV[1] if it holds ARGV[2] (empty: absent); returns the value it holds afterwards. */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[2] == '') or current == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return current`;
