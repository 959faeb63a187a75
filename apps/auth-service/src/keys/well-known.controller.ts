import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { JSONWebKeySet } from 'jose';
import { Public } from '@jwt-ms/auth-jwt';
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
    return this.keys.publicJwks;
  }

  /**
   * `GET /.well-known/openid-configuration`: issuer metadata in the shape of
   * OpenID Connect Discovery 1.0 §3 / RFC 8414 §2.
   */
  @Get('openid-configuration')
  @Header('cache-control', 'public, max-age=300')
  configuration() {
    const issuer = this.config.AUTH_ISSUER.replace(/\/$/, '');
    return {
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      token_endpoint: `${issuer}/auth/login`,
      registration_endpoint: `${issuer}/auth/register`,
      end_session_endpoint: `${issuer}/auth/logout`,
      grant_types_supported: ['password', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['none'],
      response_types_supported: ['token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [this.config.SIGNING_ALGORITHM],
      token_endpoint_auth_signing_alg_values_supported: [this.config.SIGNING_ALGORITHM],
      access_token_signing_alg_values_supported: [this.config.SIGNING_ALGORITHM],
      scopes_supported: ['profile:read', 'profile:write', 'orders:read', 'orders:write', 'users:admin', 'orders:admin'],
    };
  }
}
