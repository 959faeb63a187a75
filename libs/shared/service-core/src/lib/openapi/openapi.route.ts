import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** Where the document is served. */
export const OPENAPI_PATH = '/openapi.json';
/** Where Swagger UI reads it. */
export const DOCS_PATH = '/docs';

/** Swagger UI's files, served under {@link DOCS_PATH}: name → media type. */
const UI_FILES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

/**
 * The page: no inline script or style, so it runs under the services' `Content-Security-Policy`
 * (`default-src 'self'`, `script-src 'self'`, `script-src-attr 'none'`) unchanged. Swagger UI's
 * settings are in the separate {@link INIT_SCRIPT}.
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>API documents</title>
<link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="${DOCS_PATH}/init.js"></script>
</body>
</html>
`;

/** Starts Swagger UI on the served document; "try it out" sends requests to this same origin. */
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({ url: '${OPENAPI_PATH}', dom_id: '#swagger-ui', deepLinking: true });\n`;

/** Cache lifetime of the document and the page, in seconds: they change only with a deployment. */
const MAX_AGE_SECONDS = 300;

/**
 * Serves the API document and its reading page, public (Fastify routes: no Nest guard runs), on the
 * service's own port:
 * - `GET /openapi.json`: the document, `application/json`;
 * - `GET /docs`: Swagger UI (swagger-ui-dist, read from node_modules on first request, then kept in memory).
 * They are plain Fastify routes, not controllers, so they are not operations of the document itself.
 *
 * @param fastify the app's Fastify instance, before `app.init`
 * @param document the OpenAPI document (serialised once, here)
 */
export function serveOpenApi(fastify: FastifyInstance, document: object): void {
  const text = JSON.stringify(document);
  const cacheControl = `public, max-age=${MAX_AGE_SECONDS}`;
  fastify.get(OPENAPI_PATH, (_request, reply) => {
    void reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', cacheControl)
      .send(text);
  });
  fastify.get(DOCS_PATH, (_request, reply) => {
    void reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', cacheControl).send(PAGE);
  });
  fastify.get(`${DOCS_PATH}/init.js`, (_request, reply) => {
    void reply
      .header('content-type', UI_FILES['swagger-ui-bundle.js'])
      .header('cache-control', cacheControl)
      .send(INIT_SCRIPT);
  });
  const files = new Map<string, Promise<Buffer>>();
  for (const [name, mediaType] of Object.entries(UI_FILES)) {
    fastify.get(`${DOCS_PATH}/${name}`, async (_request, reply) => {
      let file = files.get(name);
      if (!file) {
        file = readFile(join(swaggerUiDirectory(), name));
        files.set(name, file);
        // A failed read is not remembered: the next request tries again.
        file.catch(() => files.delete(name));
      }
      const body = await file;
      return reply.header('content-type', mediaType).header('cache-control', cacheControl).send(body);
    });
  }
}

/** swagger-ui-dist's directory, resolved at run time (webpack leaves node_modules outside the bundle). */
function swaggerUiDirectory(): string {
   
  return (require('swagger-ui-dist') as { getAbsoluteFSPath(): string }).getAbsoluteFSPath();
}
