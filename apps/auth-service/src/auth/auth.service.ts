import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { SCOPES_BY_ROLE, type TokenResponse } from '@jwt-ms/contracts';
import { failClosed, type UserPrincipal } from '@jwt-ms/auth-jwt';
import { ProblemException, notFound } from '@jwt-ms/service-core';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { AccountsService } from '../accounts/accounts.service';
import type { Account } from '../accounts/account.entity';
import { passwordPolicyViolation } from '../accounts/password-policy';
import { AccessTokenIssuer, type TokenGrant } from '../tokens/access-token.issuer';
import { ClientRegistry } from '../oauth/clients/client-registry';
import { grantedScopes } from '../oauth/grant-policy';
import { RefreshTokensService, type RefreshFamily } from '../tokens/refresh-tokens.service';
import { RevocationStore } from '../revocation/revocation.store';

const INVALID_GRANT = 'The refresh token is invalid, expired, revoked or already used.';

/** 401 `invalid_credentials`: the same answer for an unknown email and a wrong password. */
function invalidCredentials(): ProblemException {
  return new ProblemException({ status: 401, code: 'invalid_credentials', detail: 'The email or password is wrong.' });
}

/** 400 `invalid_grant`, with RFC 6749 §5.2's `error` member beside the problem details. */
function invalidGrant(): ProblemException {
  return new ProblemException({
    status: 400,
    code: 'invalid_grant',
    detail: INVALID_GRANT,
    extensions: { error: 'invalid_grant', error_description: INVALID_GRANT },
  });
}

/**
 * Login, refresh, logout and the revocations: the issuer's side of the token
 * lifecycle. Revocations are written to Redis first (where every verifier sees
 * them) and to the database second, so a failure never leaves access tokens
 * alive that the caller was told are revoked.
 */
