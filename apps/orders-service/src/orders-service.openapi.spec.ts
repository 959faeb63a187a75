import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServiceApp } from '@jwt-ms/service-core';
import {
  documentCoverage,
  recordServedRoutes,
  validateOpenApi,
  type OpenApiDocumentLike,
  type ServedRoute,
} from '@jwt-ms/testing';
import { loadOrdersServiceConfig } from './orders-service.config';
import { OrdersServiceModule } from './orders-service.module';

type Operation = { security?: Array<Record<string, string[]>>; responses: Record<string, unknown> };

describe('orders-service API document (GET /openapi.json)', () => {
  let app: NestFastifyApplication;
  let routes: ServedRoute[];
  let document: OpenApiDocumentLike & { paths: Record<string, Record<string, Operation>> };
  let answer: { statusCode: number; headers: Record<string, unknown> };

  beforeAll(async () => {
    const config = loadOrdersServiceConfig({ SQLITE_PATH: ':memory:', NODE_ENV: 'test' });
    app = await createServiceApp(OrdersServiceModule.forRoot(config), { logger: false });
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

  it('documents GET /orders/revocation-status as needing a bearer token (a revoked one too), with an example', () => {
    const operation = document.paths['/orders/revocation-status'].get as Operation & {
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
    expect(document.paths['/orders'].post.security).toEqual([{ bearerAuth: ['orders:write', 'profile:read'] }]);
    expect(document.paths['/orders'].get.security).toEqual([{ bearerAuth: ['orders:read'] }]);
    expect(document.paths['/orders/{id}/cancel'].post.security).toEqual([{ bearerAuth: ['orders:write'] }]);
    expect(document.paths['/health/ready'].get.security).toEqual([]);
  });

  it('documents the errors with their stable codes, and the bodies with examples', () => {
    const create = document.paths['/orders'].post as unknown as {
      requestBody: { content: Record<string, { schema: { $ref: string } }> };
      responses: Record<string, { content: Record<string, { schema: { allOf: object[] }; example: object }> }>;
    };
    expect(Object.keys(create.responses).sort()).toEqual(['201', '400', '401', '403', '413', '415', '503']);
    const unavailable = create.responses['503'].content['application/problem+json'];
    expect(unavailable.schema.allOf[1]).toEqual({
      type: 'object',
      properties: { code: { type: 'string', enum: ['dependency_unavailable'] } },
    });
    expect(unavailable.example).toMatchObject({ status: 503, code: 'dependency_unavailable' });
    const body = create.requestBody.content['application/json'].schema.$ref.split('/').pop() as string;
    const schemas = (document as unknown as { components: { schemas: Record<string, Record<string, unknown>> } })
      .components.schemas;
    expect(schemas[body]).toMatchObject({ required: ['items'] });
    expect(schemas['OrderItemDto']).toMatchObject({ properties: { sku: { examples: ['BOOK-42'] } } });
    expect(schemas['OrderSchema']).toMatchObject({ properties: { customerName: { type: ['string', 'null'] } } });
  });

  it('documents ?explain=exchange and the exchange view of the 201 answer, with an example', () => {
    const create = document.paths['/orders'].post as unknown as {
      parameters: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>;
      responses: Record<string, { content: Record<string, { schema: { $ref: string }; examples: object }> }>;
    };
    expect(create.parameters).toContainEqual(
      expect.objectContaining({
        name: 'explain',
        in: 'query',
        required: false,
        schema: { type: 'string', enum: ['exchange'] },
      }),
    );
    const created = create.responses['201'].content['application/json'];
    const schemas = (document as unknown as { components: { schemas: Record<string, Record<string, unknown>> } })
      .components.schemas;
    const placed = schemas[created.schema.$ref.split('/').pop() as string] as {
      properties: Record<string, unknown>;
      required: string[];
    };
    expect(placed.properties).toHaveProperty('customerName');
    expect(placed.properties).toHaveProperty('exchange');
    expect(placed.required).not.toContain('exchange');
    expect(schemas['ExchangedTokenSchema']).toMatchObject({
      required: expect.arrayContaining(['header', 'claims', 'audience', 'scope']),
    });
    expect(created.examples).toMatchObject({
      order: { value: { customerName: 'Ada Lovelace' } },
      explained: {
        value: {
          exchange: {
            claims: { act: { sub: 'orders-service' }, aud: 'users-service', scope: 'profile:read' },
            audience: 'users-service',
          },
        },
      },
    });
    expect(created.examples).not.toHaveProperty('order.value.exchange');
    // The example shows what the answer shows: no compact token, no signature.
    expect(JSON.stringify(created.examples)).not.toMatch(/eyJ|signature/);
  });
});
