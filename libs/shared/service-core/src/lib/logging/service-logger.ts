import type { LoggerService } from '@nestjs/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { pino, type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

/** The levels `LOG_LEVEL` takes: pino's, from the most to the least severe, and `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevelName = (typeof LOG_LEVELS)[number];

/**
 * Where a secret could sit if a line ever carried a request's headers or a body: pino replaces these paths'
 * values with `[redacted]`. No line here logs headers or bodies (see {@link logRequests}); this is the net
 * under that rule, so that a later `logger.info({ req })` or `{ headers }` cannot leak a credential.
 */
export const REDACTED_PATHS: readonly string[] = [
  'authorization',
  'cookie',
  'password',
  'client_secret',
  'access_token',
  'refresh_token',
  'subject_token',
  'token',
  ...['headers', 'req.headers', 'request.headers'].flatMap((at) => [
    `${at}.authorization`,
    `${at}.cookie`,
    `${at}["proxy-authorization"]`,
  ]),
  'res.headers["set-cookie"]',
  ...['body', 'req.body', 'request.body'].flatMap((at) =>
    ['password', 'client_secret', 'refresh_token', 'subject_token', 'token', 'code'].map((name) => `${at}.${name}`),
  ),
];

/** Options of {@link createServiceLogger}. */
export interface ServiceLoggerOptions {
  /** The service, e.g. `users-service`: every line's `service`. */
  service?: string;
  /** This replica's id: every line's `instance`. */
  instance: string;
  /** Lines below it are dropped; default `info`. */
  level?: LogLevelName;
  /** Where lines go; default standard output. */
  destination?: DestinationStream;
  /** Human-readable lines (pino-pretty) instead of JSON; default: when standard output is a terminal (and no `destination`). */
  pretty?: boolean;
}

/**
 * The process's pino logger: one JSON object per line (`level` numeric, `time` in milliseconds since the
 * epoch, `service`, `instance`, `msg`), written synchronously so that nothing is lost on exit, with
 * {@link REDACTED_PATHS} redacted. On a terminal, pino-pretty renders the same lines for people.
 *
 * @param options see {@link ServiceLoggerOptions}
 * @returns the logger
 */
export function createServiceLogger(options: ServiceLoggerOptions): Logger {
  const pretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  const destination =
    options.destination ??
    (pretty ? pinoPretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l' }) : pino.destination(1));
  return pino(
    {
      level: options.level ?? 'info',
      // pino's default base (pid, hostname) is replaced: the instance id already names the replica.
      base: { ...(options.service && { service: options.service }), instance: options.instance },
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    },
    destination,
  );
}

/** An `X-Request-Id` taken as given: at most 128 characters of `A-Z a-z 0-9 . _ -`. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * A request's id: its `X-Request-Id` when that is a sane value (so a proxy's or a caller's id follows the
 * request through), else a new random UUID (RFC 9562 v4). Anything else (too long, other characters,
 * several headers, which Node joins with `, `) is not echoed: it could forge log lines or bloat them.
 *
 * @param header the `X-Request-Id` header as Node parsed it
 * @returns the id, 1..128 characters
 */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** The route of a request no route matched, in request lines (as in the metrics' `route` label). */
export const UNMATCHED_ROUTE_LABEL = 'unmatched';

/** What the auth-jwt strategy leaves on a request whose token was verified (its Principal, structurally). */
interface VerifiedCaller {
  subject?: unknown;
  clientId?: unknown;
}

/**
 * One `info` line per answer (`error` for a 5xx), when the answer is sent:
 * `{request_id, method, route, status, duration_ms, sub?, client_id?, trace_id?, msg: "request"}`.
 * - `route` is the route template (`/orders/:id`), {@link UNMATCHED_ROUTE_LABEL} when none matched:
 *   never the path as sent, which may hold ids or a query;
 * - `duration_ms` is Fastify's `reply.elapsedTime`, in milliseconds (three decimals), from the request's
 *   arrival to the answer's last byte;
 * - `sub` and `client_id` only when the caller's access token was verified (the principal auth-jwt
 *   sets as `request.user`);
 * - `trace_id` only while an OpenTelemetry span is active.
 * Never a header, a query or a body.
 *
 * @param fastify the app's Fastify instance, before its routes are registered
 * @param logger where the lines go
 */
export function logRequests(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    logAnswer(logger, request, reply);
    done();
  });
}

/**
 * The line {@link logRequests} writes, for an answer sent where no hook runs (Fastify's router errors).
 *
 * @param logger where the line goes
 * @param request the request answered
 * @param reply its reply, sent
 */
export function logAnswer(logger: Logger, request: FastifyRequest, reply: FastifyReply): void {
  const status = reply.statusCode;
  const level = status >= 500 ? 'error' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  const line: Record<string, unknown> = {
    request_id: request.id,
    method: request.method,
    route: request.routeOptions.url ?? UNMATCHED_ROUTE_LABEL,
    status,
    duration_ms: Math.round(reply.elapsedTime * 1000) / 1000,
  };
  const caller = (request as FastifyRequest & { user?: VerifiedCaller }).user;
  if (caller && typeof caller.subject === 'string') {
    line['sub'] = caller.subject;
    if (typeof caller.clientId === 'string') line['client_id'] = caller.clientId;
  }
  const span = trace.getActiveSpan()?.spanContext();
  if (span && isSpanContextValid(span)) line['trace_id'] = span.traceId;
  logger[level](line, 'request');
}

