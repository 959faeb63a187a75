/**
 * What each member of an access token means, where it is defined, and what
 * the shared verifier (libs/shared/auth-jwt) does with it. The page shows
 * one row per member of the decoded token; a member not listed here is shown
 * as "not used by this system".
 */
export interface MemberExplanation {
  /** One line for a learner: what the member is. */
  meaning: string;
  /** The defining RFC and section, e.g. `RFC 7519 §4.1.1`. */
  rfc: string;
  /** What the verifier checks, or that it does not. */
  check: string;
}

/** The JOSE header's members (RFC 7515 §4.1, RFC 9068 §2.1). */
export const HEADER_MEMBERS: Readonly<Record<string, MemberExplanation>> = {
  alg: {
    meaning: 'The signature algorithm the issuer used.',
    rfc: 'RFC 7515 §4.1.1; RFC 8725 §3.1',
    check: 'Must be one of AUTH_ALGORITHMS and the kind of the key that `kid` names: `none` and HS256 are refused.',
  },
  kid: {
    meaning: 'Which of the issuer’s published keys signed the token.',
    rfc: 'RFC 7515 §4.1.4; RFC 7517 §4.5',
    check:
      'Looked up in the JWKS the service loaded; an unknown kid makes it refetch the JWKS once, at most every few seconds.',
  },
  typ: {
    meaning: 'The token’s media type: an OAuth 2.0 access token in JWT form.',
    rfc: 'RFC 9068 §2.1; RFC 8725 §3.11',
    check: 'Must be `at+jwt`: an ID token or any other JWT signed by the same key is refused.',
  },
};

/** The claims (RFC 7519 §4.1, RFC 9068 §2.2, RFC 8693 §4). */
export const CLAIMS: Readonly<Record<string, MemberExplanation>> = {
  iss: {
    meaning: 'Who issued the token: the auth service’s issuer identifier.',
    rfc: 'RFC 7519 §4.1.1; RFC 9068 §2.2',
    check: 'Must equal AUTH_ISSUER exactly.',
  },
  sub: {
    meaning: 'Whom the token is about: the user’s id (or, for a service token, the client’s).',
    rfc: 'RFC 7519 §4.1.2; RFC 9068 §2.2',
    check: 'Required; becomes the principal the handlers see.',
  },
  aud: {
    meaning: 'Which services the token is for.',
    rfc: 'RFC 7519 §4.1.3; RFC 8707 §2',
    check: 'Must contain this service’s own audience (AUTH_AUDIENCE): a token for another service is refused.',
  },
  exp: {
    meaning: 'When the token stops being valid (seconds since 1970).',
    rfc: 'RFC 7519 §4.1.4',
    check: 'Required and in the future, with a small clock tolerance.',
  },
  nbf: {
    meaning: 'When the token starts being valid.',
    rfc: 'RFC 7519 §4.1.5',
    check: 'If present, must be in the past.',
  },
  iat: {
    meaning: 'When the token was issued.',
    rfc: 'RFC 7519 §4.1.6; RFC 9068 §2.2',
    check: 'Required; a token issued before a logout-all of its subject is refused as revoked.',
  },
  jti: {
    meaning: 'The token’s unique id.',
    rfc: 'RFC 7519 §4.1.7; RFC 9068 §2.2',
    check: 'Required; checked against the revocation list that Redis pushes to every replica.',
  },
  client_id: {
    meaning: 'The OAuth client the token was issued to (here: the console).',
    rfc: 'RFC 9068 §2.2; RFC 8693 §4.3',
    check: 'Required; logged with each request.',
  },
  scope: {
    meaning: 'What the token allows, space-separated.',
    rfc: 'RFC 9068 §2.2.3; RFC 6749 §3.3',
    check: 'Each route names the scopes it needs: missing one is a 403 insufficient_scope (RFC 6750 §3.1).',
  },
  roles: {
    meaning: 'The user’s roles at the issuer.',
    rfc: 'RFC 9068 §2.2.3.1 (RFC 7643 §4.1.2)',
    check: 'Admin routes require the admin role as well as the admin scope.',
  },
  sid: {
    meaning: 'The login session the token belongs to.',
    rfc: 'OpenID Connect Front-Channel Logout §3; RFC 9068 §2.2',
    check: 'Checked against the revocation list: logging out revokes the whole session.',
  },
  auth_time: {
    meaning: 'When the user last entered their password.',
    rfc: 'RFC 9068 §2.2.1',
    check: 'Kept through refresh and exchange; not checked by the resource services.',
  },
  email: {
    meaning: 'The user’s email address, for display.',
    rfc: 'OpenID Connect Core §5.1',
    check: 'Not checked.',
  },
  act: {
    meaning: 'Who acts on the user’s behalf: the service that exchanged the token.',
    rfc: 'RFC 8693 §4.1',
    check: 'A delegated token: users-service sees that orders-service calls for this user.',
  },
  may_act: {
    meaning: 'Who may act on the user’s behalf.',
    rfc: 'RFC 8693 §4.4',
    check: 'Not used by this system.',
  },
};

/** One row of the page's claims table. */
export interface MemberRow {
  name: string;
  /** The value as JSON text. */
  value: string;
  explanation: MemberExplanation;
}

const UNKNOWN: MemberExplanation = { meaning: 'Not used by this system.', rfc: '', check: 'Ignored by the verifier.' };

/**
 * The rows for a decoded header or claims set, in the token's own order.
 *
 * @param members the decoded JOSE header or JWT claims
 * @param table {@link HEADER_MEMBERS} or {@link CLAIMS}
 * @returns one row per member
 */
export function explain(
  members: Record<string, unknown>,
  table: Readonly<Record<string, MemberExplanation>>,
): MemberRow[] {
  return Object.entries(members).map(([name, value]) => ({
    name,
    value: JSON.stringify(value),
    explanation: Object.hasOwn(table, name) ? table[name] : UNKNOWN,
  }));
}

/**
 * Seconds left until `exp`, never below 0.
 *
 * @param exp the token's `exp`, seconds since the epoch
 * @param nowMs the current time, milliseconds since the epoch
 * @returns whole seconds left
 */
export function secondsLeft(exp: number, nowMs: number): number {
  return Math.max(0, Math.floor(exp - nowMs / 1000));
}
