import { ProblemException } from '@jwt-ms/service-core';

/** The error codes of RFC 6749 §5.2, RFC 8707 §2 and RFC 8693 §2.2.2 that the token endpoint answers. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target';

/**
 * An OAuth error answer: RFC 6749 §5.2's `error` and `error_description`
 * beside the RFC 9457 problem members (`code` is the same string), so an
 * OAuth client and a problem-aware one both read it. Status 400, except
 * `invalid_client`, which is 401 with a Basic challenge (§5.2).
 *
 * @param error the §5.2 code
 * @param description a sentence for the developer; it must not echo secrets or tokens
 * @returns the exception to throw
 */
export function oauthError(error: OAuthErrorCode, description: string): ProblemException {
  const unauthenticated = error === 'invalid_client';
  return new ProblemException({
    status: unauthenticated ? 401 : 400,
    code: error,
    detail: description,
    headers: unauthenticated ? { 'www-authenticate': 'Basic realm="auth-service"' } : undefined,
    extensions: { error, error_description: description },
  });
}
