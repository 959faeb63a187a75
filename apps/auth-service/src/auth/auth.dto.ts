import { Transform } from 'class-transformer';
import { IsEmail, IsString, Length, MaxLength, MinLength } from 'class-validator';
import { normaliseEmail } from '../accounts/accounts.service';

/** Validation sees the email as it will be stored: limits apply after normalisation (which can lengthen it). */
const normalised = ({ value }: { value: unknown }) => (typeof value === 'string' ? normaliseEmail(value) : value);

/** Shortest accepted password, in characters (NIST SP 800-63B §5.1.1.2 minimum). */
export const PASSWORD_MIN_LENGTH = 8;
/** Longest accepted password, in characters: bounds the hashing cost of one request. */
export const PASSWORD_MAX_LENGTH = 128;

/** `POST /auth/register` body. */
export class RegisterDto {
  @Transform(normalised)
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email!: string;

  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH, { message: `password must be at least ${PASSWORD_MIN_LENGTH} characters` })
  @MaxLength(PASSWORD_MAX_LENGTH, { message: `password must be at most ${PASSWORD_MAX_LENGTH} characters` })
  password!: string;
}

/** `POST /auth/login` body. */
export class LoginDto {
  @Transform(normalised)
  @IsString()
  @Length(1, 254)
  email!: string;

  @IsString()
  @Length(1, PASSWORD_MAX_LENGTH)
  password!: string;
}

/** `POST /auth/refresh` body (RFC 6749 §6 `refresh_token`). */
export class RefreshDto {
  @IsString()
  @Length(1, 512)
  refresh_token!: string;
}

/** `POST /auth/password` body. */
export class ChangePasswordDto {
  @IsString()
  @Length(1, PASSWORD_MAX_LENGTH)
  current_password!: string;

  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH, { message: `new_password must be at least ${PASSWORD_MIN_LENGTH} characters` })
  @MaxLength(PASSWORD_MAX_LENGTH, { message: `new_password must be at most ${PASSWORD_MAX_LENGTH} characters` })
  new_password!: string;
}
