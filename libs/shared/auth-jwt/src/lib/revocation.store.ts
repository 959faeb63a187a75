import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT, withTimeout, type RedisClient } from '@jwt-ms/service-core';
import { revokedJtiKey, revokedSessionKey, subjectNotBeforeKey } from '@jwt-ms/contracts';
import { revocationUnavailable } from './token-rejection';

/**
 * Seconds a revocation entry outlives its token's `exp`, so it still covers the
 * token while a verifier's clock tolerance would accept it.
 */
export const REVOCATION_TTL_MARGIN_SECONDS = 60;

/** Longest wait for one Redis operation, in milliseconds; then the request fails closed (503). */
export const REDIS_TIMEOUT_MS = 1000;

/** Thrown when Redis cannot be reached; callers must fail closed. */
export class RevocationUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the revocation list in Redis cannot be reached', { cause });
    this.name = 'RevocationUnavailableError';
  }
}

/**
 * Runs a revocation-store operation, failing closed: Redis unreachable becomes
 * a 503 `dependency_unavailable` problem, so no caller is ever told a token is
 * fine, or revoked, when that could not be checked or written.
 *
 * @throws ProblemException 503 when Redis cannot be reached
 */
export async function failClosed<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof RevocationUnavailableError) throw revocationUnavailable();
    throw error;
  }
}

/** The parts of an access token that revocation looks at. */
export interface RevocableToken {
  /** `jti` claim. */
  jti: string;
  /** `sid` claim: the login session. */
  sid: string;
  /** `sub` claim. */
  sub: string;
  /** `auth_time` claim: when the session began, seconds since the epoch (fractional). */
  authTime: number;
}

/** Why a token is revoked, or null when it is not. */
export type RevocationReason = 'token revoked' | 'session revoked' | 'all tokens of the subject revoked' | null;

/**
 * The revocation state in Redis, three kinds of entry (key layout in
 * `@jwt-ms/contracts`):
 * - one access token, by `jti` (RFC 7519 §4.1.7): logout, RFC 7009 revocation;
 * - one login session, by `sid`: every token of a refresh-token family;
 * - one subject's "not before" watermark: every token of a session that began
 *   earlier (`auth_time`).
 *
 * The issuer writes; every verifier reads all three in one round trip (MGET).
 * Every entry expires once no token it covers can still be valid.
 */
@Injectable()
export class RevocationStore {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  /**
   * @param token the verified token's `jti`, `sid`, `sub` and `auth_time`
   * @returns why the token is revoked, or null
   * @throws RevocationUnavailableError when Redis does not answer
   */
  async check(token: RevocableToken): Promise<RevocationReason> {
    const values = (await this.bounded(() =>
      this.redis.mGet([revokedJtiKey(token.jti), revokedSessionKey(token.sid), subjectNotBeforeKey(token.sub)]),
    )) as Array<string | null>;
    const [jti, sid, notBefore] = values;
    if (jti !== null) return 'token revoked';
    if (sid !== null) return 'session revoked';
    if (notBefore !== null && token.authTime < Number(notBefore)) return 'all tokens of the subject revoked';
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
    const ttlSeconds = expiresAt - nowSeconds() + REVOCATION_TTL_MARGIN_SECONDS;
    if (ttlSeconds <= 0) return; // long expired: every verifier refuses it on `exp`
    await this.bounded(() => this.redis.set(revokedJtiKey(jti), '1', { EX: ttlSeconds }));
  }

  /**
   * Revokes every access token of a login session.
   *
   * @param sid the session (`sid` claim, the refresh-token family id)
   * @param maxTokenLifetimeSeconds the longest access-token lifetime, in seconds: how long the entry must live
   * @throws RevocationUnavailableError when Redis does not answer
   */
  async revokeSession(sid: string, maxTokenLifetimeSeconds: number): Promise<void> {
    await this.bounded(() =>
      this.redis.set(revokedSessionKey(sid), '1', { EX: maxTokenLifetimeSeconds + REVOCATION_TTL_MARGIN_SECONDS }),
    );
  }

  /**
   * Revokes every access token of a subject whose session began before
   * `notBefore`. The watermark only moves forward (see RAISE_WATERMARK).
   *
   * @param sub the subject
   * @param notBefore seconds since the epoch, fractional; tokens with an earlier `auth_time` are revoked
   * @param maxTokenLifetimeSeconds the longest access-token lifetime, in seconds
   * @throws RevocationUnavailableError when Redis does not answer
   */
  async revokeSubjectBefore(sub: string, notBefore: number, maxTokenLifetimeSeconds: number): Promise<void> {
    const ttl = maxTokenLifetimeSeconds + REVOCATION_TTL_MARGIN_SECONDS;
    await this.bounded(() =>
      this.redis.eval(RAISE_WATERMARK, {
        keys: [subjectNotBeforeKey(sub)],
        arguments: [notBefore.toFixed(3), String(ttl)],
      }),
    );
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
 * Raises the watermark KEYS[1] to ARGV[1] (TTL ARGV[2] seconds), atomically:
 * of two racing revocations, the later watermark stays.
 */
const RAISE_WATERMARK = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local proposed = tonumber(ARGV[1])
if proposed > current then current = proposed end
redis.call('SET', KEYS[1], string.format('%.3f', current), 'EX', ARGV[2])
return tostring(current)`;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
