import type { IncomingHttpHeaders } from 'node:http';
import {
  ACCESS_TOKEN_TYPE,
  MAX_REVOCATION_ID_LENGTH,
  USER_ONLY_CLAIMS,
  type Role,
  type SigningAlgorithm,
} from '@jwt-ms/contracts';
import { parseJsonObject } from './duplicate-members';
import type { Principal, ServicePrincipal, UserPrincipal } from './principal';
import { TokenRejectedError } from './token-rejection';

/*
 * The checks of AccessTokenVerifier, one function per step, in its order. Each
 * throws a TokenRejectedError whose code names the check that failed.
 */

/**
 * A JWS in compact serialization (RFC 7515 §7.1): three segments in the
 * base64url alphabet of RFC 4648 §5 (no padding, no `+` or `/`), the
 * signature possibly empty (then refused by the signature check).
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Header parameters that would let the token choose its own key; never honoured (RFC 8725 §3.10). */
const KEY_CARRYING_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;

/** Longest accepted `kid`, in characters. */
const MAX_KID_LENGTH = 128;

/**
 * Extracts the bearer token of RFC 6750 §2.1 (`Authorization: Bearer <token>`,
 * scheme case-insensitive). Anything else (another scheme, a body or query
 * token) is not a token.
 *
 * @param headers the request headers
 * @returns the token string, or null when none was sent
 * @throws TokenRejectedError `malformed` for a `Bearer` header that does not carry exactly one token
 */
export function extractBearerToken(headers: IncomingHttpHeaders): string | null {
  const value = headers.authorization;
  if (typeof value !== 'string') return null;
  const match = /^Bearer +(\S*) *$/i.exec(value);
  if (match) return match[1];
  if (/^bearer\b/i.test(value)) throw new TokenRejectedError('malformed', 'malformed Authorization header');
  return null;
}

/** A token that has the compact JWS shape: where its three segments are. */
export interface CompactJws {
  /** The whole token, ASCII. */
  token: string;
  /** Index of the first `.`: the header segment is `token.slice(0, firstDot)`. */
  firstDot: number;
  /** Index of the second `.`: the signing input is `token.slice(0, secondDot)`. */
  secondDot: number;
}

/** The protected header after {@link checkHeader}: the members the verifier acts on. */
export interface AccessTokenHeader {
  /** An allowed algorithm. */
  alg: SigningAlgorithm;
  /** The key id, 1 to 128 characters. */
  kid: string;
  [member: string]: unknown;
}

/**
 * Step 1, size: refused before anything else is done with it.
 *
 * Counts characters: a string's UTF-8 size is at least its length, and a
 * token that passes {@link splitCompactJws} is ASCII, whose size is its length.
 *
 * @param maxBytes largest accepted token, in bytes
 * @throws TokenRejectedError `too_large`
 */
export function checkSize(token: string, maxBytes: number): void {
  if (token.length > maxBytes) throw new TokenRejectedError('too_large', 'token too large');
}

/**
 * Step 2, shape: three base64url segments, separated by two dots (RFC 7515 §7.1).
 *
 * @returns where the segments are
 * @throws TokenRejectedError `malformed`
 */
export function splitCompactJws(token: string): CompactJws {
  if (!COMPACT_JWS.test(token)) throw new TokenRejectedError('malformed', 'malformed token: expected a compact JWS');
  const firstDot = token.indexOf('.');
  return { token, firstDot, secondDot: token.indexOf('.', firstDot + 1) };
}

/**
 * Step 3, the protected header, parsed once, before any key is touched:
 * a JSON object without duplicate members (RFC 7515 §4); `alg` in the
 * allowlist (RFC 8725 §3.1: no `none`, no HMAC); `typ` `at+jwt` (RFC 9068 §4,
 * RFC 8725 §3.11); a `kid`; no `crit` (RFC 7515 §4.1.11: no extension is
 * understood), no `b64` (RFC 7797), no key-carrying `jwk`/`jku`/`x5u`/`x5c`
 * (RFC 8725 §3.10: keys come from the issuer's JWKS).
 *
 * @param algorithms the allowlist
 * @returns the header
 * @throws TokenRejectedError `malformed`, `duplicate_member`, `bad_alg`, `bad_typ`, `bad_kid`, `unsupported_header`
 */
