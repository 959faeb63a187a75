import { Inject, Injectable, Logger, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { IS_PUBLIC_KEY } from '@jwt-ms/service-core';
import { AUTH_JWT_OPTIONS, type AuthJwtModuleOptions } from '../auth-jwt.options';
import { ACCESS_TOKEN_STRATEGY } from '../access-token.strategy';
import { extractBearerToken } from '../access-token.checks';
import type { Principal } from '../principal';
import { VerificationKeysUnavailableError } from '../signing-key.resolver';
import { AccessTokenVerifier } from '../access-token.verifier';
import { VerifiedTokenCache } from '../verified-token.cache';
import {
  TokenRejectedError,
  invalidToken,
  missingToken,
  rejectionReason,
  verificationKeysUnavailable,
} from '../token-rejection';

/**
 * The global authentication guard: every route needs a valid access token
 * unless it is marked `@Public()`.
 *
 * - no `Authorization: Bearer` header → 401 `unauthenticated`, challenge
 *   without error code (RFC 6750 §3.1);
 * - a token that fails any check of {@link AccessTokenStrategy} → 401
 *   `invalid_token` with `WWW-Authenticate: Bearer error="invalid_token"`;
 * - Redis unreachable, or the issuer's keys never loaded → 503 `dependency_unavailable`.
 *
 * A token seen before is found in the {@link VerifiedTokenCache} and skips the
 * signature check; its revocation state is still checked on every request.
 */
@Injectable()
export class AccessTokenGuard extends AuthGuard(ACCESS_TOKEN_STRATEGY) {
  private readonly logger = new Logger('AccessTokenGuard');

  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTH_JWT_OPTIONS) private readonly options: AuthJwtModuleOptions,
    private readonly verifiedTokens: VerifiedTokenCache,
    private readonly verifier: AccessTokenVerifier,
  ) {
    super({ session: false });
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest();
    const token = extractBearerToken(request.headers);
    if (token === null) {
      if (request.headers.authorization !== undefined && /^bearer\b/i.test(String(request.headers.authorization))) {
        throw invalidToken(this.options.audience, 'malformed Authorization header');
      }
      throw missingToken(this.options.audience);
    }
    const cached = this.verifiedTokens.get(token);
    if (cached) {
      // A token verified before: the signature is not checked again; revocation is, every time.
      try {
        request.user = this.verifier.assertNotRevoked(cached);
      } catch (error) {
        if (error instanceof TokenRejectedError) throw invalidToken(this.options.audience, error.reason);
        throw error;
      }
      return true;
    }
    const accepted = (await super.canActivate(context)) as boolean;
    if (accepted && request.user) this.verifiedTokens.set(token, request.user);
    return accepted;
  }

  override handleRequest<TUser = Principal>(error: unknown, user: unknown, info: unknown): TUser {
    if (error) {
      // Errors passed to passport's error(): the 503 of a failed revocation check, or a claim rejection.
      if ((error as { name?: string }).name === 'TokenRejectedError')
        throw invalidToken(this.options.audience, rejectionReason(error));
      throw error;
    }
    if (!user) {
      if (info instanceof VerificationKeysUnavailableError) throw verificationKeysUnavailable();
      const reason = rejectionReason(info);
      this.logger.debug(`access token refused: ${reason}`);
      throw invalidToken(this.options.audience, reason);
    }
    return user as TUser;
  }
}
