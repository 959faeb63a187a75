import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { SigningAlgorithm } from '@jwt-ms/contracts';
import type { CompactJws } from './access-token.checks';
import { TokenRejectedError } from './token-rejection';

/** How one accepted JWS algorithm is verified. */
interface AlgorithmProfile {
  /** The digest `crypto.verify` takes; null where the hash is part of the algorithm (EdDSA). */
  digest: string | null;
  /** The only `KeyObject.asymmetricKeyType` that fits. */
  keyType: string;
  /** Further constraints on the key (curve, size) and the signature's length. */
  fits: (key: KeyObject, signature: Buffer) => boolean;
  /** ECDSA signatures in JWS are R || S (RFC 7518 §3.4), not DER. */
  dsaEncoding?: 'ieee-p1363';
}

const ALGORITHMS: Record<SigningAlgorithm, AlgorithmProfile> = {
  // RFC 7518 §3.4: ECDSA on P-256 with SHA-256; the signature is R || S, 32 bytes each (not DER).
  ES256: {
    digest: 'sha256',
    keyType: 'ec',
    dsaEncoding: 'ieee-p1363',
    fits: (key, signature) => key.asymmetricKeyDetails?.namedCurve === 'prime256v1' && signature.length === 64,
  },
  // RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with SHA-256; "a key of size 2048 bits or larger MUST be used".
  RS256: {
    digest: 'sha256',
    keyType: 'rsa',
    fits: (key) => (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048,
  },
  // RFC 8037 §3.1: EdDSA with Ed25519 (the only curve accepted); the hash is part of the algorithm.
  EdDSA: { digest: null, keyType: 'ed25519', fits: (_, signature) => signature.length === 64 },
};

/**
 * Step 5 of {@link AccessTokenVerifier}: the key fits `alg`, and the signature
 * verifies.
 *
 * 1. the signature segment has one spelling only: the unused trailing bits
 *    of its last base64url character are zero (RFC 7515 §2, RFC 4648 §3.5),
 *    so one signature is never sent as two strings. A token is still not
 *    unique as a string: an ECDSA signature (r, s) has a twin (r, n − s) that
 *    verifies too, and Node's signer does not keep to the low half, so the
 *    twin cannot be refused. Nothing here identifies a token by its string
 *    for anything but the verified-token cache (where a twin is only a second
 *    entry): revocation goes by `jti`, `sid` and `sub`, which both spellings carry;
 * 2. the key is public and of the one type that fits `alg` (RFC 8725 §3.1: the
 *    key decides, never the token alone): P-256 for ES256, RSA ≥ 2048 bits for
 *    RS256, Ed25519 for EdDSA (RFC 7518 §3.3–3.4, RFC 8037 §3.1);
 * 3. the signature over `BASE64URL(header) || '.' || BASE64URL(payload)`
 *    (RFC 7515 §5.2 step 8) by Node's one-shot `crypto.verify` with the
 *    cached `KeyObject`: the platform's OpenSSL does the cryptography and no
 *    library re-parses the token, so the step costs what the signature costs.
 *
 * @param jws the token, already split ({@link splitCompactJws})
 * @param alg its `alg`, already in the allowlist ({@link checkHeader})
 * @param key the issuer's key for its `kid` and `alg`
 * @throws TokenRejectedError `malformed` (a second spelling), `bad_signature`
 */
export function verifySignature(jws: CompactJws, alg: SigningAlgorithm, key: KeyObject): void {
  const profile = ALGORITHMS[alg];
  const { token, secondDot } = jws;
  if (!isCanonicalBase64url(token, secondDot + 1)) {
    throw new TokenRejectedError('malformed', 'malformed signature encoding');
  }
  const signature = Buffer.from(token.slice(secondDot + 1), 'base64url');
  if (!profile || key.type !== 'public' || key.asymmetricKeyType !== profile.keyType || !profile.fits(key, signature)) {
    throw new TokenRejectedError('bad_signature', 'signature verification failed');
  }
  const signingInput = Buffer.from(token.slice(0, secondDot), 'latin1');
  const keyInput = profile.dsaEncoding ? { key, dsaEncoding: profile.dsaEncoding } : key;
  if (!cryptoVerify(profile.digest, signingInput, keyInput, signature)) {
    throw new TokenRejectedError('bad_signature', 'signature verification failed');
  }
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Whether `token.slice(start)` (already known to be in the base64url alphabet)
 * is the one spelling of its bytes: an unpadded length that is not 1 mod 4,
 * and zero unused bits in the last character (4 of them when the length is
 * 2 mod 4, 2 when it is 3 mod 4). Decides without decoding and re-encoding.
 */
function isCanonicalBase64url(token: string, start: number): boolean {
  const length = token.length - start;
  switch (length % 4) {
    case 0:
      return true;
    case 1:
      return false;
    case 2:
      return (BASE64URL_ALPHABET.indexOf(token[token.length - 1]) & 0x0f) === 0;
    default:
      return (BASE64URL_ALPHABET.indexOf(token[token.length - 1]) & 0x03) === 0;
  }
}
