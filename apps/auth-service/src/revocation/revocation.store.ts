import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { REDIS_CLIENT, withTimeout, type RedisClient } from '@jwt-ms/service-core';
import {
  REVOCATION_ENTRIES_KEY,
  REVOCATION_EXPIRY_KEY,
  REVOCATION_GENERATION_KEY,
  REVOCATION_LOG_KEY,
  REVOCATION_LOG_RETENTION_MS,
  authTimeClaimKey,
  formatWatermark,
  parseRevocationEntry,
  revocationField,
  type RevocationEntryKind,
} from '@jwt-ms/contracts';
import {
  REDIS_TIMEOUT_MS,
  REVOCATION_TTL_MARGIN_SECONDS,
  RevocationUnavailableError,
  RevocationView,
  type RevocableToken,
  type RevocationReason,
} from '@jwt-ms/auth-jwt';

/** Expired entries one write drops from the list (amortised clean-up: a write never does unbounded work). */
const TRIM_PER_WRITE = 100;
/** Expired entries one {@link RevocationStore.trim} drops. */
const TRIM_PER_SWEEP = 2000;
/** Interval of the clean-up in a running issuer, in milliseconds. */
const TRIM_INTERVAL_MS = 1000;
/**
 * How far a session's `auth_time` may lie ahead of the clock, in whole seconds.
 * Verifiers accept an `auth_time` up to their clock tolerance (5 s by default)
 * after `iat`; 2 s leaves 3 s of that for clock skew between the issuer and them.
 * 1 s is the lead of a login in the same second as a logout everywhere; 2 s needs
 * a second revocation of that login within the same second.
 */
export const MAX_AUTH_TIME_LEAD_SECONDS = 2;
/** How long a login's claim on a watermark ({@link authTimeClaimKey}) is kept, in milliseconds: the clock passes it within 2 s. */
const AUTH_TIME_CLAIM_TTL_MS = 60_000;

/**
 * The revocation list in Redis, three kinds of entry (layout in `@jwt-ms/contracts`):
 * - one access token, by `jti` (RFC 7519 §4.1.7): logout, RFC 7009 revocation;
 * - one login session, by `sid`: every token of a refresh-token family;
 * - one subject's "not before" watermark: every token of a session that began
 *   earlier (`auth_time`).
 *
 * Times are whole seconds, as every NumericDate the issuer signs: a watermark
 * `W` revokes every session whose `auth_time < W`. A revocation at `now`
 * writes `floor(now) + 1`, so a session that began earlier in the same second
 * is covered; a login reads the watermark first ({@link sessionAuthTime}) and
 * starts its session no earlier than it, so a session that begins after the
 * revocation is not.
 *
 * Only the issuer writes, and this is its writer (resource services have no
 * code path that writes). Each write, in one Lua script (atomic: no entry
 * exists unlogged or unindexed), stores the entry in the entries hash, scores
 * it by expiry in the expiry index, appends it to the log (a stream trimmed to
 * {@link REVOCATION_LOG_RETENTION_MS}), and drops a few expired entries; then
 * this process's {@link RevocationView} takes it at once. Every key shares the
 * revocation hash tag, so the script runs on Redis Cluster too (one slot).
 * Verifiers read their {@link RevocationView}, not Redis, on each request
 * (introspection too: it runs the verifier's checks); {@link check} reads
 * Redis itself, for the issuer's own decisions that must see every write (a
 * refresh, a refresh token's introspection). Every entry expires once no token
 * it covers can still be valid: once a second the running issuer drops
 * expired entries ({@link trim}), so the hash holds the live ones.
 */
