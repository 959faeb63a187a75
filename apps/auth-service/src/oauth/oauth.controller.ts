import { Body, Controller, Header, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Public } from '@jwt-ms/auth-jwt';
import { IssuerMetrics } from '../telemetry/issuer-metrics';
import { CredentialsRateLimit } from '../rate-limit/credentials-rate-limit.guard';
import { TokenRateLimit } from '../rate-limit/token-rate-limit';
import { ClientAuthenticator } from './client-authenticator';
import { GRANT_TYPES, type GrantType } from './clients/client-registry';
import { oauthError } from './oauth-error';
import { OAuthService, type IntrospectionResponse } from './oauth.service';
import { OAuthApi } from './oauth.openapi';
import {
  TokenEndpointService,
  single,
  type TokenEndpointResponse,
  type TokenRequestParameters,
} from './token-endpoint.service';

const HINTS = ['access_token', 'refresh_token'] as const;

/**
 * The parameters of RFC 7009 §2.1 and RFC 7662 §2.1, checked as the token endpoint checks its own, so that a
 * refusal carries RFC 6749 §5.2's `error` as those RFCs require (RFC 7009 §2.2.1, RFC 7662 §2.3). Unrecognised
 * parameters are ignored (RFC 6749 §3.2); so are unknown hints (RFC 7009 §2.1).
 *
 * @param parameters the parsed form
 * @returns `token` (1 to 8192 characters) and the hint, undefined when absent or unknown
 * @throws ProblemException 400 `invalid_request` for a missing, empty, repeated or too long `token`, or a
 *   repeated or too long `token_type_hint`
 */
function tokenParameters(parameters: TokenRequestParameters): {
  token: string;
  hint: (typeof HINTS)[number] | undefined;
} {
  const token = single(parameters, 'token', { required: true });
  const hint = single(parameters, 'token_type_hint');
  return {
    token,
    hint: (HINTS as readonly string[]).includes(hint ?? '') ? (hint as (typeof HINTS)[number]) : undefined,
  };
}

const GRANTS = Object.values(GRANT_TYPES) as string[];

/**
 * The standard OAuth endpoints: token (RFC 6749 §3.2), revocation (RFC 7009)
 * and introspection (RFC 7662). Bodies are `application/x-www-form-urlencoded`
 * only, as the three RFCs require (a JSON body is a 400 `invalid_request`);
 * a parameter appears once, except RFC 8707 `resource` and RFC 8693 `audience`.
 * Answers carry `Cache-Control: no-store` (RFC 6749 §5.1).
 */
@Controller('oauth')
@Public()
export class OAuthController {
  constructor(
    private readonly oauth: OAuthService,
    private readonly clients: ClientAuthenticator,
    private readonly tokens: TokenEndpointService,
    private readonly metrics: IssuerMetrics,
  ) {}

  /**
   * `POST /oauth/token` (RFC 6749 §3.2): `grant_type` `refresh_token` (public first-party client: `client_id`
   * alone), `client_credentials` or `urn:ietf:params:oauth:grant-type:token-exchange` (confidential clients:
   * `client_secret_basic` or `client_secret_post`). 200 token response (§5.1); 400/401 with §5.2 `error`
   * (`invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`, `unsupported_grant_type`,
   * `invalid_scope`, RFC 8707 `invalid_target`); 429 after too many failed client authentications.
   */
  @OAuthApi.token()
  @Post('token')
  @CredentialsRateLimit('client_id')
  @TokenRateLimit()
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @Header('pragma', 'no-cache')
  async token(@Req() request: FastifyRequest, @Body() body: unknown): Promise<TokenEndpointResponse> {
    const parameters = formParameters(request, body);
    const grantType = parameters.grant_type;
    if (typeof grantType !== 'string' || grantType === '') {
      throw oauthError('invalid_request', 'The parameter "grant_type" is required.');
    }
    if (!GRANTS.includes(grantType)) {
      throw oauthError('unsupported_grant_type', 'The grant type is not supported by this token endpoint.');
    }
    // Public clients use only the grants that need no secret (RFC 6749 §4.1.3, §6).
    const publicGrant = grantType === GRANT_TYPES.refreshToken || grantType === GRANT_TYPES.authorizationCode;
    const caller = await this.clients.authenticate(request, parameters, publicGrant);
    return this.metrics.countGrant(grantType, () => this.tokens.grant(grantType as GrantType, caller, parameters));
  }

  /**
   * `POST /oauth/revoke` (RFC 7009): 200 with an empty body whether or not the
   * token was valid (§2.2). The first-party public client identifies itself
   * with `client_id`; resource servers authenticate (HTTP Basic). 401
   * `invalid_client` otherwise. Failed client authentications are limited
   * per IP and per `client_id` (429 `rate_limited`, `error: "invalid_request"`).
   */
  @OAuthApi.revoke()
  @Post('revoke')
  @CredentialsRateLimit('client_id')
  @TokenRateLimit()
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  async revoke(@Req() request: FastifyRequest, @Body() body: unknown): Promise<void> {
    const parameters = formParameters(request, body);
    const { token, hint } = tokenParameters(parameters);
    const { client } = await this.clients.authenticate(request, parameters, true);
    await this.oauth.revoke(client, token, hint);
  }

  /**
   * `POST /oauth/introspect` (RFC 7662): for authenticated resource servers
   * only (HTTP Basic with an `OAUTH_CLIENTS` secret; 401 `invalid_client`
   * otherwise). `{active: false}` for anything not valid. Failed client
   * authentications are limited per IP and per `client_id` (429 `rate_limited`).
   */
  @OAuthApi.introspect()
  @Post('introspect')
  @CredentialsRateLimit('client_id')
  @TokenRateLimit()
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  async introspect(@Req() request: FastifyRequest, @Body() body: unknown): Promise<IntrospectionResponse> {
    const parameters = formParameters(request, body);
    const { token, hint } = tokenParameters(parameters);
    await this.clients.authenticate(request, parameters, false);
    return this.oauth.introspect(token, hint);
  }
}

/**
 * The form a request carried.
 *
 * @throws ProblemException 400 `invalid_request` for a body that is not `application/x-www-form-urlencoded`
 *   (RFC 6749 §3.2, RFC 7009 §2.1, RFC 7662 §2.1), or none
 */
function formParameters(request: FastifyRequest, body: unknown): TokenRequestParameters {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' || typeof body !== 'object' || body === null) {
    throw oauthError('invalid_request', 'The request body must be application/x-www-form-urlencoded.');
  }
  return body as TokenRequestParameters;
}
