import {
  Inject,
  Injectable,
  Logger,
  Optional,
  UseGuards,
  applyDecorators,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { ApiProblemResponse, REDIS_CLIENT, RETRY_AFTER, type RedisClient } from '@jwt-ms/service-core';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { consumeOrRefuse, fixedWindowLimiter } from './credentials-rate-limiter';
import { IssuerMetrics } from '../telemetry/issuer-metrics';
import { presentedClientCredentials } from '../oauth/client-credentials';

/**
 * The request-volume limits of the token endpoints (`/oauth/token`,
 * `/oauth/introspect`, `/oauth/revoke`, `/auth/refresh`), in Redis
 * (rate-limiter-flexible, fixed windows of `AUTH_RATE_LIMIT_WINDOW_SECONDS`),
 * so they hold across every auth replica:
 * - per client IP, every request that presents no confidential client's
 *   secret, successful or not (`AUTH_TOKEN_RATE_LIMIT_PER_IP`), charged by
 *   {@link TokenRateLimit}'s guard before the endpoint runs;
 * - per authenticated confidential client (`AUTH_TOKEN_RATE_LIMIT_PER_CLIENT`),
 *   charged by the `ClientAuthenticator` once the secret is proven, so that a
 *   stranger cannot spend a client's allowance by naming it. The public
 *   first-party client is shared by every user, so it has no count of its own:
 *   each user's address still has theirs.
 *
 * These sit beside the credential limits (`@CredentialsRateLimit`), which
 * count failed secrets; these bound the work any one caller can ask for
 * (a signature per token, a database row per refresh).
 */
@Injectable()
export class TokenRateLimiter {
  private readonly logger = new Logger('RateLimit');
  private readonly perIp: RateLimiterRedis;
  private readonly perClient: RateLimiterRedis;

  private readonly refused = (limiter: string) => this.metrics?.countRefusal(limiter);

  constructor(
    @Inject(REDIS_CLIENT) redis: RedisClient,
    @Inject(AUTH_SERVICE_CONFIG) config: AuthServiceConfig,
    @Optional() private readonly metrics?: IssuerMetrics,
  ) {
    this.perIp = fixedWindowLimiter(redis, config, 'rate:token-ip', config.AUTH_TOKEN_RATE_LIMIT_PER_IP);
    this.perClient = fixedWindowLimiter(redis, config, 'rate:token-client', config.AUTH_TOKEN_RATE_LIMIT_PER_CLIENT);
  }

  /**
   * Counts one token-endpoint request from `ip`.
   *
   * @param ip the client address (Fastify's `request.ip`: the peer, or the forwarded address from `TRUSTED_PROXIES`)
   * @throws ProblemException 429 `rate_limited` with `Retry-After` (seconds) and RFC 6749 §5.2 `error`
   * @throws ProblemException 503 `dependency_unavailable` when Redis does not answer
   */
  chargeAddress(ip: string): Promise<void> {
    return consumeOrRefuse(this.perIp, ip, true, this.logger, this.refused);
  }

  /**
   * Counts one request by an authenticated confidential client.
   *
   * @param clientId the client id, proven by its secret (hashed before it becomes a Redis key)
   * @throws ProblemException 429 `rate_limited` with `Retry-After` (seconds) and RFC 6749 §5.2 `error`
   * @throws ProblemException 503 `dependency_unavailable` when Redis does not answer
   */
  chargeClient(clientId: string): Promise<void> {
    return consumeOrRefuse(
      this.perClient,
      createHash('sha256').update(clientId).digest('hex'),
      true,
      this.logger,
      this.refused,
    );
  }
}

/**
 * Charges a request to the per-IP token-endpoint count
 * ({@link TokenRateLimiter.chargeAddress}); applied by {@link TokenRateLimit}.
 *
 * A request that presents a confidential client's secret is not counted per
 * address: a service calls from one address for all of its users (orders
 * exchanging a token per new customer), and the per-IP count is sized for one
 * device. It is counted per client once the secret is proven instead, and a
 * wrong secret is counted per address by the credential limits
 * (`@CredentialsRateLimit`, 30 failures a minute by default), so sending made-up
 * secrets buys no way round the per-IP count.
 */
@Injectable()
export class TokenRateLimitGuard implements CanActivate {
  constructor(
    private readonly limiter: TokenRateLimiter,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const { id, secret } = presentedClientCredentials(request.headers, request.body);
    const confidential = id !== undefined && secret !== undefined && id !== this.config.AUTH_CLIENT_ID;
    if (!confidential) await this.limiter.chargeAddress(request.ip);
    return true;
  }
}

/**
 * Puts an endpoint that issues, refreshes, revokes or describes tokens under
 * the request-volume limits ({@link TokenRateLimiter}): over
 * `AUTH_TOKEN_RATE_LIMIT_PER_IP` requests per window from one address → 429
 * `rate_limited` (RFC 9457 problem+json with RFC 6749 §5.2 `error:
 * "invalid_request"`) and `Retry-After` in seconds, before the request is
 * read. Declare it below `@CredentialsRateLimit`: method decorators apply
 * bottom-up, so its guard runs first and a flood is cut before any count of
 * failed secrets is touched.
 */
export function TokenRateLimit(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    UseGuards(TokenRateLimitGuard),
    ApiProblemResponse(429, ['rate_limited'], 'Too many requests or failed attempts; try again later.', RETRY_AFTER),
  );
}
