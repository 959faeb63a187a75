import { createHmac, createPrivateKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';

/** A signing key the tests control, with its public JWK. */
export interface ForgeKey {
  kid: string;
  alg: 'ES256' | 'RS256' | 'EdDSA' | 'PS256' | 'ES384';
  privateKey: KeyObject;
  publicJwk: Record<string, unknown>;
}

/** Makes a key pair; the issuer's own test key is one of these, given to it as SIGNING_JWKS. */
export function forgeKey(alg: ForgeKey['alg'], kid = `e2e-${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`): ForgeKey {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'ES384'
        ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
        : alg === 'EdDSA'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    alg,
    privateKey: pair.privateKey,
    publicJwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
  };
}

/** The private JWK Set the auth service is started with (SIGNING_JWKS): a test fixture, never persisted. */
export function privateJwks(key: ForgeKey): string {
  return JSON.stringify({
    keys: [{ ...key.privateKey.export({ format: 'jwk' }), kid: key.kid, alg: key.alg, use: 'sig' }],
  });
}

export const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64url');
export const json = (value: unknown): string => b64(typeof value === 'string' ? value : JSON.stringify(value));

/**
 * Signs `<header>.<payload>` as the header's algorithm says, with no checks
 * at all: how an attacker (or a buggy issuer) would make a token.
 *
 * @param header header object, or an already-encoded segment
 * @param payload claims object, or an already-encoded segment
 * @param key the private key, or an HMAC secret for HS*
 */
export function forge(
  header: Record<string, unknown> | string,
  payload: unknown,
  key: KeyObject | Buffer | string,
): string {
  const head = typeof header === 'string' ? header : json(header);
  const body = typeof payload === 'string' && !payload.startsWith('{') ? payload : json(payload);
  const input = `${head}.${body}`;
  const alg = String(
    typeof header === 'string' ? JSON.parse(Buffer.from(header, 'base64url').toString()).alg : header['alg'],
  );
  let signature: Buffer;
  if (alg.startsWith('HS')) {
    signature = createHmac(`sha${alg.slice(2)}`, key as Buffer | string)
      .update(input)
      .digest();
  } else if (alg === 'EdDSA') {
    signature = sign(null, Buffer.from(input), key as KeyObject);
  } else if (alg.startsWith('PS')) {
    signature = sign(`sha${alg.slice(2)}`, Buffer.from(input), { key: key as KeyObject, padding: 6, saltLength: 32 });
  } else {
    signature = sign(`sha${alg.slice(2)}`, Buffer.from(input), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  }
  return `${input}.${b64(signature)}`;
}

export { createPrivateKey };
