import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { FastifyRequest } from 'fastify';
import { REDIS_CLIENT, ProblemException, withTimeout, type RedisClient } from '@jwt-ms/service-core';
import { REDIS_KEY_PREFIX } from '@jwt-ms/contracts';
import { REDIS_TIMEOUT_MS } from '@jwt-ms/auth-jwt';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { normaliseEmail } from '../accounts/accounts.service';

/**
 * Throttles the endpoints that take a password (login, register): per client
 * IP and per account (the email in the body), with the counters in Redis
 * (rate-limiter-flexible), so the limits hold across every auth replica.
 * Over a limit → 429 `rate_limited` with `Retry-After` (seconds).
 *
 * The per-account limit slows password guessing against one account from many
 * IPs; the price is that someone can hold a known email's logins back for one
 * window: the usual trade-off (Keycloak's brute-force detection makes it too).
 * Redis unreachable → 503: the limit is never silently off.
 */
@Injectable()
export class CredentialsRateLimitGuard implements CanActivate {
  private readonly logger = new Logger('RateLimit');
  private readonly perIp: RateLimiterRedis;
  private readonly perAccount: RateLimiterRedis;

  constructor(@Inject(REDIS_CLIENT) redis: RedisClient, @Inject(AUTH_SERVICE_CONFIG) config: AuthServiceConfig) {
    const window = config.AUTH_RATE_LIMIT_WINDOW_SECONDS;
    const common = { storeClient: redis, useRedisPackage: true, duration: window } as const;
    this.perIp = new RateLimiterRedis({
      ...common,
      keyPrefix: `${REDIS_KEY_PREFIX}rate:ip`,
      points: config.AUTH_RATE_LIMIT_PER_IP,
    });
    this.perAccount = new RateLimiterRedis({
      ...common,
      keyPrefix: `${REDIS_KEY_PREFIX}rate:account`,
      points: config.AUTH_RATE_LIMIT_PER_ACCOUNT,
    });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest<{ Body: { email?: unknown } }>>();
    const email = typeof request.body?.email === 'string' ? normaliseEmail(request.body.email) : null;
    try {
      await withTimeout(this.perIp.consume(request.ip), REDIS_TIMEOUT_MS);
      // Keyed by a hash: no email address is written to Redis.
      if (email)
        await withTimeout(this.perAccount.consume(createHash('sha256').update(email).digest('hex')), REDIS_TIMEOUT_MS);
      return true;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
        throw new ProblemException({
          status: 429,
          code: 'rate_limited',
          detail: `Too many attempts; try again in ${retryAfter} s.`,
          headers: { 'retry-after': String(retryAfter) },
        });
      }
      this.logger.warn('rate-limit counters unreachable (Redis); refusing the request');
      throw new ProblemException({
        status: 503,
        code: 'dependency_unavailable',
        detail: 'The service cannot check its rate limits right now; try again shortly.',
        headers: { 'retry-after': '1' },
      });
    }
  }
}
