/**
 * The access-token contract between the issuer (auth-service) and every
 * resource service. Nothing here runs: it is the shape both sides agree on.
 *
 * Standards: RFC 7519 (JWT) §4.1 registered claims, RFC 9068 (JWT profile for
 * OAuth 2.0 access tokens) §2.1 header and §2.2 claims, RFC 8693 §4.2 `scope`.
 */

/**
 * The `typ` header value of an access token (RFC 9068 §2.1). RFC 9068 §4 says
 * a verifier must also accept the long form `application/at+jwt`, compared
 * without regard to case.
 */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** The role every registered user holds. */
export const ROLE_USER = 'user';
/** The role of administrators (see docs/configuration.md: configured, never defaulted in production). */
export const ROLE_ADMIN = 'admin';
export type Role = typeof ROLE_USER | typeof ROLE_ADMIN;

/** The JWS algorithms the issuer can sign with (RFC 7518 §3.1, RFC 8037 §3.1). */
export const SIGNING_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/**
 * Claims carried by every access token this system issues.
 * All times are NumericDate values: whole seconds since the Unix epoch.
 */
export interface AccessTokenClaims {
  /** Issuer: the auth service's base URL (RFC 7519 §4.1.1). */
  iss: string;
  /** Subject: the user's stable id, a UUID (RFC 7519 §4.1.2). */
  sub: string;
  /** Audience: the resource services this token is meant for (RFC 7519 §4.1.3). */
  aud: string | string[];
  /** Expiration time, seconds since the epoch (RFC 7519 §4.1.4). */
  exp: number;
  /** Issued-at time, seconds since the epoch (RFC 7519 §4.1.6). */
  iat: number;
  /** Not-before time, seconds since the epoch (RFC 7519 §4.1.5); optional. */
  nbf?: number;
  /** Unique token id, used as the revocation handle (RFC 7519 §4.1.7). */
  jti: string;
  /** The OAuth client the token was issued to (RFC 9068 §2.2, RFC 8693 §4.3). */
  client_id: string;
  /** Space-separated scopes (RFC 9068 §2.2.3, RFC 8693 §4.2). */
  scope: string;
  /** Roles of the subject (RFC 9068 §2.2.3.1, after SCIM RFC 7643 §4.1.2). */
  roles: Role[];
  /** The login session (refresh-token family) this token belongs to (OIDC `sid`). */
  sid: string;
  /**
   * When the user authenticated for this session (OIDC Core §2 `auth_time`): a
   * NumericDate with millisecond precision (RFC 7519 §2 allows non-integer
   * values). Tokens refreshed from the session keep it. "Logout everywhere"
   * revokes every token whose `auth_time` is earlier than its watermark.
   */
  auth_time: number;
  /** The subject's email, so resource services can build a profile without calling the issuer. */
  email: string;
}

/** The claims a verifier must find in an access token (RFC 9068 §2.2 plus `sid`, `scope`, `roles`). */
export const REQUIRED_ACCESS_TOKEN_CLAIMS = [
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'jti',
  'client_id',
  'scope',
  'roles',
  'sid',
  'auth_time',
] as const;

/** Scopes granted by role. A user's access token carries the union for its roles. */
export const SCOPES_BY_ROLE: Readonly<Record<Role, readonly string[]>> = {
  user: ['profile:read', 'profile:write', 'orders:read', 'orders:write'],
  admin: ['users:admin', 'orders:admin'],
};

/**
 * The successful token response of RFC 6749 §5.1, returned by login and refresh.
 */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  /** Lifetime of the access token in seconds (RFC 6749 §5.1). */
  expires_in: number;
  refresh_token: string;
  scope: string;
}
