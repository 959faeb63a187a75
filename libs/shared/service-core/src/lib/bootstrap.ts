import 'reflect-metadata';
import { Logger, type INestApplication, type LogLevel, type Type, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import helmet from '@fastify/helmet';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ProblemDetailsFilter } from './problem/problem-details.filter';
import { problemClientErrorHandler } from './problem/client-error.handler';
import { jsonBodyProblem } from './problem/json-body';
import { ProblemException, invalidRequest } from './problem/problem.exception';
import { pathOf } from './problem/problem-details.filter';
import FindMyWay from 'find-my-way';
import { STATUS_CODES } from 'node:http';
import { hostname } from 'node:os';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE } from '@jwt-ms/contracts';
import { createValidationPipe } from './problem/validation.pipe';
import { ConfigError } from './config/load-config';

/**
 * This process's replica id, sent on every answer as `X-Instance-Id` so that
 * load balancing without affinity is visible: `INSTANCE_ID`, or host name and pid.
 */
export const INSTANCE_ID = process.env['INSTANCE_ID'] || `${hostname()}-${process.pid}`;

/**
 * The security headers that matter for a JSON API, for the answers given
 * before any route (and so before helmet) runs: router and HTTP-parser errors.
 */
export const BASELINE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'content-security-policy': "default-src 'self'",
};

/** Largest accepted request body, in bytes. Every API body here is small JSON. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** Options of {@link createServiceApp}. */
export interface ServiceAppOptions {
  /** Log levels; `false` silences Nest's logger (tests). */
  logger?: LogLevel[] | false;
  /** Browser origins allowed by CORS; none (the default) closes CORS. */
  corsOrigins?: string[];
  /** Proxy hops whose `X-Forwarded-For` is trusted for the client IP; 0 (default) = the socket address. */
  trustProxyHops?: number;
  /**
   * Path prefixes that also take `application/x-www-form-urlencoded` bodies,
   * e.g. `['/oauth/']` for RFC 7009 / RFC 7662 endpoints, which require them.
   */
  formBodyPathPrefixes?: string[];
  /**
   * Milliseconds that a shutdown (SIGTERM) waits for open connections to finish
   * before closing the rest: requests in flight complete, but a connection that
   * never finishes its request (a slow or stuck client) cannot hold the process
   * past this. Default {@link SHUTDOWN_DRAIN_MS}.
   */
  shutdownDrainMs?: number;
}

/**
 * Default drain deadline on shutdown, in milliseconds: inside Kubernetes' 30 s
 * grace period after the 5 s preStop pause, with room to spare.
 */
export const SHUTDOWN_DRAIN_MS = 15_000;

/**
 * Builds a service's Nest application on the Fastify adapter with the
 * project-wide HTTP contract: RFC 9457 problem details for every error,
 * request-body validation, a 64 KiB body limit, shutdown hooks (SIGTERM drains
 * for at most `shutdownDrainMs`).
 * It is not listening yet: call `listen` (tests pass port 0).
 *
 * @param module the service's root module (usually `AppModule.forRoot(config)`)
 */
export async function createServiceApp(
  module: Type | DynamicModule,
  options: ServiceAppOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: options.trustProxyHops ? options.trustProxyHops : false,
    clientErrorHandler: problemClientErrorHandler,
    frameworkErrors,
  });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: options.logger ?? ['log', 'warn', 'error'],
    bufferLogs: false,
    abortOnError: false,
    // Body parsing is set up by acceptJsonBodiesOnly below, not by Nest's defaults (JSON + urlencoded).
    bodyParser: false,
  });
  acceptJsonBodiesOnly(adapter, options.formBodyPathPrefixes ?? []);
  const allowedMethods = recordRoutes(adapter);
  adapter.getInstance().addHook('onRequest', (request, reply, done) => {
    reply.header('x-instance-id', INSTANCE_ID);
    // An empty body is no body, whatever its Content-Type says (curl -d '' sends a form type, fetch with
    // body '' text/plain): without the header, Fastify reads it as a request with no body, not a 415.
    // No Content-Length and no Transfer-Encoding also means no body (RFC 9112 §6.3).
    const length = request.headers['content-length'];
    if (length === '0' || (length === undefined && request.headers['transfer-encoding'] === undefined))
      delete request.headers['content-type'];
    done();
  });
  // On close, Fastify stops accepting and ends idle keep-alive connections; a connection with a
  // request still arriving (half its headers, say) would keep the process up until SIGKILL.
  // Answers given while closing say `Connection: close`, so no client keeps a connection to a replica
  // that is going away (it would hold the process until the deadline, then lose its next request).
  let closing = false;
  adapter.getInstance().addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  adapter.getInstance().addHook('preClose', (done) => {
    closing = true;
    const server = adapter.getInstance().server;
    setTimeout(() => server.closeAllConnections(), options.shutdownDrainMs ?? SHUTDOWN_DRAIN_MS).unref();
    done();
  });
  // Security headers (helmet's defaults: nosniff, frame denial, no referrer, HSTS over https, a strict CSP).
  await app.register(helmet);
  if (options.corsOrigins?.length) {
    app.enableCors({
      origin: options.corsOrigins,
      credentials: false,
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type'],
      exposedHeaders: ['www-authenticate', 'retry-after'],
      maxAge: 600,
      // An OPTIONS request that is not a real preflight gets an empty 204, not a plain-text 400.
      strictPreflight: false,
    });
  }
  app.useGlobalFilters(new ProblemDetailsFilter(allowedMethods));
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  return app;
}

