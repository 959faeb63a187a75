import 'reflect-metadata';
import {
  Logger,
  type INestApplication,
  type LoggerService,
  type LogLevel,
  type Type,
  type DynamicModule,
} from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import helmet from '@fastify/helmet';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ProblemDetailsFilter } from './problem/problem-details.filter';
import { problemClientErrorHandler } from './problem/client-error.handler';
import { jsonBodyProblem, jsonTextProblem } from './problem/json-body';
import { ProblemException, invalidRequest } from './problem/problem.exception';
import { pathOf } from './problem/problem-details.filter';
import { problemOf, sendProblem } from './problem/problem-response';
import * as findMyWayModule from 'find-my-way';
import type Router from 'find-my-way';
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { createValidationPipe } from './problem/validation.pipe';
import { ConfigError } from './config/load-config';
import { ServiceMetrics, instrumentHttp } from './metrics/service-metrics';
import { traceRequests } from './tracing/request-spans';
import type { DestinationStream } from 'pino';
import {
  LOG_LEVELS,
  PinoNestLogger,
  createServiceLogger,
  logAnswer,
  logRequests,
  requestIdOf,
  type LogLevelName,
} from './logging/service-logger';
import { OpenApiAccessPolicy, OpenApiDocumentSettings } from './openapi/openapi.module';
import { buildOpenApiDocument } from './openapi/openapi-document';
import { serveOpenApi } from './openapi/openapi.route';

// find-my-way is CommonJS (`module.exports = Router`): webpack's build hands it over as the namespace's default,
// scripts run through @swc-node/register (the bench, the cluster) without interop as the namespace itself.
type FindMyWayFactory = typeof Router;
type HTTPMethod = Router.HTTPMethod;
const FindMyWay: FindMyWayFactory =
  (findMyWayModule as unknown as { default?: FindMyWayFactory }).default ??
  (findMyWayModule as unknown as FindMyWayFactory);
/**
 * This process's replica id, sent on every answer as `X-Instance-Id` so that
 * load balancing without affinity is visible: `INSTANCE_ID`, or host name and pid.
 */
export const INSTANCE_ID = process.env['INSTANCE_ID'] || `${hostname()}-${process.pid}`;

/**
 * The security headers that matter most for a JSON API. Every answer carries
 * them, also those given before any route runs (router and HTTP-parser
 * errors, a bad Host), whatever helmet's defaults become
 * ({@link securityHeaders} adds its own to these).
 */
export const BASELINE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'content-security-policy': "default-src 'self'",
};

let securityHeadersOnce: Promise<Readonly<Record<string, string>>> | undefined;

/**
 * The security headers of every answer: helmet's defaults (nosniff, frame
 * denial, no referrer, HSTS, a strict CSP, the cross-origin policies…) over
 * {@link BASELINE_SECURITY_HEADERS}. They depend on nothing in the request,
 * so they are computed once per process, by asking @fastify/helmet what it
 * sets on a throw-away Fastify instance, and each answer only copies them:
 * the plugin itself would rebuild its middleware (CSP parsing included) on
 * every request, which cost more than the whole framework's own work per
 * request.
 *
 * @returns header name (lower case) → value
 */
export function securityHeaders(): Promise<Readonly<Record<string, string>>> {
  securityHeadersOnce ??= (async () => {
    const probe = new FastifyAdapter().getInstance();
    let set: Record<string, unknown> = {};
    await probe.register(helmet);
    probe.get('/', (_request, reply) => {
      // Only helmet's hook has run: what the raw response holds is exactly what it sets.
      set = reply.raw.getHeaders();
      return '';
    });
    try {
      await probe.inject({ method: 'GET', url: '/' });
    } finally {
      await probe.close();
    }
    const helmets = Object.fromEntries(Object.entries(set).map(([name, value]) => [name, String(value)]));
    if (Object.keys(helmets).length === 0) throw new Error('@fastify/helmet set no headers');
    return Object.freeze({ ...BASELINE_SECURITY_HEADERS, ...helmets });
  })();
  return securityHeadersOnce;
}

