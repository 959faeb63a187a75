import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { contentSecurityPolicy, type BrowserConfig } from './console-config';
import { readVerifierFigures } from './verifier-metrics';

/** How long one reading of the verifiers' /metrics answers `/verifier-metrics.json`, in milliseconds. */
export const METRICS_READ_INTERVAL_MS = 1000;

/** The page's own routes: each answers index.html, the page reads `location` to know which it is. */
const PAGE_ROUTES = ['/', '/callback'] as const;

/**
 * The console's HTTP server: the built page, its configuration, health
 * probes, and nothing else. It holds no token and no session: the page talks
 * to the issuer and the APIs itself, from the browser.
 *
 * - `GET /`, `GET /callback`: index.html (`Cache-Control: no-store`: the
 *   callback URL carries the authorization code, which no cache may keep).
 * - `GET /assets/*`: the built files, named by content hash, cached for a year.
 * - `GET /console-config.json`: {@link BrowserConfig}.
 * - `GET /verifier-metrics.json`: `{targets: [...]}`, each resource service's verifier figures
 *   ({@link readVerifierFigures}), read from its `/metrics` now; `[]` when none are configured.
 * - `GET /health/live`, `GET /health/ready`: 200 `{status: "ok"}`.
 * - Anything else: 404 `application/problem+json` (RFC 9457).
 *
 * Every answer carries the page's CSP ({@link contentSecurityPolicy}),
 * `Referrer-Policy: no-referrer` (the code in the callback URL must not leave
 * in a Referer) and the rest of helmet's defaults. Requests are not logged:
 * a callback URL's query is an authorization code.
 *
 * @param browser what `/console-config.json` answers
 * @param webRoot the folder of the built page (dist/apps/console/web)
 * @param metricsTargets service name → base URL whose `/metrics` feeds the charts
 * @returns a Fastify instance, not yet listening
 * @throws Error when `webRoot` has no index.html (the page was not built)
 */
export async function buildConsoleServer(
  browser: BrowserConfig,
  webRoot: string,
  metricsTargets: Record<string, string> = {},
): Promise<FastifyInstance> {
  const policy = contentSecurityPolicy(browser);
  if (!existsSync(join(webRoot, 'index.html')))
    throw new Error(`${webRoot} has no index.html: build the console first (npx nx run console:build)`);
  const app = Fastify({
    logger: false,
    // A URL Fastify cannot decode (`/callback%ff?code=…`) is answered like any other bad request: a problem,
    // with the page's headers, never echoing the URL (its query may be an authorization code).
    frameworkErrors: (_error, _request, reply) => {
      void (reply as unknown as FastifyReply)
        .code(400)
        .header('content-security-policy', policy)
        .header('referrer-policy', 'no-referrer')
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-store')
        .type('application/problem+json')
        .send(problem(400, 'The request could not be read.'));
    },
  });
  await app.register(helmet, {
    contentSecurityPolicy: false, // set below, from the configuration
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('content-security-policy', policy);
    done(null, payload);
  });
  await app.register(fastifyStatic, {
    root: join(webRoot, 'assets'),
    prefix: '/assets/',
    immutable: true,
    maxAge: '365d',
    index: false,
    wildcard: true,
  });
  for (const route of PAGE_ROUTES)
    app.get(route, (_request, reply) =>
      reply.header('cache-control', 'no-store').sendFile('index.html', webRoot, { cacheControl: false }),
    );
  app.get('/console-config.json', (_request, reply) => reply.header('cache-control', 'no-store').send(browser));
  // One read of the targets serves every request within a second, and requests meanwhile share the read in
  // flight: anyone who reaches the page cannot make the console hammer the services' /metrics.
  let lastRead: { at: number; figures: ReturnType<typeof readVerifierFigures> } | undefined;
  app.get('/verifier-metrics.json', async (_request, reply) => {
    if (!lastRead || Date.now() - lastRead.at >= METRICS_READ_INTERVAL_MS)
      lastRead = { at: Date.now(), figures: readVerifierFigures(metricsTargets) };
    return reply.header('cache-control', 'no-store').send({ targets: await lastRead.figures });
  });
  for (const probe of ['/health/live', '/health/ready']) app.get(probe, () => ({ status: 'ok' }));
  // Browsers ask for it on every page: no icon, and no 404 in the page's console.
  app.get('/favicon.ico', (_request, reply) => reply.code(204).header('cache-control', 'max-age=86400').send());
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type('application/problem+json')
      .send({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: `The console serves no ${request.method} ${request.url.split('?')[0]}.`,
        code: 'not_found',
      }),
  );
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status =
      typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500
        ? error.statusCode
        : 500;
    // A path @fastify/static refuses (`/assets/../x`, a folder) is one the console does not serve: 404, as any other.
    const shown = status === 403 ? 404 : status;
    return reply
      .code(shown)
      .type('application/problem+json')
      .send(
        problem(
          shown,
          shown === 404
            ? 'The console serves no such file.'
            : shown === 500
              ? 'The console could not answer.'
              : 'The request could not be read.',
        ),
      );
  });
  return app;
}

/** Titles and stable codes of the console's problems (RFC 9457 §3.1). */
const PROBLEMS: Record<number, { title: string; code: string }> = {
  400: { title: 'Bad Request', code: 'bad_request' },
  404: { title: 'Not Found', code: 'not_found' },
  413: { title: 'Content Too Large', code: 'payload_too_large' },
  415: { title: 'Unsupported Media Type', code: 'unsupported_media_type' },
  500: { title: 'Internal Server Error', code: 'internal_error' },
};

/** @returns an RFC 9457 problem body for `status`, with the console's stable code */
function problem(status: number, detail: string): Record<string, unknown> {
  const known = PROBLEMS[status] ?? {
    title: status >= 500 ? 'Internal Server Error' : 'Bad Request',
    code: status >= 500 ? 'internal_error' : 'bad_request',
  };
  return { type: 'about:blank', title: known.title, status, detail, code: known.code };
}
