/**
 * The shape of the issuer's private signing keys (a JWK with our lifecycle
 * members) and their generation: what both the key set (signing-key-set.ts)
 * and its rotation (key-rotation.ts) are built on.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import type { SigningAlgorithm } from '@jwt-ms/contracts';

/** JWK members that hold private key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * A private signing JWK as this service stores it: `kid`, `alg` and
 * `use: "sig"` always set, and two lifecycle members of ours (RFC 7517 §4
 * allows additional members; they are never published):
 * `nbf`, seconds since the epoch from which the key may sign (it is published
 * before), and `exp`, from which it is retired (no longer published).
 */
export type PrivateSigningJwk = JWK & { kid: string; alg: SigningAlgorithm; use: 'sig'; nbf?: number; exp?: number };

/** Our lifecycle members of a stored JWK. */
const LIFECYCLE_MEMBERS = ['nbf', 'exp'] as const;

/**
 * Generates a private signing JWK with Node's crypto (P-256 for ES256,
 * RSA-2048 for RS256, Ed25519 for EdDSA), with a random `kid`.
 *
 * @param alg the JWS algorithm the key is for (RFC 7518 §3.1, RFC 8037 §3.1)
 */
export function generateSigningJwk(alg: SigningAlgorithm): PrivateSigningJwk {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'RS256'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519');
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  return {
    ...pair.privateKey.export({ format: 'jwk' }),
    kid: `${day}-${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`,
    alg,
    use: 'sig',
  };
}

/** The public half of a JWK: private members and lifecycle times removed; `kid`, `alg`, `use` kept. */
export function toPublicJwk(jwk: PrivateSigningJwk): JWK {
  const copy: Record<string, unknown> = { ...jwk };
  for (const member of [...PRIVATE_MEMBERS, ...LIFECYCLE_MEMBERS, 'key_ops']) delete copy[member];
  return copy as JWK;
}

/** The JWK as jose imports it: without our lifecycle members. */
export function privateJwkOnly(jwk: PrivateSigningJwk): JWK {
  const copy: Record<string, unknown> = { ...jwk };
  for (const member of LIFECYCLE_MEMBERS) delete copy[member];
  return copy as JWK;
}
