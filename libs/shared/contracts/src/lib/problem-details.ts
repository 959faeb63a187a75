/**
 * Error bodies: RFC 9457 "Problem Details for HTTP APIs", with a stable
 * machine-readable `code` extension member (RFC 9457 §3.2) that survives
 * process boundaries where exception classes don't.
 */

/** Media type of every error body (RFC 9457 §3). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Stable error codes. OAuth ones keep their RFC 6749/6750 spelling. */
export const ERROR_CODES = [
  /** RFC 6750 §3.1: the access token is expired, revoked, malformed or invalid. */
  'invalid_token',
  /** RFC 6750 §3.1: the token lacks the scope or role the resource needs. */
  'insufficient_scope',
  /** RFC 6750 §3.1 / RFC 6749 §5.2: the request is missing or has a malformed parameter. */
  'invalid_request',
  /** RFC 6749 §5.2: the refresh token is invalid, expired, revoked or already used. */
  'invalid_grant',
  /** RFC 6749 §5.2: client authentication failed (OAuth endpoints). */
  'invalid_client',
  /** RFC 6749 §5.2: the client is not allowed to use this grant type. */
  'unauthorized_client',
  /** RFC 6749 §5.2: the token endpoint does not offer this grant type. */
  'unsupported_grant_type',
  /** RFC 6749 §5.2: the requested scope is invalid, unknown, or wider than allowed. */
  'invalid_scope',
  /** RFC 6749 §4.1.2.1: the authorization endpoint does not offer this response type (only `code`). */
  'unsupported_response_type',
  /**
   * RFC 6749 §4.1.2.1: the request was refused; here, a login form that did not come from the page this browser
   * was shown (CSRF, RFC 9700 §4.7), or was posted from another site.
   */
  'access_denied',
  /** RFC 8707 §2 / RFC 8693 §2.2.2: a requested resource or audience is unknown or not allowed to the client. */
  'invalid_target',
  /** The credentials are wrong (same answer whether or not the account exists). */
  'invalid_credentials',
  /** No access token was presented (RFC 6750 §3.1: no error code in the challenge). */
  'unauthenticated',
  /** The request body or parameters failed validation. */
  'validation_failed',
  'email_taken',
  'not_found',
  /** RFC 9110 §15.5.6: the path exists, the method does not (the answer lists the others in `Allow`). */
  'method_not_allowed',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  /** A dependency (Redis, the database) is unreachable; the request failed closed. */
  'dependency_unavailable',
  /**
   * RFC 6749 §4.1.2.1's term: a transient state of the issuer, not an outage; `Retry-After` says when to come
   * back (a login right after several revocations of the account, the first use of a refresh token still in flight).
   */
  'temporarily_unavailable',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** One invalid field of a request body. */
export interface FieldError {
  /** Dotted path of the field, e.g. `items.0.quantity`. */
  field: string;
  /** What was expected, in words. */
  message: string;
}

/** An RFC 9457 problem details object as this system sends it. */
export interface ProblemDetails {
  /** RFC 9457 §3.1.1; `about:blank` means the title is the HTTP status phrase. */
  type: string;
  /** RFC 9457 §3.1.4: short, human-readable summary of the problem type. */
  title: string;
  /** RFC 9457 §3.1.2: the HTTP status code. */
  status: number;
  /** RFC 9457 §3.1.3: what happened on this occurrence, for a human. */
  detail?: string;
  /** RFC 9457 §3.1.5: the request path. */
  instance?: string;
  /** Extension member: the stable error code. */
  code: ErrorCode;
  /** Extension member: invalid fields, for `validation_failed`. */
  errors?: FieldError[];
  /** Extension member: how many more invalid fields were found than `errors` lists (it lists at most 10). */
  errors_omitted?: number;
  /** Extension member: per-dependency results of a failed readiness check. */
  checks?: unknown;
  /** Extension members of particular endpoints, e.g. RFC 6749 §5.2 `error` and `error_description`. */
  [member: string]: unknown;
}