export function checkHeader(jws: CompactJws, algorithms: readonly string[]): AccessTokenHeader {
  const parsed = parseJsonObject(decodeSegment(jws.token, 0, jws.firstDot));
  if (parsed === 'not-object') throw new TokenRejectedError('malformed', 'malformed token header');
  if (parsed === 'duplicate') throw new TokenRejectedError('duplicate_member', 'duplicate member in the header');
  const alg = parsed['alg'];
  if (typeof alg !== 'string' || !algorithms.includes(alg)) {
    throw new TokenRejectedError('bad_alg', 'unexpected "alg" header value');
  }
  if (!isAccessTokenType(parsed['typ'])) {
    throw new TokenRejectedError('bad_typ', 'unexpected "typ" header value: expected at+jwt');
  }
  const kid = parsed['kid'];
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
    throw new TokenRejectedError('bad_kid', 'missing or invalid "kid" header');
  }
  if (parsed['crit'] !== undefined) throw new TokenRejectedError('unsupported_header', 'unsupported "crit" header');
  if (parsed['b64'] !== undefined) throw new TokenRejectedError('unsupported_header', 'unsupported "b64" header');
  for (const name of KEY_CARRYING_HEADERS) {
    if (name in parsed) {
      throw new TokenRejectedError(
        'unsupported_header',
        `"${name}" header is not accepted: keys come from the issuer's JWKS`,
      );
    }
  }
  return parsed as AccessTokenHeader;
}

const TYPE = ACCESS_TOKEN_TYPE;
const MEDIA_TYPE = `application/${ACCESS_TOKEN_TYPE}`;

/** RFC 9068 §4: `typ` is `at+jwt` or `application/at+jwt`, case-insensitive. */
function isAccessTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  if (typ === TYPE) return true;
  const value = typ.toLowerCase();
  return value === TYPE || value === MEDIA_TYPE;
}

/**
 * Step 6, the payload, parsed once, after the signature: a JSON object
 * without duplicate claims (RFC 7519 §4, §7.2 step 10).
 *
 * @returns the claims set
 * @throws TokenRejectedError `malformed`, `duplicate_member`
 */
export function parsePayload(jws: CompactJws): Record<string, unknown> {
  const claims = parseJsonObject(decodeSegment(jws.token, jws.firstDot + 1, jws.secondDot));
  if (claims === 'not-object') throw new TokenRejectedError('malformed', 'payload must be a JSON object');
  if (claims === 'duplicate') throw new TokenRejectedError('duplicate_member', 'duplicate claim in the payload');
  return claims;
}

function decodeSegment(token: string, start: number, end: number): string {
  return Buffer.from(token.slice(start, end), 'base64url').toString('utf8');
}

/** What {@link checkRegisteredClaims} expects. */
export interface RegisteredClaimExpectations {
  /** The exact `iss`. */
  issuer: string;
  /**
   * This service's audience identifier; `aud` must be it or contain it. A
   * list (the issuer's own checks: introspection, token exchange): `aud` must
   * name at least one of them.
   */
  audience: string | readonly string[];
  /** Allowed clock skew for `exp` and `nbf`, in seconds. */
  clockToleranceSeconds: number;
}

/**
 * Step 7, the registered claims: `iss` equals the issuer (RFC 7519 §4.1.1);
 * `aud` is, or contains, this service (§4.1.3); `exp` present (RFC 9068 §2.2),
 * a finite number, and not passed (§4.1.4); `nbf`, if present, reached
 * (§4.1.5). Times compare in whole seconds, as NumericDate is read (§2), with
 * `clockToleranceSeconds` of skew.
 *
 * @param nowSeconds the current time, in seconds since the epoch (may be fractional)
 * @throws TokenRejectedError `bad_iss`, `bad_aud`, `bad_claim` (ill-typed `exp`/`nbf`), `expired`, `not_yet_valid`
 */
export function checkRegisteredClaims(
  claims: Record<string, unknown>,
  expected: RegisteredClaimExpectations,
  nowSeconds: number,
): void {
  if (claims['iss'] !== expected.issuer) throw new TokenRejectedError('bad_iss', 'unexpected "iss" claim value');
  const aud = claims['aud'];
  if (!namesAudience(aud, expected.audience)) {
    throw new TokenRejectedError('bad_aud', 'unexpected "aud" claim value: this service is not an audience');
  }
  const now = Math.floor(nowSeconds);
  const tolerance = expected.clockToleranceSeconds;
  const exp = claims['exp'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw new TokenRejectedError('bad_claim', 'missing or invalid "exp" claim');
  }
  if (now >= exp + tolerance) throw new TokenRejectedError('expired', 'token expired ("exp" is in the past)');
  const nbf = claims['nbf'];
  if (nbf !== undefined) {
    if (typeof nbf !== 'number' || !Number.isFinite(nbf)) {
      throw new TokenRejectedError('bad_claim', 'invalid "nbf" claim');
    }
    if (nbf > now + tolerance) {
      throw new TokenRejectedError('not_yet_valid', 'token not yet valid ("nbf" is in the future)');
    }
  }
}

