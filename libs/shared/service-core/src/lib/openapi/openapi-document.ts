import type { INestApplication, Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE, type ErrorCode } from '@jwt-ms/contracts';
import { defaultAccess, type OpenApiAccessPolicy, type OpenApiSettings, type OperationAccess } from './openapi.module';
import { toOpenApi31 } from './openapi-31';
import { PROBLEM_JSON_SCHEMA, PROBLEM_SCHEMA, problemResponse } from './problem-schema';

/** Name of the bearer scheme under `components.securitySchemes`. */
export const BEARER_SCHEME = 'bearerAuth';

/** Options of {@link buildOpenApiDocument}. */
export interface OpenApiBuildOptions {
  /** Reads each route's access policy; default {@link defaultAccess}. */
  access?: OpenApiAccessPolicy;
  /** Path prefixes whose errors are RFC 6749 §5.2 `application/json`, not problem+json (`ServiceAppOptions`). */
  oauthPathPrefixes?: readonly string[];
}

type Json = Record<string, unknown>;

/** Every route handler of the app, by the operation id `@nestjs/swagger` gives it (`Controller_method`). */
function handlersById(app: INestApplication): Map<string, { handler: object; controller: Type }> {
  const byId = new Map<string, { handler: object; controller: Type }>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type | null;
      if (!controller?.prototype) continue;
      for (const method of Object.getOwnPropertyNames(controller.prototype)) {
        if (method === 'constructor') continue;
        const handler = Object.getOwnPropertyDescriptor(controller.prototype, method)?.value;
        if (typeof handler === 'function') byId.set(`${controller.name}_${method}`, { handler, controller });
      }
    }
  }
  return byId;
}

/** The error answers a route gives whatever its handler does: of the guard, the pipes, the body parser. */
function commonErrors(operation: Json, access: OperationAccess, mediaType: string): Record<string, object> {
  const errors: Record<string, object> = {};
  const add = (status: number, codes: ErrorCode[], description: string, headers?: Json) =>
    (errors[String(status)] = {
      ...problemResponse(status, codes, description, mediaType),
      ...(headers && { headers }),
    });
  const hasInput = Array.isArray(operation['parameters']) && operation['parameters'].length > 0;
  if (operation['requestBody'] || hasInput) {
    add(400, ['validation_failed', 'invalid_request'], 'The request body or a parameter is not valid.');
  }
  if (operation['requestBody']) {
    add(413, ['payload_too_large'], 'The body is larger than 64 KiB.');
    add(415, ['unsupported_media_type'], 'The body is not of a media type this operation takes.');
  }
  if (!access.public) {
    const challenge = {
      'WWW-Authenticate': { description: 'RFC 6750 §3 Bearer challenge.', schema: { type: 'string' } },
    };
    add(
      401,
      ['invalid_token', 'unauthenticated'],
      'No bearer token, or one that is expired, revoked or invalid.',
      challenge,
    );
    add(403, ['insufficient_scope'], 'The token lacks a required scope, role or principal kind.', challenge);
    add(503, ['dependency_unavailable'], 'The token could not be checked (revocation list unavailable): fails closed.');
  }
  return errors;
}

/** The operation's description with its access conditions appended, in words. */
function describeAccess(description: unknown, access: OperationAccess): string {
  const lines = typeof description === 'string' && description !== '' ? [description] : [];
  if (access.public) lines.push('Public: no token needed.');
  else {
    const scopes = access.scopes.length ? ` with scope ${access.scopes.map((s) => `\`${s}\``).join(' and ')}` : '';
    lines.push(`Needs a bearer access token${scopes}.`, ...access.conditions);
  }
  return lines.join('\n\n');
}

/**
 * The service's OpenAPI 3.1.0 document, built from its controllers' decorators by `@nestjs/swagger`
 * (`SwaggerModule.createDocument`, which emits 3.0, then converted by {@link toOpenApi31}) and completed
 * from the project's own decorators, so that it cannot drift from what the code enforces:
 * - every operation's `security`: none (`[]`) for `@Public()`, else the `bearerAuth` scheme (HTTP Bearer,
 *   a JWT access token, RFC 6750) listing the scopes `@RequireScopes` demands (OAS 3.1 §4.8.30: a non-OAuth
 *   scheme may list roles), the rest of the policy in the description and `x-` members;
 * - the problem+json (RFC 9457) error answers the shared pipeline gives: 400/413/415 on input, 401/403/503 on
 *   a guarded route, each with its stable codes, as `application/json` under `oauthPathPrefixes`;
 *   answers the handlers document themselves (`@ApiProblemResponse`) are kept;
 * - a tag per first path segment for operations without `@ApiTags`.
 * The app must be created (modules scanned), not necessarily initialised.
 *
 * @param app the Nest application
 * @param settings the document's `info`
 * @throws Error when an operation matches no controller method (a route this builder cannot attribute)
 */
export function buildOpenApiDocument(
  app: INestApplication,
  settings: OpenApiSettings,
  options: OpenApiBuildOptions = {},
): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle(settings.title)
    .setDescription(settings.description)
    .setVersion(settings.version ?? '1.0.0')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'An RFC 9068 JWT access token from auth-service (`/auth/login`, `/oauth/token`), RFC 6750 §2.1.',
      },
      BEARER_SCHEME,
    )
    .build();
  const document = SwaggerModule.createDocument(app, config);
  const handlers = handlersById(app);
  const access = options.access;
  for (const [path, item] of Object.entries(document.paths)) {
    const mediaType = (options.oauthPathPrefixes ?? []).some((prefix) => path.startsWith(prefix))
      ? 'application/json'
      : PROBLEM_CONTENT_TYPE;
    for (const [method, value] of Object.entries(item)) {
      if (typeof value !== 'object' || value === null || !('responses' in value)) continue;
      const operation = value as Json;
      const target = handlers.get(String(operation['operationId']));
      if (!target) throw new Error(`OpenAPI: ${method.toUpperCase()} ${path} matches no controller method`);
      const policy = access
        ? access.describe(target.handler, target.controller)
        : defaultAccess(target.handler, target.controller);
      operation['security'] = policy.public ? [] : [{ [BEARER_SCHEME]: [...policy.scopes] }];
      operation['description'] = describeAccess(operation['description'], policy);
      Object.assign(operation, policy.extensions);
      const responses = operation['responses'] as Json;
      for (const [status, response] of Object.entries(commonErrors(operation, policy, mediaType))) {
        responses[status] ??= response;
      }
      if (mediaType !== PROBLEM_CONTENT_TYPE) {
        for (const response of Object.values(responses)) {
          const content = (response as Json)['content'] as Json | undefined;
          if (content?.[PROBLEM_CONTENT_TYPE]) {
            content[mediaType] = content[PROBLEM_CONTENT_TYPE];
            delete content[PROBLEM_CONTENT_TYPE];
          }
        }
      }
      if (!Array.isArray(operation['tags']) || operation['tags'].length === 0) {
        operation['tags'] = [path.split('/').filter(Boolean)[0] ?? 'root'];
      }
    }
  }
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, [PROBLEM_SCHEMA]: PROBLEM_JSON_SCHEMA as unknown as Json },
  };
  return toOpenApi31(document);
}
