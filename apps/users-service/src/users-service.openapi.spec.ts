import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServiceApp } from '@jwt-ms/service-core';
import {
  documentCoverage,
  recordServedRoutes,
  validateOpenApi,
  type OpenApiDocumentLike,
  type ServedRoute,
} from '@jwt-ms/testing';
import { loadUsersServiceConfig } from './users-service.config';
import { UsersServiceModule } from './users-service.module';

type Operation = { security?: Array<Record<string, string[]>>; responses: Record<string, unknown> };

describe('users-service API document (GET /openapi.json)', () => {
  let app: NestFastifyApplication;
  let routes: ServedRoute[];
  let document: OpenApiDocumentLike & { paths: Record<string, Record<string, Operation>> };
  let answer: { statusCode: number; headers: Record<string, unknown> };

  beforeAll(async () => {
    const config = loadUsersServiceConfig({ SQLITE_PATH: ':memory:', NODE_ENV: 'test' });
    app = await createServiceApp(UsersServiceModule.forRoot(config), { logger: false });
    routes = recordServedRoutes(app);
    await app.init();
    // No Authorization header: the document is public.
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    answer = response;
    document = response.json();
  }, 60_000);

  afterAll(() => app?.close());

  it('is served without a token, as JSON', () => {
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
  });

  it('documents every route the app serves, with its method and path template, and nothing else', () => {
    expect(routes.length).toBeGreaterThan(4);
    expect(documentCoverage(routes, document)).toEqual({ undocumented: [], unserved: [] });
  });

  it('documents GET /users/revocation-status as needing a bearer token (a revoked one too), with an example', () => {
    const operation = document.paths['/users/revocation-status'].get as Operation & {
      description: string;
      responses: Record<string, { content: Record<string, { schema?: { required?: string[] }; example?: unknown }> }>;
    };
    expect(operation.security).toEqual([{ bearerAuth: [] }]);
    expect(operation.description).toContain('a revoked one too');
    const ok = operation.responses['200'].content['application/json'];
    expect(ok.schema?.required).toEqual(['service', 'instance', 'revoked']);
    expect(ok.example).toMatchObject({ revoked: true, by: 'session', delayMs: expect.any(Number), source: 'pubsub' });
    expect(Object.keys(operation.responses['401'].content)).toEqual(['application/problem+json']);
    expect(Object.keys(operation.responses['503'].content)).toEqual(['application/problem+json']);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await validateOpenApi(document);
    expect(result).toEqual({ valid: true, version: '3.1', errors: null });
  });

  it("states each route's scopes from @RequireScopes, and no security on a @Public() route", () => {
    expect(document.paths['/users/me'].get.security).toEqual([{ bearerAuth: ['profile:read'] }]);
    expect(document.paths['/users/me'].patch.security).toEqual([{ bearerAuth: ['profile:write'] }]);
    expect(document.paths['/users'].get.security).toEqual([{ bearerAuth: ['users:read'] }]);
    expect(document.paths['/whoami'].get.security).toEqual([{ bearerAuth: [] }]);
    expect(document.paths['/health/live'].get.security).toEqual([]);
    expect(document.paths['/health/live'].get.responses['401']).toBeUndefined();
  });

  it('gives guarded routes their problem+json 401 and 403', () => {
    const me = document.paths['/users/me'].get.responses as Record<string, { content: Record<string, unknown> }>;
    expect(Object.keys(me['401'].content)).toEqual(['application/problem+json']);
    expect(Object.keys(me['403'].content)).toEqual(['application/problem+json']);
  });
});
