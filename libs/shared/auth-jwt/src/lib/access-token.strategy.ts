import { Inject, Injectable, Logger } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy, type StrategyOptionsWithoutRequest } from 'passport-jwt';
import { decodeProtectedHeader, type ProtectedHeaderParameters } from 'jose';
import type { IncomingHttpHeaders } from 'node:http';
import { ACCESS_TOKEN_TYPE, type Role } from '@jwt-ms/contracts';
import {
  AUTH_JWT_OPTIONS,
  resolveOptions,
  type AuthJwtModuleOptions,
  type ResolvedAuthJwtOptions,
} from './auth-jwt.options';
import type { Principal } from './principal';
import { RevocationStore, RevocationUnavailableError, type RevocationReason } from './revocation.store';
import { SigningKeyResolver } from './signing-key.resolver';
import { installJwsVerifier } from './jws-verifier';
import { duplicateTopLevelMember } from './duplicate-members';
import { TokenRejectedError, revocationUnavailable } from './token-rejection';

/** Name under which the strategy is registered with passport. */
export const ACCESS_TOKEN_STRATEGY = 'access-token';

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
 * The passport-jwt strategy that verifies access tokens (RFC 9068 §4).
 *
 * Order of checks, cheapest first; any failure is a 401 `invalid_token`:
 * 1. size and shape: at most `maxTokenBytes`, compact JWS form (RFC 7515 §7.1);
 * 2. protected header (before any key is touched): `alg` in the allowlist
 *    (RFC 8725 §3.1: no `none`, no HMAC), `typ` is `at+jwt` (RFC 9068 §4,
 *    RFC 8725 §3.11), `kid` present, no `crit` (RFC 7515 §4.1.11: we understand
 *    no extension), no `b64` (RFC 7797), no key-carrying `jwk`/`jku`/`x5u`/`x5c`;
 *    header and payload are JSON objects without duplicate members (RFC 7515 §4, RFC 7519 §4);
 * 3. key by `kid` from the issuer's JWKS, fitting `alg` (see SigningKeyResolver);
 * 4. signature, `iss`, `aud`, `exp`, `nbf` by passport-jwt's verifier (`verifyJws`, jws-verifier.ts), with only the
 *    header's (already allowed) `alg` and the clock tolerance (RFC 7519 §4.1);
 * 5. claims (`validate`): RFC 9068 §2.2 required claims present and typed,
 *    `iat` not in the future beyond tolerance;
 * 6. not revoked in Redis: its `jti`, its session (`sid`), or every token of its
 *    subject issued before a "not before" watermark; one MGET. Redis
 *    unreachable → 503, fail closed.
 */
@Injectable()
export class AccessTokenStrategy extends PassportStrategy(Strategy, ACCESS_TOKEN_STRATEGY) {
  private readonly logger = new Logger('AccessTokenStrategy');
  private readonly settings: ResolvedAuthJwtOptions;

  constructor(
    @Inject(AUTH_JWT_OPTIONS) rawOptions: AuthJwtModuleOptions,
    keys: SigningKeyResolver,
    private readonly revocations: RevocationStore,
  ) {
    const settings = resolveOptions(rawOptions);
    const strategyOptions: StrategyOptionsWithoutRequest = {
      jwtFromRequest: (request: { headers: IncomingHttpHeaders }) => extractBearerToken(request.headers),
      // Decoding happens inside the promise chain so a malformed token is a 401, never a 500.
      secretOrKeyProvider: (_request, rawToken, done) => {
        Promise.resolve()
          .then(() => keys.resolve(checkHeader(rawToken as string, settings)))
          .then(
            (key) => done(null, key as unknown as string),
            (error) => done(error),
          );
      },
      issuer: settings.issuer,
      audience: settings.audience,
      // The header check has already required `alg` to be in this list; jsonwebtoken checks the key fits it.
      algorithms: settings.algorithms as StrategyOptionsWithoutRequest['algorithms'],
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: settings.clockToleranceSeconds },
    };
    super(strategyOptions);
    installJwsVerifier();
    this.settings = settings;
  }

  /**
   * Called by passport-jwt with the payload of a token whose signature,
   * `iss`, `aud`, `exp` and `nbf` are valid.
   *
   * @param payload the JWT claims set
   * @returns the {@link Principal}
   * @throws TokenRejectedError (→ 401) on a missing/ill-typed claim, future `iat`, or revocation
   * @throws ProblemException 503 when Redis cannot be reached
   */
  async validate(payload: unknown): Promise<Principal> {
    const principal = toPrincipal(payload, this.settings.clockToleranceSeconds);
    let reason: RevocationReason;
    try {
      reason = await this.revocations.check({
        jti: principal.tokenId,
        sid: principal.sessionId,
        sub: principal.subject,
        iat: principal.issuedAt,
      });
    } catch (error) {
      if (error instanceof RevocationUnavailableError) {
        this.logger.warn('revocation check failed: Redis unreachable; refusing the request (fail closed)');
        throw revocationUnavailable();
      }
      throw error;
    }
    if (reason) throw new TokenRejectedError(reason);
    return principal;
  }
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
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new TokenRejectedError('malformed token header');
  }
  const [encodedHeader, encodedPayload] = token.split('.');
  if (duplicateTopLevelMember(decodeSegment(encodedHeader)) !== null) {
    throw new TokenRejectedError('duplicate member in the header');
  }
  const payloadText = decodeSegment(encodedPayload);
  if (!isJsonObject(payloadText)) throw new TokenRejectedError('payload must be a JSON object');
  if (duplicateTopLevelMember(payloadText) !== null) throw new TokenRejectedError('duplicate claim in the payload');
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

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** RFC 9068 §4: `typ` is `at+jwt` or `application/at+jwt`, case-insensitive. */
function isAccessTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const value = typ.toLowerCase();
  return value === ACCESS_TOKEN_TYPE || value === `application/${ACCESS_TOKEN_TYPE}`;
}

/**
 * Step 5: the claims a verified token must carry, with their types.
 *
 * @param payload claims set already checked for signature, `iss`, `aud`, `exp`, `nbf`
 * @param toleranceSeconds clock skew allowed for `iat`, in seconds
 * @throws TokenRejectedError naming the first bad claim
 */
export function toPrincipal(payload: unknown, toleranceSeconds: number): Principal {
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
  const expiresAt = time('exp');
  if (issuedAt > Date.now() / 1000 + toleranceSeconds) throw new TokenRejectedError('"iat" claim is in the future');
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
    expiresAt,
  };
}
