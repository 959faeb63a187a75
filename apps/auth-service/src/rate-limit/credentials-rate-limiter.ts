import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { IssuerMetrics } from '../telemetry/issuer-metrics';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { REDIS_CLIENT, ProblemException, logSecurityEvent, withTimeout, type RedisClient } from '@jwt-ms/service-core';
import { REDIS_KEY_PREFIX } from '@jwt-ms/contracts';
import { REDIS_TIMEOUT_MS } from '@jwt-ms/auth-jwt';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';

/**
 * Which count an attempt is charged to:
 * - `password`: the endpoints that run argon2 (login, register, password
 *   change, later the authorize form), every attempt counted;
 * - `client`: client authentication with a secret (RFC 6749 §2.3.1:
 *   introspection, revocation, later the token endpoint), failed attempts
 *   counted (a success is given back, see {@link CredentialsRateLimiter.refund}).
 */
export type CredentialsPool = 'password' | 'client';

/**
 * One charge: the pool, the client IP and the account key (already hashed or
 * namespaced, e.g. `email:<sha256>`; null when the request names no account).
 */
export interface CredentialsCharge {
  pool: CredentialsPool;
  ip: string;
  account: string | null;
}

const CHARGE = Symbol('credentials-rate-limit-charge');

/** Marks a request as charged (by the guard), for the refund and for {@link chargeOf}. */
export function recordCharge(request: object, charge: CredentialsCharge): void {
  (request as { [CHARGE]?: CredentialsCharge })[CHARGE] = charge;
}

/**
 * @param request the Fastify request
 * @returns what the request was charged, or undefined when no `@CredentialsRateLimit` guard ran for it
 */
export function chargeOf(request: object): CredentialsCharge | undefined {
  return (request as { [CHARGE]?: CredentialsCharge })[CHARGE];
}

/**
 * The per-IP and per-account counters of every endpoint that checks a
 * password or a client secret, in Redis (rate-limiter-flexible, fixed windows
 * of `AUTH_RATE_LIMIT_WINDOW_SECONDS`), so the limits hold across every auth
 * replica. Each pool has its own counters of the same sizes
 * (`AUTH_RATE_LIMIT_PER_IP`, `AUTH_RATE_LIMIT_PER_ACCOUNT`).
 *
 * Use it through `@CredentialsRateLimit(...)` on a route, not directly.
 */
@Injectable()
export class CredentialsRateLimiter {
  private readonly logger = new Logger('RateLimit');
  private readonly limiters: Record<CredentialsPool, { perIp: RateLimiterRedis; perAccount: RateLimiterRedis }>;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(AUTH_SERVICE_CONFIG) config: AuthServiceConfig,
    @Optional() private readonly metrics?: IssuerMetrics,
  ) {
    const limiter = (keyPrefix: string, points: number) => fixedWindowLimiter(redis, config, keyPrefix, points);
    this.limiters = {
      password: {
        perIp: limiter('rate:ip', config.AUTH_RATE_LIMIT_PER_IP),
        perAccount: limiter('rate:account', config.AUTH_RATE_LIMIT_PER_ACCOUNT),
      },
      client: {
        perIp: limiter('rate:client-ip', config.AUTH_RATE_LIMIT_PER_IP),
        perAccount: limiter('rate:client', config.AUTH_RATE_LIMIT_PER_ACCOUNT),
      },
    };
  }

  /**
   * Charges one attempt, per IP first and then per account, so an IP over its
   * limit cannot make Redis keep a counter for every account name it invents.
   * Call it before the password or secret is compared: a flood is cut before
   * the work.
   *
   * @throws ProblemException 429 `rate_limited` with `Retry-After` (whole seconds, at least 1) over a limit;
   *   for the `client` pool the body also carries RFC 6749 §5.2 `error: "invalid_request"`
   * @throws ProblemException 503 `dependency_unavailable` when Redis does not answer within REDIS_TIMEOUT_MS:
   *   the limit is never silently off
   */
  private readonly refused = (limiter: string) => this.metrics?.countRefusal(limiter);

  async charge(charge: CredentialsCharge): Promise<void> {
    const { perIp, perAccount } = this.limiters[charge.pool];
    const oauth = charge.pool === 'client';
    await consumeOrRefuse(perIp, charge.ip, oauth, this.logger, this.refused);
    if (charge.account === null) return;
    let known: boolean;
    try {
      known = await this.knownClientAddress(charge);
    } catch {
      throw countersUnreachable(this.logger);
    }
    if (!known) await consumeOrRefuse(perAccount, charge.account, oauth, this.logger, this.refused);
  }

  /**
   * Whether this client authenticated successfully from this address within
   * the last 24 h. Such an address skips the per-client failure count (the
   * per-IP count still applies): otherwise anyone could send a client's id with
   * wrong secrets and lock the real resource server out of introspection and
   * revocation, since the count is charged before the secret is compared. The
   * idea is OWASP's "device cookie" for account lockout, keyed by address
   * because clients authenticate without cookies. A guesser from elsewhere still
   * meets the per-client limit, and client secrets (16+ characters) are not
   * guessed at that rate anyway.
   */
  private async knownClientAddress(charge: CredentialsCharge): Promise<boolean> {
    if (charge.pool !== 'client') return false;
    return (await withTimeout(this.redis.exists(knownAddressKey(charge)), REDIS_TIMEOUT_MS)) === 1;
  }

  /**
   * Gives back a charged attempt that succeeded (pools that count failures
   * only). Best effort: a Redis error is logged and swallowed, since the
   * request itself has succeeded; the cost is one attempt counted as failed.
   */
  async refund(charge: CredentialsCharge): Promise<void> {
    const { perIp, perAccount } = this.limiters[charge.pool];
    try {
      await withTimeout(perIp.reward(charge.ip), REDIS_TIMEOUT_MS);
      if (charge.account !== null) await withTimeout(perAccount.reward(charge.account), REDIS_TIMEOUT_MS);
      if (charge.pool === 'client' && charge.account !== null) {
        await withTimeout(
          this.redis.set(knownAddressKey(charge), '1', { EX: KNOWN_CLIENT_ADDRESS_SECONDS }),
          REDIS_TIMEOUT_MS,
        );
      }
    } catch {
      this.logger.warn('rate-limit counters unreachable (Redis); a successful attempt stays counted');
    }
  }
}

