import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT, type RedisClient } from '@jwt-ms/service-core';
import { revokedJtiKey } from '@jwt-ms/contracts';

/**
 * Seconds a revocation entry outlives its token's `exp`, so it still covers the
 * token while a verifier's clock tolerance would accept it.
 */
export const REVOCATION_TTL_MARGIN_SECONDS = 60;

/** Thrown when Redis cannot be reached; callers must fail closed. */
export class RevocationUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the revocation list in Redis cannot be reached', { cause });
    this.name = 'RevocationUnavailableError';
  }
}

/**
 * The revocation blacklist in Redis, keyed by access-token `jti`
 * (RFC 7519 §4.1.7). The issuer writes it (logout, RFC 7009 revocation);
 * every verifier reads it. An entry expires when the token it names would
 * have, so the list holds only tokens that are otherwise still valid.
 */
@Injectable()
export class RevocationStore {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  /**
   * @param jti the token's `jti`
   * @returns true when the token has been revoked
   * @throws RevocationUnavailableError when Redis does not answer
   */
  async isRevoked(jti: string): Promise<boolean> {
    try {
      return (await this.redis.exists(revokedJtiKey(jti))) === 1;
    } catch (error) {
      throw new RevocationUnavailableError(error);
    }
  }

  /**
   * Revokes one access token until it would have expired anyway.
   *
   * @param jti the token's `jti`
   * @param expiresAt the token's `exp`, seconds since the epoch
   * @throws RevocationUnavailableError when Redis does not answer
   */
  async revoke(jti: string, expiresAt: number): Promise<void> {
    const ttlSeconds = expiresAt - Math.floor(Date.now() / 1000);
    if (ttlSeconds <= 0) return; // already expired: every verifier refuses it on `exp`
    try {
      await this.redis.set(revokedJtiKey(jti), '1', { EX: ttlSeconds + REVOCATION_TTL_MARGIN_SECONDS });
    } catch (error) {
      throw new RevocationUnavailableError(error);
    }
  }
}
