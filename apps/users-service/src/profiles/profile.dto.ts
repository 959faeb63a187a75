import { IsString, Length, ValidateIf } from 'class-validator';

/** `PATCH /users/me` body. `displayName: null` clears it. */
export class UpdateProfileDto {
  @ValidateIf((_object, value) => value !== null)
  @IsString()
  @Length(1, 100, { message: 'displayName must be 1 to 100 characters' })
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
