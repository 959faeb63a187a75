import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { OpenApiAccessPolicy, READINESS_PROBES, RedisModule } from '@jwt-ms/service-core';
import {
  AUTH_JWT_OPTIONS,
  AUTH_JWT_SETTINGS,
  ConfigurableModuleClass,
  resolveOptions,
  type AuthJwtModuleOptions,
} from './auth-jwt.options';
import { AccessTokenStrategy } from './access-token.strategy';
import { AccessTokenVerifier } from './access-token.verifier';
import { AccessPolicyGuard } from './guards/access-policy.guard';
import { AccessTokenGuard } from './guards/access-token.guard';
import { TokenAccessPolicy } from './openapi-access.policy';
import { RevocationView } from './revocation';
import { SigningKeyResolver } from './signing-key.resolver';
import { VerifiedTokenCache } from './verified-token.cache';
import { VerifierMetrics } from './verifier-metrics';

const PROVIDERS: Provider[] = [
  // The options, resolved once; every class injects these.
  { provide: AUTH_JWT_SETTINGS, useFactory: resolveOptions, inject: [AUTH_JWT_OPTIONS] },
  VerifierMetrics,
  VerifiedTokenCache,
  SigningKeyResolver,
  RevocationView,
  {
    provide: READINESS_PROBES,
    useFactory: (view: RevocationView, keys: SigningKeyResolver) => [view, keys],
    inject: [RevocationView, SigningKeyResolver],
  },
  AccessTokenVerifier,
  AccessTokenStrategy,
  AccessTokenGuard,
  AccessPolicyGuard,
  // What the API document (service-core's OpenApiModule) states of each route: what the two guards enforce.
  { provide: OpenApiAccessPolicy, useClass: TokenAccessPolicy },
];

/**
 * Stateless access-token verification for a NestJS service.
 *
 * `AuthJwtModule.forRoot({ issuer, audience, keys: { jwksUri }, algorithms,
 * clockToleranceSeconds, redisUrl })` installs, for the whole app:
 * a global {@link AccessTokenGuard} (opt out with `@Public()`), a global
 * {@link AccessPolicyGuard} (`@RequireScopes`, `@RequireRoles`), the passport-jwt
 * {@link AccessTokenStrategy} (a shell over the one verification pipeline,
 * {@link AccessTokenVerifier}, which introspection uses too), the issuer's cached JWKS, and the in-process
 * copy of the revocation list ({@link RevocationView}, fed by Redis pub/sub). It also opens the process's Redis connection
 * (`REDIS_CLIENT`), which the app may reuse.
 *
 * Once the JWKS is cached, no request causes a call to the issuer, and none
 * waits for Redis.
 */
@Module({})
export class AuthJwtModule extends ConfigurableModuleClass {
  static override forRoot(options: AuthJwtModuleOptions): DynamicModule {
    const base = super.forRoot(options);
    const guards: Provider[] =
      options.global === false
        ? []
        : [
            { provide: APP_GUARD, useClass: AccessTokenGuard },
            { provide: APP_GUARD, useClass: AccessPolicyGuard },
          ];
    return {
      ...base,
      // Global so that HealthModule sees READINESS_PROBES (the revocation list's freshness, the keys).
      global: true,
      imports: [
        PassportModule,
        RedisModule.forRoot({ url: options.redisUrl, clusterNodes: options.redisClusterNodes }),
      ],
      providers: [...(base.providers ?? []), ...PROVIDERS, ...guards],
      exports: [
        AUTH_JWT_OPTIONS,
        AUTH_JWT_SETTINGS,
        SigningKeyResolver,
        RevocationView,
        READINESS_PROBES,
        AccessTokenVerifier,
        AccessTokenGuard,
        AccessPolicyGuard,
      ],
    };
  }
}
