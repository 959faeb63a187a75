import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Length, registerDecorator, type ValidationArguments } from 'class-validator';
import { canonicalEmail, parseAccountEmail } from '../accounts/account-email';
import {
  PASSWORD_INPUT_MAX_LENGTH,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  passwordPolicyViolation,
} from '../accounts/password-policy';

/** The API document's description of a new password (the policy's own checks are not expressible as a schema). */
const NEW_PASSWORD = {
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  description: 'NIST SP 800-63B: not a common or breached password, not the email.',
  example: 'correct horse battery staple',
} as const;
const EMAIL = { format: 'email', example: 'ada@example.com' } as const;
const PASSWORD = {
  minLength: 1,
  maxLength: PASSWORD_INPUT_MAX_LENGTH,
  example: 'correct horse battery staple',
} as const;

/**
 * Validation sees the email as it will be stored (see `parseAccountEmail`); a value
 * that has no canonical form is left as sent, for the validator to explain.
 */
const canonical = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? (canonicalEmail(value) ?? value) : value;

/** A string `parseAccountEmail` accepts; the message says what is wrong with it. */
function IsAccountEmail(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isAccountEmail',
      target: target.constructor,
      propertyName: String(propertyName),
      options: {
        message: ({ property, value }: ValidationArguments) => {
          const parsed = typeof value === 'string' ? parseAccountEmail(value) : null;
          return `${property} must be an email address${parsed && !parsed.ok ? `: ${parsed.reason}` : ''}`;
        },
      },
      validator: { validate: (value: unknown) => typeof value === 'string' && parseAccountEmail(value).ok },
    });
}

/**
 * A new password that meets `passwordPolicyViolation` (NIST SP 800-63B §3.1.1.2);
 * `emailProperty` names the sibling field holding the account's email, a context word.
 */
function MeetsPasswordPolicy(emailProperty?: string): PropertyDecorator {
  const violation = ({ property, value, object }: ValidationArguments) => {
    if (typeof value !== 'string') return `${property} must be a string`;
    const email = emailProperty ? (object as Record<string, unknown>)[emailProperty] : undefined;
    return passwordPolicyViolation(value, property, { email: typeof email === 'string' ? email : undefined });
  };
  return (target, propertyName) =>
    registerDecorator({
      name: 'meetsPasswordPolicy',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: (args: ValidationArguments) => violation(args) ?? '' },
      validator: { validate: (_value: unknown, args?: ValidationArguments) => !!args && violation(args) === null },
    });
}

/** `POST /auth/register` body. */
export class RegisterDto {
  @ApiProperty(EMAIL)
  @Transform(canonical)
  @IsAccountEmail()
  email!: string;

  @ApiProperty(NEW_PASSWORD)
  @MeetsPasswordPolicy('email')
  password!: string;
}

/**
 * `POST /auth/login` body. The email is canonicalised as at registration; one with
 * no canonical form matches no account (401, like an unknown one). The password is
 * only bounded: it is checked against the hash, never against today's policy.
 */
export class LoginDto {
  @ApiProperty(EMAIL)
  @Transform(canonical)
  @IsString()
  @Length(1, PASSWORD_INPUT_MAX_LENGTH)
  email!: string;

  @ApiProperty(PASSWORD)
  @IsString()
  @Length(1, PASSWORD_INPUT_MAX_LENGTH)
  password!: string;
}

/** `POST /auth/refresh` body (RFC 6749 §6 `refresh_token`). Never stored as sent: only its SHA-256 is looked up. */
export class RefreshDto {
  @ApiProperty({ minLength: 1, maxLength: 512, example: 'rt_3q2-Xk9vJd0aQ7Lz8m1NcW4bYp' })
  @IsString()
  @Length(1, 512)
  refresh_token!: string;
}

/** `POST /auth/password` body. */
export class ChangePasswordDto {
  @ApiProperty(PASSWORD)
  @IsString()
  @Length(1, PASSWORD_INPUT_MAX_LENGTH)
  current_password!: string;

  @ApiProperty(NEW_PASSWORD)
  @MeetsPasswordPolicy()
  new_password!: string;
}
