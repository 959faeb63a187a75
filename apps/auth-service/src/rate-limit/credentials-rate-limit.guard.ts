import {
  Inject,
  Injectable,
  SetMetadata,
  UseGuards,
  applyDecorators,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '@jwt-ms/auth-jwt';
import { ApiProblemResponse, RETRY_AFTER } from '@jwt-ms/service-core';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { normaliseEmail } from '../accounts/accounts.service';
import { presentedClientCredentials } from '../oauth/client-authenticator';
import {
  CredentialsRateLimiter,
  recordCharge,
  type CredentialsCharge,
  type CredentialsPool,
} from './credentials-rate-limiter';

/**
 * What an endpoint's "account" is, for its per-account limit:
 * - `email`: the body's `email`, normalised (login, register, later the authorize form);
 * - `subject`: the authenticated caller's `sub` (password change: the route must not be `@Public()`);
 * - `client_id`: the client id the request presents, HTTP Basic or body (RFC 6749 §2.3.1:
 *   introspection, revocation, later the token endpoint). The public first-party client
 *   (`AUTH_CLIENT_ID`) has no secret to guess and is shared by every user, so it gets no
 *   per-account count, which would let one caller hold everyone's revocations back.
 */
export type RateLimitedAccount = 'email' | 'subject' | 'client_id';

const POOL_OF: Record<RateLimitedAccount, CredentialsPool> = {
  email: 'password',
  subject: 'password',
  client_id: 'client',
};

const ACCOUNT_METADATA = 'jwtms:credentials-rate-limit:account';
type ChargedRequest = FastifyRequest & { user?: Principal };

/**
 * Puts an endpoint that checks a password or a client secret under the
 * credential limits, in one line: per client IP and per account
 * (`AUTH_RATE_LIMIT_PER_IP`, `AUTH_RATE_LIMIT_PER_ACCOUNT` per
 * `AUTH_RATE_LIMIT_WINDOW_SECONDS`), charged by a guard, so before the body is
 * validated and before any argon2 or secret comparison: a flood is cut before
 * its work. Over a limit → 429 `rate_limited` (RFC 9457 problem+json) with
 * `Retry-After` in seconds; Redis unreachable → 503.
 *
 * - `email` and `subject` endpoints share one per-IP count (the `password`
 *   pool) and count every attempt, successful or not: each one costs an argon2
 *   computation.
 * - `client_id` endpoints count failed client authentications only (the
 *   `ClientAuthenticator` gives a successful one back), in counts of their own, so
 *   a resource server that introspects often is never throttled while a
 *   secret guesser is; their 429 also carries RFC 6749 §5.2
 *   `error: "invalid_request"`.
 *
 * Every new endpoint that checks a password or a secret takes it, e.g. the
 * token endpoint `@CredentialsRateLimit('client_id')` and an authorize form
 * `@CredentialsRateLimit('email')`.
 *
 * @param account where the endpoint's account key comes from (see {@link RateLimitedAccount})
 */
export function CredentialsRateLimit(account: RateLimitedAccount): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(ACCOUNT_METADATA, account),
    UseGuards(CredentialsRateLimitGuard),
    // The API document says so wherever the guard runs.
    ApiProblemResponse(429, ['rate_limited'], 'Too many requests or failed attempts; try again later.', RETRY_AFTER),
  );
}

/**
 * Charges the request to its pool's per-IP and per-account counts (see
 * {@link CredentialsRateLimit}, which applies it). Runs after the global
 * access-token guard, so `subject` endpoints see the verified caller.
 *
 * @throws ProblemException 429 `rate_limited` / 503 `dependency_unavailable` (from {@link CredentialsRateLimiter.charge})
 * @throws Error when used without {@link CredentialsRateLimit}, or `subject` on a route without a caller (a wiring bug)
 */
@Injectable()
export class CredentialsRateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: CredentialsRateLimiter,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const account = this.reflector.getAllAndOverride<RateLimitedAccount | undefined>(ACCOUNT_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!account) throw new Error('CredentialsRateLimitGuard needs @CredentialsRateLimit(account) on the route');
    const request = context.switchToHttp().getRequest<ChargedRequest>();
    const charge: CredentialsCharge = {
      pool: POOL_OF[account],
      ip: request.ip,
      account: this.accountKey(account, request),
    };
    await this.limiter.charge(charge);
    recordCharge(request, charge);
    return true;
  }

  /** The namespaced account key; hashed where it is an email or attacker-chosen text, so none is written to Redis. */
  private accountKey(account: RateLimitedAccount, request: ChargedRequest): string | null {
    const body =
      typeof request.body === 'object' && request.body !== null ? (request.body as Record<string, unknown>) : {};
    switch (account) {
      case 'email':
        return typeof body['email'] === 'string' ? sha256(normaliseEmail(body['email'])) : null;
      case 'subject':
        if (!request.user) throw new Error('@CredentialsRateLimit("subject") needs an authenticated route');
        return `subject:${request.user.subject}`;
      case 'client_id': {
        const { id } = presentedClientCredentials(request.headers, request.body);
        return id === undefined || id === this.config.AUTH_CLIENT_ID ? null : `client:${sha256(id)}`;
      }
    }
  }
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