/** Largest accepted request body, in bytes. Every API body here is small JSON. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** Options of {@link createServiceApp}. */
export interface ServiceAppOptions {
  /**
   * Nest's logger. Unset (what the services run with): pino (logging/service-logger.ts), which also writes one
   * line per request. Log levels (Nest's console logger), a logger to write to (tests read what was logged), or
   * `false` (silent): Nest's lines go there, and request lines only if `logDestination` is given.
   */
  logger?: LogLevel[] | LoggerService | false;
  /** The service's name, every log line's `service` (runService sets it). */
  serviceName?: string;
  /** `LOG_LEVEL`: pino's lines below it are dropped (request lines are `info`, a 5xx's `error`); default `info`. */
  logLevel?: LogLevelName;
  /** Where pino's lines go instead of standard output (tests read them); JSON, never pretty. */
  logDestination?: DestinationStream;
  /** Browser origins allowed by CORS; none (the default) closes CORS. */
  corsOrigins?: string[];
  /**
   * Addresses of the proxies (IPs or CIDRs: `127.0.0.1`, `10.244.0.0/16`, `::1`) whose `X-Forwarded-For`
   * is trusted for the client IP. The client is the nearest address in the chain that is not one of
   * them, so a client that reaches a replica directly cannot name its own IP. None (the default): the
   * socket address, whatever the headers say.
   */
  trustedProxies?: readonly string[];
  /** HTTP timeouts, in milliseconds; each defaults to {@link HTTP_TIMEOUTS}'s. */
  timeouts?: Partial<HttpTimeouts>;
  /**
   * Path prefixes that also take `application/x-www-form-urlencoded` bodies,
   * e.g. `['/oauth/']` for RFC 7009 / RFC 7662 endpoints, which require them.
   */
  formBodyPathPrefixes?: string[];
  /**
   * Path prefixes of OAuth endpoints, e.g. `['/oauth/']`: their errors are
   * RFC 6749 §5.2 error responses, `application/json` with an `error` member
   * (the problem members stay in the body). Answers made before routing (a
   * bad Host header, an unparsable request) stay `application/problem+json`.
   */
  oauthPathPrefixes?: string[];
  /**
   * Form parameters that may appear more than once, parsed as an array of
   * their values: RFC 8707 §2 `resource` and RFC 8693 §2.1 `audience`. Every
   * other repeated parameter is a 400 (RFC 6749 §3.2). A single occurrence
   * stays a string.
   */
  formRepeatableParameters?: string[];
  /**
   * Milliseconds that a shutdown (SIGTERM) waits for open connections to finish
   * before closing the rest: requests in flight complete, but a connection that
   * never finishes its request (a slow or stuck client) cannot hold the process
   * past this. Default {@link SHUTDOWN_DRAIN_MS}.
   */
  shutdownDrainMs?: number;
}

/** The HTTP server's timeouts, every one in milliseconds. */
export interface HttpTimeouts {
  /**
   * Time for a whole request, headers and body, to arrive: a client that sends it slower (a body
   * trickled a byte at a time) gets a 408 problem and loses the connection. Also the headers' own
   * deadline (Node's `headersTimeout`, which may not exceed it).
   */
  requestMs: number;
  /** Time an idle keep-alive connection stays open between requests. */
  keepAliveMs: number;
  /**
   * Time a connection may stay silent while a request is handled or its answer written (a client
   * that stops reading): the socket is closed after it.
   */
  connectionMs: number;
}

/**
 * The defaults, chosen for a replica behind ingress-nginx or HAProxy and safe when reached directly:
 * - `requestMs` 10 s: every body here is at most 64 KiB, i.e. 6.5 KB/s at the slowest; ingress-nginx
 *   reads the whole body before it forwards it (`proxy-request-buffering: on`, its own
 *   `client-body-timeout` 60 s), so behind it requests arrive at once.
 * - `keepAliveMs` 72 s: longer than the proxies keep idle upstream connections (ingress-nginx's
 *   `upstream-keepalive-timeout` 60 s; HAProxy's `timeout server` 60 s here), so the proxy always
 *   closes first and never sends a request on a connection the replica is closing (a 502).
 * - `connectionMs` 30 s: far above the slowest handler (an argon2 check queued under load takes a
 *   few seconds), below the proxies' read timeouts (ingress-nginx `proxy-read-timeout` 60 s,
 *   HAProxy `timeout server` 60 s).
 */