@Injectable()
export class RevocationStore implements OnApplicationBootstrap, OnApplicationShutdown {
  private trimTimer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Optional() @Inject(RevocationView) private readonly view: RevocationView | null,
  ) {}

  onApplicationBootstrap(): void {
    this.trimTimer = setInterval(() => {
      this.trim().catch(() => {
        /* Redis unreachable: the next tick tries again; readers ignore expired entries meanwhile */
      });
    }, TRIM_INTERVAL_MS);
    this.trimTimer.unref();
  }

  onApplicationShutdown(): void {
    if (this.trimTimer) clearInterval(this.trimTimer);
    this.trimTimer = null;
  }

  /**
   * Reads the entries of a token from Redis in one round trip (HMGET): its
   * `jti`, its session (a user token's only) and its subject's watermark.
   *
   * @param token the verified token's `jti`, `sid` (undefined for a service token), `sub` and `authTime`
   *   (`auth_time`, or a service token's `iat`; seconds since the epoch)
   * @returns why the token is revoked, or null
   * @throws RevocationUnavailableError when Redis does not answer within {@link REDIS_TIMEOUT_MS}
   */
  async check(token: RevocableToken): Promise<RevocationReason> {
    const fields = [revocationField('token', token.jti), revocationField('subject', token.sub)];
    if (token.sid !== undefined) fields.push(revocationField('session', token.sid));
    const values = (await this.bounded(() => this.redis.hmGet(REVOCATION_ENTRIES_KEY, fields))) as Array<string | null>;
    const nowMs = Date.now();
    const [jti, subject, sid = null] = values.map((value, index) => {
      const entry = value === null ? null : parseRevocationEntry(fields[index], String(value));
      return entry !== null && entry.expiresAtMs > nowMs ? entry : null;
    });
    if (jti !== null) return 'token revoked';
    if (sid !== null) return 'session revoked';
    if (subject?.kind === 'subject' && token.authTime < subject.notBefore) return 'all tokens of the subject revoked';
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
    await this.write('token', jti, ttlSeconds);
  }

  /**
   * Revokes every access token of a login session.
   *
   * @param sid the session (`sid` claim, the refresh-token family id)
   * @param maxTokenLifetimeSeconds the longest access-token lifetime, in seconds: how long the entry must live
   * @throws RevocationUnavailableError when Redis does not answer
   */
  async revokeSession(sid: string, maxTokenLifetimeSeconds: number): Promise<void> {
    await this.write('session', sid, maxTokenLifetimeSeconds + REVOCATION_TTL_MARGIN_SECONDS);
  }

  /**
   * Revokes every access token of a subject whose session began before
   * `notBefore`. The watermark only moves forward: of two racing
   * revocations, the later watermark stays. And it moves past every
   * `auth_time` a login took from the watermark itself ({@link sessionAuthTime}'s
   * claim): such a session began before this revocation, in the same second
   * as the previous one, and `notBefore` alone (`floor(now) + 1`) would equal
   * its `auth_time` and miss it. Without a claim the watermark stays where the
   * clock puts it, so revocations in a row do not push it into the future.
   *
   * @param sub the subject
   * @param notBefore whole seconds since the epoch, `floor(now) + 1` for a revocation at `now`;
   *   tokens with an earlier `auth_time` are revoked
   * @param maxTokenLifetimeSeconds the longest access-token lifetime, in seconds
   * @throws RangeError when `notBefore` is not a whole number of seconds (a bug in the caller)
   * @throws RevocationUnavailableError when Redis does not answer
   */
  async revokeSubjectBefore(sub: string, notBefore: number, maxTokenLifetimeSeconds: number): Promise<void> {
    if (!Number.isSafeInteger(notBefore) || notBefore < 0) {
      throw new RangeError('a watermark is a whole, non-negative number of seconds');
    }
    await this.write(
      'subject',
      sub,
      maxTokenLifetimeSeconds + REVOCATION_TTL_MARGIN_SECONDS,
      formatWatermark(notBefore),
    );
  }

  /**
   * The `auth_time` of a session of `sub` that begins now: `nowSeconds`, or the
   * subject's watermark when that is ahead of the clock (a logout everywhere
   * earlier in this second wrote `floor(now) + 1`): a session that begins after
   * the revocation must not be revoked by it. One round trip (the HGET of the
   * watermark, in a script): when it takes the watermark, the script also
   * records that claim ({@link authTimeClaimKey}) in the same atomic step, so
   * that a later revocation within the same second moves the watermark past
   * it ({@link revokeSubjectBefore}). The caller then starts its session at
   * `max(now, authTime)` and must read the credentials only after this call:
   * a password change before it is seen by the credential check, one after it
   * writes a watermark above the session's `auth_time`.
   *
   * The result may lie up to 1 s after `nowSeconds` (and after the token's
   * `iat`), 2 s after several revocations within one second: verifiers accept
   * an `auth_time` up to their clock tolerance (5 s) after `iat`. A lead over
   * {@link MAX_AUTH_TIME_LEAD_SECONDS} is returned unclaimed: the caller must
   * refuse the login for now.
   *
   * @param sub the subject (account id)
   * @param nowSeconds the current time, whole seconds since the epoch
   * @returns the session's `auth_time`, whole seconds since the epoch, at least `nowSeconds`
   * @throws RevocationUnavailableError when Redis does not answer within {@link REDIS_TIMEOUT_MS}
   */
  async sessionAuthTime(sub: string, nowSeconds: number): Promise<number> {
    const authTime = await this.bounded(() =>
      this.redis.eval(SESSION_AUTH_TIME, {
        keys: [REVOCATION_ENTRIES_KEY, authTimeClaimKey(sub)],
        arguments: [
          revocationField('subject', sub),
          String(nowSeconds),
          String(MAX_AUTH_TIME_LEAD_SECONDS),
          String(AUTH_TIME_CLAIM_TTL_MS),
        ],
      }),
    );
    return Math.max(Number(authTime), nowSeconds);
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

  /**
   * Drops up to 2000 expired entries from the hash and the index, and trims
   * the log to its retention: the issuer's generation keeper calls it every
   * second, so a list nobody writes to still sheds what has expired.
   *
   * @returns how many entries were dropped
   * @throws RevocationUnavailableError when Redis does not answer
   */
  async trim(): Promise<number> {
    return Number(
      await this.bounded(() =>
        this.redis.eval(TRIM, {
          keys: [REVOCATION_ENTRIES_KEY, REVOCATION_EXPIRY_KEY, REVOCATION_LOG_KEY],
          arguments: [String(TRIM_PER_SWEEP), String(REVOCATION_LOG_RETENTION_MS)],
        }),
      ),
    );
  }

  /** Stores, indexes and logs one entry (WRITE_AND_LOG), then updates this process's view. */
  private async write(kind: RevocationEntryKind, id: string, ttlSeconds: number, watermark = ''): Promise<void> {
    const field = revocationField(kind, id);
    const keys = [REVOCATION_ENTRIES_KEY, REVOCATION_EXPIRY_KEY, REVOCATION_LOG_KEY];
    if (kind === 'subject') keys.push(authTimeClaimKey(id));
    const [value] = (await this.bounded(() =>
      this.redis.eval(WRITE_AND_LOG, {
        keys,
        arguments: [
          field,
          String(ttlSeconds * 1000),
          watermark,
          String(REVOCATION_LOG_RETENTION_MS),
          String(TRIM_PER_WRITE),
        ],
      }),
    )) as [string, string];
    const entry = parseRevocationEntry(field, String(value));
    if (entry !== null) this.view?.apply(entry);
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
 * Lua shared by both scripts: drops up to `limit` entries whose expiry (in the
 * index KEYS[2]) has passed from the index and the hash KEYS[1], and trims the
 * log KEYS[3] to entries younger than `retentionMs` (approximately: whole
 * stream nodes, which keeps trimming cheap; readers check what was deleted).
 */
const DROP_EXPIRED = `
local function dropExpired(nowMs, limit, retentionMs)
  local expired = redis.call('ZRANGE', KEYS[2], '-inf', string.format('%d', nowMs), 'BYSCORE', 'LIMIT', 0, limit)
  if #expired > 0 then
    redis.call('HDEL', KEYS[1], unpack(expired))
    redis.call('ZREM', KEYS[2], unpack(expired))
  end
  redis.call('XTRIM', KEYS[3], 'MINID', '~', string.format('%d', nowMs - retentionMs))
  return #expired
end
local function nowMs()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
`;

/**
 * Stores the entry ARGV[1] (a field) for ARGV[2] milliseconds from now
 * (Redis's clock) in the hash KEYS[1], scores it by expiry in the index
 * KEYS[2], and appends it to the log KEYS[3]: atomically, so no entry exists
 * unlogged. Merges with what is stored: the later expiry stays, and for a
 * subject (ARGV[3], its watermark in whole seconds, non-empty) the larger
 * watermark, so of two racing revocations the stronger wins (a stored
 * fractional one, from an issuer before whole seconds, rounded up), and at
 * least one more than the `auth_time` a login claimed (KEYS[4], see
 * SESSION_AUTH_TIME). Then drops up to ARGV[5] expired
 * entries and trims the log to ARGV[4] milliseconds. Returns `{ value, id }`:
 * the stored value and the log entry's ID.
 *
 * The value is the text `formatRevocationValue` describes (`<expiresAtMs>` or
 * `<expiresAtMs>:<notBefore>`), built here because the merge must be atomic;
 * the store's spec parses it with `parseRevocationEntry`.
 */
const WRITE_AND_LOG = `${DROP_EXPIRED}
local now = nowMs()
local expiresAt = now + tonumber(ARGV[2])
local notBefore = ARGV[3]
local current = redis.call('HGET', KEYS[1], ARGV[1])
local watermark = tonumber(notBefore)
if current then
  local colon = string.find(current, ':', 1, true)
  local currentExpiry = tonumber(colon and string.sub(current, 1, colon - 1) or current)
  if currentExpiry and currentExpiry > expiresAt then expiresAt = currentExpiry end
  if watermark and colon then
    local currentNotBefore = tonumber(string.sub(current, colon + 1))
    if currentNotBefore and math.ceil(currentNotBefore) > watermark then watermark = math.ceil(currentNotBefore) end
  end
end
if watermark and KEYS[4] then
  local claimed = tonumber(redis.call('GET', KEYS[4]) or '')
  if claimed and claimed + 1 > watermark then watermark = claimed + 1 end
end
if watermark then notBefore = string.format('%d', watermark) end
local value = string.format('%d', expiresAt)
if notBefore ~= '' then value = value .. ':' .. notBefore end
redis.call('HSET', KEYS[1], ARGV[1], value)
redis.call('ZADD', KEYS[2], expiresAt, ARGV[1])
local id = redis.call('XADD', KEYS[3], '*', 'field', ARGV[1], 'value', value)
dropExpired(now, tonumber(ARGV[5]), tonumber(ARGV[4]))
return { value, id }`;

/**
 * Reads the subject's watermark (field ARGV[1] of the hash KEYS[1]) for a
 * session beginning at ARGV[2] (whole seconds): returns ARGV[2], or the
 * watermark rounded up when it is live and ahead of that. When it is ahead by
 * at most ARGV[3] seconds, records it as claimed in KEYS[2] (kept ARGV[4] ms,
 * never lowered), in the same atomic step as the read: a revocation's script
 * runs either before it (and the session starts at its watermark) or after
 * it (and sees the claim, so it revokes this session too).
 */
const SESSION_AUTH_TIME = `${DROP_EXPIRED}
local now = tonumber(ARGV[2])
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return now end
local colon = string.find(value, ':', 1, true)
if not colon then return now end
local expiresAt = tonumber(string.sub(value, 1, colon - 1))
local notBefore = tonumber(string.sub(value, colon + 1))
if not expiresAt or not notBefore or expiresAt <= nowMs() then return now end
local authTime = math.ceil(notBefore)
if authTime <= now then return now end
if authTime - now <= tonumber(ARGV[3]) then
  local claimed = tonumber(redis.call('GET', KEYS[2]) or '')
  if not claimed or claimed < authTime then
    redis.call('SET', KEYS[2], string.format('%d', authTime), 'PX', ARGV[4])
  end
end
return authTime`;

/** Drops up to ARGV[1] expired entries and trims the log to ARGV[2] milliseconds; returns how many were dropped. */
const TRIM = `${DROP_EXPIRED}
return dropExpired(nowMs(), tonumber(ARGV[1]), tonumber(ARGV[2]))`;

/** Sets KEYS[1] to ARGV[1] if it holds ARGV[2] (empty: absent); returns the value it holds afterwards. */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[2] == '') or current == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return current`;
