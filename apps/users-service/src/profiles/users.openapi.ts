import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiProperty } from '@nestjs/swagger';
import { ApiProblemResponse, type Page } from '@jwt-ms/service-core';
import { DISPLAY_NAME_MAX_LENGTH, type ProfileView } from './profile.dto';

/** {@link ProfileView} for the API document (`implements` keeps the two in step). */
export class ProfileSchema implements ProfileView {
  @ApiProperty({
    format: 'uuid',
    description: "The account's id (the token's `sub`).",
    example: '6f1c1a52-8d0e-4a4b-9c1e-3b5f2a7d9e10',
  })
  id!: string;

  @ApiProperty({ format: 'email', description: 'As the token carries it.', example: 'ada@example.com' })
  email!: string;

  @ApiProperty({ type: String, nullable: true, maxLength: DISPLAY_NAME_MAX_LENGTH, example: 'Ada Lovelace' })
  displayName!: string | null;

  @ApiProperty({ format: 'date-time', example: '2026-12-01T09:30:00.000Z' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', example: '2026-12-02T16:05:12.000Z' })
  updatedAt!: string;
}

/** `Page<ProfileView>` for the API document. */
export class ProfilePageSchema implements Page<ProfileView> {
  @ApiProperty({ type: [ProfileSchema] })
  items!: ProfileSchema[];

  @ApiProperty({ description: 'Profiles across all pages.', example: 1 })
  total!: number;

  @ApiProperty({ example: 20 })
  limit!: number;

  @ApiProperty({ example: 0 })
  offset!: number;
}

const notFound = ApiProblemResponse(404, ['not_found'], 'No such profile, or not one the caller may see.');

/** The documentation of each route of `UsersController`. */
export const UsersApi = {
  me: () =>
    applyDecorators(
      ApiOperation({ summary: "The caller's profile", description: 'Created on first use from the token.' }),
      ApiOkResponse({ type: ProfileSchema }),
    ),
  update: () =>
    applyDecorators(
      ApiOperation({ summary: "Sets the caller's display name", description: '`displayName: null` clears it.' }),
      ApiOkResponse({ type: ProfileSchema, description: 'The updated profile.' }),
    ),
  list: () =>
    applyDecorators(
      ApiOperation({
        summary: 'All profiles, a page at a time',
        description: "An admin's token, or a service token of a client registered for `users:read`.",
      }),
      ApiOkResponse({ type: ProfilePageSchema }),
    ),
  get: () =>
    applyDecorators(
      ApiOperation({
        summary: 'One profile',
        description: 'For an admin or the user themself; anyone else gets 404, as for an unknown id.',
      }),
      ApiParam({ name: 'id', format: 'uuid', description: "The account's id." }),
      ApiOkResponse({ type: ProfileSchema }),
      notFound,
    ),
};