/** Whether `aud` (a string or an array, RFC 7519 §4.1.3) names `expected`, or one of them when a list. */
function namesAudience(aud: unknown, expected: string | readonly string[]): boolean {
  if (typeof expected === 'string') return aud === expected || (Array.isArray(aud) && aud.includes(expected));
  if (typeof aud === 'string') return expected.includes(aud);
  return Array.isArray(aud) && aud.some((value) => typeof value === 'string' && expected.includes(value));
}

/** The limits {@link toPrincipal} applies to a token's times, in seconds. */
export interface ClaimLimits {
  /** Clock skew allowed for `iat` (and, in the lifetime check, for `exp`), in seconds. */
  clockToleranceSeconds: number;
  /**
   * Longest lifetime `exp − iat` accepted, in seconds. Revocation by session and
   * by subject watermark lasts one access-token lifetime: a token that lived
   * longer would outlive its revocation and come back.
   */
  maxTokenLifetimeSeconds: number;
}

/**
 * A UUID in the textual form of RFC 9562 §4 (any version, either case): the
 * shape of every user id this issuer assigns, and so never a client's id.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Step 8, the claims a verified token must carry (RFC 9068 §2.2), with their
 * types, and which principal they name. Common to both kinds: `sub`, `jti`
 * (at most {@link MAX_REVOCATION_ID_LENGTH} characters), `client_id`, `scope`,
 * `iat` and `exp` (NumericDate, RFC 7519 §2); `iat` not in the future
 * (RFC 7519 §4.1.6); a lifetime no longer than revocation covers
 * ({@link checkLifetime}). Then, by `sid`:
 *
 * - with `sid`, a **user token** (login, refresh, or RFC 8693 token exchange):
 *   `roles` an array of strings (RFC 9068 §2.2.3.1), `auth_time` a NumericDate
 *   (OIDC Core §2; whole or fractional seconds) not after `iat`, `email`; `sub`
 *   not equal to `client_id` (RFC 9068 §5: a user must not be taken for a
 *   client); `act`, when present, as {@link actorClaim} requires (RFC 8693 §4.1);
 * - without `sid`, a **service token** (RFC 6749 §4.4 client credentials):
 *   `sub` equal to `client_id` (RFC 9068 §2.2, the subject is the client),
 *   not a UUID (RFC 9068 §5: user ids are UUIDs, so no client can pass for a
 *   user), and none of `roles`, `email`, `auth_time`, `act` (they describe a
 *   user, and an issuer that sends them has mixed the kinds up).
 *
 * @param claims claims set already checked by {@link checkRegisteredClaims}
 * @param limits clock tolerance and longest lifetime, in seconds
 * @param nowSeconds the current time, in seconds since the epoch (may be fractional)
 * @returns a {@link UserPrincipal} or a {@link ServicePrincipal}, by the rules above
 * @throws TokenRejectedError `bad_claim`, `issued_in_future`, `lifetime_too_long`
 */
export function toPrincipal(claims: Record<string, unknown>, limits: ClaimLimits, nowSeconds: number): Principal {
  const tolerance = limits.clockToleranceSeconds;
  const issuedAt = timeClaim(claims, 'iat');
  const expiresAt = timeClaim(claims, 'exp');
  if (issuedAt > nowSeconds + tolerance) {
    throw new TokenRejectedError('issued_in_future', '"iat" claim is in the future');
  }
  checkLifetime(issuedAt, expiresAt, limits);
  const scope = claims['scope'];
  if (typeof scope !== 'string') throw new TokenRejectedError('bad_claim', 'missing or invalid "scope" claim');
  const subject = idClaim(claims, 'sub');
  const clientId = textClaim(claims, 'client_id');
  const tokenId = idClaim(claims, 'jti');
  const audience = audienceClaim(claims['aud']);
  const scopes = scope.split(' ').filter(Boolean);
  if (claims['sid'] === undefined) {
    if (subject !== clientId) {
      throw new TokenRejectedError('bad_claim', 'a service token\'s "sub" claim must equal its "client_id"');
    }
    if (UUID.test(subject)) {
      throw new TokenRejectedError('bad_claim', 'a service token\'s "sub" claim must not be a UUID (a user id)');
    }
    for (const name of USER_ONLY_CLAIMS) {
      if (claims[name] !== undefined) {
        throw new TokenRejectedError('bad_claim', `a service token (no "sid" claim) must not carry "${name}"`);
      }
    }
    return {
      kind: 'service',
      subject,
      scopes,
      clientId,
      tokenId,
      issuedAt,
      expiresAt,
      audience,
    } satisfies ServicePrincipal;
  }
  const sessionId = idClaim(claims, 'sid');
  if (subject === clientId) {
    throw new TokenRejectedError('bad_claim', 'a user token\'s "sub" claim must not equal its "client_id"');
  }
  const roles = claims['roles'];
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) {
    throw new TokenRejectedError('bad_claim', 'missing or invalid "roles" claim');
  }
  const authenticatedAt = timeClaim(claims, 'auth_time');
  if (authenticatedAt > issuedAt + tolerance) {
    throw new TokenRejectedError('bad_claim', '"auth_time" claim is later than "iat"');
  }
  return {
    kind: 'user',
    subject,
    email: textClaim(claims, 'email'),
    roles: roles as Role[],
    scopes,
    clientId,
    tokenId,
    sessionId,
    issuedAt,
    authenticatedAt,
    expiresAt,
    audience,
    actor: claims['act'] === undefined ? null : actorClaim(claims['act']),
  } satisfies UserPrincipal;
}