/** The HTTP methods a route may be asked for by another name, for `Allow`. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Keeps a copy of the route table (every route, as Fastify registers it) in
 * find-my-way, the router Fastify itself uses, so that a request whose path
 * exists under other methods can be told from one whose path exists nowhere:
 * Fastify's router answers both with "not found".
 *
 * @returns for a request target as received (`/orders/42?x=1`), the methods some route serves it with (HEAD with
 *   GET), else []
 */
function recordRoutes(adapter: FastifyAdapter): (path: string) => string[] {
  // Fastify's router defaults: no duplicate-slash folding, no `;` delimiter, case-sensitive.
  const routes = FindMyWay();
  const noop = () => undefined;
  const add = (method: string, url: string) => {
    if (!routes.hasRoute(method as FindMyWay.HTTPMethod, url)) routes.on(method as FindMyWay.HTTPMethod, url, noop);
  };
  adapter.getInstance().addHook('onRoute', (route) => {
    // A catch-all (CORS's `OPTIONS *`) serves every path, real or not: it says nothing of which exist.
    if (route.url === '*' || route.url === '/*') return;
    const methods = ([] as string[]).concat(route.method);
    for (const method of methods) add(method, route.url);
    if (methods.includes('GET')) add('HEAD', route.url); // Fastify serves HEAD for every GET route
  });
  // find-my-way reads the target as Fastify's router does: query string, percent-decoding, absolute form.
  return (target) => METHODS.filter((method) => routes.find(method, target) !== null);
}

/**
 * Every API here takes `application/json`: any other body media type is a 415 (Fastify's
 * FST_ERR_CTP_INVALID_MEDIA_TYPE, rendered by the filter). JSON keeps
 * Fastify's own parser, which refuses `__proto__` and `constructor` keys.
 * An empty body is no body, whatever its `Content-Type` says (see the
 * `onRequest` hook; here, an empty or blank chunked JSON body): many clients
 * send `Content-Type: application/json` on every request, also a POST
 * without a body. An endpoint that needs one says so (the validation pipe).
 */
function acceptJsonBodiesOnly(adapter: FastifyAdapter, formBodyPathPrefixes: string[]): void {
  const fastify = adapter.getInstance();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  if (formBodyPathPrefixes.length > 0) {
    fastify.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
      (request, body, done) => {
        const path = pathOf(request.url) ?? '';
        if (!formBodyPathPrefixes.some((prefix) => path.startsWith(prefix))) {
          return done(
            new ProblemException({
              status: 415,
              code: 'unsupported_media_type',
              detail: 'The request body must be application/json.',
            }),
            undefined,
          );
        }
        const params = new URLSearchParams(body as string);
        const form: Record<string, string> = Object.create(null);
        for (const [name, value] of params) {
          // RFC 6749 §3.2: a parameter must not appear more than once.
          if (Object.hasOwn(form, name)) {
            return done(invalidRequest(`The parameter "${name}" appears more than once.`), undefined);
          }
          form[name] = value;
        }
        const problem = unacceptableBody(form);
        if (problem) return done(problem, undefined);
        done(null, form);
      },
    );
  }
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
    (request, body, done) => {
      // Nothing but whitespace is no JSON value either: no body (a chunked request may send an empty one).
      if ((body as string).trim().length === 0) return done(null, undefined);
      parseJson(request, body as string, (error, value) => {
        // Said here: Nest turns Fastify's parser errors into plain HttpExceptions, losing which one it was.
        if (error) return done(invalidRequest(jsonParseProblem(body as string)), undefined);
        const problem = unacceptableBody(value);
        if (problem) return done(problem, undefined);
        done(null, value);
      });
    },
  );
}

/**
 * Why Fastify's JSON parser refused a body: not JSON at all, or JSON that
 * sets `__proto__` or `constructor.prototype`, which it refuses (prototype
 * poisoning). Runs only on the refusal path, so the second parse costs a
 * valid request nothing.
 */
function jsonParseProblem(body: string): string {
  try {
    JSON.parse(body);
  } catch {
    return 'The request body is not valid JSON.';
  }
  return 'The request body must not set "__proto__" or "constructor.prototype".';
}

/** A 400 for a parsed body that {@link jsonBodyProblem} refuses, or null. */
function unacceptableBody(value: unknown): ProblemException | null {
  const problem = jsonBodyProblem(value);
  return problem ? invalidRequest(`The request body is not acceptable: ${problem}.`) : null;
}

/**
 * Errors Fastify's router raises before any route runs (an undecodable URL,
 * a path parameter over 100 characters), answered as problem+json too.
 */
function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  reply
    .code(status)
    .headers(BASELINE_SECURITY_HEADERS)
    .type(PROBLEM_CONTENT_TYPE)
    .send({
      type: 'about:blank',
      title: STATUS_CODES[status] ?? 'Bad Request',
      status,
      detail:
        error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long.' : 'The request URL is not valid.',
      code: 'invalid_request',
      instance: pathOf(request.url),
    });
}

/**
 * The `main.ts` of every service: loads configuration (printing a clear
 * message and exiting 1 on a bad value), builds the app, listens, and prints
 * its URL.
 *
 * @param name service name for logs, e.g. `users-service`
 * @param build returns the root module and where to listen; may throw ConfigError
 */
export async function runService(
  name: string,
  build: () => { module: Type | DynamicModule; port: number; host: string; app?: ServiceAppOptions },
): Promise<INestApplication> {
  const logger = new Logger(name);
  let settings: ReturnType<typeof build>;
  try {
    settings = build();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  let app: NestFastifyApplication;
  try {
    app = await createServiceApp(settings.module, settings.app);
    await app.listen(settings.port, settings.host);
  } catch (error) {
    const reason = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`${name}: could not start: ${reason}\n`);
    process.exit(1);
  }
  logger.log(`listening on ${await app.getUrl()}`);
  return app;
}
