import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { AccessTokenVerifier } from './access-token.verifier';
import { resolveOptions, type AuthJwtModuleOptions } from './auth-jwt.options';
import type { RevocationView } from './revocation';
import type { SigningKeyResolver } from './signing-key.resolver';
import { TokenRejectedError } from './token-rejection';
import { VerifiedTokenCache } from './verified-token.cache';

const ISSUER = 'http://issuer.test';
const ALGORITHMS = ['ES256', 'RS256', 'EdDSA'] as const;
/** The frozen clock of every check here, in seconds since the epoch. */
const NOW = 1_700_000_000;
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

/** RFC 9068 claims, valid at {@link NOW} for 60 s. */
const claims = (overrides: Record<string, unknown> = {}) => {
  const merged: Record<string, unknown> = {
    iss: ISSUER,
    aud: ['users-service', 'orders-service'],
    sub: 'alice',
    iat: NOW,
    exp: NOW + 60,
    jti: 'token-1',
    sid: 'session-1',
    auth_time: NOW,
    client_id: 'client',
    scope: 'profile:read',
    roles: ['user'],
    email: 'alice@example.test',
    ...overrides,
  };
  for (const name of Object.keys(merged)) if (merged[name] === undefined) delete merged[name];
  return merged;
};

/**
 * The whole pipeline with `key` as the issuer's only key (whatever the `kid`), nothing revoked, no
 * cache: what is left to refuse a token is the signature and the claims.
 */
function pipelineWith(key: KeyObject, options: Partial<AuthJwtModuleOptions> = {}): AccessTokenVerifier {
  const settings = resolveOptions({
    issuer: ISSUER,
    audience: 'users-service',
    keys: { localJwks: () => ({ keys: [] }) },
    redisUrl: 'redis://unused',
    algorithms: [...ALGORITHMS],
    clockToleranceSeconds: 5,
    verifiedTokenCacheSize: 0,
    ...options,
  });
  const keys = { keyFor: () => key, resolve: async () => key } as unknown as SigningKeyResolver;
  const revocations = { check: () => null, coveredTokenLifetimeSeconds: () => null } as unknown as RevocationView;
  return new AccessTokenVerifier(settings, keys, revocations, new VerifiedTokenCache(settings));
}

