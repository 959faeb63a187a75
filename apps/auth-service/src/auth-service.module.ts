import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthJwtModule, revocationOptionsFromEnv } from '@jwt-ms/auth-jwt';
import { HealthModule, MetricsModule, OpenApiModule, databaseModuleOptions } from '@jwt-ms/service-core';
import { AUTH_SERVICE_AUDIENCE, AUTH_SERVICE_CONFIG, type AuthServiceConfig } from './auth-service.config';
import { Account } from './accounts/account.entity';
import { AccountsService } from './accounts/accounts.service';
import { AdminAccountBootstrap } from './accounts/admin-account.bootstrap';
import { AdminController } from './auth/admin.controller';
import { AuthController } from './auth/auth.controller';
import { AuthService } from './auth/auth.service';
import { ClientAuthenticator } from './oauth/client-authenticator';
import { OAuthController } from './oauth/oauth.controller';
import { AuthorizeController } from './oauth/authorize/authorize.controller';
import { AuthorizationState } from './oauth/authorize/authorization-state';
import { OAuthService } from './oauth/oauth.service';
import { ClientRegistry, loadClientRegistry } from './oauth/clients/client-registry';
import { TokenEndpointService } from './oauth/token-endpoint.service';
import { CredentialsRateLimitGuard } from './rate-limit/credentials-rate-limit.guard';
import { CredentialsRateLimiter } from './rate-limit/credentials-rate-limiter';
import { TokenRateLimiter, TokenRateLimitGuard } from './rate-limit/token-rate-limit';
import { RevocationBudget } from './rate-limit/revocation-budget';
import type { PrivateSigningJwk } from './keys/signing-jwk';
import { SigningKeys } from './keys/signing-key-set';
import { WellKnownController } from './keys/well-known.controller';
import { IssuerMetrics } from './telemetry/issuer-metrics';
import { KeyStore } from './keys/key-store';
import { AccessTokenIssuer } from './tokens/access-token.issuer';
import { RefreshToken } from './tokens/refresh-token.entity';
import { RefreshGrace } from './tokens/refresh-grace';
import { RefreshTokensService } from './tokens/refresh-tokens.service';
import { AuthSchema1764480000000 } from './migrations/1764480000000-auth-schema';
import { RefreshFamilyLifetime1764490000000 } from './migrations/1764490000000-refresh-family-lifetime';
import { RevocationGenerations1764510000000 } from './migrations/1764510000000-revocation-generations';
import { RefreshTokenSuccessor1764520000000 } from './migrations/1764520000000-refresh-token-successor';
import { RevocationGenerationRecord } from './revocation/revocation-generation.entity';
import { RevocationGenerationKeeper } from './revocation/revocation-generation.keeper';
import { RevocationStore } from './revocation/revocation.store';
import { CanonicalEmails1764500000000 } from './migrations/1764500000000-canonical-emails';

/**
 * The issuer. Owns credentials and refresh tokens; signs access tokens; serves
 * the JWKS. Its own protected endpoint (logout) is verified by the same shared
 * library as every resource service, against its in-memory public keys.
 */
@Module({})
export class AuthServiceModule {
  /**
   * @param config validated configuration (see `loadAuthServiceConfig`)
   * @param signingKeySet the private JWK Set (see `loadPrivateSigningKeySet`)
   * @param clients the OAuth client registry (default: read from the configuration, see `loadClientRegistry`)
   * @throws ConfigError when the client registry is invalid
   */
  static forRoot(
    config: AuthServiceConfig,
    signingKeySet: { keys: PrivateSigningJwk[] },
    clients: ClientRegistry = loadClientRegistry(config),
  ): DynamicModule {
    // One key set for signing and for this service's own verification (logout, introspection).
    const keys = new SigningKeys(signingKeySet, config.SIGNING_ALGORITHM);
    return {
      module: AuthServiceModule,
      imports: [
        TypeOrmModule.forRootAsync(
          databaseModuleOptions({
            url: config.DATABASE_URL,
            sqlitePath: config.SQLITE_PATH,
            entities: [Account, RefreshToken, RevocationGenerationRecord],
            migrations: [
              AuthSchema1764480000000,
              RefreshFamilyLifetime1764490000000,
              CanonicalEmails1764500000000,
              RevocationGenerations1764510000000,
              RefreshTokenSuccessor1764520000000,
            ],
          }),
        ),
        TypeOrmModule.forFeature([Account, RefreshToken, RevocationGenerationRecord]),
        AuthJwtModule.forRoot({
          issuer: config.AUTH_ISSUER,
          audience: AUTH_SERVICE_AUDIENCE,
          keys: { localJwks: () => keys.publicJwks() },
          algorithms: [config.SIGNING_ALGORITHM],
          redisUrl: config.REDIS_URL,
          ...(config.REDIS_CLUSTER_NODES ? { redisClusterNodes: config.REDIS_CLUSTER_NODES } : {}),
          maxTokenLifetimeSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
          ...revocationOptionsFromEnv(config),
        }),
        HealthModule,
        MetricsModule.forRoot({ enabled: config.METRICS === 'on' }),
        OpenApiModule.forRoot({
          title: 'auth-service',
          description:
            'The issuer: accounts, login and refresh, the OAuth token, revocation and introspection endpoints, ' +
            'the JWKS and the authorization-server metadata.',
        }),
      ],
      controllers: [AuthController, AdminController, OAuthController, AuthorizeController, WellKnownController],
      providers: [
        { provide: AUTH_SERVICE_CONFIG, useValue: config },
        { provide: SigningKeys, useValue: keys },
        KeyStore,
        AccessTokenIssuer,
        AccountsService,
        RefreshTokensService,
        RefreshGrace,
        AuthService,
        CredentialsRateLimiter,
        TokenRateLimiter,
        TokenRateLimitGuard,
        AdminAccountBootstrap,
        CredentialsRateLimitGuard,
        RevocationBudget,
        { provide: ClientRegistry, useValue: clients },
        ClientAuthenticator,
        OAuthService,
        TokenEndpointService,
        AuthorizationState,
        RevocationStore,
        RevocationGenerationKeeper,
        IssuerMetrics,
      ],
    };
  }
}
