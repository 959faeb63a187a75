import { ProblemException } from '@jwt-ms/service-core';
import type { PrincipalKind } from './principal';

/**
 * Why an access token was refused, as a stable machine code (in the manner of
 * jose's `ERR_JWT_*` codes): counted by telemetry, asserted by tests, sent to
 * the client as the problem's `reason` member. One code per check of
 * {@link AccessTokenVerifier}; the words beside it may change, the codes may not.
 */
export type TokenRejectionCode =
  /** Larger than `maxTokenBytes` (refused before parsing). */
  | 'too_large'
  /** Not a compact JWS, a segment that is not base64url JSON of an object, a second spelling of the signature, a malformed `Authorization: Bearer`. */
  | 'malformed'
  /** A member name repeated in the header or the payload (RFC 7515 §4, RFC 7519 §4). */
  | 'duplicate_member'
  /** `alg` missing or not in the allowlist (RFC 8725 §3.1). */
  | 'bad_alg'
  /** `typ` not `at+jwt` (RFC 9068 §4, RFC 8725 §3.11). */
  | 'bad_typ'
  /** `kid` missing, not a string, empty or longer than 128 characters. */
  | 'bad_kid'
  /** `crit`, `b64`, or a key-carrying header (`jwk`, `jku`, `x5u`, `x5c`) (RFC 7515 §4.1.11, RFC 7797, RFC 8725 §3.10). */
  | 'unsupported_header'
  /** No key of the issuer fits the `kid` and `alg` (or several do). */
  | 'unknown_kid'
  /** The key does not fit `alg`, or the signature does not verify (RFC 7515 §5.2). */
  | 'bad_signature'
  /** `iss` is not the issuer (RFC 7519 §4.1.1). */
  | 'bad_iss'
  /** `aud` does not name this service (RFC 7519 §4.1.3). */
  | 'bad_aud'
  /** `exp` has passed, beyond the clock tolerance (RFC 7519 §4.1.4). */
  | 'expired'
  /** `nbf` is in the future, beyond the clock tolerance (RFC 7519 §4.1.5). */
  | 'not_yet_valid'
  /** `iat` is in the future, beyond the clock tolerance (RFC 7519 §4.1.6). */
  | 'issued_in_future'
  /** A required claim missing or ill-typed (RFC 9068 §2.2), or `auth_time` after `iat`. */
  | 'bad_claim'
  /** `exp − iat` longer than revocation covers (`maxTokenLifetimeSeconds`). */
  | 'lifetime_too_long'
  /** Its `jti` is revoked. */
  | 'revoked_token'
  /** Its session (`sid`) is revoked. */
  | 'revoked_session'
  /** Every token of its subject issued to a session begun before a watermark is revoked. */
  | 'revoked_subject'
  /**
   * Accepted here, but refused by a service this request had to call on the user's behalf (the issuer's
   * token exchange, RFC 8693, or the downstream service): revoked or expired between the two checks.
   */
  | 'refused_downstream';

/**
 * A token that was presented but is not acceptable: 401 `invalid_token`
 * (RFC 6750 §3.1). `code` is the stable machine code; `description` the
 * words safe to send to the client (RFC 6750 §3 `error_description`), never a
 * library's message nor any part of the token.
 */
export class TokenRejectedError extends Error {
  constructor(
    readonly code: TokenRejectionCode,
    readonly description: string,
  ) {
    super(description);
    this.name = 'TokenRejectedError';
  }
}

/** A request without any bearer token (no `Authorization` header, or another scheme): 401 without error code. */
export class TokenMissingError extends Error {
  constructor() {
    super('no bearer token');
    this.name = 'TokenMissingError';
  }
}

/** What verification needs and could not consult: the issuer's keys, or the revocation list. */
export type VerificationDependency = 'signing_keys' | 'revocation_list';

/**
 * The token could not be judged (a dependency is unavailable), so it is
 * neither accepted nor called invalid: 503, fail closed.
 */
export class VerificationUnavailableError extends Error {
  constructor(
    readonly dependency: VerificationDependency,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VerificationUnavailableError';
  }
}

/**
 * The one place where the verifier's errors become HTTP problems (RFC 9457):
 * - {@link TokenRejectedError} → 401 `invalid_token`, `reason` = its code, challenge with
 *   `error="invalid_token"` (RFC 6750 §3.1);
 * - {@link TokenMissingError} → 401 `unauthenticated`, challenge without error code (RFC 6750 §3.1);
 * - {@link VerificationUnavailableError} → 503 `dependency_unavailable` with `Retry-After`;
 * - anything else is returned as it is (a bug: the exception filter makes it a 500 without details).
 *
 * @param error what the verifier (or the strategy) threw
 * @param realm the protection space, the service's audience
 * @returns the problem to throw
 */
