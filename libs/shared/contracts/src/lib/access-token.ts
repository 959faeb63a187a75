/**
 * The access-token contract between the issuer (auth-service) and every
 * resource service. Nothing here runs: it is the shape both sides agree on.
 *
 * Standards: RFC 7519 (JWT) §4.1 registered claims, RFC 9068 (JWT profile for
 * OAuth 2.0 access tokens) §2.1 header and §2.2 claims, RFC 8693 §4.1 `act` and
 * §4.2 `scope`, RFC 6749 §4.4 (client credentials: service tokens).
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
 * Claims every access token this system issues carries, whichever principal it
 * names. All times are NumericDate values: seconds since the Unix epoch.
 */
export interface CommonAccessTokenClaims {
  /** Issuer: the auth service's base URL (RFC 7519 §4.1.1). */
  iss: string;
  /** Subject (RFC 7519 §4.1.2): a user's id (a UUID) or, in a service token, the client's id. */
  sub: string;
  /** Audience: the resource services this token is meant for (RFC 7519 §4.1.3). */
  aud: string | string[];
  /** Expiration time, seconds since the epoch (RFC 7519 §4.1.4). */
  exp: number;
  /** Issued-at time, whole seconds since the epoch (RFC 7519 §4.1.6). */
  iat: number;
  /** Not-before time, seconds since the epoch (RFC 7519 §4.1.5); optional. */
  nbf?: number;
  /** Unique token id, used as the revocation handle (RFC 7519 §4.1.7). */
  jti: string;
  /** The OAuth client the token was issued to (RFC 9068 §2.2, RFC 8693 §4.3). */
  client_id: string;
  /** Space-separated scopes (RFC 9068 §2.2.3, RFC 8693 §4.2). */
  scope: string;
}

/**
 * The `act` claim of RFC 8693 §4.1: the party acting for the subject. This
 * issuer names one actor, a client, and never nests `act` (no delegation chain).
 */
export interface ActorClaim {
  /** The acting client's id (`client_id` of the client that exchanged the token). */
  sub: string;
}

/**
 * A user token: issued at login and refresh (RFC 6749 §4.1, §6), or by token
 * exchange (RFC 8693 §2) to a client acting for the user, which adds `act`.
 * A verifier tells it from a service token by `sid`.
 */
export interface AccessTokenClaims extends CommonAccessTokenClaims {
  /** Subject: the user's stable id, a UUID (RFC 7519 §4.1.2); never equal to `client_id` (RFC 9068 §5). */
  sub: string;
  /** Roles of the subject (RFC 9068 §2.2.3.1, after SCIM RFC 7643 §4.1.2); may be empty in an exchanged token. */
  roles: Role[];
  /** The login session (refresh-token family) this token belongs to (OIDC `sid`). */
  sid: string;
  /**
   * When the user authenticated for this session (OIDC Core §2 `auth_time`):
   * whole seconds since the epoch. Tokens refreshed or exchanged from the
   * session keep it. "Logout everywhere" revokes every token whose `auth_time`
   * is earlier than its watermark. Verifiers also accept a fractional value
   * (RFC 7519 §2 NumericDate), which earlier issuers wrote.
   */
  auth_time: number;
  /** The subject's email, so resource services can build a profile without calling the issuer. */
  email: string;
  /**
   * Present only in an exchanged token (RFC 8693 §4.1): the client acting for
   * the user, e.g. `{"sub": "orders-service"}`; an object with `sub` alone.
   */
  act?: ActorClaim;
}

/**
 * A service token (RFC 6749 §4.4 client credentials): a client acting on its
 * own behalf. `sub` equals `client_id` (RFC 9068 §2.2: the subject is the
 * client when no resource owner is involved), and it is never a UUID, so that a
 * client cannot be taken for a user (RFC 9068 §5). None of the user claims
 * ({@link USER_ONLY_CLAIMS}) appears.
 */
export interface ServiceTokenClaims extends CommonAccessTokenClaims {
  /** The client's id, equal to `client_id`; not a UUID. */
  sub: string;
}

/** The claims a verifier must find in every access token (RFC 9068 §2.2 plus `scope`). */
export const REQUIRED_ACCESS_TOKEN_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope'] as const;

/** The claims a verifier must find in a user token ({@link AccessTokenClaims}): the common ones, `roles`, `sid`, `auth_time`, `email`. */
export const REQUIRED_USER_TOKEN_CLAIMS = [
  ...REQUIRED_ACCESS_TOKEN_CLAIMS,
  'roles',
  'sid',
  'auth_time',
  'email',
] as const;

/** The claims a verifier must find in a service token ({@link ServiceTokenClaims}): the common ones. */
export const REQUIRED_SERVICE_TOKEN_CLAIMS = REQUIRED_ACCESS_TOKEN_CLAIMS;

/** Claims only a user token carries; a service token with any of them is refused. */
export const USER_ONLY_CLAIMS = ['sid', 'roles', 'auth_time', 'email', 'act'] as const;

/**
 * Scopes granted by role. A user's access token carries the union for its
 * roles; a service token carries the scopes its client is registered for.
 */
export const SCOPES_BY_ROLE: Readonly<Record<Role, readonly string[]>> = {
  user: ['profile:read', 'profile:write', 'orders:read', 'orders:write'],
  admin: ['users:admin', 'users:read', 'orders:admin'],
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
