import { ProblemException } from '@jwt-ms/service-core';
import {
  GRANT_TYPES,
  redirectUriMatches,
  type ClientRegistry,
  type RegisteredClient,
} from '../clients/client-registry';
import { grantedAudiences, grantedScopes } from '../grant-policy';
import type { AuthorizationRequest } from './authorization-state';

/** The query of `GET /oauth/authorize`, as Fastify parses it: a repeated parameter is an array. */
export type AuthorizationQuery = Record<string, string | string[] | undefined>;

/** The error codes of RFC 6749 §4.1.2.1 and RFC 8707 §2 that go back to the client. */
export type AuthorizationErrorCode =
  | 'invalid_request'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'invalid_target';

/** What {@link parseAuthorizationRequest} decided. */
export type ParsedAuthorizationRequest =
  | { kind: 'valid'; client: RegisteredClient; request: AuthorizationRequest }
  /**
   * No valid client or redirect URI: the error is shown to the user and never
   * sent anywhere (RFC 6749 §4.1.2.1; an open redirector otherwise, RFC 9700 §4.11).
   */
  | { kind: 'refused'; description: string }
  /** Anything else wrong: sent back to the client's redirect URI (RFC 6749 §4.1.2.1). */
  | {
      kind: 'redirect';
      redirectUri: string;
      error: AuthorizationErrorCode;
      description: string;
      state: string | undefined;
    };

/** RFC 7636 §4.2: BASE64URL(SHA-256(verifier)) is always 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const MAX_STATE_LENGTH = 1024;
/** The only parameter of an authorization request that may be repeated (RFC 8707 §2). */
const REPEATABLE = ['resource'];

/**
 * Checks an authorization request (RFC 6749 §4.1.1) in the order §4.1.2.1
 * sets: first the client and its redirect URI, whose errors are never
 * redirected; then the rest, whose errors go back to that redirect URI.
 *
 * - `client_id`: a registered client with the `authorization_code` grant;
 * - `redirect_uri`: required, one the client registered, matched exactly
 *   (RFC 9700 §4.1.3; a loopback IP literal's port excepted, RFC 8252 §7.3);
 * - `response_type`: `code` only (RFC 9700 §2.1.2: no implicit grant);
 * - `state`: required, at most 1024 characters (CSRF against the client, RFC 9700 §4.7);
 * - `code_challenge` with `code_challenge_method=S256`: required; `plain` or
 *   no method is refused (RFC 7636 §4.3, RFC 9700 §2.1.1);
 * - `scope`: within the client's registration (RFC 6749 §3.3); default all of it;
 * - `resource`, repeatable: within the client's audiences (RFC 8707 §2); default all of them.
 *
 * Unknown parameters are ignored (§3.1); a parameter given twice is an
 * `invalid_request` (§3.1), except `resource`.
 *
 * @param query the parsed query string
 * @param registry the registered clients
 * @returns the decision (see {@link ParsedAuthorizationRequest}); it never throws for bad input
 */
export function parseAuthorizationRequest(
  query: AuthorizationQuery,
  registry: ClientRegistry,
): ParsedAuthorizationRequest {
  const clientId = query['client_id'];
  if (typeof clientId !== 'string' || clientId === '') {
    return { kind: 'refused', description: 'The request names no client (client_id).' };
  }
  const client = registry.find(clientId);
  if (!client || !client.grantTypes.includes(GRANT_TYPES.authorizationCode)) {
    return { kind: 'refused', description: 'The client is unknown, or may not use this endpoint.' };
  }
  const presented = query['redirect_uri'];
  if (typeof presented !== 'string' || presented === '') {
    // RFC 6749 §3.1.2.3 lets a single registered URI be implied; RFC 9700 §2.1 asks for exact matching of one sent.
    return { kind: 'refused', description: 'The request has no redirect_uri.' };
  }
  if (!redirectUriMatches(client.redirectUris, presented)) {
    return { kind: 'refused', description: 'The redirect_uri is not one the client registered.' };
  }
  const rawState = query['state'];
  const state =
    typeof rawState === 'string' && rawState !== '' && rawState.length <= MAX_STATE_LENGTH ? rawState : undefined;
  const refuse = (error: AuthorizationErrorCode, description: string): ParsedAuthorizationRequest => ({
    kind: 'redirect',
    redirectUri: presented,
    error,
    description,
    state,
  });

  const repeated = Object.keys(query).find((name) => Array.isArray(query[name]) && !REPEATABLE.includes(name));
  if (repeated) return refuse('invalid_request', `The parameter "${repeated}" appears more than once.`);
  const single = (name: string): string | undefined => {
    const value = query[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  if (state === undefined) {
    return refuse(
      'invalid_request',
      rawState === undefined || rawState === ''
        ? 'The parameter "state" is required.'
        : `The parameter "state" is longer than ${MAX_STATE_LENGTH} characters.`,
    );
  }
  const responseType = single('response_type');
  if (responseType === undefined) return refuse('invalid_request', 'The parameter "response_type" is required.');
  if (responseType !== 'code') {
    return refuse('unsupported_response_type', 'Only the authorization code flow is offered (response_type=code).');
  }
  if (single('request') !== undefined || single('request_uri') !== undefined) {
    return refuse('invalid_request', 'Request objects (request, request_uri) are not supported.');
  }
  const challenge = single('code_challenge');
  if (challenge === undefined) {
    return refuse('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256.');
  }
  if (single('code_challenge_method') !== 'S256') {
    return refuse('invalid_request', 'Only the S256 code challenge method is supported (RFC 7636 §4.2).');
  }
  if (!S256_CHALLENGE.test(challenge)) {
    return refuse('invalid_request', 'The code_challenge must be 43 base64url characters (RFC 7636 §4.2).');
  }
  const scope = single('scope');
  const resources = query['resource'] === undefined ? [] : [query['resource']].flat().filter((r) => r !== '');
  let audience: string[];
  try {
    grantedScopes(scope, client.scopes);
    audience = grantedAudiences(client, resources as string[], []);
  } catch (error) {
    if (error instanceof ProblemException && (error.code === 'invalid_scope' || error.code === 'invalid_target')) {
      return refuse(error.code, error.detail);
    }
    throw error;
  }
  return {
    kind: 'valid',
    client,
    request: { clientId: client.id, redirectUri: presented, state, codeChallenge: challenge, scope, audience },
  };
}

/**
 * The redirect that answers an authorization request (RFC 6749 §4.1.2, §4.1.2.1):
 * the client's redirect URI with its own query kept, plus the parameters, and
 * `iss` (RFC 9207 §2) so the client can tell which issuer answered (mix-up attacks, RFC 9700 §4.4).
 *
 * @param redirectUri the request's `redirect_uri`, already matched to a registered one
 * @param parameters `code` and `state`, or `error`, `error_description` and `state`
 * @param issuer the issuer identifier, as in the metadata
 * @returns the Location header's value
 */
export function authorizationResponseUri(
  redirectUri: string,
  parameters: Record<string, string | undefined>,
  issuer: string,
): string {
  const uri = new URL(redirectUri);
  for (const [name, value] of Object.entries({ ...parameters, iss: issuer })) {
    if (value !== undefined) uri.searchParams.append(name, value);
  }
  return uri.toString();
}
