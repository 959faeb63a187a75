import type { IncomingHttpHeaders } from 'node:http';
import type { ProtectedHeaderParameters } from 'jose';
import { ACCESS_TOKEN_TYPE, type Role } from '@jwt-ms/contracts';
import type { ResolvedAuthJwtOptions } from './auth-jwt.options';
import { parseJsonObject } from './duplicate-members';
import type { Principal } from './principal';
import { TokenRejectedError } from './token-rejection';

/** A JWS in compact serialization: three base64url segments (RFC 7515 §7.1), nothing else. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Header parameters that would let the token choose its own key; never honoured (RFC 8725 §3.10). */
const KEY_CARRYING_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;

/**
 * Extracts the bearer token of RFC 6750 §2.1 (`Authorization: Bearer <token>`,
 * scheme case-insensitive). Anything else (another scheme, a body or query
 * token) is not a token.
 *
 * @param headers the request headers
 * @returns the token string, or null when none was sent
 */
export function extractBearerToken(headers: IncomingHttpHeaders): string | null {
  const value = headers.authorization;
  if (typeof value !== 'string') return null;
  const match = /^Bearer +(\S*) *$/i.exec(value);
  return match ? match[1] : null;
}

/**
 * Step 1 and 2 above: checks size, shape and protected header.
 *
 * @returns the protected header, for key selection
 * @throws TokenRejectedError naming the failed check
 */
export function checkHeader(token: string, settings: ResolvedAuthJwtOptions): ProtectedHeaderParameters {
  if (Buffer.byteLength(token) > settings.maxTokenBytes) throw new TokenRejectedError('token too large');
  if (!COMPACT_JWS.test(token)) throw new TokenRejectedError('malformed token: expected a compact JWS');
  // The header is parsed here, to choose the key; the payload after the signature check (jws-verifier.ts).
  const parsedHeader = parseJsonObject(decodeSegment(token.slice(0, token.indexOf('.'))));
  if (parsedHeader === 'not-object') throw new TokenRejectedError('malformed token header');
  if (parsedHeader === 'duplicate') throw new TokenRejectedError('duplicate member in the header');
  const header = parsedHeader as ProtectedHeaderParameters;
  const alg = header.alg;
  if (typeof alg !== 'string' || !(settings.algorithms as string[]).includes(alg)) {
    throw new TokenRejectedError('unexpected "alg" header value');
  }
  if (!isAccessTokenType(header.typ)) throw new TokenRejectedError('unexpected "typ" header value: expected at+jwt');
  if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 128) {
    throw new TokenRejectedError('missing or invalid "kid" header');
  }
  if (header.crit !== undefined) throw new TokenRejectedError('unsupported "crit" header');
  if (header.b64 !== undefined) throw new TokenRejectedError('unsupported "b64" header');
  for (const name of KEY_CARRYING_HEADERS) {
    if (name in header)
      throw new TokenRejectedError(`"${name}" header is not accepted: keys come from the issuer's JWKS`);
  }
  return header;
}

function decodeSegment(segment: string): string {
  return Buffer.from(segment, 'base64url').toString('utf8');
}

/** RFC 9068 §4: `typ` is `at+jwt` or `application/at+jwt`, case-insensitive. */
function isAccessTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const value = typ.toLowerCase();
  return value === ACCESS_TOKEN_TYPE || value === `application/${ACCESS_TOKEN_TYPE}`;
}

/** The limits {@link toPrincipal} applies to a token's times, in seconds. */
export interface ClaimLimits {
  /** Clock skew allowed for `iat` (and, in the lifetime check, for `exp`), in seconds. */
  clockToleranceSeconds: number;
  /**
   * Longest lifetime `exp − iat` accepted, in seconds. Revocation by session and
   * by subject watermark lasts one access-token lifetime (see RevocationStore):
   * a token that lived longer would outlive its revocation and come back.
   */
  maxTokenLifetimeSeconds: number;
}

/**
 * Step 5: the claims a verified token must carry, with their types, and a
 * lifetime no longer than the revocation entries last.
 *
 * @param payload claims set already checked for signature, `iss`, `aud`, `exp`, `nbf`
 * @param limits clock tolerance and longest lifetime, in seconds
 * @throws TokenRejectedError naming the first bad claim
 */
export function toPrincipal(payload: unknown, limits: ClaimLimits): Principal {
  const toleranceSeconds = limits.clockToleranceSeconds;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new TokenRejectedError('payload must be a JSON object');
  }
  const claims = payload as Record<string, unknown>;
  const text = (name: string): string => {
    const value = claims[name];
    if (typeof value !== 'string' || value.length === 0)
      throw new TokenRejectedError(`missing or invalid "${name}" claim`);
    return value;
  };
  const time = (name: string): number => {
    const value = claims[name];
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new TokenRejectedError(`missing or invalid "${name}" claim`);
    return value;
  };
  const issuedAt = time('iat');
  const authenticatedAt = time('auth_time');
  if (authenticatedAt > issuedAt + toleranceSeconds)
    throw new TokenRejectedError('"auth_time" claim is later than "iat"');
  const expiresAt = time('exp');
  if (issuedAt > Date.now() / 1000 + toleranceSeconds) throw new TokenRejectedError('"iat" claim is in the future');
  // RFC 7519 §4.1.4 bounds nothing, but here revocation by session and watermark lasts one lifetime: an `exp` in
  // milliseconds, or far away (an issuer bug, a misused key), would make a token that outlives its revocation.
  if (expiresAt - issuedAt > limits.maxTokenLifetimeSeconds + toleranceSeconds)
    throw new TokenRejectedError('lifetime ("exp" − "iat") is longer than the issuer\'s access-token lifetime');
  const roles = claims['roles'];
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) {
    throw new TokenRejectedError('missing or invalid "roles" claim');
  }
  const scope = claims['scope'];
  if (typeof scope !== 'string') throw new TokenRejectedError('missing or invalid "scope" claim');
  return {
    subject: text('sub'),
    email: text('email'),
    roles: roles as Role[],
    scopes: scope.split(' ').filter(Boolean),
    clientId: text('client_id'),
    tokenId: text('jti'),
    sessionId: text('sid'),
    issuedAt,
    authenticatedAt,
    expiresAt,
  };
}
