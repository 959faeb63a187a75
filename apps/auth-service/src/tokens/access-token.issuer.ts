import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { ACCESS_TOKEN_TYPE, type Role } from '@jwt-ms/contracts';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { SigningKeys } from '../keys/signing-key-set';

/** Who a user token is for. */
export interface TokenSubject {
  id: string;
  email: string;
  roles: Role[];
}

/** What a token grants: to which client, for which audiences and scopes. */
export interface TokenGrant {
  /** `client_id` (RFC 9068 §2.2): the client the token is issued to. */
  clientId: string;
  /** `aud` (RFC 7519 §4.1.3, RFC 8707): the services the token is for; at least one. */
  audience: readonly string[];
  /** `scope` (RFC 9068 §2.2.3), each once. */
  scopes: readonly string[];
}

/** A signed access token with the values the token response needs. */
export interface IssuedAccessToken {
  token: string;
  jti: string;
  /** `iat`, seconds since the epoch. */
  issuedAt: number;
  /** Lifetime in seconds (RFC 6749 §5.1 `expires_in`). */
  expiresIn: number;
  /** The granted scopes, space-separated (RFC 6749 §5.1 `scope`). */
  scope: string;
}

/**
 * Signs access tokens in the JWT profile of RFC 9068: header
 * `{alg, kid, typ: "at+jwt"}` (§2.1), claims `iss`, `sub`, `aud`, `exp`,
 * `iat`, `jti`, `client_id` (§2.2), `scope` (§2.2.3), and per kind:
 * - a user's token: `roles` (§2.2.3.1), `sid` (the login session), `auth_time` (§2.2.1), `email`;
 * - an exchanged token (RFC 8693): a user's token, plus `act` naming the client that acts (§4.1);
 * - a service's token (RFC 6749 §4.4): `sub` is the client id (RFC 9068 §2.2), and no user claims.
 *
 * Every NumericDate is whole seconds (RFC 7519 §2 allows fractions; most libraries expect none).
 */
@Injectable()
export class AccessTokenIssuer {
  constructor(
    private readonly keys: SigningKeys,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  /**
   * A user's token, living `ACCESS_TOKEN_TTL_SECONDS`.
   *
   * @param subject the account the token is for; its roles become `roles`
   * @param sessionId the login session (refresh-token family id), becomes `sid`
   * @param authTime when the session began, whole seconds since the epoch: becomes `auth_time`
   *   (OIDC Core §2), which "logout everywhere" compares with its watermark
   * @param grant client, audiences and scopes (already checked against the client's registration)
   * @throws RangeError when `authTime` is not a whole number of seconds (a bug in the caller)
   */
  async issueForUser(
    subject: TokenSubject,
    sessionId: string,
    authTime: number,
    grant: TokenGrant,
  ): Promise<IssuedAccessToken> {
    if (!Number.isSafeInteger(authTime)) throw new RangeError('auth_time is a whole number of seconds');
    return this.sign(
      subject.id,
      { roles: subject.roles, sid: sessionId, auth_time: authTime, email: subject.email },
      grant,
      this.config.ACCESS_TOKEN_TTL_SECONDS,
    );
  }

  /**
   * A token made by token exchange (RFC 8693 §2.2): the user's `sub`, `sid`,
   * `auth_time` and `email` kept, no roles (a delegated token carries only the
   * scopes asked for), `act: {sub: <acting client>}` (§4.1), and a life of at
   * most `TOKEN_EXCHANGE_TTL_SECONDS`, never past the subject token's `exp`.
   *
   * @param subject the subject token's user: `sub`, `sid`, `auth_time` (whole seconds), `email`, `exp` (seconds)
   * @param grant the acting client (becomes `client_id` and `act.sub`), audiences and scopes
   * @param nowSeconds the current time, whole seconds since the epoch
   * @returns the token; its `expiresIn` is at least 1 s (the caller refuses a subject token about to expire)
   */
  issueExchanged(
    subject: { subject: string; sessionId: string; authenticatedAt: number; email: string; expiresAt: number },
    grant: TokenGrant,
    nowSeconds: number,
  ): Promise<IssuedAccessToken> {
    const ttl = Math.min(this.config.TOKEN_EXCHANGE_TTL_SECONDS, subject.expiresAt - nowSeconds);
    return this.sign(
      subject.subject,
      {
        roles: [],
        sid: subject.sessionId,
        auth_time: subject.authenticatedAt,
        email: subject.email,
        act: { sub: grant.clientId },
      },
      grant,
      Math.max(1, ttl),
      nowSeconds,
    );
  }

  /**
   * A service's own token (client credentials, RFC 6749 §4.4): `sub` is its
   * client id, no user claims; lives `ACCESS_TOKEN_TTL_SECONDS`.
   *
   * @param grant the client (becomes `sub` and `client_id`), audiences and scopes
   */
  issueForService(grant: TokenGrant): Promise<IssuedAccessToken> {
    return this.sign(grant.clientId, {}, grant, this.config.ACCESS_TOKEN_TTL_SECONDS);
  }

  /**
   * @param ttl lifetime in seconds, a whole number
   * @param now the current time in whole seconds (default the clock)
   */
  private async sign(
    subject: string,
    claims: JWTPayload,
    grant: TokenGrant,
    ttl: number,
    now = Math.floor(Date.now() / 1000),
  ): Promise<IssuedAccessToken> {
    if (grant.audience.length === 0) throw new Error('an access token needs an audience');
    const jti = randomUUID();
    const scope = grant.scopes.join(' ');
    const { kid, alg, privateKey } = await this.keys.current(now);
    const token = await new SignJWT({ client_id: grant.clientId, scope, ...claims })
      .setProtectedHeader({ alg, kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.config.AUTH_ISSUER)
      .setSubject(subject)
      // One audience is a string (RFC 7519 §4.1.3 allows either); several are an array.
      .setAudience(grant.audience.length === 1 ? grant.audience[0] : [...grant.audience])
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .setJti(jti)
      .sign(privateKey);
    return { token, jti, issuedAt: now, expiresIn: ttl, scope };
  }
}