/** Nest's log methods, by the pino level each writes at. */
const NEST_LEVELS = {
  log: 'info',
  error: 'error',
  warn: 'warn',
  debug: 'debug',
  verbose: 'trace',
  fatal: 'fatal',
} as const;

/**
 * Nest's logger over pino: what Nest and every `new Logger(context)` print (startup, `listening on …`,
 * warnings) becomes a pino line, `context` as a field. A message that is an object (a security event,
 * {@link logSecurityEvent}) is merged into the line as fields; an Error becomes `err` (pino's serializer:
 * type, message, stack).
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  /** Nest `log`: pino `info`. */
  log(message: unknown, ...optionalParams: unknown[]): void {
    this.write('log', message, optionalParams);
  }
  /** Nest `error(message, stack?, context?)`: pino `error`, `stack` as a field. */
  error(message: unknown, ...optionalParams: unknown[]): void {
    this.write('error', message, optionalParams);
  }
  /** Nest `warn`: pino `warn`. */
  warn(message: unknown, ...optionalParams: unknown[]): void {
    this.write('warn', message, optionalParams);
  }
  /** Nest `debug`: pino `debug`. */
  debug(message: unknown, ...optionalParams: unknown[]): void {
    this.write('debug', message, optionalParams);
  }
  /** Nest `verbose`: pino `trace`. */
  verbose(message: unknown, ...optionalParams: unknown[]): void {
    this.write('verbose', message, optionalParams);
  }
  /** Nest `fatal`: pino `fatal`. */
  fatal(message: unknown, ...optionalParams: unknown[]): void {
    this.write('fatal', message, optionalParams);
  }

  private write(method: keyof typeof NEST_LEVELS, message: unknown, optionalParams: unknown[]): void {
    const level = NEST_LEVELS[method];
    if (!this.logger.isLevelEnabled(level)) return;
    const params = [...optionalParams];
    const fields: Record<string, unknown> = {};
    // Nest passes the context last; `error(message, stack)` without one is told apart by the stack's shape.
    const last = params.at(-1);
    if (typeof last === 'string' && !(method === 'error' && /\n\s+at /.test(last))) {
      params.pop();
      fields['context'] = last;
    }
    if (method === 'error' && typeof params[0] === 'string' && params[0]) fields['stack'] = params[0];
    if (message instanceof Error) {
      this.logger[level]({ ...fields, err: message }, message.message);
    } else if (message !== null && typeof message === 'object') {
      const { msg, ...rest } = message as Record<string, unknown>;
      this.logger[level]({ ...rest, ...fields }, typeof msg === 'string' ? msg : undefined);
    } else {
      this.logger[level](fields, String(message));
    }
  }
}

/**
 * The security events, each its own line with an `event` field (docs/observability.md lists them):
 * - `refresh_token_reuse`: a consumed refresh token came back; its session is revoked (RFC 9700 §4.14.2);
 * - `rate_limit_refused`: a rate limit refused a request (`limiter`: which one);
 * - `admin_action`: an administrator did something (`action`, the admin's `sub`, the target's id);
 * - `signing_key_rotated`: a new signing key (`kid`) was published;
 * - `token_exchange_refused`: a token exchange (RFC 8693) was refused (`error`: the RFC 6749 §5.2 code);
 * - `authorization_code_reuse`: an authorization code was redeemed twice; its session is revoked (RFC 6749 §4.1.2);
 * - `login_form_forged`: a login form was posted from another origin or without its page's CSRF token (RFC 9700 §4.7).
 */
export type SecurityEventName =
  | 'refresh_token_reuse'
  | 'rate_limit_refused'
  | 'admin_action'
  | 'signing_key_rotated'
  | 'token_exchange_refused'
  | 'authorization_code_reuse'
  | 'login_form_forged';

/** The fields of a security event: ids, codes and counts only; never a token, a secret, a password or a key. */
export type SecurityEventFields = Record<string, string | number | boolean | undefined>;

/**
 * Writes a security event as one structured line `{event, …fields, msg: event}` through a Nest logger
 * (`new Logger(context)`), at `warn` unless said otherwise: with {@link PinoNestLogger} the fields are the
 * line's own.
 *
 * @param logger a Nest logger
 * @param event the event's name
 * @param fields ids and codes (`sub`, `client_id`, `reason`…): never a token value
 * @param level `warn` (default) or `log` (info) for an expected, audited action
 */
export function logSecurityEvent(
  logger: Pick<LoggerService, 'warn' | 'log'>,
  event: SecurityEventName,
  fields: SecurityEventFields = {},
  level: 'warn' | 'log' = 'warn',
): void {
  logger[level]({ event, ...fields, msg: event });
}
