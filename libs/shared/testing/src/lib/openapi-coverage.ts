import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ROOT } from './service-processes';

/** One route as Fastify registered it: `GET /users/:id`. */
export interface ServedRoute {
  method: string;
  /** Fastify's path template, `:name` parameters. */
  url: string;
}

/** An OpenAPI document, as far as these helpers read it. */
export interface OpenApiDocumentLike {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
}

/**
 * Records every route the app's Fastify instance registers from now on: call it after
 * `createServiceApp` and before `app.init()` (which registers the controllers' routes). Routes that
 * `createServiceApp` itself added before (`/metrics`, `/openapi.json`, `/docs`) are not operations of a
 * controller and are not recorded. HEAD (Fastify's twin of every GET) and CORS's catch-all `OPTIONS *` are
 * left out: neither is an operation of its own.
 *
 * @returns the list, filled in as routes are registered
 */
export function recordServedRoutes(app: NestFastifyApplication): ServedRoute[] {
  const routes: ServedRoute[] = [];
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      if (route.url === '*' || route.url === '/*') return;
      for (const method of ([] as string[]).concat(route.method)) {
        if (method !== 'HEAD') routes.push({ method, url: route.url });
      }
    });
  return routes;
}

/** `/users/:id` → `/users/{id}` (OAS 3.1 §4.8.8 path templating). */
export function openApiPathOf(fastifyUrl: string): string {
  return fastifyUrl.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * @returns `METHOD /path/{template}` of each served route the document lacks (same method, same template),
 *   and of each operation of the document that no route serves
 */
export function documentCoverage(
  routes: readonly ServedRoute[],
  document: OpenApiDocumentLike,
): { undocumented: string[]; unserved: string[] } {
  const served = new Set(routes.map((route) => `${route.method.toUpperCase()} ${openApiPathOf(route.url)}`));
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of Object.keys(item)) {
      if (['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'].includes(method)) {
        documented.add(`${method.toUpperCase()} ${path}`);
      }
    }
  }
  return {
    undocumented: [...served].filter((route) => !documented.has(route)).sort(),
    unserved: [...documented].filter((route) => !served.has(route)).sort(),
  };
}

/** The validator's module is ESM only: it runs in a child Node process, reading the document on stdin. */
const VALIDATE_SCRIPT = `
import { Validator } from '@seriousme/openapi-schema-validator';
let text = '';
for await (const chunk of process.stdin) text += chunk;
const validator = new Validator();
const result = await validator.validate(JSON.parse(text));
process.stdout.write(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? null }));
`;

/**
 * Validates a document against the OpenAPI Initiative's JSON Schemas with
 * `@seriousme/openapi-schema-validator` (in a child process: the package is ESM only).
 *
 * @returns whether it is valid, the OpenAPI version the validator read it as (`3.1`), and its errors
 * @throws Error when the child process fails (no answer within 60 s, or a crash)
 */
export async function validateOpenApi(document: object): Promise<{ valid: boolean; version: string; errors: unknown }> {
  const child = promisify(execFile)(process.execPath, ['--input-type=module', '-e', VALIDATE_SCRIPT], {
    cwd: ROOT,
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  child.child.stdin?.end(JSON.stringify(document));
  const { stdout } = await child;
  return JSON.parse(stdout) as { valid: boolean; version: string; errors: unknown };
}
