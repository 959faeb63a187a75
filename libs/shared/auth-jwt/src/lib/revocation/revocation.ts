import { revocationUnavailable } from '../token-rejection';

/**
 * Seconds a revocation entry outlives its token's `exp`, so it still covers the
 * token while a verifier's clock tolerance would accept it.
 */
export const REVOCATION_TTL_MARGIN_SECONDS = 60;

/** Longest wait for one Redis operation, in milliseconds; then the request fails closed (503). */
export const REDIS_TIMEOUT_MS = 1000;

/** Thrown when the revocation list cannot be consulted (Redis unreachable, or the local copy too old); callers must fail closed. */
export class RevocationUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the revocation list cannot be consulted', { cause });
    this.name = 'RevocationUnavailableError';
  }
}

/**
 * Runs a revocation operation, failing closed: the list unreachable becomes
 * a 503 `dependency_unavailable` problem, so no caller is ever told a token is
 * fine, or revoked, when that could not be checked or written.
 *
 * @throws ProblemException 503 when the revocation list cannot be consulted
 */
export async function failClosed<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof RevocationUnavailableError) throw revocationUnavailable();
    throw error;
  }
}

/**
 * The parts of an access token that revocation looks at. A user token is
 * revoked by its `jti`, its session `sid`, or its subject's watermark against
 * `auth_time`; a service token (no session) by its `jti`, or its client's
 * watermark (keyed by `sub`, the client id) against `iat`. User ids are UUIDs
 * and client ids never are, so one subject watermark never covers both.
 */
export interface RevocableToken {
  /** `jti` claim. */
  jti: string;
  /** `sid` claim: the login session; undefined for a service token, which has none. */
  sid: string | undefined;
  /** `sub` claim: the user's id, or the service token's client id. */
  sub: string;
  /**
   * What the subject's watermark is compared with, seconds since the epoch: `auth_time` of a user token (whole
   * or fractional seconds), `iat` of a service token.
   */
  authTime: number;
}

/** Why a token is revoked, or null when it is not. */
export type RevocationReason = 'token revoked' | 'session revoked' | 'all tokens of the subject revoked' | null;

/**
 * What a verifier does when its copy of the revocation list is older than
 * the allowed staleness (Redis unreachable, or its log not arriving):
 * - `fail-closed` (default): refuse every token with 503 until the copy is fresh again;
 * - `fail-open`: keep answering from the last copy (a revocation made meanwhile is not seen).
 */
export type RevocationFailurePolicy = 'fail-closed' | 'fail-open';

/** The two values of {@link RevocationFailurePolicy}. */
export const REVOCATION_FAILURE_POLICIES = ['fail-closed', 'fail-open'] as const;
