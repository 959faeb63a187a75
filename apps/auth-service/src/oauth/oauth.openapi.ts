import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { ApiProblemResponse } from '@jwt-ms/service-core';
import { ACCESS_TOKEN_EXAMPLE } from '../auth/auth.openapi';
import { GRANT_TYPES } from './clients/client-registry';

const FORM = 'application/x-www-form-urlencoded';

/** Client authentication in the body (RFC 6749 §2.3.1 `client_secret_post`), or `client_id` alone for the public client. */
const CLIENT_PARAMETERS = {
  client_id: { type: 'string', description: 'The client (required without HTTP Basic authentication).' },
  client_secret: { type: 'string', description: '`client_secret_post`; prefer HTTP Basic (`client_secret_basic`).' },
} as const;

const SCOPE = {
  type: 'string',
  description: 'Space-separated scopes, at most those the client may have (RFC 6749 §3.3).',
};
const RESOURCE = {
  oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
  description: 'RFC 8707 §2: the audience(s) wanted; may be repeated.',
};

/** The body of each grant of `POST /oauth/token` (RFC 6749 §3.2), one schema per `grant_type`. */
const TOKEN_REQUEST = {
  oneOf: [
    {
      title: 'authorization_code with PKCE (RFC 6749 §4.1.3, RFC 7636 §4.5)',
      type: 'object',
      required: ['grant_type', 'code', 'redirect_uri', 'code_verifier'],
      properties: {
        grant_type: { type: 'string', enum: [GRANT_TYPES.authorizationCode] },
        code: { type: 'string', description: 'The code the authorization endpoint sent back (single use, ≤ 60 s).' },
        redirect_uri: { type: 'string', description: 'The same string as in the authorization request.' },
        code_verifier: { type: 'string', minLength: 43, maxLength: 128, pattern: '^[A-Za-z0-9._~-]+$' },
        resource: RESOURCE,
        scope: SCOPE,
        ...CLIENT_PARAMETERS,
      },
    },
    {
      title: 'refresh_token (RFC 6749 §6)',
      type: 'object',
      required: ['grant_type', 'refresh_token', 'client_id'],
      properties: {
        grant_type: { type: 'string', enum: [GRANT_TYPES.refreshToken] },
        refresh_token: { type: 'string', maxLength: 512 },
        scope: SCOPE,
        ...CLIENT_PARAMETERS,
      },
    },
    {
      title: 'client_credentials (RFC 6749 §4.4)',
      type: 'object',
      required: ['grant_type'],
      properties: {
        grant_type: { type: 'string', enum: [GRANT_TYPES.clientCredentials] },
        scope: SCOPE,
        resource: RESOURCE,
        ...CLIENT_PARAMETERS,
      },
    },
    {
      title: 'token exchange (RFC 8693 §2.1)',
      type: 'object',
      required: ['grant_type', 'subject_token', 'subject_token_type'],
      properties: {
        grant_type: { type: 'string', enum: [GRANT_TYPES.tokenExchange] },
        subject_token: { type: 'string', description: "The user's access token the client acts on." },
        subject_token_type: { type: 'string', enum: ['urn:ietf:params:oauth:token-type:access_token'] },
        requested_token_type: { type: 'string', enum: ['urn:ietf:params:oauth:token-type:access_token'] },
        audience: { ...RESOURCE, description: 'RFC 8693 §2.1: the target service(s); may be repeated.' },
        resource: RESOURCE,
        scope: SCOPE,
        ...CLIENT_PARAMETERS,
      },
    },
  ],
};

/** RFC 7009 §2.1 and RFC 7662 §2.1's body. */
const TOKEN_PARAMETERS = {
  type: 'object',
  required: ['token'],
  properties: {
    token: { type: 'string', minLength: 1, maxLength: 8192 },
    token_type_hint: {
      type: 'string',
      enum: ['access_token', 'refresh_token'],
      description: 'Unknown hints are ignored.',
    },
    ...CLIENT_PARAMETERS,
  },
};

const TOKEN_RESPONSE = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'scope'],
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_in: { type: 'integer', description: 'Seconds.' },
    scope: { type: 'string' },
    refresh_token: { type: 'string', description: 'Only for the refresh_token grant (rotated).' },
    issued_token_type: { type: 'string', description: 'Only for token exchange (RFC 8693 §2.2.1).' },
  },
};

