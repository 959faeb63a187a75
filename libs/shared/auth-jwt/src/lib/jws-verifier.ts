import { verify as verifySignature, type KeyObject } from 'node:crypto';
import { Strategy } from 'passport-jwt';
import type { SigningAlgorithm } from '@jwt-ms/contracts';
import { parseJsonObject } from './duplicate-members';
import { TokenRejectedError } from './token-rejection';

/** The options passport-jwt hands its verifier (from the strategy's `issuer`, `audience`, `algorithms`, `jsonWebTokenOptions`). */
export interface JwsVerifyOptions {
  /** The exact `iss` to accept. */
  issuer: string;
  /** This service's audience identifier; `aud` must be it or contain it. */
  audience: string;
  /** Accepted `alg` values. */
  algorithms: readonly string[];
  /** Allowed clock skew for `exp` and `nbf`, in seconds. */
  clockTolerance?: number;
}

type VerifyCallback = (error: unknown, payload?: unknown) => void;

/**
 * How each accepted JWS algorithm is verified: the digest, the only key type
 * that fits, and the signature's encoding.
 */
const ALGORITHMS: Record<
  SigningAlgorithm,
  {
    digest: string | null;
    keyType: string;
    check: (key: KeyObject, signature: Buffer) => boolean;
    dsaEncoding?: 'ieee-p1363';
  }
> = {
  // RFC 7518 §3.4: ECDSA on P-256 with SHA-256; the signature is R || S, 32 bytes each (not DER).
  ES256: {
    digest: 'sha256',
    keyType: 'ec',
    dsaEncoding: 'ieee-p1363',
    check: (key, signature) => key.asymmetricKeyDetails?.namedCurve === 'prime256v1' && signature.length === 64,
  },
  // RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with SHA-256; "a key of size 2048 bits or larger MUST be used".
  RS256: {
    digest: 'sha256',
    keyType: 'rsa',
    check: (key) => (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048,
  },
  // RFC 8037 §3.1: EdDSA with Ed25519 (the only curve we accept); the hash is part of the algorithm.
  EdDSA: { digest: null, keyType: 'ed25519', check: (_, signature) => signature.length === 64 },
};

/**
 * Verifies a compact JWS and its registered claims, for passport-jwt (RFC
 * 7515 §5.2, RFC 7519 §7.2). Runs after `checkHeader`, which has already
 * required the compact form, a JSON-object header without duplicates, an
 * allowed `alg`, and chosen the key by `kid` to fit that `alg`.
 *
 * 1. `alg` is allowed and the key is of the one type that fits it (RFC 8725
 *    §3.1: the key decides, never the token alone); P-256 for ES256, RSA
 *    ≥ 2048 bits for RS256, Ed25519 for EdDSA (RFC 7518 §3.3–3.4, RFC 8037 §3.1);
 * 2. the signature over `BASE64URL(header) || '.' || BASE64URL(payload)`
 *    (RFC 7515 §5.2 step 8), by Node's one-shot `crypto.verify` with the
 *    cached `KeyObject`: the platform's OpenSSL does the cryptography, no
 *    library re-parses the token, so the check costs what the signature costs;
 * 3. the payload, parsed once, after the signature: a JSON object without
 *    duplicate claims (RFC 7519 §4);
 * 4. `iss` equals the issuer (RFC 7519 §4.1.1); `aud` is, or contains, this
 *    service (§4.1.3); `exp` is present (RFC 9068 §2.2) and not passed (§4.1.4);
 *    `nbf`, if present, is reached (§4.1.5); both with `clockTolerance` seconds
 *    of skew, and comparing whole seconds as NumericDate does (§2).
 *
 * @param token compact JWS
 * @param key the issuer's public key for the token's `kid`
 * @param options issuer, audience, algorithms, clock tolerance (seconds)
 * @param callback `(TokenRejectedError)` naming the failed check, or `(null, claims)`
 */
export function verifyJws(token: string, key: KeyObject, options: JwsVerifyOptions, callback: VerifyCallback): void {
  let claims: Record<string, unknown>;
  try {
    claims = verifyCompactJws(token, key, options);
  } catch (error) {
    callback(error);
    return;
  }
  callback(null, claims);
}

/**
 * {@link verifyJws}, synchronously.
 *
 * @returns the claims set
 * @throws TokenRejectedError naming the failed check
 */
export function verifyCompactJws(token: string, key: KeyObject, options: JwsVerifyOptions): Record<string, unknown> {
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  if (firstDot < 0 || secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) {
    throw new TokenRejectedError('malformed token: expected a compact JWS');
  }
  const header = parseJsonObject(decode(token.slice(0, firstDot)));
  if (typeof header !== 'object') throw new TokenRejectedError('malformed token header');
  const alg = header['alg'];
  if (typeof alg !== 'string' || !options.algorithms.includes(alg) || !(alg in ALGORITHMS)) {
    throw new TokenRejectedError('unexpected "alg" header value');
  }
  const algorithm = ALGORITHMS[alg as SigningAlgorithm];
  const encodedSignature = token.slice(secondDot + 1);
  const signature = Buffer.from(encodedSignature, 'base64url');
  // One signature, one spelling: unused trailing bits must be zero (RFC 7515 §2, RFC 4648 §3.5), so no
  // two token strings carry the same signature (a cache key, a log line, a deny-list see one token).
  if (signature.toString('base64url') !== encodedSignature)
    throw new TokenRejectedError('malformed signature encoding');
  if (key.type !== 'public' || key.asymmetricKeyType !== algorithm.keyType || !algorithm.check(key, signature)) {
    throw new TokenRejectedError('signature verification failed');
  }
  const signingInput = Buffer.from(token.slice(0, secondDot), 'ascii');
  const keyInput = algorithm.dsaEncoding ? { key, dsaEncoding: algorithm.dsaEncoding } : key;
  if (!verifySignature(algorithm.digest, signingInput, keyInput, signature)) {
    throw new TokenRejectedError('signature verification failed');
  }

  const claims = parseJsonObject(decode(token.slice(firstDot + 1, secondDot)));
  if (claims === 'duplicate') throw new TokenRejectedError('duplicate claim in the payload');
  if (claims === 'not-object') throw new TokenRejectedError('payload must be a JSON object');
  if (claims['iss'] !== options.issuer) throw new TokenRejectedError('unexpected "iss" claim value');
  const aud = claims['aud'];
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(options.audience)) {
    throw new TokenRejectedError('unexpected "aud" claim value: this service is not an audience');
  }
  const now = Math.floor(Date.now() / 1000);
  const tolerance = options.clockTolerance ?? 0;
  const exp = claims['exp'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new TokenRejectedError('missing or invalid "exp" claim');
  if (now >= exp + tolerance) throw new TokenRejectedError('token expired ("exp" is in the past)');
  const nbf = claims['nbf'];
  if (nbf !== undefined) {
    if (typeof nbf !== 'number' || !Number.isFinite(nbf)) throw new TokenRejectedError('invalid "nbf" claim');
    if (nbf > now + tolerance) throw new TokenRejectedError('token not yet valid ("nbf" is in the future)');
  }
  return claims;
}

function decode(segment: string): string {
  return Buffer.from(segment, 'base64url').toString('utf8');
}

/**
 * Installs {@link verifyJws} as passport-jwt's verifier: the extension point
 * passport-jwt exposes as `Strategy.JwtVerifier`. Process-wide; idempotent.
 */
export function installJwsVerifier(): void {
  (Strategy as unknown as { JwtVerifier: typeof verifyJws }).JwtVerifier = verifyJws;
}
