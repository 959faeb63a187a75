import { Inject, Injectable, Logger } from '@nestjs/common';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { REDIS_CLIENT, ProblemException, withTimeout, type RedisClient } from '@jwt-ms/service-core';
import { REDIS_KEY_PREFIX } from '@jwt-ms/contracts';
import { REDIS_TIMEOUT_MS, type UserPrincipal } from '@jwt-ms/auth-jwt';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';

/** How one access token's revocation is written: its own `jti` entry, or its whole session's `sid` entry. */
export type RevocationGranularity = 'token' | 'session';

/**
 * Bounds how many single-token (`jti`) entries one session and one subject
 * can add to the revocation list, which every verifier holds in memory and
 * re-reads: a loop of refresh and RFC 7009 revoke would otherwise add one
 * entry per turn. Counted in Redis (rate-limiter-flexible), in fixed windows
 * of one access-token lifetime (`ACCESS_TOKEN_TTL_SECONDS`), the longest any
 * `jti` entry lives: at most `REVOCATION_TOKENS_PER_SESSION` per session and
 * `REVOCATION_TOKENS_PER_SUBJECT` per subject per window.
 *
 * Past a bound the revocation is not refused (the token would stay valid): it
 * widens to the token's session, one `sid` entry that also ends the
 * session's refresh tokens. RFC 7009 §2.1 allows this: revoking an access
 * token MAY revoke its grant's refresh token as well. A session ends once, so
 * what one subject adds per window is bounded by the per-subject count plus
 * one entry per session, and sessions come from logins, which are rate limited.
 */
@Injectable()
export class RevocationBudget {
  private readonly logger = new Logger('RevocationBudget');
  private readonly perSession: RateLimiterRedis;
  private readonly perSubject: RateLimiterRedis;

  constructor(@Inject(REDIS_CLIENT) redis: RedisClient, @Inject(AUTH_SERVICE_CONFIG) config: AuthServiceConfig) {
    const common = {
      storeClient: redis,
      useRedisPackage: true,
      duration: config.ACCESS_TOKEN_TTL_SECONDS,
    } as const;
    this.perSession = new RateLimiterRedis({
      ...common,
      keyPrefix: `${REDIS_KEY_PREFIX}revocation-budget:sid`,
      points: config.REVOCATION_TOKENS_PER_SESSION,
    });
    this.perSubject = new RateLimiterRedis({
      ...common,
      keyPrefix: `${REDIS_KEY_PREFIX}revocation-budget:sub`,
      points: config.REVOCATION_TOKENS_PER_SUBJECT,
    });
  }

  /**
   * Counts one single-token revocation against the token's session and
   * subject, and says how to write it.
   *
   * @param principal the verified access token to revoke (its `sid` and `sub`)
   * @returns `token` while both counts are within bounds; `session` once either is spent
   * @throws ProblemException 503 `dependency_unavailable` when Redis does not answer within REDIS_TIMEOUT_MS
   */
  async admit(principal: UserPrincipal): Promise<RevocationGranularity> {
    try {
      await withTimeout(this.perSession.consume(principal.sessionId), REDIS_TIMEOUT_MS);
      await withTimeout(this.perSubject.consume(principal.subject), REDIS_TIMEOUT_MS);
      return 'token';
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        this.logger.log(
          `revocation budget of account ${principal.subject} spent; revoking session ${principal.sessionId}`,
        );
        return 'session';
      }
      throw new ProblemException({
        status: 503,
        code: 'dependency_unavailable',
        detail: 'The revocation list cannot be reached right now; try again shortly.',
        headers: { 'retry-after': '1' },
      });
    }
  }
}
