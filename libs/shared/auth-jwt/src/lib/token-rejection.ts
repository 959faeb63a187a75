import { ProblemException } from '@jwt-ms/service-core';

/**
 * Why an access token was refused, in words safe to send to the client
 * (RFC 6750 §3 `error_description` semantics). Never carries a library's
 * message or any part of the token.
 */
export class TokenRejectedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TokenRejectedError';
  }
}

/**
 * Turns whatever refused a token into a client-safe reason: our own
 * {@link TokenRejectedError}s carry one; anything else (a library's error,
 * with a message we never forward) becomes a generic reason.
 *
 * @param error the value passport-jwt handed to `fail()`
 * @returns a short reason, e.g. `token expired`
 */
export function rejectionReason(error: unknown): string {
  if (error instanceof TokenRejectedError) return error.reason;
  return 'the token could not be verified';
}

/**
 * 401 for a token that was presented but is not acceptable: RFC 6750 §3.1
 * `invalid_token`, with the challenge in `WWW-Authenticate`.
 *
 * @param realm the protection space, the service's audience
 * @param reason client-safe reason (see {@link rejectionReason})
 */
export function invalidToken(realm: string, reason: string): ProblemException {
  return new ProblemException({
    status: 401,
    code: 'invalid_token',
    detail: `The access token is not valid: ${reason}.`,
    headers: {
      'www-authenticate': `Bearer realm="${realm}", error="invalid_token", error_description="${quoteSafe(reason)}"`,
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
 * 403 for a valid token without the needed scope or role: RFC 6750 §3.1
 * `insufficient_scope`, naming the scope in the challenge.
 */
export function insufficientScope(realm: string, needed: string[]): ProblemException {
  const scope = needed.join(' ');
  return new ProblemException({
    status: 403,
    code: 'insufficient_scope',
    detail: `The access token does not grant what this resource needs: ${scope}.`,
    headers: { 'www-authenticate': `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"` },
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