const INTROSPECTION_RESPONSE = {
  type: 'object',
  required: ['active'],
  description: 'RFC 7662 §2.2: `{active: false}` for anything not valid; the claims otherwise.',
  properties: {
    active: { type: 'boolean' },
    token_type: { type: 'string', enum: ['Bearer', 'refresh_token'] },
    client_id: { type: 'string' },
    sub: { type: 'string' },
    exp: { type: 'integer', description: 'Seconds since the epoch.' },
    iat: { type: 'integer', description: 'Seconds since the epoch.' },
    scope: { type: 'string' },
    username: { type: 'string' },
    aud: { type: 'array', items: { type: 'string' } },
    iss: { type: 'string' },
    jti: { type: 'string' },
    sid: { type: 'string' },
    act: { type: 'object', properties: { sub: { type: 'string' } }, description: 'RFC 8693 §4.1.' },
  },
};

const invalidClient = ApiProblemResponse(401, ['invalid_client'], 'Client authentication failed (RFC 6749 §5.2).', {
  'WWW-Authenticate': 'Basic challenge, when the client tried HTTP Basic.',
});
const badToken = ApiProblemResponse(400, ['invalid_request'], 'A missing, empty, repeated or too long parameter.');

const HTML = 'text/html';
const AUTHORIZATION_PARAMETERS = [
  { name: 'response_type', enum: ['code'], required: true, description: '`code` only (RFC 9700 §2.1.2).' },
  { name: 'client_id', required: true, description: 'A client registered with the authorization_code grant.' },
  { name: 'redirect_uri', required: true, description: 'Exactly a registered one (a loopback IP literal: any port).' },
  { name: 'state', required: true, description: 'Returned as sent (RFC 6749 §4.1.1); at most 1024 characters.' },
  { name: 'code_challenge', required: true, description: 'BASE64URL(SHA-256(code_verifier)), 43 characters.' },
  { name: 'code_challenge_method', enum: ['S256'], required: true, description: 'S256 only (RFC 7636 §4.3).' },
  { name: 'scope', required: false, description: 'Space-separated, within the client; default all of it.' },
  { name: 'resource', required: false, description: 'RFC 8707: `urn:jwt-ms:<service>`; may be repeated.' },
] as const;

