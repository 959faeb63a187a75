import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  AccessTokenVerifier,
  TokenRejectedError,
  isUserPrincipal,
  verificationProblem,
  type UserPrincipal,
} from '@jwt-ms/auth-jwt';
import { AUTH_SERVICE_AUDIENCE, AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { AuthService } from '../auth/auth.service';
import { AccessTokenIssuer } from '../tokens/access-token.issuer';
import { GRANT_TYPES, type GrantType, type RegisteredClient } from './clients/client-registry';
import type { AuthenticatedClient } from './client-authenticator';
import { grantedAudiences, grantedScopes } from './grant-policy';
import { AuthorizationState, type AuthorizationCodeRecord } from './authorize/authorization-state';
import { oauthError } from './oauth-error';
import { ProblemException, logSecurityEvent } from '@jwt-ms/service-core';

/** RFC 8693 §3: the token type identifier of an OAuth 2.0 access token. */
export const ACCESS_TOKEN_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** The form parameters of a token request, as parsed: repeatable ones (`resource`, `audience`) as arrays. */
export interface TokenRequestParameters {
  grant_type?: string;
  [name: string]: string | string[] | undefined;
}

/** A successful token response (RFC 6749 §5.1; RFC 8693 §2.2.1 adds `issued_token_type`). */
export interface TokenEndpointResponse {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds. */
  expires_in: number;
  scope: string;
  refresh_token?: string;
  issued_token_type?: string;
}

/**
 * The grants of `POST /oauth/token` (RFC 6749 §3.2):
 * - `authorization_code` (§4.1.3) with PKCE (RFC 7636 §4.5): a browser
 *   client's sign-in at the login page, as an access token;
 * - `refresh_token` (§6): rotation with reuse detection, by the first-party client;
 * - `client_credentials` (§4.4): a service's own token, `sub` = its client id;
 * - token exchange (RFC 8693): a user's token traded by a service for a
 *   narrower one towards another service, carrying `act`.
 *
 * Not the password grant: RFC 9700 §2.4 says it must not be used
 * (`/auth/login` stays as the first-party path, docs/api.md says why).
 */
@Injectable()
export class TokenEndpointService {
  private readonly logger = new Logger('TokenEndpoint');

  constructor(
    private readonly auth: AuthService,
    private readonly issuer: AccessTokenIssuer,
    private readonly verifier: AccessTokenVerifier,
    private readonly authorization: AuthorizationState,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  /**
   * @param grantType the request's `grant_type`, already known to be one of {@link GRANT_TYPES}
   * @param caller the authenticated client
   * @param parameters the whole form
   * @returns the token response
   * @throws ProblemException 400 with RFC 6749 §5.2 / RFC 8707 / RFC 8693 `error`: `unauthorized_client`,
   *   `invalid_request`, `invalid_grant`, `invalid_scope`, `invalid_target`; 503 when Redis is down
   */
  async grant(
    grantType: GrantType,
    caller: AuthenticatedClient,
    parameters: TokenRequestParameters,
  ): Promise<TokenEndpointResponse> {
    const { client } = caller;
    if (grantType === GRANT_TYPES.tokenExchange) {
      return this.tokenExchangeGrant(client, parameters).catch((error: unknown) => {
        // An OAuth refusal (its RFC 6749 §5.2 / RFC 8693 §2.2.2 code); a 503 (Redis down) is no refusal.
        if (error instanceof ProblemException && error.getStatus() < 500) {
          logSecurityEvent(this.logger, 'token_exchange_refused', { client_id: client.id, error: error.code });
        }
        throw error;
      });
    }
    if (!client.grantTypes.includes(grantType)) {
      throw oauthError('unauthorized_client', `This client may not use the ${grantType} grant.`);
    }
    switch (grantType) {
      case GRANT_TYPES.authorizationCode:
        return this.authorizationCodeGrant(client, parameters);
      case GRANT_TYPES.refreshToken:
        return this.refreshTokenGrant(client, parameters);
      case GRANT_TYPES.clientCredentials:
        return this.clientCredentialsGrant(client, parameters);
    }
  }

  /** RFC 6749 §6, with RFC 8707 `resource` to narrow the new access token's audience. */
  private async refreshTokenGrant(
    client: RegisteredClient,
    parameters: TokenRequestParameters,
  ): Promise<TokenEndpointResponse> {
    const refreshToken = single(parameters, 'refresh_token', { required: true });
    // Only the first-party client's logins make refresh tokens (RFC 6749 §6: bound to the client they were issued to).
    if (client.id !== this.config.AUTH_CLIENT_ID) {
      throw oauthError('invalid_grant', 'The refresh token was not issued to this client.');
    }
    const audience = grantedAudiences(client, list(parameters, 'resource'), []);
    return this.auth.refresh(refreshToken, { audience, scope: single(parameters, 'scope') });
  }

  /**
   * RFC 6749 §4.1.3 with RFC 7636 §4.6: the code must have been issued to this
   * client, for this `redirect_uri`, and `code_verifier` must hash to its
   * challenge (S256). These are checked before the code is redeemed, so a
   * request that fails them does not burn the code of the client it belongs
   * to. A code redeemed twice revokes the session it was issued in, and with it
   * every token issued from the code (§4.1.2; RFC 9700 §4.2.4). No refresh
   * token is issued: a browser client signs in again through its login
   * session at the issuer.
   */
  private async authorizationCodeGrant(
    client: RegisteredClient,
    parameters: TokenRequestParameters,
  ): Promise<TokenEndpointResponse> {
    const code = single(parameters, 'code', { required: true });
    const redirectUri = single(parameters, 'redirect_uri', { required: true });
    const verifier = single(parameters, 'code_verifier', { required: true });
    // RFC 7636 §4.1: 43 to 128 unreserved characters.
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) {
      throw oauthError('invalid_request', 'The code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1).');
    }
    const invalidCode = () =>
      oauthError('invalid_grant', 'The authorization code is invalid, expired or already used.');
    const peeked = await this.authorization.peekCode(code);
    if (peeked === null) throw invalidCode();
    if (peeked !== 'redeemed' && !codeBelongsTo(peeked, client, redirectUri, verifier)) throw invalidCode();
    const redeemed = await this.authorization.redeemCode(code);
    if (redeemed.outcome === 'replayed') {
      logSecurityEvent(this.logger, 'authorization_code_reuse', {
        sub: redeemed.accountId,
        client_id: client.id,
        reason: 'an authorization code was redeemed again: its session is revoked',
      });
      await this.auth.endSession(redeemed.sessionId);
      throw invalidCode();
    }
    if (redeemed.outcome === 'unknown') throw invalidCode();
    const { record } = redeemed;
    // RFC 8707 §2.2: the token request may narrow the audiences the authorization request named.
    const asked = grantedAudiences(client, list(parameters, 'resource'), []);
    const audience = list(parameters, 'resource').length === 0 ? record.audience : asked;
    const beyond = audience.find((item) => !record.audience.includes(item));
    if (beyond !== undefined) {
      throw oauthError('invalid_target', `The authorization was not granted for "${beyond}".`);
    }
    const scopes =
      single(parameters, 'scope') === undefined
        ? record.scopes
        : grantedScopes(single(parameters, 'scope'), record.scopes);
    return this.auth.issueForSession(record, { clientId: client.id, audience, scopes });
  }

  /** RFC 6749 §4.4: no refresh token (§4.4.3), `sub` = the client id. */
  private async clientCredentialsGrant(
    client: RegisteredClient,
    parameters: TokenRequestParameters,
  ): Promise<TokenEndpointResponse> {
    const audience = grantedAudiences(client, list(parameters, 'resource'), []);
    const scopes = grantedScopes(single(parameters, 'scope'), client.scopes);
    const access = await this.issuer.issueForService({ clientId: client.id, audience, scopes });
    this.logger.log(`client_credentials: token for ${client.id} to ${audience.join(' ')}`);
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, scope: access.scope };
  }

  /**
   * RFC 8693 §2.1–2.2: the subject token must be a valid, unrevoked access
   * token of a user, issued for a service this client is (its
   * `subject_token_audience`), and not itself exchanged (no chains). The new
   * token's audience is within the client's registration, its scope within
   * both the subject token's and the client's, and it lives
   * `TOKEN_EXCHANGE_TTL_SECONDS` at most, never past the subject token.
   */
  private async tokenExchangeGrant(
    client: RegisteredClient,
    parameters: TokenRequestParameters,
  ): Promise<TokenEndpointResponse> {
    if (!client.grantTypes.includes(GRANT_TYPES.tokenExchange)) {
      throw oauthError('unauthorized_client', `This client may not use the ${GRANT_TYPES.tokenExchange} grant.`);
    }
    const subjectToken = single(parameters, 'subject_token', { required: true });
    const subjectTokenType = single(parameters, 'subject_token_type', { required: true });
    if (subjectTokenType !== ACCESS_TOKEN_TOKEN_TYPE) {
      throw oauthError('invalid_request', `Only subject tokens of type ${ACCESS_TOKEN_TOKEN_TYPE} can be exchanged.`);
    }
    if (parameters['actor_token'] !== undefined || parameters['actor_token_type'] !== undefined) {
      throw oauthError('invalid_request', 'actor_token is not supported: the authenticated client is the actor.');
    }
    const requestedType = single(parameters, 'requested_token_type');
    if (requestedType !== undefined && requestedType !== ACCESS_TOKEN_TOKEN_TYPE) {
      throw oauthError('invalid_request', `Only ${ACCESS_TOKEN_TOKEN_TYPE} can be requested.`);
    }
    const audience = grantedAudiences(client, list(parameters, 'resource'), list(parameters, 'audience'));
    const now = Math.floor(Date.now() / 1000);
    const subject = await this.verifiedSubjectToken(subjectToken, client, now);
    const scopes = grantedScopes(
      single(parameters, 'scope'),
      client.scopes.filter((scope) => subject.scopes.includes(scope)),
    );
    const access = await this.issuer.issueExchanged(subject, { clientId: client.id, audience, scopes }, now);
    return {
      access_token: access.token,
      issued_token_type: ACCESS_TOKEN_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      scope: access.scope,
    };
  }

  /**
   * The subject token through the same pipeline every service runs, against
   * the audiences the client is; then the exchange's own conditions.
   *
   * @throws ProblemException 400 `invalid_request` (RFC 8693 §2.2.2) for a refused, service, exchanged
   *   or nearly expired token; 503 when the keys or the revocation list are unavailable
   */
  private async verifiedSubjectToken(token: string, client: RegisteredClient, now: number): Promise<UserPrincipal> {
    let principal;
    try {
      principal = await this.verifier.verify(token, undefined, { audiences: client.subjectTokenAudiences });
    } catch (error) {
      if (error instanceof TokenRejectedError) {
        throw oauthError('invalid_request', 'The subject token is not a valid access token for this client.');
      }
      throw verificationProblem(error, AUTH_SERVICE_AUDIENCE);
    }
    if (!isUserPrincipal(principal)) {
      throw oauthError('invalid_request', "The subject token must be a user's token.");
    }
    if (principal.actor !== null) {
      throw oauthError('invalid_request', 'The subject token is itself delegated: tokens are exchanged once.');
    }
    if (principal.expiresAt - now < 1) {
      throw oauthError('invalid_request', 'The subject token expires now.');
    }
    return principal;
  }
}

