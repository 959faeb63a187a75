import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { JSONWebKeySet } from 'jose';
import { Public } from '@jwt-ms/auth-jwt';
import { SCOPES_BY_ROLE } from '@jwt-ms/contracts';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { SigningKeys } from './signing-key-set';
import { GRANT_TYPES } from '../oauth/clients/client-registry';

/**
 * Discovery: the public JWK Set (for verifiers) and the authorization-server
 * metadata (for OAuth clients).
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
  @ApiOperation({ summary: "The issuer's public signing keys (RFC 7517 §5)" })
  @ApiOkResponse({
    description: 'Cacheable for `JWKS_MAX_AGE_SECONDS`.',
    schema: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { type: 'object' } } } },
    example: {
      keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', use: 'sig', alg: 'ES256', x: 'f83OJ3D2…', y: 'x_FEzRu9…' }],
    },
  })
  jwks(@Res({ passthrough: true }) reply: FastifyReply): JSONWebKeySet {
    reply.header('cache-control', `public, max-age=${this.config.JWKS_MAX_AGE_SECONDS}`);
    return this.keys.publicJwks();
  }

  /**
   * `GET /.well-known/oauth-authorization-server`: authorization-server
   * metadata (RFC 8414 §2, §3), listing exactly what this issuer offers. There
   * is no `/.well-known/openid-configuration`: no ID token is issued, so
   * OpenID Connect discovery would promise what is not there.
   */
  @Get('oauth-authorization-server')
  @ApiOperation({ summary: 'Authorization-server metadata (RFC 8414 §2)' })
  @ApiOkResponse({
    schema: { type: 'object', required: ['issuer', 'token_endpoint', 'jwks_uri'], additionalProperties: true },
    example: {
      issuer: 'http://localhost:3000',
      token_endpoint: 'http://localhost:3000/oauth/token',
      jwks_uri: 'http://localhost:3000/.well-known/jwks.json',
      grant_types_supported: ['refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    },
  })
  @Header('cache-control', 'public, max-age=300')
  metadata() {
    const issuer = this.config.AUTH_ISSUER.replace(/\/$/, '');
    const secretMethods = ['client_secret_basic', 'client_secret_post'];
    return {
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      scopes_supported: [...new Set(Object.values(SCOPES_BY_ROLE).flat())],
      // The authorization-code flow only (RFC 9700 §2.1.2: no implicit grant), with PKCE S256 only (§2.1.1).
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      code_challenge_methods_supported: ['S256'],
      // RFC 9207 §3: every authorization response carries `iss`.
      authorization_response_iss_parameter_supported: true,
      grant_types_supported: Object.values(GRANT_TYPES),
      // `none`: the public clients identify themselves with `client_id` alone (code, refresh, revocation).
      token_endpoint_auth_methods_supported: [...secretMethods, 'none'],
      revocation_endpoint_auth_methods_supported: [...secretMethods, 'none'],
      introspection_endpoint_auth_methods_supported: secretMethods,
    };
  }
}