export const HTTP_TIMEOUTS: Readonly<HttpTimeouts> = { requestMs: 10_000, keepAliveMs: 72_000, connectionMs: 30_000 };

/**
 * Default drain deadline on shutdown, in milliseconds: inside Kubernetes' 30 s
 * grace period after the 5 s preStop pause, with room to spare.
 */
export const SHUTDOWN_DRAIN_MS = 15_000;

/**
 * Builds a service's Nest application on the Fastify adapter with the
 * project-wide HTTP contract: RFC 9457 problem details for every error,
 * request-body validation, a 64 KiB body limit, request and connection
 * timeouts ({@link HTTP_TIMEOUTS}), `X-Forwarded-For` only from the trusted
 * proxies, a problem for a request without exactly one `Host` (RFC 9112 §3.2),
 * the {@link securityHeaders}, `X-Instance-Id` and `X-Request-Id` (the caller's if sane, else a new UUID:
 * logging/service-logger.ts) on every answer, one pino log line per request,
 * `Cache-Control: no-store` on every answer whose route sets no caching of
 * its own (and on every problem), shutdown hooks (SIGTERM drains for at most
 * `shutdownDrainMs`), and, when the module imports `OpenApiModule`, its OpenAPI 3.1 document at
 * `GET /openapi.json` with Swagger UI at `GET /docs`. It is not listening yet: call `listen` (tests pass port 0).
 *
 * Everything it adds to a request's path is set up here, once: the headers
 * are computed at startup and copied per answer, and no hook is async.
 *
 * @param module the service's root module (usually `AppModule.forRoot(config)`)
 */
