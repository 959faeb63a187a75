import { dictionary } from '@zxcvbn-ts/language-common';

/**
 * The password policy of NIST SP 800-63B (rev. 4 §3.1.1.2; rev. 3 §5.1.1.2 says the
 * same) for passwords a person chooses: register, change of password, and the
 * operator's ADMIN_PASSWORD.
 *
 * - Unicode NFKC before anything else ("SHOULD apply the Normalization Process for
 *   Stabilized Strings using either the NFKC or NFKD normalization"), before
 *   hashing and before verifying: a password typed as NFD matches one registered
 *   as NFC, a fullwidth one its ASCII form.
 * - Lengths in Unicode code points of the normalised password ("each Unicode code
 *   point SHALL be counted as a single character"): at least
 *   {@link PASSWORD_MIN_LENGTH}, at most {@link PASSWORD_MAX_LENGTH}.
 * - A blocklist of commonly used and breached passwords, compared case-insensitively:
 *   the `passwords-common` list of `@zxcvbn-ts/language-common` (49,233 passwords
 *   ranked by frequency in breach corpora, maintained with zxcvbn-ts; the 17,950
 *   of at least 8 characters matter here), plus context words: the account's own
 *   email address or its local part.
 * - A password must show something: one made only of spaces or of invisible code
 *   points (U+200B…) is refused, as is one with control characters, which no
 *   keyboard types the same way twice.
 * - No composition rules (no "one digit, one symbol"): NIST says SHALL NOT.
 */
export const PASSWORD_MIN_LENGTH = 8;
/** Longest accepted new password, in code points after NFKC: bounds what one request may hash. */
export const PASSWORD_MAX_LENGTH = 128;
/**
 * Longest password looked at, in UTF-16 code units, before normalising (NFKC can
 * lengthen a string up to 18 times): a login accepts every password a former
 * policy may have let through, but not an unbounded one.
 */
export const PASSWORD_INPUT_MAX_LENGTH = 1024;

/**
 * Code points that show nothing: whitespace, format and default-ignorable
 * characters, the Braille blank (U+2800, a symbol that renders as a space),
 * and combining marks, which show only on a base character.
 */
const INVISIBLE = /[\p{White_Space}\p{Cf}\p{Default_Ignorable_Code_Point}\u2800\p{M}]/gu;
const CONTROL = /\p{Cc}/u;

let blocklist: ReadonlySet<string> | undefined;

/** The blocklist, lower-cased, without entries too short to pass the length check anyway; built once. */
function commonPasswords(): ReadonlySet<string> {
  blocklist ??= new Set(
    dictionary['passwords-common']
      .map((password) => password.normalize('NFKC').toLowerCase())
      .filter((password) => [...password].length >= PASSWORD_MIN_LENGTH),
  );
  return blocklist;
}

/**
 * @param password as typed
 * @returns its NFKC form (NIST SP 800-63B §3.1.1.2), what is hashed and verified
 */
export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}

/**
 * Checks a new password against the policy.
 *
 * @param password as typed (normalised here)
 * @param context.email the account's email address, which must not be the password
 * @returns null when acceptable, else why not, as a sentence about `field`
 */
export function passwordPolicyViolation(
  password: string,
  field: string,
  context: { email?: string } = {},
): string | null {
  if (password.length > PASSWORD_INPUT_MAX_LENGTH) return `${field} must be at most ${PASSWORD_MAX_LENGTH} characters`;
  const normalised = normalisePassword(password);
  const length = [...normalised].length;
  if (length < PASSWORD_MIN_LENGTH) return `${field} must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `${field} must be at most ${PASSWORD_MAX_LENGTH} characters`;
  if (CONTROL.test(normalised)) return `${field} must not contain control characters`;
  if (normalised.replace(INVISIBLE, '') === '')
    return `${field} must contain visible characters, not only spaces or invisible ones`;
  // Compared without what shows nothing: `password123` with a zero-width space is still `password123`.
  const folded = normalised.replace(INVISIBLE, '').toLowerCase();
  if (commonPasswords().has(folded)) return `${field} is one of the most common or breached passwords: choose another`;
  const email = context.email?.toLowerCase();
  if (email && (folded === email || folded === email.slice(0, email.lastIndexOf('@'))))
    return `${field} must not be the email address`;
  return null;
}