/**
 * How long an address a client authenticated from stays exempt from that
 * client's failure count, in seconds (24 h).
 */
const KNOWN_CLIENT_ADDRESS_SECONDS = 24 * 3600;

function knownAddressKey(charge: CredentialsCharge): string {
  return `${REDIS_KEY_PREFIX}rate:client-known:${charge.account}:${charge.ip}`;
}

/**
 * One fixed-window counter in Redis, shared by every auth replica, of
 * `AUTH_RATE_LIMIT_WINDOW_SECONDS` (seconds), the window of every limit here.
 *
 * @param keyPrefix the counter's namespace under the project's Redis prefix, e.g. `rate:ip`
 * @param points requests (or attempts) allowed per window and key
 */
export function fixedWindowLimiter(
  redis: RedisClient,
  config: Pick<AuthServiceConfig, 'AUTH_RATE_LIMIT_WINDOW_SECONDS'>,
  keyPrefix: string,
  points: number,
): RateLimiterRedis {
  return new RateLimiterRedis({
    storeClient: redis,
    useRedisPackage: true,
    duration: config.AUTH_RATE_LIMIT_WINDOW_SECONDS,
    keyPrefix: `${REDIS_KEY_PREFIX}${keyPrefix}`,
    points,
  });
}

/**
 * Takes one point from `limiter` for `key`, or refuses the request.
 *
 * @param limiter a fixed-window counter in Redis
 * @param key the counted key (an IP, or a namespaced, hashed account or client id)
 * @param oauth whether the endpoint is an OAuth one, whose clients read RFC 6749 §5.2 `error`
 * @param logger where a refusal (`rate_limit_refused`, with the limiter's label) and an unreachable Redis are
 *   reported (never the key: it may name a client or an address)
 * @throws ProblemException 429 `rate_limited` with `Retry-After` (whole seconds, at least 1) when the key is over
 * @throws ProblemException 503 `dependency_unavailable` when Redis does not answer within REDIS_TIMEOUT_MS
 *   (milliseconds): a limit is never silently off
 */
export async function consumeOrRefuse(
  limiter: RateLimiterRedis,
  key: string,
  oauth: boolean,
  logger: Logger,
  refused?: (limiter: string) => void,
): Promise<void> {
  try {
    await withTimeout(limiter.consume(key), REDIS_TIMEOUT_MS);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      refused?.(limiter.keyPrefix);
      // The limiter's label only: the key is an address or a hashed account or client id.
      logSecurityEvent(logger, 'rate_limit_refused', {
        limiter: limiter.keyPrefix,
        retry_after_ms: rejection.msBeforeNext,
      });
      throw rateLimited(oauth, rejection.msBeforeNext);
    }
    throw countersUnreachable(logger);
  }
}

function countersUnreachable(logger: Logger): ProblemException {
  logger.warn('rate-limit counters unreachable (Redis); refusing the request');
  return new ProblemException({
    status: 503,
    code: 'dependency_unavailable',
    detail: 'The service cannot check its rate limits right now; try again shortly.',
    headers: { 'retry-after': '1' },
  });
}

/** 429 `rate_limited`; `msBeforeNext` in milliseconds becomes `Retry-After` in whole seconds. */
function rateLimited(oauth: boolean, msBeforeNext: number): ProblemException {
  const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
  const detail = `Too many requests; try again in ${retryAfter} s.`;
  return new ProblemException({
    status: 429,
    code: 'rate_limited',
    detail,
    headers: { 'retry-after': String(retryAfter) },
    // OAuth clients read `error` (RFC 6749 §5.2), which has no rate-limit code: invalid_request is the generic one.
    extensions: oauth ? { error: 'invalid_request', error_description: detail } : undefined,
  });
}
