import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode, ProblemDetails } from '@jwt-ms/contracts';
import { ProblemException } from './problem.exception';
import { problemOf, sendProblem, type ProblemMediaType } from './problem-response';

/** Codes for plain HttpExceptions thrown by Nest or a library, by status. */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthenticated',
  403: 'insufficient_scope',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'dependency_unavailable',
};

/** Fastify's own errors (body parsing, limits) carry a `statusCode` and an `FST_` code. */
interface FastifyLikeError {
  statusCode?: number;
  code?: string;
}

/**
 * The one place where errors raised while a request is handled become HTTP
 * answers: every response that is not a success is an RFC 9457 problem
 * details body, rendered by {@link sendProblem} like the problems the
 * bootstrap answers itself.
 *
 * - {@link ProblemException}: its status, code, detail, field errors and headers.
 * - Other `HttpException`s (Nest's, @nestjs/terminus'): their status and a
 *   generic detail for that status; the library's own message is not sent.
 * - Fastify client errors (malformed JSON, body too large, wrong media type):
 *   their 4xx status with a generic detail.
 * - A body the client abandoned (`ECONNRESET`): one log line, no answer (the
 *   connection is gone).
 * - Anything else: 500 `internal_error`, logged here with its stack; the client
 *   gets no stack trace and no library message.
 * - A 404 for a path that some route serves with another method is a 405
 *   `method_not_allowed` with `Allow` listing them (RFC 9110 §15.5.6).
 * - Under an OAuth path prefix (the token, revocation and introspection
 *   endpoints), the same body as `application/json`, with RFC 6749 §5.2's
 *   `error` member on every 4xx ({@link asOAuthError}).
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemDetailsFilter.name);

  /**
   * @param allowedMethods the methods the routes serve for a request target as
   *   received (`/orders/42?x=1` → `['GET', 'HEAD']`); empty when no route has
   *   its path. Default: none known.
   */
  constructor(
    private readonly allowedMethods: (path: string) => string[] = () => [],
    private readonly oauthPathPrefixes: readonly string[] = [],
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    let { problem, headers } = this.toProblem(exception);
    problem.instance = pathOf(request?.url);
    if (problem.status === 404 && request?.url && request.method) {
      // The request target as the router saw it: `instance` is normalised (dot segments, `\`), the router's is not.
      const allowed = this.allowedMethods(request.url);
      // A route for this very method answered 404 itself (no such order): that stays a 404.
      if (allowed.length > 0 && !allowed.includes(request.method)) {
        problem = {
          ...problemOf(405, 'method_not_allowed', `${request.method} is not allowed here; use ${allowed.join(', ')}.`),
          instance: problem.instance,
        };
        headers = { allow: allowed.join(', ') };
      }
    }
    if (isClientAbort(exception)) {
      // The client went away mid-body (or the request timeout closed it): nothing failed here, and a
      // stack per abandoned socket would flood the log during a slow-body attack. One quiet line.
      this.logger.log(
        `${request?.method} ${problem.instance}: the client closed the connection before its body arrived`,
      );
      return;
    }
    if (problem.status >= 500 && problem.code === 'internal_error') {
      this.logger.error(
        `${request?.method} ${problem.instance} failed`,
        exception instanceof Error ? exception.stack : String(exception),
      );
    }
    let mediaType: ProblemMediaType | undefined;
    if (this.oauthPathPrefixes.some((prefix) => problem.instance?.startsWith(prefix))) {
      problem = asOAuthError(problem);
      mediaType = 'application/json';
    }
    sendProblem(reply, problem, headers, mediaType);
  }

  private toProblem(exception: unknown): { problem: ProblemDetails; headers: Record<string, string> } {
    if (exception instanceof ProblemException) {
      const problem: ProblemDetails = {
        ...exception.extensions,
        ...problemOf(exception.getStatus(), exception.code, exception.detail),
      };
      if (exception.errors) problem.errors = exception.errors;
      if (exception.errorsOmitted > 0) problem.errors_omitted = exception.errorsOmitted;
      return { problem, headers: exception.headers };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const problem = problemOf(status, codeFor(status), genericDetail(status));
      // @nestjs/terminus' readiness failure: keep its per-dependency results.
      const response = exception.getResponse() as { status?: string; details?: unknown };
      if (response?.status === 'error' && response.details) problem.checks = response.details;
      return { problem, headers: {} };
    }
    const fastifyError = exception as FastifyLikeError;
    if (
      typeof fastifyError?.statusCode === 'number' &&
      fastifyError.statusCode >= 400 &&
      fastifyError.statusCode < 500 &&
      typeof fastifyError.code === 'string' &&
      fastifyError.code.startsWith('FST_')
    ) {
      const status = fastifyError.statusCode;
      return { problem: problemOf(status, codeFor(status), fastifyDetail(fastifyError.code, status)), headers: {} };
    }
    return {
      problem: problemOf(
        HttpStatus.INTERNAL_SERVER_ERROR,
        'internal_error',
        'The server could not complete the request.',
      ),
      headers: {},
    };
  }
}

