import type { SigningAlgorithm } from '@jwt-ms/contracts';
import { generateSigningJwk, type PrivateSigningJwk } from './signing-jwk';

/** Seconds since the epoch. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * The key that signs at `now`: of the keys for `alg` that are active (`nbf`
 * reached) and not retired (`exp` not reached), the one activated last; on a
 * tie, the first in the set.
 *
 * @param now seconds since the epoch
 */
export function signingKeyAt(
  set: { keys: PrivateSigningJwk[] },
  alg: SigningAlgorithm,
  now: number,
): PrivateSigningJwk | undefined {
  let chosen: PrivateSigningJwk | undefined;
  for (const key of set.keys) {
    if (key.alg !== alg || (key.nbf ?? 0) > now || (key.exp !== undefined && key.exp <= now)) continue;
    if (!chosen || (key.nbf ?? 0) > (chosen.nbf ?? 0)) chosen = key;
  }
  return chosen;
}

/**
 * The keys published at `now`: every key not retired, including keys that
 * will only start signing later, so verifiers know them first.
 *
 * @param now seconds since the epoch
 */
export function publishedKeysAt(set: { keys: PrivateSigningJwk[] }, now: number): PrivateSigningJwk[] {
  return set.keys.filter((key) => key.exp === undefined || key.exp > now);
}

/** What a rotation did. Times in seconds since the epoch. */
export interface RotationResult {
  set: { keys: PrivateSigningJwk[] };
  /** The new key's `kid`. */
  kid: string;
  /** When the new key starts signing. */
  signsFrom: number;
  /** Keys that stop being published, and when. */
  retiring: Array<{ kid: string; retiresAt: number }>;
  /** Keys removed from the set because they were already retired. */
  removed: string[];
}

/**
 * Rotates a private key set with no failed verification anywhere:
 * 1. a new key is added, published at once but signing only after
 *    `leadSeconds`, so every verifier has fetched it before it signs anything
 *    (the lead should exceed the verifiers' JWKS refresh interval);
 * 2. the keys it replaces retire once every token they may still sign has
 *    expired: `leadSeconds + accessTokenTtlSeconds + 60` from now;
 * 3. keys already retired are removed.
 *
 * @param set the current private set (not modified)
 * @param options.alg the algorithm of the new key
 * @param options.now seconds since the epoch
 * @param options.leadSeconds publication lead, in seconds
 * @param options.accessTokenTtlSeconds the longest access-token lifetime, in seconds
 */
export function rotateKeySet(
  set: { keys: PrivateSigningJwk[] },
  options: { alg: SigningAlgorithm; now: number; leadSeconds: number; accessTokenTtlSeconds: number },
): RotationResult {
  const signsFrom = options.now + options.leadSeconds;
  const retiresAt = signsFrom + options.accessTokenTtlSeconds + 60;
  const fresh: PrivateSigningJwk = { ...generateSigningJwk(options.alg), nbf: signsFrom };
  const removed = set.keys.filter((key) => key.exp !== undefined && key.exp <= options.now).map((key) => key.kid);
  const retiring: RotationResult['retiring'] = [];
  const kept = set.keys
    .filter((key) => !removed.includes(key.kid))
    .map((key) => {
      if (key.exp !== undefined && key.exp <= retiresAt) return key;
      retiring.push({ kid: key.kid, retiresAt });
      return { ...key, exp: retiresAt };
    });
  return { set: { keys: [fresh, ...kept] }, kid: fresh.kid, signsFrom, retiring, removed };
}
