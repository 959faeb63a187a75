import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { verifyCompactJws, type JwsVerifyOptions } from './jws-verifier';
import { TokenRejectedError } from './token-rejection';

const OPTIONS: JwsVerifyOptions = {
  issuer: 'http://issuer.test',
  audience: 'users-service',
  algorithms: ['ES256', 'RS256', 'EdDSA'],
  clockTolerance: 5,
};
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Signs header.payload with Node's crypto as an issuer would: the verifier's input, built independently. */
function jws(
  alg: string,
  privateKey: KeyObject,
  payload: unknown,
  options: { header?: Record<string, unknown>; dsaEncoding?: 'der' | 'ieee-p1363' } = {},
): string {
  const input = `${b64({ alg, typ: 'at+jwt', kid: 'k', ...options.header })}.${b64(payload)}`;
  const digest = alg === 'EdDSA' ? null : 'sha256';
  const key = alg === 'ES256' ? { key: privateKey, dsaEncoding: options.dsaEncoding ?? 'ieee-p1363' } : privateKey;
  return `${input}.${sign(digest, Buffer.from(input), key).toString('base64url')}`;
}

const claims = (overrides: Record<string, unknown> = {}) => ({
  iss: OPTIONS.issuer,
  aud: ['users-service', 'orders-service'],
  exp: now() + 60,
  ...overrides,
});

function reason(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof TokenRejectedError) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('verifyCompactJws', () => {
  const es256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ed25519 = generateKeyPairSync('ed25519');

  it.each([
    ['ES256', es256],
    ['RS256', rsa],
    ['EdDSA', ed25519],
  ] as const)('accepts a valid %s token and returns its claims', (alg, pair) => {
    const payload = claims({ sub: 'alice' });
    expect(verifyCompactJws(jws(alg, pair.privateKey, payload), pair.publicKey, OPTIONS)).toEqual(payload);
  });

  it.each<[string, () => string, KeyObject, string]>([
    [
      'a signature by another key',
      () => jws('ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, claims()),
      es256.publicKey,
      'signature verification failed',
    ],
    [
      'an RSA key offered for an ES256 token',
      () => jws('ES256', es256.privateKey, claims()),
      rsa.publicKey,
      'signature verification failed',
    ],
    [
      'an EC key offered for an RS256 token',
      () => jws('RS256', rsa.privateKey, claims()),
      es256.publicKey,
      'signature verification failed',
    ],
    [
      'a P-384 key for ES256 (RFC 7518 §3.4 names P-256)',
      () => jws('ES256', p384.privateKey, claims()),
      p384.publicKey,
      'signature verification failed',
    ],
    [
      'a 1024-bit RSA key (RFC 7518 §3.3: at least 2048)',
      () => jws('RS256', rsa1024.privateKey, claims()),
      rsa1024.publicKey,
      'signature verification failed',
    ],
    [
      'a DER-encoded ECDSA signature (JWS uses R || S)',
      () => jws('ES256', es256.privateKey, claims(), { dsaEncoding: 'der' }),
      es256.publicKey,
      'signature verification failed',
    ],
    [
      'a private key where the public one belongs',
      () => jws('ES256', es256.privateKey, claims()),
      es256.privateKey,
      'signature verification failed',
    ],
    [
      'alg none',
      () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.`,
      es256.publicKey,
      'unexpected "alg" header value',
    ],
    [
      'HS256 with the public key as secret',
      () => `${b64({ alg: 'HS256' })}.${b64(claims())}.c2ln`,
      rsa.publicKey,
      'unexpected "alg" header value',
    ],
    [
      'a fourth segment',
      () => `${jws('ES256', es256.privateKey, claims())}.x`,
      es256.publicKey,
      'malformed token: expected a compact JWS',
    ],
    [
      'another issuer',
      () => jws('ES256', es256.privateKey, claims({ iss: 'http://evil.test' })),
      es256.publicKey,
      'unexpected "iss" claim value',
    ],
    [
      'another audience',
      () => jws('ES256', es256.privateKey, claims({ aud: 'orders-service' })),
      es256.publicKey,
      'unexpected "aud" claim value: this service is not an audience',
    ],
    [
      'no exp (RFC 9068 §2.2 requires it)',
      () => jws('ES256', es256.privateKey, claims({ exp: undefined })),
      es256.publicKey,
      'missing or invalid "exp" claim',
    ],
    [
      'exp as a string',
      () => jws('ES256', es256.privateKey, claims({ exp: String(now() + 60) })),
      es256.publicKey,
      'missing or invalid "exp" claim',
    ],
    [
      'exp passed by more than the tolerance',
      () => jws('ES256', es256.privateKey, claims({ exp: now() - 6 })),
      es256.publicKey,
      'token expired ("exp" is in the past)',
    ],
    [
      'nbf beyond the tolerance',
      () => jws('ES256', es256.privateKey, claims({ nbf: now() + 10 })),
      es256.publicKey,
      'token not yet valid ("nbf" is in the future)',
    ],
    [
      'nbf not a number',
      () => jws('ES256', es256.privateKey, claims({ nbf: 'now' })),
      es256.publicKey,
      'invalid "nbf" claim',
    ],
    [
      'duplicate claims',
      () =>
        jws(
          'ES256',
          es256.privateKey,
          `{"iss":"${OPTIONS.issuer}","aud":"users-service","exp":${now() + 60},"aud":"x"}`,
        ),
      es256.publicKey,
      'duplicate claim in the payload',
    ],
    [
      'a payload that is not an object',
      () => jws('ES256', es256.privateKey, '[1]'),
      es256.publicKey,
      'payload must be a JSON object',
    ],
  ])('refuses %s', (_, token, key, expected) => {
    expect(reason(() => verifyCompactJws(token(), key, OPTIONS))).toBe(expected);
  });

  it('refuses a second spelling of the same signature (non-zero unused bits in the last base64url character)', () => {
    const token = jws('ES256', es256.privateKey, claims());
    expect(reason(() => verifyCompactJws(token, es256.publicKey, OPTIONS))).toBe('accepted');
    // 64 bytes = 86 base64url characters; the last one carries 2 unused bits.
    const last = token.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1];
    const respelled = `${token.slice(0, -1)}${sibling}`;
    expect(Buffer.from(respelled.split('.')[2], 'base64url')).toEqual(Buffer.from(token.split('.')[2], 'base64url'));
    expect(reason(() => verifyCompactJws(respelled, es256.publicKey, OPTIONS))).toBe('malformed signature encoding');
  });

  it('allows the clock tolerance on exp and nbf, in whole seconds', () => {
    const token = jws('ES256', es256.privateKey, claims({ exp: now() - 4, nbf: now() + 4 }));
    expect(reason(() => verifyCompactJws(token, es256.publicKey, OPTIONS))).toBe('accepted');
    expect(reason(() => verifyCompactJws(token, es256.publicKey, { ...OPTIONS, clockTolerance: 0 }))).toBe(
      'token expired ("exp" is in the past)',
    );
  });

  it('refuses an algorithm outside the allowlist even when the key would fit it', () => {
    const token = jws('RS256', rsa.privateKey, claims());
    expect(reason(() => verifyCompactJws(token, rsa.publicKey, { ...OPTIONS, algorithms: ['ES256'] }))).toBe(
      'unexpected "alg" header value',
    );
  });
});
