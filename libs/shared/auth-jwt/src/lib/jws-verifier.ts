import type { KeyObject } from 'node:crypto';
import * as jsonwebtoken from 'jsonwebtoken';
import { errors as joseErrors, jwtVerify } from 'jose';
import { Strategy } from 'passport-jwt';
import { TokenRejectedError } from './token-rejection';

/** The options passport-jwt hands its verifier (issuer, audience, algorithms, clockTolerance…). */
type VerifyOptions = Omit<jsonwebtoken.VerifyOptions, 'algorithms'> & { algorithms?: string[] };
type VerifyCallback = (error: unknown, payload?: unknown) => void;

/**
 * Verifies a JWS signature and the registered claims `iss`, `aud`, `exp`,
 * `nbf` (RFC 7519 §4.1, §7.2) for passport-jwt.
 *
 * - ES256 and RS256 go through jsonwebtoken, as passport-jwt would, given a
 *   `KeyObject` so the key is not re-parsed on every call (≈ the cost of a raw
 *   `crypto.verify`).
 * - EdDSA (RFC 8037 §3.1) goes through jose, because jsonwebtoken 9 does not
 *   implement it.
 *
 * The token's header has already been checked: its `alg` is in the allowlist
 * and the key was chosen to fit it.
 *
 * @param token compact JWS
 * @param key the issuer's public key for the token's `kid`
 * @param options passport-jwt's verify options (clock tolerance in seconds)
 * @param callback `(error)` or `(null, payload)`
 */
export function verifyJws(token: string, key: KeyObject, options: VerifyOptions, callback: VerifyCallback): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    jsonwebtoken.verify(token, key, options as jsonwebtoken.VerifyOptions & { complete?: false }, callback);
    return;
  }
  jwtVerify(token, key, {
    algorithms: ['EdDSA'],
    issuer: options.issuer as string,
    audience: options.audience as string,
    clockTolerance: options.clockTolerance,
  }).then(
    ({ payload }) => callback(null, payload),
    (error: unknown) => callback(new TokenRejectedError(joseReason(error))),
  );
}

function joseReason(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'token expired ("exp" is in the past)';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token not yet valid ("nbf" is in the future)';
    return `unexpected "${error.claim}" claim value`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature verification failed';
  return 'the token could not be verified';
}

/**
 * Installs {@link verifyJws} as passport-jwt's verifier: the extension point
 * passport-jwt exposes as `Strategy.JwtVerifier`. Process-wide; idempotent.
 */
export function installJwsVerifier(): void {
  (Strategy as unknown as { JwtVerifier: typeof verifyJws }).JwtVerifier = verifyJws;
}