/** The code the pipeline refuses `token` with at `nowSeconds`, or `'accepted'`. */
async function outcome(
  token: string,
  key: KeyObject,
  nowSeconds = NOW,
  options: Partial<AuthJwtModuleOptions> = {},
): Promise<string> {
  try {
    await pipelineWith(key, options).verify(token, nowSeconds * 1000);
  } catch (error) {
    if (error instanceof TokenRejectedError) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('AccessTokenVerifier: key fit, signature and registered claims (steps 5 to 7)', () => {
  const es256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ed25519 = generateKeyPairSync('ed25519');

  it.each([
    ['ES256', es256],
    ['RS256', rsa],
    ['EdDSA', ed25519],
  ] as const)('accepts a valid %s token and returns its principal', async (alg, pair) => {
    const principal = await pipelineWith(pair.publicKey).verify(jws(alg, pair.privateKey, claims()), NOW * 1000);
    expect(principal).toMatchObject({ subject: 'alice', tokenId: 'token-1', expiresAt: NOW + 60 });
  });

  it.each<[string, () => string, KeyObject, string]>([
    [
      'a signature by another key',
      () => jws('ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, claims()),
      es256.publicKey,
      'bad_signature',
    ],
    [
      'an RSA key offered for an ES256 token',
      () => jws('ES256', es256.privateKey, claims()),
      rsa.publicKey,
      'bad_signature',
    ],
    [
      'an EC key offered for an RS256 token',
      () => jws('RS256', rsa.privateKey, claims()),
      es256.publicKey,
      'bad_signature',
    ],
    [
      'a P-384 key for ES256 (RFC 7518 §3.4 names P-256)',
      () => jws('ES256', p384.privateKey, claims()),
      p384.publicKey,
      'bad_signature',
    ],
    [
      'a 1024-bit RSA key (RFC 7518 §3.3: at least 2048)',
      () => jws('RS256', rsa1024.privateKey, claims()),
      rsa1024.publicKey,
      'bad_signature',
    ],
    [
      'a DER-encoded ECDSA signature (JWS uses R || S)',
      () => jws('ES256', es256.privateKey, claims(), { dsaEncoding: 'der' }),
      es256.publicKey,
      'bad_signature',
    ],
    [
      'a private key where the public one belongs',
      () => jws('ES256', es256.privateKey, claims()),
      es256.privateKey,
      'bad_signature',
    ],
    ['alg none', () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.`, es256.publicKey, 'bad_alg'],
    [
      'HS256 with the public key as secret',
      () => `${b64({ alg: 'HS256' })}.${b64(claims())}.c2ln`,
      rsa.publicKey,
      'bad_alg',
    ],
    ['a fourth segment', () => `${jws('ES256', es256.privateKey, claims())}.x`, es256.publicKey, 'malformed'],
    [
      'another issuer',
      () => jws('ES256', es256.privateKey, claims({ iss: 'http://evil.test' })),
      es256.publicKey,
      'bad_iss',
    ],
    [
      'another audience',
      () => jws('ES256', es256.privateKey, claims({ aud: 'orders-service' })),
      es256.publicKey,
      'bad_aud',
    ],
    [
      'no exp (RFC 9068 §2.2 requires it)',
      () => jws('ES256', es256.privateKey, claims({ exp: undefined })),
      es256.publicKey,
      'bad_claim',
    ],
    [
      'exp as a string',
      () => jws('ES256', es256.privateKey, claims({ exp: String(NOW + 60) })),
      es256.publicKey,
      'bad_claim',
    ],
    [
      'exp passed by more than the tolerance',
      () => jws('ES256', es256.privateKey, claims({ exp: NOW - 6 })),
      es256.publicKey,
      'expired',
    ],
    [
      'nbf beyond the tolerance',
      () => jws('ES256', es256.privateKey, claims({ nbf: NOW + 10 })),
      es256.publicKey,
      'not_yet_valid',
    ],
    ['nbf not a number', () => jws('ES256', es256.privateKey, claims({ nbf: 'now' })), es256.publicKey, 'bad_claim'],
    [
      'duplicate claims',
      () => jws('ES256', es256.privateKey, JSON.stringify(claims()).replace('{', '{"aud":"x",')),
      es256.publicKey,
      'duplicate_member',
    ],
    ['a payload that is not an object', () => jws('ES256', es256.privateKey, '[1]'), es256.publicKey, 'malformed'],
  ])('refuses %s', async (_, token, key, expected) => {
    expect(await outcome(token(), key)).toBe(expected);
  });

  it('refuses a second spelling of the same signature (non-zero unused bits in the last base64url character)', async () => {
    const token = jws('ES256', es256.privateKey, claims());
    expect(await outcome(token, es256.publicKey)).toBe('accepted');
    // 64 bytes = 86 base64url characters; the last one carries 4 unused bits.
    const last = token.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1];
    const respelled = `${token.slice(0, -1)}${sibling}`;
    expect(Buffer.from(respelled.split('.')[2], 'base64url')).toEqual(Buffer.from(token.split('.')[2], 'base64url'));
    expect(await outcome(respelled, es256.publicKey)).toBe('malformed');
  });

  it('allows the clock tolerance on exp and nbf, in whole seconds', async () => {
    const token = jws(
      'ES256',
      es256.privateKey,
      claims({ iat: NOW - 50, auth_time: NOW - 50, exp: NOW - 4, nbf: NOW + 4 }),
    );
    expect(await outcome(token, es256.publicKey)).toBe('accepted');
    expect(await outcome(token, es256.publicKey, NOW, { clockToleranceSeconds: 0 })).toBe('expired');
    // A fraction of a second changes nothing: NumericDate is read in whole seconds.
    expect(await outcome(token, es256.publicKey, NOW + 0.999)).toBe('accepted');
  });

  it('reads exp, nbf and iat against the clock it is given, not the machine clock', async () => {
    const token = jws('ES256', es256.privateKey, claims({ iat: NOW, nbf: NOW, exp: NOW + 60 }));
    expect(await outcome(token, es256.publicKey, NOW + 64)).toBe('accepted'); // within the 5 s tolerance of exp
    expect(await outcome(token, es256.publicKey, NOW + 65)).toBe('expired');
    expect(await outcome(token, es256.publicKey, NOW - 5)).toBe('accepted');
    expect(await outcome(token, es256.publicKey, NOW - 6)).toBe('not_yet_valid');
    const issuedLater = jws('ES256', es256.privateKey, claims({ iat: NOW + 6, exp: NOW + 60 }));
    expect(await outcome(issuedLater, es256.publicKey)).toBe('issued_in_future');
    expect(await outcome(issuedLater, es256.publicKey, NOW + 1)).toBe('accepted');
  });

  it('caps the lifetime at maxTokenLifetimeSeconds plus the tolerance', async () => {
    const token = (lifetime: number) => jws('ES256', es256.privateKey, claims({ iat: NOW, exp: NOW + lifetime }));
    expect(await outcome(token(65), es256.publicKey, NOW, { maxTokenLifetimeSeconds: 60 })).toBe('accepted');
    expect(await outcome(token(66), es256.publicKey, NOW, { maxTokenLifetimeSeconds: 60 })).toBe('lifetime_too_long');
  });

  it('refuses an algorithm outside the allowlist even when the key would fit it', async () => {
    const token = jws('RS256', rsa.privateKey, claims());
    expect(await outcome(token, rsa.publicKey)).toBe('accepted');
    expect(await outcome(token, rsa.publicKey, NOW, { algorithms: ['ES256'] })).toBe('bad_alg');
  });

  it('remembers a header it accepted without skipping any later check, and never remembers a refused one', async () => {
    const verifier = pipelineWith(es256.publicKey);
    const valid = jws('ES256', es256.privateKey, claims());
    await expect(verifier.verify(valid, NOW * 1000)).resolves.toMatchObject({ subject: 'alice' });
    const [head, , signature] = valid.split('.');
    const tampered = `${head}.${b64(claims({ roles: ['admin'] }))}.${signature}`; // the same header text
    await expect(verifier.verify(tampered, NOW * 1000)).rejects.toMatchObject({ code: 'bad_signature' });
    const later = jws('ES256', es256.privateKey, claims({ exp: NOW - 60, iat: NOW - 120, auth_time: NOW - 120 }));
    expect(later.split('.')[0]).toBe(head);
    await expect(verifier.verify(later, NOW * 1000)).rejects.toMatchObject({ code: 'expired' });
    const plainJwt = jws('ES256', es256.privateKey, claims(), { header: { typ: 'JWT' } });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await expect(verifier.verify(plainJwt, NOW * 1000)).rejects.toMatchObject({ code: 'bad_typ' });
    }
  });
});