export function verificationProblem(error: unknown, realm: string): unknown {
  if (error instanceof TokenRejectedError) return invalidToken(realm, error);
  if (error instanceof TokenMissingError) return missingToken(realm);
  if (error instanceof VerificationUnavailableError) {
    return error.dependency === 'signing_keys' ? verificationKeysUnavailable() : revocationUnavailable();
  }
  return error;
}

/**
 * 401 for a token that was presented but is not acceptable: RFC 6750 §3.1
 * `invalid_token`, with the challenge in `WWW-Authenticate` and the machine
 * code as the problem's `reason` member (RFC 9457 §3.2 extension).
 *
 * @param realm the protection space, the service's audience
 * @param rejection the code and the client-safe description
 */
export function invalidToken(realm: string, rejection: TokenRejectedError): ProblemException {
  return new ProblemException({
    status: 401,
    code: 'invalid_token',
    detail: `The access token is not valid: ${rejection.description}.`,
    extensions: { reason: rejection.code },
    headers: {
      'www-authenticate': `Bearer realm="${realm}", error="invalid_token", error_description="${quoteSafe(rejection.description)}"`,
    },
  });
}

/**
 * 401 for a request with no bearer token at all. RFC 6750 §3.1: the challenge
 * then carries no error code.
 */
export function missingToken(realm: string): ProblemException {
  return new ProblemException({
    status: 401,
    code: 'unauthenticated',
    detail: 'This resource needs an access token: send "Authorization: Bearer <token>".',
    headers: { 'www-authenticate': `Bearer realm="${realm}"` },
  });
}

/**
 * 403 for a valid token without a needed scope: RFC 6750 §3.1
 * `insufficient_scope`, naming the scopes in the challenge's `scope`
 * attribute (RFC 6750 §3).
 *
 * @param realm the protection space, the service's audience
 * @param needed every scope the route requires
 */
export function insufficientScope(realm: string, needed: readonly string[]): ProblemException {
  const scope = needed.join(' ');
  return new ProblemException({
    status: 403,
    code: 'insufficient_scope',
    detail: `The access token does not grant what this resource needs: ${scope}.`,
    headers: { 'www-authenticate': `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"` },
  });
}

/**
 * 403 for a valid token whose subject holds none of the roles a route needs
 * (a service token holds none at all): RFC 6750 §3.1 `insufficient_scope`.
 * A role is not a scope, so the challenge names none; the problem's
 * `required_roles` member (RFC 9457 §3.2 extension) lists them, space-separated
 * as scopes are (RFC 6749 §3.3).
 *
 * @param realm the protection space, the service's audience
 * @param roles the roles of which the subject must hold one
 */
export function insufficientRole(realm: string, roles: readonly string[]): ProblemException {
  const required = roles.join(' ');
  return new ProblemException({
    status: 403,
    code: 'insufficient_scope',
    detail: `This resource needs a user with one of the roles: ${required}.`,
    extensions: { required_roles: required },
    headers: {
      'www-authenticate': `Bearer realm="${realm}", error="insufficient_scope", error_description="a role is missing"`,
    },
  });
}

/**
 * 403 for a valid token of a kind of principal the route does not accept (a
 * service token at a route for users, or the reverse): RFC 6750 §3.1
 * `insufficient_scope`, the token not being the one the resource needs. The
 * problem's `accepted_principals` member (RFC 9457 §3.2 extension) lists the
 * kinds the route accepts, space-separated.
 *
 * @param realm the protection space, the service's audience
 * @param accepted the kinds the route accepts: `user`, `service`
 */
export function principalNotAccepted(realm: string, accepted: readonly PrincipalKind[]): ProblemException {
  const needs = accepted.includes('user')
    ? "this route needs a user's access token"
    : "this route needs a service's access token (client credentials)";
  return new ProblemException({
    status: 403,
    code: 'insufficient_scope',
    detail: `The access token does not fit this resource: ${needs}.`,
    extensions: { accepted_principals: accepted.join(' ') },
    headers: {
      'www-authenticate': `Bearer realm="${realm}", error="insufficient_scope", error_description="${needs}"`,
    },
  });
}

/** 503 when the revocation list cannot be read: fail closed, never serve an unchecked token. */
export function revocationUnavailable(): ProblemException {
  return new ProblemException({
    status: 503,
    code: 'dependency_unavailable',
    detail: 'The revocation list cannot be checked right now; the request was refused. Try again shortly.',
    headers: { 'retry-after': '1' },
  });
}

// RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E (no `"` or `\`).
function quoteSafe(value: string): string {
  return value.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?');
}

/** 503 when the issuer's keys have never been loaded: the token cannot be judged, so it is neither accepted nor called invalid. */
export function verificationKeysUnavailable(): ProblemException {
  return new ProblemException({
    status: 503,
    code: 'dependency_unavailable',
    detail: "The issuer's public keys cannot be loaded right now; the request was refused. Try again shortly.",
    headers: { 'retry-after': '5' },
  });
}
