import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { IS_PUBLIC_KEY } from '@jwt-ms/service-core';
import { AUTH_JWT_SETTINGS, type ResolvedAuthJwtOptions } from '../auth-jwt.options';
import { ACCESS_TOKEN_STRATEGY } from '../access-token.strategy';
import type { Principal } from '../principal';
import { verificationProblem } from '../token-rejection';
import { RouteMetadata } from './route-metadata';

/**
 * The global authentication guard: every route needs a valid access token
 * unless it is marked `@Public()`. The token is read and verified by the
 * passport-jwt {@link AccessTokenStrategy}, which hands it to
 * {@link AccessTokenVerifier}; this guard turns the outcome into a problem
 * (token-rejection.ts `verificationProblem`):
 *
 * - no `Authorization: Bearer` header → 401 `unauthenticated`, challenge
 *   without error code (RFC 6750 §3.1);
 * - a token that fails a check → 401 `invalid_token`, `reason` naming the check,
 *   `WWW-Authenticate: Bearer error="invalid_token"`;
 * - the revocation list unavailable, or the issuer's keys never loaded → 503
 *   `dependency_unavailable`.
 */
@Injectable()
export class AccessTokenGuard extends AuthGuard(ACCESS_TOKEN_STRATEGY) {
  /** Whether a route is `@Public()`, read once per route: a public route is let through synchronously. */
  private readonly publicRoutes: RouteMetadata<boolean>;

  constructor(
    reflector: Reflector,
    @Inject(AUTH_JWT_SETTINGS) private readonly settings: ResolvedAuthJwtOptions,
  ) {
    super({ session: false });
    this.publicRoutes = new RouteMetadata(reflector, (metadata, targets) =>
      Boolean(metadata.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)),
    );
  }

  override canActivate(context: ExecutionContext): Promise<boolean> | boolean {
    if (this.publicRoutes.of(context)) return true;
    return super.canActivate(context) as Promise<boolean>;
  }

  /**
   * passport's outcome: `error` from the strategy's `error()` (503s, bugs), or `info` from its `fail()`
   * (a missing or refused token).
   *
   * @returns the principal, which AuthGuard stores as `request.user`
   * @throws ProblemException 401 or 503 (see the class)
   */
  override handleRequest<TUser = Principal>(error: unknown, user: unknown, info: unknown): TUser {
    if (error) throw verificationProblem(error, this.settings.audience);
    if (!user) throw verificationProblem(info ?? new Error('passport failed without a reason'), this.settings.audience);
    return user as TUser;
  }
}
