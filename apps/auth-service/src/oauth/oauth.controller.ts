import { Body, Controller, Header, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { IsOptional, IsString, Length } from 'class-validator';
import { Public } from '@jwt-ms/auth-jwt';
import { IgnoreUnknownProperties } from '@jwt-ms/service-core';
import { CredentialsRateLimit } from '../rate-limit/credentials-rate-limit.guard';
import { ClientAuthenticator } from './client-authenticator';
import { OAuthService, type IntrospectionResponse } from './oauth.service';

/**
 * The form parameters of RFC 7009 §2.1 and RFC 7662 §2.1 (plus client
 * credentials, RFC 6749 §2.3.1). Unrecognised parameters are ignored (RFC 6749 §3.2).
 */
@IgnoreUnknownProperties()
export class TokenRequestDto {
  @IsString()
  @Length(1, 8192)
  token!: string;

  /** Unknown hints are ignored, as RFC 7009 §2.1 allows. */
  @IsOptional()
  @IsString()
  token_type_hint?: string;

  @IsOptional()
  @IsString()
  @Length(1, 64)
  client_id?: string;

  @IsOptional()
  @IsString()
  @Length(1, 256)
  client_secret?: string;
}

const HINTS = ['access_token', 'refresh_token'] as const;
const hintOf = (value: string | undefined) =>
  (HINTS as readonly string[]).includes(value ?? '') ? (value as (typeof HINTS)[number]) : undefined;

/**
 * Standard OAuth endpoints for interoperability. Bodies are
 * `application/x-www-form-urlencoded` (as both RFCs require) or JSON; answers
 * carry `Cache-Control: no-store`.
 */
@Controller('oauth')
@Public()
export class OAuthController {
  constructor(
    private readonly oauth: OAuthService,
    private readonly clients: ClientAuthenticator,
  ) {}

  /**
   * `POST /oauth/revoke` (RFC 7009): 200 with an empty body whether or not the
   * token was valid (§2.2). The first-party public client identifies itself
   * with `client_id`; resource servers authenticate (HTTP Basic). 401
   * `invalid_client` otherwise. Failed client authentications are limited
   * per IP and per `client_id` (429 `rate_limited`, `error: "invalid_request"`).
   */
  @Post('revoke')
  @CredentialsRateLimit('client_id')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  async revoke(@Req() request: FastifyRequest, @Body() body: TokenRequestDto): Promise<void> {
    const client = this.clients.authenticate(request, { ...body }, true);
    await this.oauth.revoke(client, body.token, hintOf(body.token_type_hint));
  }

  /**
   * `POST /oauth/introspect` (RFC 7662): for authenticated resource servers
   * only (HTTP Basic with an `OAUTH_CLIENTS` secret; 401 `invalid_client`
   * otherwise). `{active: false}` for anything not valid. Failed client
   * authentications are limited per IP and per `client_id` (429 `rate_limited`).
   */
  @Post('introspect')
  @CredentialsRateLimit('client_id')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  introspect(@Req() request: FastifyRequest, @Body() body: TokenRequestDto): Promise<IntrospectionResponse> {
    this.clients.authenticate(request, { ...body }, false);
    return this.oauth.introspect(body.token, hintOf(body.token_type_hint));
  }
}
