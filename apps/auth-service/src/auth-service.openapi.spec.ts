import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServiceApp } from '@jwt-ms/service-core';
import {
  documentCoverage,
  recordServedRoutes,
  validateOpenApi,
  type OpenApiDocumentLike,
  type ServedRoute,
} from '@jwt-ms/testing';
import { loadAuthServiceConfig } from './auth-service.config';
import { AuthServiceModule } from './auth-service.module';
import { generateSigningJwk } from './keys/signing-jwk';

type Media = { schema: Record<string, unknown>; example?: Record<string, unknown> };
type Operation = {
  security?: Array<Record<string, string[]>>;
  requestBody?: { content: Record<string, Media & { examples?: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, Media>; headers?: Record<string, unknown> }>;
  'x-required-roles'?: string[];
};

describe('auth-service API document (GET /openapi.json)', () => {
  let app: NestFastifyApplication;
  let routes: ServedRoute[];
  let document: OpenApiDocumentLike & { paths: Record<string, Record<string, Operation>> };
  let statusCode: number;

  beforeAll(async () => {
    const config = loadAuthServiceConfig({ SQLITE_PATH: ':memory:', NODE_ENV: 'test' });
    const keys = { keys: [generateSigningJwk(config.SIGNING_ALGORITHM)] };
    // As main.ts sets it up: the OAuth endpoints take forms and answer errors as application/json.
    app = await createServiceApp(AuthServiceModule.forRoot(config, keys), {
      logger: false,
      formBodyPathPrefixes: ['/oauth/'],
      oauthPathPrefixes: ['/oauth/'],
      formRepeatableParameters: ['resource', 'audience'],
    });
    routes = recordServedRoutes(app);
    await app.init();
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    statusCode = response.statusCode;
    document = response.json();
  }, 60_000);

  afterAll(() => app?.close());

  it('is served without a token', () => {
    expect(statusCode).toBe(200);
  });

  it('documents every route the app serves, with its method and path template, and nothing else', () => {
    expect(routes.length).toBeGreaterThan(10);
    expect(documentCoverage(routes, document)).toEqual({ undocumented: [], unserved: [] });
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(await validateOpenApi(document)).toEqual({ valid: true, version: '3.1', errors: null });
  });

  it('marks the public endpoints public and the rest bearer, with the admin role stated', () => {
    for (const path of [
      '/auth/login',
      '/auth/register',
      '/auth/refresh',
      '/oauth/token',
      '/oauth/revoke',
      '/oauth/authorize',
    ]) {
      expect(document.paths[path].post.security).toEqual([]);
    }
    expect(document.paths['/.well-known/jwks.json'].get.security).toEqual([]);
    expect(document.paths['/auth/logout'].post.security).toEqual([{ bearerAuth: [] }]);
    const rotate = document.paths['/auth/admin/keys/rotate'].post;
    expect(rotate.security).toEqual([{ bearerAuth: [] }]);
    expect(rotate['x-required-roles']).toEqual(['admin']);
  });

  it('gives the OAuth endpoints their form bodies, grant types and application/json errors (RFC 6749 §5.2)', () => {
    const token = document.paths['/oauth/token'].post;
    const form = token.requestBody?.content['application/x-www-form-urlencoded'];
    expect(Object.keys(token.requestBody?.content ?? {})).toEqual(['application/x-www-form-urlencoded']);
    const grants = (form?.schema['oneOf'] as Array<{ properties: { grant_type: { enum: string[] } } }>).map(
      (variant) => variant.properties.grant_type.enum[0],
    );
    expect(grants).toEqual([
      'authorization_code',
      'refresh_token',
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:token-exchange',
    ]);
    expect(Object.keys(form?.examples ?? {})).toHaveLength(4);
    expect(Object.keys(token.responses['400'].content ?? {})).toEqual(['application/json']);
    expect(Object.keys(token.responses['401'].content ?? {})).toEqual(['application/json']);
    for (const path of ['/oauth/revoke', '/oauth/introspect']) {
      const body = document.paths[path].post.requestBody?.content['application/x-www-form-urlencoded'];
      expect(body?.schema).toMatchObject({ required: ['token'] });
    }
  });

  it('documents the rate limits from their decorators: 429 rate_limited with Retry-After', () => {
    for (const path of ['/auth/login', '/auth/register', '/auth/refresh', '/auth/password', '/oauth/token']) {
      const limited = document.paths[path].post.responses['429'];
      expect(limited?.headers).toHaveProperty('Retry-After');
    }
    expect(document.paths['/auth/logout'].post.responses['429']).toBeUndefined();
    const login = document.paths['/auth/login'].post.responses['429'].content?.['application/problem+json'];
    expect(login?.example).toMatchObject({ status: 429, code: 'rate_limited' });
  });
});
