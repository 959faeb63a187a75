import { applyDecorators } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiPropertyOptional,
} from '@nestjs/swagger';
import type { TokenResponse } from '@jwt-ms/contracts';
import { ApiProblemResponse, RETRY_AFTER } from '@jwt-ms/service-core';

/** An access token as the examples show it: a compact JWS (RFC 7515 §3.1), shortened. */
export const ACCESS_TOKEN_EXAMPLE = 'eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiI2ZjFjIn0.c2ln';

/** {@link TokenResponse} (RFC 6749 §5.1) for the API document. */
export class TokenResponseSchema implements TokenResponse {
  @ApiProperty({ description: 'An RFC 9068 JWT access token.', example: ACCESS_TOKEN_EXAMPLE })
  access_token!: string;

  @ApiProperty({ enum: ['Bearer'], example: 'Bearer' })
  token_type!: 'Bearer';

  @ApiProperty({ type: 'integer', description: "The access token's lifetime, in seconds.", example: 900 })
  expires_in!: number;

  @ApiProperty({ description: 'Opaque; rotated on every use (RFC 6749 §6).', example: 'rt_3q2-Xk9vJd0aQ7Lz8m1NcW4bYp' })
  refresh_token!: string;

  @ApiProperty({
    description: 'Space-separated scopes (RFC 6749 §3.3).',
    example: 'profile:read profile:write orders:read',
  })
  scope!: string;
}

/** `POST /auth/register`'s answer. */
export class RegisteredAccountSchema {
  @ApiProperty({ format: 'uuid', example: '6f1c1a52-8d0e-4a4b-9c1e-3b5f2a7d9e10' })
  id!: string;

  @ApiProperty({ format: 'email', description: 'As stored (canonical form).', example: 'ada@example.com' })
  email!: string;
}

/** One retiring key of `POST /auth/admin/keys/rotate`'s answer. */
export class RetiringKeySchema {
  @ApiProperty({ example: 'k1' })
  kid!: string;

  @ApiProperty({ format: 'date-time', example: '2026-12-03T11:15:00.000Z' })
  retiresAt!: string;
}

/** `POST /auth/admin/keys/rotate`'s answer. */
export class KeyRotationSchema {
  @ApiProperty({ description: 'The new key.', example: 'k2' })
  kid!: string;

  @ApiProperty({ format: 'date-time', description: 'When it starts signing.', example: '2026-12-03T10:45:00.000Z' })
  signsFrom!: string;

  @ApiProperty({ type: [RetiringKeySchema] })
  retiring!: RetiringKeySchema[];

  @ApiPropertyOptional({ type: [String], description: 'Keys removed from the set.', example: ['k0'] })
  removed!: string[];
}

const tokens = (description: string) => ApiOkResponse({ type: TokenResponseSchema, description });
const accountId = ApiParam({ name: 'id', format: 'uuid', description: "The account's id." });
const unknownAccount = ApiProblemResponse(404, ['not_found'], 'No such account.');
const transient = (dependency: string) =>
  ApiProblemResponse(
    503,
    ['temporarily_unavailable', 'dependency_unavailable'],
    `${dependency}; \`Retry-After\` says when to come back.`,
    RETRY_AFTER,
  );

/** The documentation of each route of `AuthController`. */
export const AuthApi = {
  register: () =>
    applyDecorators(
      ApiOperation({ summary: 'Creates an account', description: 'The email is stored in canonical form.' }),
      ApiCreatedResponse({ type: RegisteredAccountSchema, description: 'The account.' }),
      ApiProblemResponse(409, ['email_taken'], 'An account with this email exists.'),
    ),
  login: () =>
    applyDecorators(
      ApiOperation({ summary: 'Logs in: an access token and a refresh token (RFC 6749 §5.1)' }),
      tokens('The token pair.'),
      ApiProblemResponse(401, ['invalid_credentials'], 'Wrong email or password (the same answer for both).'),
      transient('Right after several revocations of the account'),
    ),
  refresh: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Trades a refresh token for a new pair (rotation, RFC 6749 §6)',
        description: 'Reuse of a rotated token revokes its whole family.',
      }),
      tokens('The new pair; the old refresh token is spent.'),
      ApiProblemResponse(
        400,
        ['invalid_grant', 'validation_failed', 'invalid_request'],
        'Unknown, expired, revoked or reused refresh token.',
      ),
      transient('The first use of this token is still in flight, or Redis is unreachable'),
    ),
  logout: () =>
    applyDecorators(
      ApiOperation({ summary: 'Revokes the presented access token and its session' }),
      ApiNoContentResponse({ description: 'Revoked.' }),
    ),
  logoutAll: () =>
    applyDecorators(
      ApiOperation({ summary: "Revokes every access and refresh token of the caller's account" }),
      ApiNoContentResponse({ description: 'Revoked.' }),
    ),
  changePassword: () =>
    applyDecorators(
      ApiOperation({ summary: 'Changes the password; every token of the caller is revoked' }),
      ApiNoContentResponse({ description: 'Changed: log in again.' }),
      ApiProblemResponse(403, ['invalid_credentials', 'insufficient_scope'], 'The current password is wrong.'),
    ),
};

/** The documentation of each route of `AdminController`. */
export const AdminApi = {
  rotateKeys: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Rotates the signing key',
        description:
          'The new key is published now and signs after `SIGNING_KEY_LEAD_SECONDS`; the old one retires when its ' +
          'tokens have expired.',
      }),
      ApiOkResponse({ type: KeyRotationSchema }),
      ApiProblemResponse(409, ['conflict'], 'The keys come from `SIGNING_JWKS`: rotate them there.'),
    ),
  revokeTokens: () =>
    applyDecorators(
      ApiOperation({ summary: 'Revokes every access and refresh token of an account' }),
      accountId,
      ApiNoContentResponse({ description: 'Revoked.' }),
      unknownAccount,
    ),
  delete: () =>
    applyDecorators(
      ApiOperation({ summary: 'Deletes an account and revokes its tokens' }),
      accountId,
      ApiNoContentResponse({ description: 'Deleted.' }),
      unknownAccount,
    ),
};