/** The documentation of each route of `OAuthController` and `AuthorizeController`. */
export const OAuthApi = {
  authorize: () =>
    applyDecorators(
      ApiOperation({
        summary: 'The authorization endpoint (RFC 6749 §4.1.1), with PKCE S256 (RFC 7636)',
        description:
          'For a browser. With a standing login session at the issuer (its cookie), 302 back with a code; otherwise ' +
          'the login page (no script). Errors about the client or its redirect URI are never redirected (400); the ' +
          'others go back to the redirect URI with `error`, `state` and `iss` (RFC 9207).',
      }),
      ...AUTHORIZATION_PARAMETERS.map((parameter) =>
        ApiQuery({
          name: parameter.name,
          required: parameter.required,
          description: parameter.description,
          schema: 'enum' in parameter ? { type: 'string', enum: [...parameter.enum] } : { type: 'string' },
        }),
      ),
      ApiProduces(HTML),
      ApiOkResponse({ description: 'The login page (HTML).', content: { [HTML]: { schema: { type: 'string' } } } }),
      ApiResponse({
        status: 302,
        description: 'Back to the client: `code`, `state`, `iss`; or `error`, `error_description`, `state`, `iss`.',
        headers: {
          Location: { description: 'The redirect URI with the response parameters.', schema: { type: 'string' } },
        },
      }),
      ApiProblemResponse(400, ['invalid_request'], 'Unknown client or unregistered redirect URI: never redirected.'),
    ),
  authorizeForm: () =>
    applyDecorators(
      ApiOperation({
        summary: "The login page's form",
        description:
          'Posted by the login page only: same origin, with its browser-binding cookie and CSRF token. The password ' +
          'is checked as `/auth/login` checks it; then a login session begins and the browser goes back to the client.',
      }),
      ApiConsumes(FORM),
      ApiBody({
        schema: {
          type: 'object',
          required: ['request_id', 'csrf_token', 'email', 'password'],
          properties: {
            request_id: { type: 'string', description: 'Hidden field of the page.' },
            csrf_token: { type: 'string', description: 'Hidden field of the page.' },
            email: { type: 'string', format: 'email' },
            password: { type: 'string', format: 'password' },
          },
        },
      }),
      ApiResponse({
        status: 303,
        description: 'Signed in: back to the client with `code`, `state`, `iss`.',
        headers: {
          Location: { description: 'The redirect URI with the response parameters.', schema: { type: 'string' } },
        },
      }),
      ApiResponse({
        status: 400,
        description: 'The page again with one generic message (bad credentials), or an expired page.',
        content: { [HTML]: { schema: { type: 'string' } } },
      }),
      ApiProblemResponse(403, ['access_denied'], "Posted from another origin, or without the page's CSRF token."),
    ),

  token: () =>
    applyDecorators(
      ApiOperation({
        summary: 'The token endpoint (RFC 6749 §3.2)',
        description:
          'Grants `authorization_code` with PKCE (public browser clients: `client_id` alone), `refresh_token` ' +
          '(the public first-party client), `client_credentials` and ' +
          'token exchange (confidential clients: `client_secret_basic` or `client_secret_post`). Errors carry ' +
          "RFC 6749 §5.2's `error` beside the problem members.",
      }),
      ApiConsumes(FORM),
      ApiBody({
        schema: TOKEN_REQUEST,
        examples: {
          authorization_code: {
            summary: "Redeem a browser client's code",
            value: {
              grant_type: GRANT_TYPES.authorizationCode,
              code: 'Ff0yQ8o2uHc1Xw3kJ5p7Lr9tVb4nMd6sAe8gZi0qWyC',
              redirect_uri: 'http://localhost:3003/callback',
              code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
              client_id: 'console',
            },
          },
          client_credentials: {
            summary: 'A service token',
            value: { grant_type: GRANT_TYPES.clientCredentials, scope: 'users:read', resource: 'users-service' },
          },
          refresh_token: {
            summary: 'Rotate a refresh token',
            value: {
              grant_type: GRANT_TYPES.refreshToken,
              refresh_token: 'rt_3q2-Xk9vJd0aQ7Lz8m1NcW4bYp',
              client_id: 'web-app',
            },
          },
          token_exchange: {
            summary: "Act on a user's behalf towards another service",
            value: {
              grant_type: GRANT_TYPES.tokenExchange,
              subject_token: ACCESS_TOKEN_EXAMPLE,
              subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
              audience: 'users-service',
              scope: 'profile:read',
            },
          },
        },
      }),
      ApiOkResponse({
        schema: TOKEN_RESPONSE,
        description: 'RFC 6749 §5.1.',
        example: { access_token: ACCESS_TOKEN_EXAMPLE, token_type: 'Bearer', expires_in: 300, scope: 'users:read' },
      }),
      ApiProblemResponse(
        400,
        [
          'invalid_request',
          'invalid_grant',
          'unauthorized_client',
          'unsupported_grant_type',
          'invalid_scope',
          'invalid_target',
        ],
        'The request or the grant is refused (RFC 6749 §5.2, RFC 8707 §2).',
      ),
      invalidClient,
    ),
  revoke: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Revocation (RFC 7009)',
        description: '200 whether or not the token was valid (§2.2). Resource servers authenticate with HTTP Basic.',
      }),
      ApiConsumes(FORM),
      ApiBody({
        schema: TOKEN_PARAMETERS,
        examples: {
          refresh: {
            value: { token: 'rt_3q2-Xk9vJd0aQ7Lz8m1NcW4bYp', token_type_hint: 'refresh_token', client_id: 'web-app' },
          },
        },
      }),
      ApiOkResponse({ description: 'Revoked, or was not valid: an empty body.' }),
      badToken,
      invalidClient,
    ),
  introspect: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Introspection (RFC 7662)',
        description: 'For authenticated resource servers only (HTTP Basic with an `OAUTH_CLIENTS` secret).',
      }),
      ApiConsumes(FORM),
      ApiBody({
        schema: TOKEN_PARAMETERS,
        examples: { access: { value: { token: ACCESS_TOKEN_EXAMPLE, token_type_hint: 'access_token' } } },
      }),
      ApiOkResponse({
        schema: INTROSPECTION_RESPONSE,
        example: {
          active: true,
          token_type: 'Bearer',
          client_id: 'web-app',
          sub: '6f1c1a52-8d0e-4a4b-9c1e-3b5f2a7d9e10',
          exp: 1796378400,
          iat: 1796377500,
          scope: 'profile:read',
          aud: ['users-service'],
        },
      }),
      badToken,
      invalidClient,
    ),
};
