import { ApiProperty } from '@nestjs/swagger';
import { IsString, ValidateIf } from 'class-validator';
import { CodePointLength, PlainText } from '@jwt-ms/service-core';

/** Longest display name, in Unicode code points: the `varchar(100)` column's unit in PostgreSQL. */
export const DISPLAY_NAME_MAX_LENGTH = 100;

/** `PATCH /users/me` body. `displayName: null` clears it. */
export class UpdateProfileDto {
  /** One line of text people read: 1 to 100 code points, no control or bidirectional formatting characters. */
  @ApiProperty({
    type: String,
    nullable: true,
    minLength: 1,
    maxLength: DISPLAY_NAME_MAX_LENGTH,
    description: 'null clears it.',
    example: 'Ada Lovelace',
  })
  @ValidateIf((_object, value) => value !== null)
  @IsString()
  @CodePointLength(1, DISPLAY_NAME_MAX_LENGTH)
  @PlainText()
  displayName!: string | null;
}

/** A profile as the API shows it. Times are ISO 8601 strings. */
export interface ProfileView {
  id: string;
  email: string;
  displayName: string | null;
  createdAt: string;
  updatedAt: string;
}