/**
 * `aud` as the principal holds it: an array of strings (RFC 7519 §4.1.3: a
 * string, or an array of strings). Step 7 has found this service in it.
 *
 * @throws TokenRejectedError `bad_claim` for an array with a member that is not a string
 */
function audienceClaim(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  if (!Array.isArray(aud) || !aud.every((member) => typeof member === 'string')) {
    throw new TokenRejectedError('bad_claim', 'invalid "aud" claim: expected a string or an array of strings');
  }
  return aud;
}

/**
 * The `act` claim of RFC 8693 §4.1: a JSON object naming the acting party by
 * `sub`. Accepted only as this issuer writes it: an object whose only member is
 * `sub`, a non-empty string of at most {@link MAX_REVOCATION_ID_LENGTH}
 * characters (the bound on `sub` itself). A nested `act` (a delegation chain,
 * §4.1) is refused: this issuer never makes one, so such a token is not its own.
 *
 * @param act the claim's value
 * @returns the actor
 * @throws TokenRejectedError `bad_claim`
 */
function actorClaim(act: unknown): { subject: string } {
  if (typeof act !== 'object' || act === null || Array.isArray(act)) {
    throw new TokenRejectedError('bad_claim', 'invalid "act" claim: expected an object');
  }
  const members = act as Record<string, unknown>;
  if (members['act'] !== undefined) {
    throw new TokenRejectedError('bad_claim', 'invalid "act" claim: a nested "act" (delegation chain) is not accepted');
  }
  for (const name in members) {
    if (name !== 'sub') throw new TokenRejectedError('bad_claim', 'invalid "act" claim: "sub" must be its only member');
  }
  const sub = members['sub'];
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_REVOCATION_ID_LENGTH) {
    throw new TokenRejectedError(
      'bad_claim',
      `invalid "act" claim: "sub" must be a string of 1 to ${MAX_REVOCATION_ID_LENGTH} characters`,
    );
  }
  return { subject: sub };
}

/** A required non-empty string claim. @throws TokenRejectedError `bad_claim` */
function textClaim(claims: Record<string, unknown>, name: string): string {
  const value = claims[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw new TokenRejectedError('bad_claim', `missing or invalid "${name}" claim`);
  }
  return value;
}

/**
 * A required id claim that revocation names (`jti`, `sid`, `sub`): at most
 * {@link MAX_REVOCATION_ID_LENGTH} characters, the longest id a revocation
 * entry's key can carry. A longer one could be issued but never revoked (every
 * verifier drops an entry it cannot parse), so such a token is not accepted.
 *
 * @throws TokenRejectedError `bad_claim`
 */
function idClaim(claims: Record<string, unknown>, name: 'jti' | 'sid' | 'sub'): string {
  const value = textClaim(claims, name);
  if (value.length > MAX_REVOCATION_ID_LENGTH) {
    throw new TokenRejectedError('bad_claim', `"${name}" claim is longer than ${MAX_REVOCATION_ID_LENGTH} characters`);
  }
  return value;
}

/** A required NumericDate claim (RFC 7519 §2), in seconds. @throws TokenRejectedError `bad_claim` */
function timeClaim(claims: Record<string, unknown>, name: string): number {
  const value = claims[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TokenRejectedError('bad_claim', `missing or invalid "${name}" claim`);
  }
  return value;
}

/**
 * The lifetime cap: `exp − iat` at most `maxTokenLifetimeSeconds` (+ tolerance).
 * RFC 7519 §4.1.4 bounds nothing, but here revocation by session and watermark
 * lasts one lifetime: an `exp` in milliseconds, or far away (an issuer bug, a
 * misused key), would make a token that outlives its revocation.
 *
 * @param issuedAt `iat`, in seconds
 * @param expiresAt `exp`, in seconds
 * @throws TokenRejectedError `lifetime_too_long`
 */
export function checkLifetime(issuedAt: number, expiresAt: number, limits: ClaimLimits): void {
  if (expiresAt - issuedAt > limits.maxTokenLifetimeSeconds + limits.clockToleranceSeconds) {
    throw new TokenRejectedError(
      'lifetime_too_long',
      'lifetime ("exp" − "iat") is longer than the issuer\'s access-token lifetime',
    );
  }
}
