import { Logger } from '@nestjs/common';
import { ProblemException } from '@jwt-ms/service-core';
import { TokenRejectedError, invalidToken } from '../token-rejection';
import { TokenEndpointUnavailableError, TokenExchangeRefusedError } from './token-exchange.client';
import { MAX_ANSWER_BYTES, readBoundedJson } from './bounded-json';

/**
 * The downstream service answered, but not with what the caller needed:
 * `refused` for its 401 (the exchanged token is revoked or expired there),
 * `failed` for anything else (another 4xx, a 5xx, a body that is not the
 * expected JSON).
 */
export class DownstreamAnswerError extends Error {
  constructor(
    readonly outcome: 'refused' | 'failed',
    /** The HTTP status it answered. */
    readonly status: number,
  ) {
    super(`the downstream service answered HTTP ${status}`);
    this.name = 'DownstreamAnswerError';
  }
}

/** The downstream service did not answer: `timeout` when the caller's deadline passed, else `unreachable`. */
export class DownstreamUnavailableError extends Error {
  constructor(readonly reason: 'timeout' | 'unreachable') {
    super(`the downstream service is unavailable (${reason})`);
    this.name = 'DownstreamUnavailableError';
  }
}

/**
 * The issuer's answers that mean "not this subject token": RFC 8693 §2.2.2 says
 * `invalid_request` for a subject token that is invalid for any reason (the
 * request itself is well-formed by construction), `invalid_grant` is RFC 6749's.
 */
const SUBJECT_TOKEN_REFUSALS = new Set(['invalid_request', 'invalid_grant']);

/**
 * `GET url` with a bearer token (RFC 6750 §2.1), for a call on a user's behalf.
 *
 * @param url the downstream resource
 * @param accessToken the token for that service (an exchanged one: never the user's own)
 * @param signal the caller's deadline
 * @returns the parsed JSON body of a 200 answer
 * @throws DownstreamUnavailableError `timeout` when `signal` fires, `unreachable` on a network error
 * @throws DownstreamAnswerError `refused` for a 401, `failed` for any other status (a redirect included: none is
 *   followed), a body that is not JSON or is longer than {@link MAX_ANSWER_BYTES}
 */
export async function getOnBehalf(url: string, accessToken: string, signal: AbortSignal): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      // A redirect would carry the token to wherever the answer says (same origin keeps the header), and
      // an answer from there would be taken for the profile: the call goes to `url` or fails.
      redirect: 'error',
      signal,
    });
  } catch {
    throw new DownstreamUnavailableError(signal.aborted ? 'timeout' : 'unreachable');
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new DownstreamAnswerError(response.status === 401 ? 'refused' : 'failed', response.status);
  }
  try {
    return await readBoundedJson(response);
  } catch {
    if (signal.aborted) throw new DownstreamUnavailableError('timeout');
    throw new DownstreamAnswerError('failed', response.status);
  }
}

/**
 * Turns a failed call on the user's behalf (token exchange, then the
 * downstream request) into the problem this service answers, so that the
 * caller gets a bounded, clear answer and never a 500:
 * - the token refused along the way (the issuer's `invalid_request`, which
 *   RFC 8693 §2.2.2 answers for a subject token it will not exchange, or
 *   `invalid_grant`; or the downstream 401): 401 `invalid_token` with reason `refused_downstream`
 *   (RFC 6750 §3.1): the user's token was revoked or expired meanwhile;
 * - anything else (timeout, unreachable, 5xx, this client's registration
 *   refused): 503 `dependency_unavailable` with `Retry-After` (1 s); the
 *   cause is logged (never a token), the answer names only the dependency.
 *
 * @param error what the exchange or the call threw
 * @param context `realm` (this service's audience), `dependency` (e.g. `users-service`),
 *   `timeoutMs` (the bound, milliseconds, for the detail) and the logger
 * @returns the ProblemException to throw
 */
export function downstreamProblem(
  error: unknown,
  context: { realm: string; dependency: string; timeoutMs: number; logger: Logger },
): ProblemException {
  const { realm, dependency, timeoutMs, logger } = context;
  if (
    // §5.2 errors come with 400; the same `invalid_request` on a 429 is the issuer's rate limit, spent by
    // this service, not a verdict on the user's token (a 401 would make their app log them out).
    (error instanceof TokenExchangeRefusedError && error.status === 400 && SUBJECT_TOKEN_REFUSALS.has(error.error)) ||
    (error instanceof DownstreamAnswerError && error.outcome === 'refused')
  ) {
    return invalidToken(
      realm,
      new TokenRejectedError(
        'refused_downstream',
        `refused by ${dependency} on the user's behalf (revoked or expired)`,
      ),
    );
  }
  let detail = `${dependency} is unavailable; try again shortly.`;
  if (
    (error instanceof TokenEndpointUnavailableError || error instanceof DownstreamUnavailableError) &&
    error.reason === 'timeout'
  ) {
    detail = `${dependency} did not answer within ${timeoutMs} ms; try again shortly.`;
  } else if (error instanceof TokenExchangeRefusedError) {
    // This client's registration does not allow the call: an operator's fix, not the caller's.
    logger.error(`the token exchange for ${dependency} was refused: ${error.error} (HTTP ${error.status})`);
  } else if (error instanceof DownstreamAnswerError) {
    logger.warn(`${dependency} answered HTTP ${error.status}`);
  } else if (!(error instanceof TokenEndpointUnavailableError || error instanceof DownstreamUnavailableError)) {
    logger.warn(`the call to ${dependency} failed: ${error instanceof Error ? error.name : 'unknown error'}`);
  }
  return new ProblemException({
    status: 503,
    code: 'dependency_unavailable',
    detail,
    headers: { 'retry-after': '1' },
  });
}
