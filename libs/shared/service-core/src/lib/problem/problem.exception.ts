import { HttpException } from '@nestjs/common';
import type { ErrorCode, FieldError } from '@jwt-ms/contracts';

/**
 * Most field errors one problem lists; the rest are counted in `errors_omitted`.
 * A hostile body must not turn into an answer larger than itself (a 64 KiB body
 * of unknown members once made a 400 KiB problem), and ten say enough to fix a
 * request.
 */
export const MAX_LISTED_ERRORS = 10;

/** What a {@link ProblemException} carries; rendered as RFC 9457 problem+json. */
export interface ProblemInit {
  /** HTTP status code, 4xx or 5xx. */
  status: number;
  /** Stable error code (see `ERROR_CODES` in contracts). */
  code: ErrorCode;
  /** Human-readable explanation of this occurrence. Never a library's message. */
  detail: string;
  /** Invalid fields, for `validation_failed`; only the first {@link MAX_LISTED_ERRORS} are kept. */
  errors?: FieldError[];
  /** Field errors found but not in `errors` (besides those cut from `errors` here), e.g. not looked at one by one. */
  errorsOmitted?: number;
  /** Extra response headers, e.g. `WWW-Authenticate` (RFC 6750 §3) or `Retry-After`. */
  headers?: Record<string, string>;
  /** Extra members of the body (RFC 9457 §3.2), e.g. RFC 6749 §5.2's `error` on token endpoints. */
  extensions?: Record<string, string>;
}

/**
 * An error that the {@link ProblemDetailsFilter} answers as an RFC 9457
 * problem details body with the given status, code and headers.
 *
 * Throw it (or a subclass) from anywhere in a request; the filter is the one
 * place that maps errors to HTTP. Field errors beyond {@link MAX_LISTED_ERRORS}
 * are counted, not listed.
 */
export class ProblemException extends HttpException {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly errors?: FieldError[];
  /** How many field errors `errors` leaves out (RFC 9457 §3.2 extension `errors_omitted`); 0 when it lists all. */
  readonly errorsOmitted: number;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, string>;

  constructor(init: ProblemInit, options?: { cause?: unknown }) {
    super(init.detail, init.status, options);
    this.code = init.code;
    this.detail = init.detail;
    this.errors = init.errors?.slice(0, MAX_LISTED_ERRORS);
    this.errorsOmitted = (init.errorsOmitted ?? 0) + Math.max(0, (init.errors?.length ?? 0) - MAX_LISTED_ERRORS);
    this.headers = init.headers ?? {};
    this.extensions = init.extensions ?? {};
  }
}

/** 400 with code `invalid_request` (RFC 6749 §5.2's name): the request itself is malformed; `detail` says how. */
export function invalidRequest(detail: string): ProblemException {
  return new ProblemException({ status: 400, code: 'invalid_request', detail });
}

/** 404 with code `not_found`; `what` names the resource, e.g. `order`. */
export function notFound(what: string): ProblemException {
  return new ProblemException({ status: 404, code: 'not_found', detail: `${what} not found` });
}
