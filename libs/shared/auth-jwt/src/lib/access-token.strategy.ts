import { Injectable, Optional } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import type { IncomingHttpHeaders } from 'node:http';
import { extractBearerToken } from './access-token.checks';
import { AccessTokenVerifier } from './access-token.verifier';
import type { Principal } from './principal';
import { TokenMissingError, TokenRejectedError, VerificationUnavailableError } from './token-rejection';
import { VerifierMetrics } from './verifier-metrics';

/** Name under which the strategy is registered with passport. */
export const ACCESS_TOKEN_STRATEGY = 'access-token';

/**
 * The passport-jwt strategy, as a thin shell over {@link AccessTokenVerifier}:
 * it reads the bearer token once (RFC 6750 §2.1) and hands it, whole, to the
 * pipeline; no check lives here.
 *
 * Why `authenticate` is overridden rather than configured: passport-jwt 4's
 * own `authenticate` calls `secretOrKeyProvider`, then the module-level static
 * `Strategy.JwtVerifier` (documented "should only be replaced in tests"), then
 * the `verify` callback. A verifier cannot be given per instance (the static
 * is read through the module's closure, so a subclass's static is not seen),
 * and replacing the static changes every passport-jwt strategy in the process.
 * Keeping that flow would put checks in its callbacks. Overriding
 * `authenticate` keeps what the NestJS side needs from passport-jwt (the
 * strategy class `@nestjs/passport` registers under {@link ACCESS_TOKEN_STRATEGY},
 * which `AuthGuard` drives through passport's `success`/`fail`/`error`) and
 * nothing else.
 *
 * Outcomes: `success(principal)`; `fail(TokenMissingError | TokenRejectedError)`
 * for a token that is absent or not acceptable; `error(…)` for anything else
 * (VerificationUnavailableError: 503). The guard turns them into problems
 * (token-rejection.ts).
 */
@Injectable()
export class AccessTokenStrategy extends PassportStrategy(Strategy, ACCESS_TOKEN_STRATEGY) {
  constructor(
    private readonly verifier: AccessTokenVerifier,
    @Optional() private readonly metrics: VerifierMetrics = new VerifierMetrics(),
  ) {
    // passport-jwt's constructor requires both; its `authenticate`, their only user, is replaced below.
    super({
      jwtFromRequest: (request: { headers: IncomingHttpHeaders }) => extractBearerToken(request.headers),
      secretOrKeyProvider: (_request: unknown, _token: unknown, done: (error: Error) => void) =>
        done(new Error('unused: AccessTokenStrategy.authenticate verifies')),
    });
  }

  /**
   * Called by passport once per request (on an object whose prototype is this
   * strategy, augmented with `success`/`fail`/`error`).
   *
   * @param request the HTTP request; only its `Authorization` header is read
   */
  override authenticate(request: { headers: IncomingHttpHeaders }): void {
    let token: string | null;
    try {
      token = extractBearerToken(request.headers);
    } catch (error) {
      if (error instanceof TokenRejectedError) this.metrics.countRejected(error.code);
      this.fail(error, 401);
      return;
    }
    if (token === null) {
      this.metrics.countMissing();
      this.fail(new TokenMissingError(), 401);
      return;
    }
    this.verifier.verify(token).then(
      (principal) => {
        this.metrics.countAccepted();
        this.success(principal);
      },
      (error: unknown) => {
        if (error instanceof TokenRejectedError) {
          this.metrics.countRejected(error.code);
          this.fail(error, 401);
          return;
        }
        if (error instanceof VerificationUnavailableError) this.metrics.countUnavailable(error.dependency);
        this.error(error as Error);
      },
    );
  }

  /**
   * passport-jwt's `verify` callback, which `@nestjs/passport` requires; never
   * reached, since {@link authenticate} does not run passport-jwt's flow.
   */
  validate(principal: Principal): Principal {
    return principal;
  }
}
