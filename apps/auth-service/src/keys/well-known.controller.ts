import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { JSONWebKeySet } from 'jose';
import { Public } from '@jwt-ms/auth-jwt';
import { SCOPES_BY_ROLE } from '@jwt-ms/contracts';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { SigningKeys } from './signing-key-set';

/**
 * Discovery for verifiers: the public JWK Set and the authorization-server
 * metadata that points to it.
 */
@Controller('.well-known')
@Public()
export class WellKnownController {
  constructor(
    private readonly keys: SigningKeys,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  /**
   * `GET /.well-known/jwks.json`: public keys only (RFC 7517 §5), cacheable for
   * `JWKS_MAX_AGE_SECONDS` seconds.
   */
  @Get('jwks.json')
  jwks(@Res({ passthrough: true }) reply: FastifyReply): JSONWebKeySet {
    reply.header('cache-control', `public, max-age=${this.config.JWKS_MAX_AGE_SECONDS}`);
    return this.keys.publicJwks();
  }

  /**
   * `GET /.well-known/openid-configuration`: issuer metadata in the shape of
   * RFC 8414 §2 (`issuer`, `jwks_uri`, supported algorithms and scopes), listing
   * only what this issuer really offers.
   */
  @Get('openid-configuration')
  @Header('cache-control', 'public, max-age=300')
  configuration() {
    const issuer = this.config.AUTH_ISSUER.replace(/\/$/, '');
    const algorithms = [this.config.SIGNING_ALGORITHM];
    return {
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      // This system's own JSON endpoints; it implements no authorization endpoint and issues no ID tokens.
      login_endpoint: `${issuer}/auth/login`,
      refresh_endpoint: `${issuer}/auth/refresh`,
      registration_endpoint: `${issuer}/auth/register`,
      logout_endpoint: `${issuer}/auth/logout`,
      grant_types_supported: ['password', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['none'],
      access_token_signing_alg_values_supported: algorithms,
      scopes_supported: [...new Set(Object.values(SCOPES_BY_ROLE).flat())],
    };
  }
}