/**
 * A problem as an OAuth endpoint's error (RFC 6749 §5.2, which RFC 7009
 * §2.2.1 and RFC 7662 §2.3 take over): the body goes as `application/json`
 * (the caller sets it; a standard client such as oauth4webapi reads the
 * `error` of no other media type), and a 4xx carries `error`. Refusals
 * raised by the endpoints name their own code; one raised around them (a
 * field the validation pipe refused, a body too large, a wrong media type)
 * is a malformed request: `invalid_request`; a body in another media type is
 * a 400 `invalid_request` that names the form encoding, not a 415 (§5.2 has
 * no code for it, and clients read the 400). A 5xx has no §5.2 code (the
 * status says it) and is left as it is.
 *
 * @param problem the problem as rendered for any other path
 * @returns the problem with `error` and `error_description` when it is a 4xx without them
 */
export function asOAuthError(problem: ProblemDetails): ProblemDetails {
  if (problem.code === 'unsupported_media_type') {
    // RFC 6749 §3.2 names the one media type these endpoints take; a client reads §5.2 `invalid_request`.
    const detail = 'The request body must be application/x-www-form-urlencoded (RFC 6749 §3.2).';
    return {
      error: 'invalid_request',
      error_description: detail,
      ...problemOf(400, 'invalid_request', detail),
      instance: problem.instance,
    };
  }
  if (problem.status >= 500 || typeof problem['error'] === 'string') return problem;
  return { error: 'invalid_request', error_description: problem.detail, ...problem };
}

/**
 * Node's error on a request stream whose connection closed before the body
 * was complete (`aborted`, code `ECONNRESET`), as Fastify's body reader
 * passes it on.
 */
function isClientAbort(exception: unknown): boolean {
  // Not `instanceof Error`: Node's own errors come from another realm under some runners (jest's VM).
  return typeof exception === 'object' && exception !== null && (exception as { code?: unknown }).code === 'ECONNRESET';
}

/**
 * The path of a request target, for `instance`: no query string, and no
 * scheme or host even when the client sent an absolute-form target.
 */
export function pathOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url, 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

function codeFor(status: number): ErrorCode {
  return CODE_BY_STATUS[status] ?? (status >= 500 ? 'internal_error' : 'invalid_request');
}

function genericDetail(status: number): string {
  if (status === 404) return 'No such resource.';
  if (status === 503) return 'A dependency of this service is unavailable; try again later.';
  if (status === 413) return 'The request body is too large.';
  if (status === 429) return 'Too many requests; try again later.';
  if (status === 415) return 'The request body must be application/json.';
  if (status === 400) return 'The request is malformed.';
  if (status >= 500) return 'The server could not complete the request.';
  // Nest's and Fastify's messages are not part of our contract: say only what the status says.
  return STATUS_CODES[status] ?? 'Error';
}

function fastifyDetail(code: string, status: number): string {
  switch (code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'The request body is not valid JSON.';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'The request body is too large.';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'The request body must be application/json.';
    default:
      return STATUS_CODES[status] ?? 'Bad request';
  }
}
