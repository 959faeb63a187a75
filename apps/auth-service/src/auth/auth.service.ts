import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { TokenResponse } from '@jwt-ms/contracts';
import { RevocationStore, RevocationUnavailableError, revocationUnavailable, type Principal } from '@jwt-ms/auth-jwt';
import { ProblemException } from '@jwt-ms/service-core';
import { AccountsService } from '../accounts/accounts.service';
import type { Account } from '../accounts/account.entity';
import { AccessTokenIssuer } from '../tokens/access-token.issuer';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';

/**
 * Login, refresh and logout: the issuer's side of the token lifecycle.
 */
@Injectable()
export class AuthService {
  constructor(
    private readonly accounts: AccountsService,
    private readonly accessTokens: AccessTokenIssuer,
    private readonly refreshTokens: RefreshTokensService,
    private readonly revocations: RevocationStore,
  ) {}

  /**
   * Resource-owner password login, answered with the RFC 6749 §5.1 token response.
   *
   * @throws ProblemException 401 `invalid_credentials`, identical for an unknown email and a wrong password
   */
  async login(email: string, password: string): Promise<TokenResponse> {
    const account = await this.accounts.verifyCredentials(email, password);
    if (!account) {
      throw new ProblemException({
        status: 401,
        code: 'invalid_credentials',
        detail: 'The email or password is wrong.',
      });
    }
    return this.issuePair(account, randomUUID());
  }

  /**
   * Exchanges a refresh token for a new pair (RFC 6749 §6); the presented token
   * is consumed (rotation, RFC 9700 §4.14.2).
   *
   * @throws ProblemException 400 `invalid_grant` (RFC 6749 §5.2) for an unknown,
   *   expired, revoked or already-used token, or one whose account is gone
   */
  async refresh(refreshToken: string): Promise<TokenResponse> {
    const result = await this.refreshTokens.consume(refreshToken);
    if (!result.ok) {
      throw new ProblemException({
        status: 400,
        code: 'invalid_grant',
        detail: 'The refresh token is invalid, expired, revoked or already used.',
      });
    }
    const account = await this.accounts.findById(result.accountId);
    if (!account) {
      await this.refreshTokens.revokeFamily(result.familyId);
      throw new ProblemException({
        status: 400,
        code: 'invalid_grant',
        detail: 'The refresh token is invalid, expired, revoked or already used.',
      });
    }
    return this.issuePair(account, result.familyId);
  }

  /**
   * Ends the caller's session: its access token's `jti` goes on the Redis
   * blacklist until the token expires, and its refresh-token family is revoked.
   *
   * @throws ProblemException 503 when Redis cannot be reached (nothing is half-done: the
   *   family is revoked only after the blacklist write succeeded)
   */
  async logout(principal: Principal): Promise<void> {
    try {
      await this.revocations.revoke(principal.tokenId, principal.expiresAt);
    } catch (error) {
      if (error instanceof RevocationUnavailableError) throw revocationUnavailable();
      throw error;
    }
    await this.refreshTokens.revokeFamily(principal.sessionId);
  }

  private async issuePair(account: Account, familyId: string): Promise<TokenResponse> {
    const access = await this.accessTokens.issue(
      { id: account.id, email: account.email, roles: account.roles },
      familyId,
    );
    const refresh = await this.refreshTokens.create(account.id, familyId);
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      refresh_token: refresh,
      scope: access.scope,
    };
  }
}
