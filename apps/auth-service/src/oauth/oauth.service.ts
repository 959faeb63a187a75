import { Inject, Injectable } from '@nestjs/common';
import {
  AccessTokenVerifier,
  TokenRejectedError,
  failClosed,
  verificationProblem,
  type Principal,
} from '@jwt-ms/auth-jwt';
import { RevocationStore } from '../revocation/revocation.store';
import { AUTH_SERVICE_AUDIENCE, AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { AccountsService } from '../accounts/accounts.service';
import { AuthService } from '../auth/auth.service';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';
import { RevocationBudget } from '../rate-limit/revocation-budget';
import type { RegisteredClient } from './clients/client-registry';

/** RFC 7662 §2.2 introspection response. Times in seconds since the epoch. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      token_type: 'Bearer' | 'refresh_token';
      client_id: string;
      sub: string;
      exp: number;
      iat: number;
      scope?: string;
      username?: string;
      aud?: string[];
      iss?: string;
      jti?: string;
      sid?: string;
      /** RFC 8693 §4.1: who acts for the subject (an exchanged token). */
      act?: { sub: string };
    };

type TokenTypeHint = 'access_token' | 'refresh_token' | undefined;

/** A compact JWS is what an access token looks like; anything else may be a refresh token. */
const LOOKS_LIKE_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Token revocation (RFC 7009) and introspection (RFC 7662) over the same state
 * the resource services use: the Redis revocation entries and the refresh-token
 * families.
 */
@Injectable()
export class OAuthService {
  constructor(
    private readonly verifier: AccessTokenVerifier,
    private readonly revocations: RevocationStore,
    private readonly refreshTokens: RefreshTokensService,
    private readonly accounts: AccountsService,
    private readonly auth: AuthService,
    private readonly budget: RevocationBudget,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  /**
   * RFC 7009 §2.1: revokes an access token (its `jti`) or a refresh token (its
   * whole session, access tokens included, as §2.1 recommends). An unknown,
   * invalid or already revoked token is not an error (§2.2). A public client
   * may revoke only tokens issued to it. Once a session or subject has spent
   * its {@link RevocationBudget}, an access token's revocation revokes its
   * whole session instead (§2.1: the server MAY revoke the refresh token too),
   * so one user cannot grow the list every verifier holds at their own pace.
   *
   * @param hint `token_type_hint`: where to look first; unknown values are ignored
   * @throws ProblemException 503 when Redis cannot be reached
   */
  async revoke(client: RegisteredClient, token: string, hint: TokenTypeHint): Promise<void> {
    for (const kind of order(hint, token)) {
      if (kind === 'access_token') {
        const principal = await this.verifiedAccessToken(token);
        if (!principal) continue;
        if (client.type === 'public' && principal.clientId !== client.id) return;
        if (principal.kind === 'user' && (await this.budget.admit(principal)) === 'session') {
          await this.auth.endSession(principal.sessionId);
          return;
        }
        await failClosed(() => this.revocations.revokeToken(principal.tokenId, principal.expiresAt));
        return;
      }
      const row = await this.refreshTokens.findActive(token);
      if (!row) continue;
      if (client.type === 'public' && this.config.AUTH_CLIENT_ID !== client.id) return;
      await this.auth.endSession(row.familyId);
      return;
    }
  }

  /**
   * RFC 7662 §2.2: what the token is, if it is active; `{active: false}` for
   * anything else (expired, revoked, malformed, unknown), with no reason given.
   *
   * @throws ProblemException 503 when Redis cannot be reached
   */
  async introspect(token: string, hint: TokenTypeHint): Promise<IntrospectionResponse> {
    for (const kind of order(hint, token)) {
      if (kind === 'access_token') {
        const principal = await this.verifiedAccessToken(token);
        if (!principal) continue;
        return {
          active: true,
          token_type: 'Bearer',
          client_id: principal.clientId,
          sub: principal.subject,
          exp: principal.expiresAt,
          iat: principal.issuedAt,
          scope: principal.scopes.join(' '),
          aud: principal.audience,
          iss: this.config.AUTH_ISSUER,
          jti: principal.tokenId,
          ...(principal.kind === 'user'
            ? {
                username: principal.email,
                sid: principal.sessionId,
                ...(principal.actor ? { act: { sub: principal.actor.subject } } : {}),
              }
            : {}),
        };
      }
      const row = await this.refreshTokens.findActive(token);
      if (!row || !(await this.accounts.findById(row.accountId))) continue;
      const revoked = await failClosed(() =>
        this.revocations.check({
          jti: '-',
          sid: row.familyId,
          sub: row.accountId,
          authTime: row.familyStartedAt.getTime() / 1000,
        }),
      );
      if (revoked) continue;
      return {
        active: true,
        token_type: 'refresh_token',
        client_id: this.config.AUTH_CLIENT_ID,
        sub: row.accountId,
        exp: Math.floor(row.expiresAt.getTime() / 1000),
        iat: Math.floor(row.createdAt.getTime() / 1000),
        sid: row.familyId,
      };
    }
    return { active: false };
  }

  /** @returns the principal of a valid, unrevoked access token, or null; 503 when Redis is down */
  private async verifiedAccessToken(token: string): Promise<Principal | null> {
    if (!LOOKS_LIKE_JWS.test(token)) return null;
    try {
      // Any token this issuer made, whatever service it is for (RFC 8707 audiences differ per token).
      return await this.verifier.verify(token, undefined, { audiences: this.config.AUTH_AUDIENCE });
    } catch (error) {
      if (error instanceof TokenRejectedError) return null; // any refused token is merely inactive (RFC 7662 §2.2)
      throw verificationProblem(error, AUTH_SERVICE_AUDIENCE); // keys or revocation list unavailable: 503
    }
  }
}

/** Look where the hint says first, then elsewhere (RFC 7009 §2.1, RFC 7662 §2.1). */
function order(hint: TokenTypeHint, token: string): Array<'access_token' | 'refresh_token'> {
  const first = hint ?? (LOOKS_LIKE_JWS.test(token) ? 'access_token' : 'refresh_token');
  return first === 'access_token' ? ['access_token', 'refresh_token'] : ['refresh_token', 'access_token'];
}