export async function createServiceApp(
  module: Type | DynamicModule,
  options: ServiceAppOptions = {},
): Promise<NestFastifyApplication> {
  const timeouts = { ...HTTP_TIMEOUTS, ...options.timeouts };
  // What every answer carries, whatever it is; set once per request, never computed per request.
  const everyAnswer: Readonly<Record<string, string>> = Object.freeze({
    ...(await securityHeaders()),
    'x-instance-id': INSTANCE_ID,
  });
  // RFC 9111 §5.2.2.5: answers carry personal data or tokens (RFC 6750 §5.3 asks for no caching of them); a route
  // whose answer may be cached says so itself (the JWKS, the discovery document), replacing this default.
  const answerDefaults: Readonly<Record<string, string>> = Object.freeze({
    ...everyAnswer,
    'cache-control': 'no-store',
  });
  const log = createServiceLogger({
    service: options.serviceName,
    instance: INSTANCE_ID,
    level: options.logger === undefined || options.logDestination ? (options.logLevel ?? 'info') : 'silent',
    destination: options.logDestination,
  });
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // Every request's id, echoed as X-Request-Id and in its log line (Fastify's logger itself stays off).
    genReqId: (raw: IncomingMessage) => requestIdOf(raw.headers['x-request-id']),
    // proxy-addr (Fastify's) walks X-Forwarded-For from the socket address back, past trusted addresses only.
    trustProxy: options.trustedProxies?.length ? [...options.trustedProxies] : false,
    clientErrorHandler: problemClientErrorHandler(everyAnswer),
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      frameworkErrors(error, request, reply, everyAnswer);
      logAnswer(log, request, reply); // no hook runs for these answers
    },
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: timeouts.connectionMs,
    http: {
      headersTimeout: timeouts.requestMs,
      // Node checks the two deadlines above only this often (30 s by default): the slack of each.
      connectionsCheckingInterval: Math.min(1000, Math.max(100, timeouts.requestMs / 4)),
      // Answered below as a problem, with the security headers; Node's own answer is a bare 400.
      requireHostHeader: false,
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: options.logger ?? new PinoNestLogger(log),
    bufferLogs: false,
    abortOnError: false,
    // Body parsing is set up by acceptJsonBodiesOnly below, not by Nest's defaults (JSON + urlencoded).
    bodyParser: false,
  });
  acceptJsonBodiesOnly(adapter, options.formBodyPathPrefixes ?? [], options.formRepeatableParameters ?? []);
  const allowedMethods = recordRoutes(adapter);
  const metrics = providerOf(app, ServiceMetrics);
  if (metrics) instrumentHttp(adapter.getInstance(), metrics);
  traceRequests(adapter.getInstance());
  logRequests(adapter.getInstance(), log);
  const openApi = providerOf(app, OpenApiDocumentSettings);
  if (openApi) {
    const document = buildOpenApiDocument(app, openApi.settings, {
      access: providerOf(app, OpenApiAccessPolicy),
      oauthPathPrefixes: options.oauthPathPrefixes,
    });
    serveOpenApi(adapter.getInstance(), document);
  }
  // On close, Fastify stops accepting and ends idle keep-alive connections; a connection with a
  // request still arriving (half its headers, say) would keep the process up until SIGKILL.
  // Answers given while closing say `Connection: close`, so no client keeps a connection to a replica
  // that is going away (it would hold the process until the deadline, then lose its next request).
  let closing = false;
  // One hook for everything a request needs before routing, and no async hook: each hook is a step of
  // Fastify's chain on every request, an async one a promise too.
  adapter.getInstance().addHook('onRequest', (request, reply, done) => {
    reply.headers(answerDefaults);
    reply.header('x-request-id', request.id);
    const hostProblem = hostHeaderProblem(request.raw);
    if (hostProblem) {
      // The connection goes: the request is not trusted.
      sendProblem(
        reply,
        { ...problemOf(400, 'invalid_request', hostProblem), instance: pathOf(request.url) },
        {
          connection: 'close',
        },
      );
      return;
    }
    // An empty body is no body, whatever its Content-Type says (curl -d '' sends a form type, fetch with
    // body '' text/plain): without the header, Fastify reads it as a request with no body, not a 415.
    // No Content-Length and no Transfer-Encoding also means no body (RFC 9112 §6.3).
    const length = request.headers['content-length'];
    if (length === '0' || (length === undefined && request.headers['transfer-encoding'] === undefined))
      delete request.headers['content-type'];
    done();
  });
  // Decided when the answer is sent, not when the request arrived: a request in flight when the close
  // begins is answered after it. (Measured: `npm run bench -- public`, docs/performance.md.)
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
  if (options.corsOrigins?.length) {
    app.enableCors({
      origin: options.corsOrigins,
      credentials: false,
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type'],
      // The replica's id and the request id: the console shows which replica answered each call.
      exposedHeaders: ['www-authenticate', 'retry-after', 'x-instance-id', 'x-request-id'],
      maxAge: 600,
      // An OPTIONS request that is not a real preflight gets an empty 204, not a plain-text 400.
      strictPreflight: false,
    });
  }
  app.useGlobalFilters(new ProblemDetailsFilter(allowedMethods, options.oauthPathPrefixes ?? []));
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  return app;
}

/**
 * A provider the app's modules may hold (the root module imports MetricsModule, or not), else undefined.
 * Looked up in the module container: `app.get` of a missing provider logs an error even when caught.
 */
