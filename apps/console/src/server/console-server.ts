import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { contentSecurityPolicy, type BrowserConfig } from './console-config';
import { readVerifierFigures } from './verifier-metrics';

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
  if (!existsSync(join(webRoot, 'index.html')))
    throw new Error(`${webRoot} has no index.html: build the console first (npx nx run console:build)`);
  const app = Fastify({ logger: false });
  const policy = contentSecurityPolicy(browser);
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
  app.get('/verifier-metrics.json', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ targets: await readVerifierFigures(metricsTargets) }),
  );
  for (const probe of ['/health/live', '/health/ready']) app.get(probe, () => ({ status: 'ok' }));
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
    return reply
      .code(status)
      .type('application/problem+json')
      .send({
        type: 'about:blank',
        title: status === 500 ? 'Internal Server Error' : 'Bad Request',
        status,
        detail: status === 500 ? 'The console could not answer.' : 'The request could not be read.',
        code: status === 500 ? 'internal_error' : 'bad_request',
      });
  });
  return app;
}
