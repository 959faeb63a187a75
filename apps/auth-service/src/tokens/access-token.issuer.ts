import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { ACCESS_TOKEN_TYPE, SCOPES_BY_ROLE, type Role } from '@jwt-ms/contracts';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { SigningKeys } from '../keys/signing-key-set';

/** Who a token is for. */
export interface TokenSubject {
  id: string;
  email: string;
  roles: Role[];
}

/** A signed access token with the values the token response needs. */
export interface IssuedAccessToken {
  token: string;
  jti: string;
  /** `iat`, seconds since the epoch. */
  issuedAt: number;
  /** Lifetime in seconds (RFC 6749 §5.1 `expires_in`). */
  expiresIn: number;
  scope: string;
}

/**
 * Signs access tokens in the JWT profile of RFC 9068: header
 * `{alg, kid, typ: "at+jwt"}` (§2.1), claims `iss`, `sub`, `aud`, `exp`,
 * `iat`, `jti`, `client_id` (§2.2), `scope` and `roles` (§2.2.3), plus `sid`
 * (the refresh-token family) and `email`.
 */
@Injectable()
export class AccessTokenIssuer {
  constructor(
    private readonly keys: SigningKeys,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  /**
   * @param subject the account the token is for
   * @param sessionId the login session (refresh-token family id), becomes `sid`
   * @param authTime when the session began (the login), whole seconds since the epoch: becomes
   *   `auth_time` (OIDC Core §2, a NumericDate), which "logout everywhere" compares with its watermark
   * @throws RangeError when `authTime` is not a whole number of seconds (a bug in the caller)
   */
  async issue(subject: TokenSubject, sessionId: string, authTime: number): Promise<IssuedAccessToken> {
    if (!Number.isSafeInteger(authTime)) throw new RangeError('auth_time is a whole number of seconds');
    const now = Math.floor(Date.now() / 1000);
    const ttl = this.config.ACCESS_TOKEN_TTL_SECONDS;
    const jti = randomUUID();
    const scope = [...new Set(subject.roles.flatMap((role) => SCOPES_BY_ROLE[role] ?? []))].join(' ');
    const { kid, alg, privateKey } = await this.keys.current(now);
    const token = await new SignJWT({
      client_id: this.config.AUTH_CLIENT_ID,
      scope,
      roles: subject.roles,
      sid: sessionId,
      auth_time: authTime,
      email: subject.email,
    })
      .setProtectedHeader({ alg, kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.config.AUTH_ISSUER)
      .setSubject(subject.id)
      .setAudience(this.config.AUTH_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .setJti(jti)
      .sign(privateKey);
    return { token, jti, issuedAt: now, expiresIn: ttl, scope };
  }
}
