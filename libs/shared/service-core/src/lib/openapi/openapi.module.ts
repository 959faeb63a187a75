import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { IS_PUBLIC_KEY } from '../public.decorator';

/** What a route demands of its caller, as its API document states it. */
export interface OperationAccess {
  /** Reachable without a token (`@Public()`): the operation has no security requirement. */
  public: boolean;
  /** Scopes the bearer token must all carry (RFC 6750 §3.1 `insufficient_scope` otherwise). */
  scopes: string[];
  /** Further conditions, in words, appended to the operation's description (roles, accepted principals). */
  conditions: string[];
  /** `x-…` members of the operation that state the same conditions for machines. */
  extensions: Record<string, unknown>;
}

/**
 * Reads a route's access policy from its decorators, for the API document. The verification library
 * (`@jwt-ms/auth-jwt`) provides one that reads its `@RequireScopes`, `@RequireRoles` and
 * `@AcceptPrincipals`; without one, {@link defaultAccess} applies (`@Public()` or a bearer token).
 */
export abstract class OpenApiAccessPolicy {
  /**
   * @param handler the route's handler (a controller method)
   * @param controller the handler's controller class
   */
  abstract describe(handler: object, controller: Type): OperationAccess;
}

/** `@Public()` (handler or controller): no security; anything else: a bearer token, no scope named. */
export function defaultAccess(handler: object, controller: Type): OperationAccess {
  const isPublic = [handler, controller].some((target) => Reflect.getMetadata(IS_PUBLIC_KEY, target) === true);
  return { public: isPublic, scopes: [], conditions: [], extensions: {} };
}

/** Options of {@link OpenApiModule.forRoot}: the document's `info`. */
export interface OpenApiSettings {
  /** `info.title`, e.g. `users-service`. */
  title: string;
  /** `info.description` (CommonMark). */
  description: string;
  /** `info.version`, the API's version (not the document format's); default `1.0.0`. */
  version?: string;
}

/** The injection token of a service's {@link OpenApiSettings}. */
export class OpenApiDocumentSettings {
  constructor(readonly settings: OpenApiSettings) {}
}

/**
 * Declares the service's API document: `createServiceApp` finds it in the app, builds the OpenAPI 3.1
 * document from the controllers' decorators (see `buildOpenApiDocument`) and serves it, public, at
 * `GET /openapi.json`, with a reading page at `GET /docs`.
 */
@Module({})
export class OpenApiModule {
  /** @param settings the document's title, description and version */
  static forRoot(settings: OpenApiSettings): DynamicModule {
    return {
      module: OpenApiModule,
      providers: [{ provide: OpenApiDocumentSettings, useValue: new OpenApiDocumentSettings(settings) }],
    };
  }
}
