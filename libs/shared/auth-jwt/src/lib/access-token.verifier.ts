import { Inject, Injectable } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import {
  AUTH_JWT_OPTIONS,
  resolveOptions,
  type AuthJwtModuleOptions,
  type ResolvedAuthJwtOptions,
} from './auth-jwt.options';
import { checkHeader, toPrincipal } from './access-token.checks';
import { verifyCompactJws } from './jws-verifier';
import type { Principal } from './principal';
import { RevocationUnavailableError, RevocationView, type RevocationReason } from './revocation';
import { SigningKeyResolver } from './signing-key.resolver';
import { TokenRejectedError, revocationUnavailable } from './token-rejection';

/**
 * Verifies an access token outside a request guard (introspection, RFC 7662;
 * revocation, RFC 7009), with exactly the checks of the guard's passport-jwt
 * strategy, which delegates its last steps (claims, revocation) to this class.
 */
@Injectable()
export class AccessTokenVerifier {
  private readonly settings: ResolvedAuthJwtOptions;

  constructor(
    @Inject(AUTH_JWT_OPTIONS) rawOptions: AuthJwtModuleOptions,
    private readonly keys: SigningKeyResolver,
    private readonly revocations: RevocationView,
  ) {
    this.settings = resolveOptions(rawOptions);
  }

  /**
   * @param token a compact JWS
   * @returns the principal of a valid, unrevoked access token
   * @throws TokenRejectedError naming why the token is not acceptable
   * @throws VerificationKeysUnavailableError when the issuer's keys never loaded
   * @throws ProblemException 503 when Redis cannot be reached
   */
  async verify(token: string): Promise<Principal> {
    const header = checkHeader(token, this.settings);
    const key = this.keys.keyFor(header) ?? (await this.keys.resolve(header));
    const payload = this.verifySignature(token, key);
    return this.acceptClaims(payload);
  }

  /**
   * The strategy's `validate` step: claims (RFC 9068 §2.2) and revocation.
   *
   * @param payload claims of a token whose signature, `iss`, `aud`, `exp`, `nbf` are valid
   * @throws TokenRejectedError on a missing or ill-typed claim, a future `iat`, a lifetime longer than
   *   `maxTokenLifetimeSeconds` (or than the issuer's revocations cover), or revocation
   * @throws ProblemException 503 when the revocation list is stale (fail closed)
   */
  acceptClaims(payload: unknown): Principal {
    const published = this.revocations.coveredTokenLifetimeSeconds();
    return this.assertNotRevoked(
      toPrincipal(payload, {
        clockToleranceSeconds: this.settings.clockToleranceSeconds,
        maxTokenLifetimeSeconds: Math.min(this.settings.maxTokenLifetimeSeconds, published ?? Infinity),
      }),
    );
  }

  /**
   * The revocation step alone, also for a principal verified earlier (a
   * verified-token cache hit): its `jti`, its session and its subject's
   * watermark, checked on every request against this process's
   * {@link RevocationView} (memory, no I/O).
   *
   * @returns the same principal
   * @throws TokenRejectedError when revoked
   * @throws ProblemException 503 when the revocation list is stale and the policy is `fail-closed`
   */
  assertNotRevoked(principal: Principal): Principal {
    let reason: RevocationReason;
    try {
      reason = this.revocations.check({
        jti: principal.tokenId,
        sid: principal.sessionId,
        sub: principal.subject,
        authTime: principal.authenticatedAt,
      });
    } catch (error) {
      if (error instanceof RevocationUnavailableError) {
        throw revocationUnavailable();
      }
      throw error;
    }
    if (reason) throw new TokenRejectedError(reason);
    return principal;
  }

  private verifySignature(token: string, key: KeyObject): unknown {
    return verifyCompactJws(token, key, {
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      algorithms: this.settings.algorithms,
      clockTolerance: this.settings.clockToleranceSeconds,
    });
  }
}