@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly accounts: AccountsService,
    private readonly accessTokens: AccessTokenIssuer,
    private readonly refreshTokens: RefreshTokensService,
    private readonly revocations: RevocationStore,
    private readonly clients: ClientRegistry,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  /**
   * Resource-owner password login, answered with the RFC 6749 §5.1 token response.
   *
   * @throws ProblemException 401 `invalid_credentials`, identical for an unknown email and a wrong password
   */
  async login(email: string, password: string): Promise<TokenResponse> {
    // The session begins when the password is checked: a revocation after this moment
    // (a password change, logout everywhere, deletion) covers this login too.
    const startedAt = new Date();
    const account = await this.accounts.verifyCredentials(email, password);
    if (!account) throw invalidCredentials();
    return this.issuePair(
      account,
      { accountId: account.id, familyId: randomUUID(), startedAt },
      {},
      invalidCredentials,
    );
  }

  /**
   * Exchanges a refresh token for a new pair (RFC 6749 §6); the presented token
   * is consumed (rotation). Reuse of a consumed token revokes its whole session:
   * refresh tokens and every access token issued from it (RFC 9700 §4.14.2).
   *
   * @param request what the new access token is for, within what the session was given (RFC 6749 §6, RFC 8707):
   *   `audience` already resolved against the client's registration (default: all of it), `scope` as the
   *   client sent it (default: all the session's scopes)
   * @throws ProblemException 400 `invalid_grant` (RFC 6749 §5.2) for an unknown,
   *   expired, revoked or already-used token, or one whose account is gone;
   *   400 `invalid_scope` for a scope the session does not hold (the token stays usable)
   */
  async refresh(refreshToken: string, request: PairRequest = {}): Promise<TokenResponse> {
    const result = await this.refreshTokens.consume(refreshToken);
    if (!result.ok) {
      if (result.reason === 'reused' && result.familyId) await this.endSession(result.familyId);
      throw invalidGrant();
    }
    const account = await this.accounts.findById(result.accountId);
    if (!account) {
      await this.refreshTokens.revokeFamily(result.familyId);
      throw invalidGrant();
    }
    try {
      return await this.issuePair(account, result, request, invalidGrant);
    } catch (error) {
      // Redis unreachable, or a scope the session lacks: give the refresh token back, so the
      // client's retry is not taken for a replay.
      const status = error instanceof ProblemException ? error.getStatus() : 0;
      const recoverable = status === 503 || (error instanceof ProblemException && error.code === 'invalid_scope');
      if (recoverable) await this.refreshTokens.release(result.tokenId);
      throw error;
    }
  }

  /**
   * Ends the caller's session: the presented access token, every other access
   * token of its session (`sid`) and the session's refresh tokens.
   *
   * @throws ProblemException 503 when Redis cannot be reached
   */
  async logout(principal: UserPrincipal): Promise<void> {
    // The session entry covers the presented token too: no `jti` entry, so a burst of logouts with many
    // tokens of one session adds one entry to the list every verifier holds, not one per token.
    await this.endSession(principal.sessionId);
  }

  /**
   * Logout everywhere: every access and refresh token of the account, on every
   * device, without listing them: a "not before" watermark in Redis that every
   * verifier checks, plus the refresh tokens in the database.
   *
   * @param accountId the subject
   * @throws ProblemException 503 when Redis cannot be reached
   */
  async revokeAll(accountId: string): Promise<void> {
    // Every session that began before this moment (auth_time, millisecond precision) is covered.
    const notBefore = Date.now() / 1000;
    try {
      await failClosed(() =>
        this.revocations.revokeSubjectBefore(accountId, notBefore, this.config.ACCESS_TOKEN_TTL_SECONDS),
      );
    } finally {
      await this.refreshTokens.revokeAccount(accountId);
    }
    this.logger.log(`all tokens of account ${accountId} revoked`);
  }

  /**
   * Changes the caller's password, then revokes every token of the account.
   *
   * @param newPassword checked against the password policy (`passwordPolicyViolation`), hashed in NFKC form
   * @throws ProblemException 403 `invalid_credentials` when the current password is wrong;
   *   400 `validation_failed` when the new password is the account's email address
   */
  async changePassword(principal: UserPrincipal, currentPassword: string, newPassword: string): Promise<void> {
    const account = await this.accounts.findById(principal.subject);
    if (!account || !(await this.accounts.passwordMatches(account, currentPassword))) {
      throw new ProblemException({
        status: 403,
        code: 'invalid_credentials',
        detail: 'The current password is wrong.',
      });
    }
    // The DTO checked the policy without the account; its email is a context word (NIST SP 800-63B §3.1.1.2).
    const violation = passwordPolicyViolation(newPassword, 'new_password', { email: account.email });
    if (violation) {
      throw new ProblemException({
        status: 400,
        code: 'validation_failed',
        detail: 'The request is not valid; see `errors`.',
        errors: [{ field: 'new_password', message: violation }],
      });
    }
    // Only over the hash just verified: a takeover or another change landing meanwhile wins.
    if ((await this.accounts.replacePassword(account.id, account.passwordHash, newPassword)) === null) {
      throw new ProblemException({
        status: 403,
        code: 'invalid_credentials',
        detail: 'The current password is wrong.',
      });
    }
    await this.revokeAll(account.id);
  }

  /**
   * Deletes an account and revokes all its tokens (admin).
   *
   * @throws ProblemException 404 when there is no such account
   */
  async deleteAccount(accountId: string): Promise<void> {
    await this.assertAccountExists(accountId);
    await this.revokeAll(accountId);
    await this.refreshTokens.deleteAccount(accountId);
    await this.accounts.delete(accountId);
  }

  /** @throws ProblemException 404 when there is no such account */
  async assertAccountExists(accountId: string): Promise<void> {
    if (!(await this.accounts.findById(accountId))) throw notFound('user');
  }

  /**
   * Revokes a session (logout, refresh-token reuse, RFC 7009 revocation of a
   * refresh token): its access tokens in Redis first, then its refresh
   * tokens in the database. With this order, a refresh racing the revocation
   * either has its new refresh token revoked by the database step, or sees the
   * Redis entry in its own final check (see issuePair): never a live session.
   */
  async endSession(sessionId: string): Promise<void> {
    try {
      await failClosed(() => this.revocations.revokeSession(sessionId, this.config.ACCESS_TOKEN_TTL_SECONDS));
    } finally {
      await this.refreshTokens.revokeFamily(sessionId);
    }
  }

  /**
   * Issues an access token and the next refresh token of a session, then
   * checks once more that nothing revoked the session, the subject or the
   * account meanwhile (a logout, logout everywhere, password change, deletion
   * or reuse detection racing this request). Every revocation writes Redis
   * before the database, so a race is caught either here or by that database
   * step; and the access token's `auth_time` is the session's start, so the
   * verifiers refuse it as well.
   *
   * @param request the audiences and scope asked for (see {@link refresh})
   * @param refused the error to answer when the session was revoked meanwhile
   * @throws ProblemException 400 `invalid_scope` before anything is issued, for a scope the account's roles
   *   or the first-party client do not allow
   */
  private async issuePair(
    account: Account,
    family: RefreshFamily,
    request: PairRequest,
    refused: () => ProblemException,
  ): Promise<TokenResponse> {
    const grant = this.firstPartyGrant(account, request);
    const authTime = family.startedAt.getTime() / 1000;
    const access = await this.accessTokens.issueForUser(
      { id: account.id, email: account.email, roles: account.roles },
      family.familyId,
      authTime,
      grant,
    );
    const refresh = await this.refreshTokens.create(family);
    let revoked: string | null;
    try {
      revoked = await failClosed(() =>
        this.revocations.check({ jti: access.jti, sid: family.familyId, sub: account.id, authTime }),
      );
    } catch (error) {
      await this.refreshTokens.delete(refresh);
      throw error;
    }
    if (revoked || !(await this.accounts.findById(account.id))) {
      await this.refreshTokens.revokeFamily(family.familyId);
      throw refused();
    }
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      refresh_token: refresh,
      scope: access.scope,
    };
  }

  /**
   * What a session's access token grants: the first-party client's registered
   * audiences (or those asked for), and the scopes of the account's roles
   * that the client may hold (or those asked for, within them).
   */
  private firstPartyGrant(account: Account, request: PairRequest): TokenGrant {
    const client = this.clients.find(this.config.AUTH_CLIENT_ID);
    if (!client) throw new Error(`the first-party client ${this.config.AUTH_CLIENT_ID} is not registered`);
    const byRole = new Set(account.roles.flatMap((role) => SCOPES_BY_ROLE[role] ?? []));
    return {
      clientId: client.id,
      audience: request.audience ?? client.audiences,
      scopes: grantedScopes(
        request.scope,
        client.scopes.filter((scope) => byRole.has(scope)),
      ),
    };
  }
}

/** What a login session's access token is asked for (see {@link AuthService.refresh}). */
export interface PairRequest {
  /** Audiences, already checked against the client's registration (`grantedAudiences`); default all of them. */
  audience?: readonly string[];
  /** The `scope` parameter as sent; default all the session may hold. */
  scope?: string;
}