/**
 * Whether a code's record matches its redemption: the same client (RFC 6749
 * §4.1.3), the same `redirect_uri` string, and BASE64URL(SHA-256(verifier))
 * equal to the challenge (RFC 7636 §4.6), compared in constant time.
 */
function codeBelongsTo(
  record: AuthorizationCodeRecord,
  client: RegisteredClient,
  redirectUri: string,
  verifier: string,
): boolean {
  const computed = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'));
  const expected = Buffer.from(record.codeChallenge);
  const verifierMatches = computed.length === expected.length && timingSafeEqual(computed, expected);
  return record.clientId === client.id && record.redirectUri === redirectUri && verifierMatches;
}

/**
 * One parameter of an OAuth endpoint's form (RFC 6749 §3.1: at most once; sent empty, it is omitted), at most
 * 8192 characters.
 *
 * @param parameters the parsed form
 * @param name the parameter
 * @returns its value, or undefined when absent or empty (unless required)
 * @throws ProblemException 400 `invalid_request` (RFC 6749 §5.2) when it is required and missing or empty,
 *   repeated, or too long
 */
export function single(parameters: TokenRequestParameters, name: string, options: { required: true }): string;
export function single(parameters: TokenRequestParameters, name: string): string | undefined;
export function single(
  parameters: TokenRequestParameters,
  name: string,
  options?: { required: true },
): string | undefined {
  const value = parameters[name];
  if (Array.isArray(value)) throw oauthError('invalid_request', `The parameter "${name}" appears more than once.`);
  // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
  if (value === undefined || value === '') {
    if (options?.required) throw oauthError('invalid_request', `The parameter "${name}" is required.`);
    return undefined;
  }
  if (value.length > 8192) throw oauthError('invalid_request', `The parameter "${name}" is too long.`);
  return value;
}

/** A parameter that may be repeated (RFC 8707 `resource`, RFC 8693 `audience`): its values, none when absent. */
function list(parameters: TokenRequestParameters, name: string): string[] {
  const value = parameters[name];
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
  if (values.length > 8) throw oauthError('invalid_request', `At most 8 "${name}" parameters are accepted.`);
  return values.filter((item) => item !== '');
}