function providerOf<T>(app: INestApplication, token: Type<T> | (abstract new (...args: never[]) => T)): T | undefined {
  for (const module of app.get(ModulesContainer).values()) {
    const wrapper = module.providers.get(token);
    if (wrapper?.instance) return wrapper.instance as T;
  }
  return undefined;
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
    if (!routes.hasRoute(method as HTTPMethod, url)) routes.on(method as HTTPMethod, url, noop);
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
function acceptJsonBodiesOnly(adapter: FastifyAdapter, formBodyPathPrefixes: string[], repeatable: string[]): void {
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
        const form: Record<string, string | string[]> = Object.create(null);
        for (const [name, value] of params) {
          if (Object.hasOwn(form, name)) {
            // RFC 6749 §3.2: a parameter must not appear more than once, unless its own RFC says it may.
            if (!repeatable.includes(name)) {
              return done(oauthInvalidRequest(`The parameter "${name}" appears more than once.`), undefined);
            }
            const previous = form[name];
            form[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
            continue;
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
      // Before parsing: what the text would cost to parse and validate (values, depth), in one cheap pass.
      const text = jsonTextProblem(body as string);
      if (text.problem) return done(invalidRequest(`The request body is not acceptable: ${text.problem}.`), undefined);
      parseJson(request, body as string, (error, value) => {
        // Said here: Nest turns Fastify's parser errors into plain HttpExceptions, losing which one it was.
        if (error) return done(invalidRequest(jsonParseProblem(body as string)), undefined);
        const problem = unacceptableBody(value, text.memberNames);
        if (problem) return done(problem, undefined);
        done(null, value);
      });
    },
  );
}

/**
 * 400 `invalid_request` for a form body: form bodies are OAuth requests here
 * (RFC 6749 §3.2, RFC 7009, RFC 7662), so the problem also carries §5.2's `error`.
 */
function oauthInvalidRequest(detail: string): ProblemException {
  return new ProblemException({
    status: 400,
    code: 'invalid_request',
    detail,
    extensions: { error: 'invalid_request', error_description: detail },
  });
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

/** A 400 for a parsed body that {@link jsonBodyProblem} refuses, or null; `memberNames` as its text spells them. */
function unacceptableBody(value: unknown, memberNames?: number): ProblemException | null {
  const problem = jsonBodyProblem(value, memberNames);
  return problem ? invalidRequest(`The request body is not acceptable: ${problem}.`) : null;
}

/**
 * RFC 9112 §3.2: an HTTP/1.1 request without a `Host` header, and any request
 * with more than one, gets a 400. (Node keeps the first of several `Host`
 * headers and drops the rest, so they are counted in the raw list.)
 *
 * @returns the problem's detail, or null when the request has a single Host (or is HTTP/1.0 without one)
 */
function hostHeaderProblem(request: IncomingMessage): string | null {
  const raw = request.rawHeaders;
  let hosts = 0;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index];
    // Every request: only a four-letter name is compared, and lower-cased only if not already.
    if (name.length === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host')) hosts += 1;
  }
  if (hosts === 1) return null;
  if (hosts > 1) return 'The request must have one Host header, not several.';
  const { httpVersionMajor: major, httpVersionMinor: minor } = request;
  if (major > 1 || (major === 1 && minor >= 1)) return 'The request must have a Host header.';
  return null;
}

/**
 * Errors Fastify's router raises before any route runs (an undecodable URL,
 * a path parameter over 100 characters), answered as problem+json too. No
 * hook has run, so the answer gets every answer's headers here.
 *
 * @param headers the headers every answer carries
 */
function frameworkErrors(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  headers: Readonly<Record<string, string>>,
): void {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const detail =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long.' : 'The request URL is not valid.';
  sendProblem(
    reply,
    { ...problemOf(status, 'invalid_request', detail), instance: pathOf(request.url) },
    { ...headers, 'x-request-id': request.id },
  );
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
  // What is logged while the configuration loads (a generated development key, say) goes through pino too,
  // at LOG_LEVEL if it is valid (the configuration then says so if not); the app's own logger replaces it.
  const earlyLevel = LOG_LEVELS.find((level) => level === process.env['LOG_LEVEL']) ?? 'info';
  Logger.overrideLogger(
    new PinoNestLogger(createServiceLogger({ service: name, instance: INSTANCE_ID, level: earlyLevel })),
  );
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
    app = await createServiceApp(settings.module, { serviceName: name, ...settings.app });
    await app.listen(settings.port, settings.host);
  } catch (error) {
    const reason = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`${name}: could not start: ${reason}\n`);
    process.exit(1);
  }
  logger.log(`listening on ${await app.getUrl()}`);
  return app;
}
